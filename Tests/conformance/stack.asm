; Stack instructions (SDM Vol. 2B PUSH, POP, PUSHF, POPF, Vol. 2A ENTER, LEAVE): operand
; sizes in 64-bit mode (64 and 16 bits), PUSH RSP storing the old value, POP RSP, POP to a
; memory operand addressed through RSP after the increment, PUSHF/POPF and the flags a CPL 3
; POPF may not change, ENTER with nesting levels, LEAVE.
%include "include/harness64.inc"

TEST push_pop_r64
    mov rbx, rsp
    mov rax, 0x1122334455667788
    push rax
    CHECK qword [rsp], 0x1122334455667788
    pop rcx
    CHECK rcx, 0x1122334455667788
    sub rbx, rsp
    CHECK rbx, 0
ENDTEST
TEST push_imm8_sign_extends
    push -2
    pop rax
    CHECK rax, -2
ENDTEST
TEST push_imm32_sign_extends
    push 0x80000000
    pop rax
    CHECK rax, 0xFFFFFFFF80000000
ENDTEST
TEST push16_pop16
    mov rbx, rsp
    mov eax, 0xABCD
    push ax
    mov rcx, rbx
    sub rcx, rsp
    CHECK rcx, 2
    mov rdx, -1
    pop dx
    CHECK rdx, 0xFFFFFFFFFFFFABCD
ENDTEST
TEST push_rsp_pushes_old_value
    mov rbx, rsp
    push rsp
    pop rax
    CHECK rax, rbx
ENDTEST
TEST pop_rsp_loads_value
    mov rbx, rsp
    lea rax, [rsp - 0x100]
    push rax
    pop rsp
    mov rcx, rsp
    mov rsp, rbx
    sub rbx, rcx
    CHECK rbx, 0x100
ENDTEST
TEST pop_mem_rsp_relative_after_increment
    mov rbx, rsp
    push 0x55
    push 0x66
    pop qword [rsp]                 ; the address is computed with RSP already incremented
    CHECK qword [rsp], 0x66
    mov rsp, rbx
ENDTEST
TEST push_mem
    mov qword [SCRATCH], 0x77
    push qword [SCRATCH]
    pop rax
    CHECK rax, 0x77
ENDTEST
TEST pushf_image
    push qword CF | ZF | OF
    popfq
    pushfq
    pop rax
    CHECK rax, CF | ZF | OF | 0x202
ENDTEST
TEST popf_cpl3_keeps_if_and_iopl
    push qword 0x3000 | CF          ; IOPL 3, IF 0
    popfq
    pushfq
    pop rax
    CHECK rax, CF | 0x202           ; IF and IOPL unchanged at CPL 3 with IOPL 0
ENDTEST
TEST popf_sets_df_ac
    push qword DF | 0x40000
    popfq
    pushfq
    pop rax
    push qword 0x202
    popfq
    CHECK rax, DF | 0x40000 | 0x202
ENDTEST
TEST enter_level0
    mov rbx, rsp
    mov rbp, 0x1234
    enter 0x20, 0
    lea rcx, [rbx - 8]
    CHECK rbp, rcx
    mov rax, rbx
    sub rax, rsp
    CHECK rax, 0x28
    CHECK qword [rbp], 0x1234
    leave
    CHECK rbp, 0x1234
    mov rax, rsp
    CHECK rax, rbx
ENDTEST
TEST enter_level2_copies_frame_pointer
    mov rbx, rsp
    lea rbp, [rsp - 0x40]
    mov qword [rbp - 8], 0xAAAA     ; the outer frame's saved pointer slot
    mov rdx, rbp
    enter 0x10, 2
    ; pushes: old RBP, [old RBP - 8], then the new frame pointer
    CHECK qword [rbx - 8], rdx
    CHECK qword [rbx - 16], 0xAAAA
    lea rcx, [rbx - 8]
    CHECK qword [rbx - 24], rcx
    CHECK rbp, rcx
    mov rax, rbx
    sub rax, rsp
    CHECK rax, 24 + 0x10
    mov rsp, rbx
ENDTEST
TEST leave_restores
    mov rbx, rsp
    push rbp
    mov rbp, rsp
    sub rsp, 0x30
    leave                           ; RSP = RBP, then POP RBP: back where it started
    mov rax, rbx
    sub rax, rsp
    CHECK rax, 0
ENDTEST
TEST push_fs_gs_selectors
    push fs
    pop rax
    CHECK rax, 0
ENDTEST
%include "include/end64.inc"
