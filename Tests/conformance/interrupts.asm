; Interrupts (SDM Vol. 3A ch. 6, Vol. 2A INT n/INTO/INT3/INT1, IRET): software interrupts
; through DPL 3 and DPL 0 gates, the #GP error code of a gate the caller may not use
; (vector * 8 + 2), the frame and the IST stack, IRETQ restoring flags and the stack, and the
; single-step trap with its one-instruction delay after POPF and MOV SS.
%include "include/harness64.inc"

TEST int_n_dpl3_gate_from_cpl3, REQ_USERINT
    EXPECT_FAULT .r
    int 0x80
.n: nop
.r: CHECKV 0x80
    CHECK qword [fault_rip], .n
    CHECK qword [fault_cs], UCODE
ENDTEST
TEST int_n_dpl0_gate_from_cpl3_gp, REQ_USERINT
    EXPECT_FAULT .r
.f: int 0x40
.r: CHECKV 13
    CHECKERR 0x40 * 8 + 2
    CHECK qword [fault_rip], .f
ENDTEST
TEST int_n_past_idt_limit_from_cpl3, REQ_USERINT
    EXPECT_FAULT .r
    int 0xFF                        ; DPL 0 gate: #GP(0xFF * 8 + 2)
.r: CHECKV 13
    CHECKERR 0xFF * 8 + 2
ENDTEST
KTEST int_n_from_cpl0, REQ_CPL0EMU
    mov rbx, rsp
    EXPECT_FAULT .r
    int 0x41
.n: nop
.r: CHECKV 0x41
    CHECK qword [fault_rip], .n
    CHECK qword [fault_cs], KCODE
    CHECK qword [fault_rsp], rbx
ENDTEST
KTEST int_n_frame_flags, REQ_CPL0EMU
    push qword CF | ZF | 0x2
    popfq
    EXPECT_FAULT .r
    int 0x42
.r: CHECKV 0x42
    mov rax, [fault_rflags]
    and eax, 0xFFF
    CHECK rax, CF | ZF | 0x2
ENDTEST
KTEST int_not_present_gate_np, REQ_CPL0EMU
    mov byte [idt + 0x43 * 16 + 5], 0x0E        ; P = 0
    EXPECT_FAULT .r
    int 0x43
.r: mov byte [idt + 0x43 * 16 + 5], 0x8E
    CHECKV 11
    CHECKERR 0x43 * 8 + 2
ENDTEST
KTEST iretq_same_level
    mov rbx, rsp
    mov ax, ss
    push rax
    push rbx
    push qword CF | SF | 0x2
    push KCODE
    lea rax, [.back]
    push rax
    iretq
.back:
    CHECKF CF | SF | ZF, CF | SF
    mov rax, rsp
    CHECK rax, rbx
ENDTEST
TEST single_step_after_popf, REQ_SINGLESTEP
    pushfq
    or qword [rsp], TFLAG
    EXPECT_FAULT .r
    popfq                           ; sets TF: no trap after the POPF itself
    nop
.n: nop
.r: CHECKV 1
    CHECK qword [fault_rip], .n
ENDTEST
TEST single_step_mov_ss_shadow, REQ_SINGLESTEP
    mov ax, ss
    pushfq
    or qword [rsp], TFLAG
    EXPECT_FAULT .r
    popfq                           ; TF set from the next instruction on
    mov ss, ax                      ; its trap is held back for one instruction...
    nop
.n: nop                             ; ...and taken here, after the NOP
.r: CHECKV 1
    CHECK qword [fault_rip], .n
ENDTEST
TEST int3_from_cpl3_dpl3
    EXPECT_FAULT .r
    int3
.n:
.r: CHECKV 3
    CHECK qword [fault_rip], .n
ENDTEST
TEST int_imm3_is_not_int3, REQ_USERINT
    EXPECT_FAULT .r
    int 3                           ; CD 03: the gate's DPL is 3, same vector
.n:
.r: CHECKV 3
    CHECK qword [fault_rip], .n
ENDTEST
KTEST ist_stack_used, REQ_CPL0EMU
    EXPECT_FAULT .r
    int 0x44
.r: CHECKV 0x44
    mov rax, [tss + 0x24]
    CHECK rax, IST_TOP
ENDTEST
%include "include/end64.inc"
