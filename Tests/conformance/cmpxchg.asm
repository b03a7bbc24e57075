; The CMPXCHG family and exchanges (SDM Vol. 2A CMPXCHG, CMPXCHG8B/16B, Vol. 2B XADD, XCHG):
; equal and unequal cases, the accumulator loaded on a mismatch, flags as CMP sets them, the
; 16-byte alignment #GP of CMPXCHG16B.
%include "include/harness64.inc"

TEST cmpxchg_m32_equal
    mov dword [SCRATCH], 5
    mov eax, 5
    mov ebx, 9
    cmpxchg [SCRATCH], ebx
    CHECKF ALLF, ZF | PF
    CHECK32 dword [SCRATCH], 9
    CHECK rax, 5
ENDTEST
TEST cmpxchg_m32_unequal
    mov dword [SCRATCH], 7
    mov eax, 5
    mov ebx, 9
    cmpxchg [SCRATCH], ebx
    CHECKF ZF | CF, CF
    CHECK32 dword [SCRATCH], 7
    CHECK rax, 7
ENDTEST
TEST cmpxchg_m8_equal
    mov byte [SCRATCH], 0x80
    mov al, 0x80
    mov bl, 1
    lock cmpxchg [SCRATCH], bl
    CHECKF ZF, ZF
    CHECK8 byte [SCRATCH], 1
ENDTEST
TEST cmpxchg_m64_unequal
    mov qword [SCRATCH], -1
    xor eax, eax
    mov rbx, 3
    cmpxchg [SCRATCH], rbx
    CHECKF ZF | CF, CF
    CHECK rax, -1
ENDTEST
TEST cmpxchg_m16_unequal_keeps_upper
    mov word [SCRATCH], 0x1234
    mov rax, 0xAAAAAAAAAAAA0000
    mov ebx, 1
    cmpxchg [SCRATCH], bx
    CHECK rax, 0xAAAAAAAAAAAA1234
ENDTEST
TEST cmpxchg_r64_equal
    mov rax, 4
    mov rcx, 4
    mov rbx, 8
    cmpxchg rcx, rbx
    CHECK rcx, 8
    CHECKF ZF, ZF
ENDTEST
TEST cmpxchg8b_equal
    mov dword [SCRATCH], 1
    mov dword [SCRATCH + 4], 2
    mov eax, 1
    mov edx, 2
    mov ebx, 0x33
    mov ecx, 0x44
    cmpxchg8b [SCRATCH]
    CHECKF ZF, ZF
    CHECK qword [SCRATCH], 0x0000004400000033
ENDTEST
TEST cmpxchg8b_unequal
    mov rax, 0x1111111122222222
    mov [SCRATCH], rax
    xor eax, eax
    xor edx, edx
    cmpxchg8b [SCRATCH]
    CHECKF ZF, 0
    CHECK rax, 0x22222222
    CHECK rdx, 0x11111111
ENDTEST
TEST cmpxchg16b_equal
    mov qword [SCRATCH], 1
    mov qword [SCRATCH + 8], 2
    mov eax, 1
    mov edx, 2
    mov rbx, -1
    mov rcx, -2
    lock cmpxchg16b [SCRATCH]
    CHECKF ZF, ZF
    CHECK qword [SCRATCH], -1
    CHECK qword [SCRATCH + 8], -2
ENDTEST
TEST cmpxchg16b_unequal
    mov qword [SCRATCH], 5
    mov qword [SCRATCH + 8], 6
    xor eax, eax
    xor edx, edx
    cmpxchg16b [SCRATCH]
    CHECKF ZF, 0
    CHECK rax, 5
    CHECK rdx, 6
ENDTEST
TEST cmpxchg16b_misaligned_gp
    EXPECT_FAULT .r
    cmpxchg16b [SCRATCH + 8]
.r: CHECKV 13
    CHECKERR 0
ENDTEST
TEST xadd_m32
    mov dword [SCRATCH], 0xFFFFFFFF
    mov ebx, 2
    lock xadd [SCRATCH], ebx
    CHECK rbx, 0xFFFFFFFF
    CHECK32 dword [SCRATCH], 1
    CHECKF CF | ZF, CF
ENDTEST
TEST xadd_r8
    mov al, 0x7F
    mov bl, 1
    xadd al, bl
    CHECK8 al, 0x80
    CHECK8 bl, 0x7F
    CHECKF OF | SF, OF | SF
ENDTEST
TEST xchg_m64
    mov qword [SCRATCH], 7
    mov rax, 9
    xchg [SCRATCH], rax
    CHECK rax, 7
    CHECK qword [SCRATCH], 9
ENDTEST
TEST xchg_r32_zero_extends
    mov rax, -1
    mov rbx, -2
    xchg eax, ebx
    CHECK rax, 0xFFFFFFFE
    CHECK rbx, 0xFFFFFFFF
ENDTEST
TEST xchg_eax_eax_zero_extends
    mov rax, -1
    xchg eax, eax                   ; 87 C0, not the NOP 90 (nasm encodes it so)
    CHECK rax, 0xFFFFFFFF
ENDTEST
TEST cmpxchg_r32_unequal_keeps_dest
    ; A register destination is written only when equal: no zero extension on a mismatch
    ; (SDM Vol. 2A CMPXCHG); the accumulator is loaded, zero-extended.
    mov rcx, 0xAAAAAAAA00000007
    mov rax, 0xBBBBBBBB00000005
    mov ebx, 9
    cmpxchg ecx, ebx
    CHECKF ZF, 0
    CHECK rcx, 0xAAAAAAAA00000007
    CHECK rax, 7
ENDTEST
TEST cmpxchg_r32_equal_zero_extends_dest
    mov rcx, 0xAAAAAAAA00000005
    mov rax, 0xBBBBBBBB00000005
    mov rbx, 0xCCCCCCCC00000009
    cmpxchg ecx, ebx
    CHECKF ZF, ZF
    CHECK rcx, 9
    CHECK rax, 0xBBBBBBBB00000005    ; the accumulator is not written when equal
ENDTEST
TEST cmpxchg_r16_unequal_keeps_dest
    mov rcx, 0xAAAAAAAAAAAA0007
    mov rax, 0xBBBBBBBBBBBB0005
    mov ebx, 9
    cmpxchg cx, bx
    CHECK rcx, 0xAAAAAAAAAAAA0007
    CHECK rax, 0xBBBBBBBBBBBB0007
ENDTEST
TEST cmpxchg_r8_unequal_keeps_dest
    mov rcx, 0xAAAAAAAAAAAAAA07
    mov rax, 0xBBBBBBBBBBBBBB05
    mov ebx, 9
    cmpxchg cl, bl
    CHECK rcx, 0xAAAAAAAAAAAAAA07
    CHECK rax, 0xBBBBBBBBBBBBBB07
ENDTEST
TEST cmpxchg_r64_unequal_keeps_dest
    mov rcx, 0xAAAAAAAA00000007
    mov rax, 5
    mov ebx, 9
    cmpxchg rcx, rbx
    CHECK rcx, 0xAAAAAAAA00000007
    CHECK rax, 0xAAAAAAAA00000007
ENDTEST
TEST cmpxchg_r32_same_register_unequal
    ; CMPXCHG ECX, ECX with EAX different: nothing but EAX changes.
    mov rcx, 0xAAAAAAAA00000007
    mov rax, 0xBBBBBBBB00000005
    cmpxchg ecx, ecx
    CHECK rcx, 0xAAAAAAAA00000007
    CHECK rax, 7
ENDTEST
TEST cmpxchg_m32_unequal_zero_extends_rax
    mov dword [SCRATCH], 7
    mov rax, 0xBBBBBBBB00000005
    mov ebx, 9
    lock cmpxchg [SCRATCH], ebx
    CHECK rax, 7
    CHECK32 dword [SCRATCH], 7
ENDTEST
TEST cmpxchg8b_equal_keeps_rax_rdx_upper
    ; EDX:EAX are loaded only on a mismatch (SDM Vol. 2A CMPXCHG8B).
    mov dword [SCRATCH], 1
    mov dword [SCRATCH + 4], 2
    mov rax, 0xAAAAAAAA00000001
    mov rdx, 0xBBBBBBBB00000002
    xor ebx, ebx
    xor ecx, ecx
    cmpxchg8b [SCRATCH]
    CHECKF ZF, ZF
    CHECK rax, 0xAAAAAAAA00000001
    CHECK rdx, 0xBBBBBBBB00000002
ENDTEST
TEST cmpxchg8b_unequal_zero_extends
    mov dword [SCRATCH], 3
    mov dword [SCRATCH + 4], 4
    mov rax, 0xAAAAAAAA00000001
    mov rdx, 0xBBBBBBBB00000002
    cmpxchg8b [SCRATCH]
    CHECKF ZF, 0
    CHECK rax, 3
    CHECK rdx, 4
ENDTEST
TEST xadd_r32_zero_extends_both
    mov rax, 0xAAAAAAAA00000001
    mov rbx, 0xBBBBBBBB00000002
    xadd eax, ebx
    CHECK rax, 3
    CHECK rbx, 1
ENDTEST
TEST xadd_same_register
    ; TEMP = SRC + DEST, SRC = DEST, DEST = TEMP: with one register the sum wins.
    mov rax, 0xAAAAAAAA00000003
    xadd eax, eax
    CHECK rax, 6
ENDTEST
TEST xchg_m32_zero_extends
    mov dword [SCRATCH], 0x12345678
    mov rax, -1
    xchg [SCRATCH], eax
    CHECK rax, 0x12345678
    CHECK32 dword [SCRATCH], 0xFFFFFFFF
ENDTEST
%include "include/end64.inc"
