; Bit operations (SDM Vol. 2A BT, BTS, BTR, BTC, BSF, BSR, Vol. 2B POPCNT, BSWAP): register
; offsets taken modulo the width, memory bit strings addressed beyond the operand by a
; register offset (including negative ones), CF as the old bit; BSF/BSR of zero set ZF and
; leave the destination unchanged on Intel and AMD alike.
%include "include/harness64.inc"

TEST bt_r32_mod_width
    mov eax, 0x10
    mov ecx, 36                     ; 36 mod 32 = 4
    bt eax, ecx
    CHECKF CF, CF
ENDTEST
TEST bts_r64_sets
    xor eax, eax
    mov ecx, 63
    bts rax, rcx
    CHECKF CF, 0
    CHECK rax, 0x8000000000000000
ENDTEST
TEST btr_r16_imm_clears
    mov eax, 0xFFFF
    btr ax, 15
    CHECKF CF, CF
    CHECK rax, 0x7FFF
ENDTEST
TEST btc_r32_imm_complements
    mov eax, 1
    btc eax, 0
    CHECKF CF, CF
    CHECK rax, 0
ENDTEST
TEST bt_mem_far_offset
    mov rdi, SCRATCH + 0x100
    mov qword [rdi + 0x20], 0x4     ; bit 2 of the dword at +0x20 is bit 258
    mov ecx, 258
    bt dword [rdi], ecx
    CHECKF CF, CF
ENDTEST
TEST bts_mem_negative_offset
    mov rdi, SCRATCH + 0x100
    mov byte [rdi - 1], 0
    mov rcx, -1                     ; bit 7 of the byte before
    bts qword [rdi], rcx
    CHECKF CF, 0
    CHECK8 byte [rdi - 1], 0x80
ENDTEST
TEST btr_mem_imm_within_operand
    mov rdi, SCRATCH
    mov dword [rdi], 0xFFFFFFFF
    btr dword [rdi], 33             ; an immediate offset is taken modulo 32
    CHECK32 dword [rdi], 0xFFFFFFFD
ENDTEST
TEST bsf_r32
    mov ebx, 0x00F00000
    bsf eax, ebx
    CHECK rax, 20
    CHECKF ZF, 0
ENDTEST
TEST bsr_r64
    mov rbx, 0x0000800000000001
    bsr rax, rbx
    CHECK rax, 47
    CHECKF ZF, 0
ENDTEST
TEST bsf_zero_sets_zf_keeps_dest
    mov rax, 0x1234
    xor ebx, ebx
    bsf rax, rbx
    CHECKF ZF, ZF
    CHECK rax, 0x1234
ENDTEST
TEST bsr_r16
    mov ebx, 0x0100
    mov eax, 0xFFFFFFFF
    bsr ax, bx
    CHECK rax, 0xFFFF0008
ENDTEST
TEST popcnt_r64
    mov rbx, 0xF0F0F0F0F0F0F0F1
    popcnt rax, rbx
    CHECK rax, 33
    CHECKF ALLF, 0
ENDTEST
TEST popcnt_zero_sets_zf
    push qword CF|OF|SF
    popfq
    xor ebx, ebx
    popcnt eax, ebx
    CHECK rax, 0
    CHECKF ALLF, ZF
ENDTEST
TEST bswap_r32
    mov rax, 0xFFFFFFFF12345678
    bswap eax
    CHECK rax, 0x78563412
ENDTEST
TEST bswap_r64
    mov rax, 0x0102030405060708
    bswap rax
    CHECK rax, 0x0807060504030201
ENDTEST
TEST setcc_all_conditions
    push qword CF|ZF
    popfq
    seto al
    setb bl
    setz cl
    setbe dl
    sets ah
    setl bh
    setle ch
    setp dh
    CHECK rax, 0x0000
    CHECK rbx, 0x0001
    CHECK rcx, 0x0101
    CHECK rdx, 0x0001
ENDTEST
TEST cmovcc_taken_and_not
    mov rax, 1
    mov rbx, 2
    mov rcx, -1
    cmp rax, rbx
    cmovl rax, rcx                  ; taken
    cmovg rbx, rcx                  ; not taken
    CHECK rax, -1
    CHECK rbx, 2
ENDTEST
TEST cmov_r32_not_taken_zero_extends
    mov rax, -1
    xor ebx, ebx
    test ebx, ebx
    cmovnz eax, ebx                 ; not taken, still writes EAX: upper half cleared
    CHECK rax, 0xFFFFFFFF
ENDTEST
%include "include/end64.inc"
