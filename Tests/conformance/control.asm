; Control transfers (SDM Vol. 2A Jcc, JMP, CALL, Vol. 2B LOOP/LOOPcc, RET, JRCXZ): every
; condition code taken and not taken, near calls and returns (RET imm16 too), indirect
; targets in registers and memory, LOOP counting RCX or ECX, and #GP on a non-canonical
; target (reported at the branch, SDM Vol. 3A §6.15 "#GP").
%include "include/harness64.inc"

; JCC name, flags, condition, taken (1/0)
%macro JCC 4
TEST %1
    push qword %2
    popfq
    mov eax, 2
    j%3 .taken
    mov eax, 0
    jmp .out
.taken:
    mov eax, 1
.out:
    CHECK rax, %4
ENDTEST
%endmacro

JCC jo_taken,    OF, o, 1
JCC jo_not,      0, o, 0
JCC jno_taken,   0, no, 1
JCC jb_taken,    CF, b, 1
JCC jb_not,      ZF, b, 0
JCC jae_taken,   ZF, ae, 1
JCC je_taken,    ZF, e, 1
JCC jne_not,     ZF, ne, 0
JCC jbe_cf,      CF, be, 1
JCC jbe_zf,      ZF, be, 1
JCC ja_taken,    0, a, 1
JCC ja_not,      CF, a, 0
JCC js_taken,    SF, s, 1
JCC jns_not,     SF, ns, 0
JCC jp_taken,    PF, p, 1
JCC jnp_taken,   0, np, 1
JCC jl_sf,       SF, l, 1
JCC jl_sf_of,    SF | OF, l, 0
JCC jge_of_sf,   SF | OF, ge, 1
JCC jge_not,     OF, ge, 0
JCC jle_zf,      ZF, le, 1
JCC jle_not,     SF | OF, le, 0
JCC jg_taken,    SF | OF, g, 1
JCC jg_not,      ZF | SF | OF, g, 0

TEST jcc_rel32_forward
    xor eax, eax
    cmp eax, 0
    je near .far
    mov eax, 1
.far:
    CHECK rax, 0
ENDTEST
TEST call_ret_near
    xor eax, eax
    call .sub
    CHECK rax, 7
    jmp .out
.sub:
    mov eax, 7
    ret
.out:
ENDTEST
TEST call_pushes_return
    mov rbx, rsp
    call .sub
.back:
    CHECK rcx, .back
    CHECK rdx, 8
    jmp .out
.sub:
    mov rcx, [rsp]
    mov rdx, rbx
    sub rdx, rsp
    ret
.out:
ENDTEST
TEST ret_imm16_pops
    mov rbx, rsp
    push 1
    push 2
    call .sub
    sub rbx, rsp
    CHECK rbx, 0
    jmp .out
.sub:
    ret 16
.out:
ENDTEST
TEST call_indirect_register
    lea rbx, [.sub]
    call rbx
    CHECK rax, 3
    jmp .out
.sub:
    mov eax, 3
    ret
.out:
ENDTEST
TEST jmp_indirect_memory
    lea rax, [.target]
    mov [SCRATCH], rax
    xor eax, eax
    jmp [SCRATCH]
    mov eax, 9
.target:
    CHECK rax, 0
ENDTEST
TEST jmp_noncanonical_gp
    mov rax, 0x0000800000000000
    EXPECT_FAULT .r
.f: jmp rax
.r: CHECKV 13
    CHECK qword [fault_rip], .f
ENDTEST
TEST ret_noncanonical_gp_keeps_rsp
    mov rax, 0x8000000000001000
    push rax
    mov rbx, rsp
    EXPECT_FAULT .r
.f: ret
.r: CHECKV 13
    CHECK qword [fault_rip], .f
    CHECK qword [fault_rsp], rbx
    pop rax
ENDTEST
TEST call_indirect_noncanonical_gp_no_push
    mov rax, 0xFFFF7FFFFFFFFFF0
    mov rbx, rsp
    EXPECT_FAULT .r
.f: call rax
.r: CHECKV 13
    CHECK qword [fault_rip], .f
    CHECK qword [fault_rsp], rbx
ENDTEST
TEST loop_counts_rcx
    mov rcx, 3
    xor eax, eax
.l: inc eax
    loop .l
    CHECK rax, 3
    CHECK rcx, 0
ENDTEST
TEST loop_addr32_counts_ecx
    mov rcx, 0x500000002
    xor eax, eax
.l: inc eax
    a32 loop .l
    CHECK rax, 2
    CHECK rcx, 0                    ; ECX written as a 32-bit register: zero-extended
ENDTEST
TEST loope_stops_on_nz
    mov ecx, 10
    xor eax, eax
.l: inc eax
    cmp eax, 3
    loope .l                        ; ZF clear after the first CMP: stops at once
    CHECK rax, 1
    CHECK rcx, 9
ENDTEST
TEST loopne_stops_on_z
    mov ecx, 10
    xor eax, eax
.l: inc eax
    cmp eax, 4
    loopne .l
    CHECK rax, 4
    CHECK rcx, 6
ENDTEST
TEST jrcxz_taken
    xor ecx, ecx
    mov eax, 1
    jrcxz .z
    mov eax, 2
.z: CHECK rax, 1
ENDTEST
TEST jecxz_uses_ecx
    mov rcx, 0x100000000
    mov eax, 1
    jecxz .z
    mov eax, 2
.z: CHECK rax, 1
ENDTEST
TEST loop_keeps_flags
    push qword CF | ZF
    popfq
    mov ecx, 2
.l: loop .l
    CHECKF ALLF, CF | ZF
ENDTEST
%include "include/end64.inc"
