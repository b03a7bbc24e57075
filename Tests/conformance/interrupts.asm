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
KTEST icebp_in_mov_ss_shadow_one_db, REQ_SINGLESTEP | REQ_DEBUGREG
    ; TF set, MOV SS holds its single-step trap back, then INT1: one #DB, the trap-like one
    ; of INT1 after it, with neither DR6.BS nor a second #DB in the handler (SDM Vol. 3A
    ; §17.3.1 Table 17-2, §6.8.3).
    xor eax, eax
    mov dr6, rax
    mov ax, ss
    pushfq
    or qword [rsp], TFLAG
    EXPECT_FAULT .r
    popfq                           ; TF from the next instruction on
    mov ss, ax                      ; its trap is held back
    db 0xF1                         ; INT1
.n: nop
.r: CHECKV 1
    CHECK qword [fault_rip], .n
    mov rax, dr6
    CHECK rax, 0xFFFF0FF0
ENDTEST
KTEST icebp_with_tf_no_second_db, REQ_SINGLESTEP | REQ_DEBUGREG
    ; INT1 executed with TF set clears TF as it enters the handler: no single-step trap of
    ; its own (the handler would see a second #DB at its first instruction).
    xor eax, eax
    mov dr6, rax
    pushfq
    or qword [rsp], TFLAG
    EXPECT_FAULT .r
    popfq
    db 0xF1
.n: nop
.r: CHECKV 1
    CHECK qword [fault_rip], .n
    mov rax, dr6
    CHECK rax, 0xFFFF0FF0
ENDTEST
KTEST int_n_with_tf_traps_after_return, REQ_SINGLESTEP | REQ_CPL0EMU
    ; INT n with TF set: the handler runs without a single-step trap; IRETQ restores TF and
    ; the trap comes after the instruction that follows the INT.
    mov qword [SCRATCH + 0x3100], 0
    mov eax, 0x45
    lea rdx, [.handler]
    mov cl, 0x8E
    call set_gate
    pushfq
    or qword [rsp], TFLAG
    EXPECT_FAULT .r
    popfq
    int 0x45
.n: nop
.t: nop
.r: mov eax, 0x45
    lea rdx, [isr_stubs + 0x45 * 16]
    mov cl, 0x8E
    call set_gate
    CHECKV 1
    CHECK qword [fault_rip], .t
    CHECK qword [SCRATCH + 0x3100], 1
    jmp .end
.handler:
    mov qword [SCRATCH + 0x3100], 1
    iretq
.end:
ENDTEST
KTEST dr7_gd_faults_before_mov_dr, REQ_DEBUGREG
    ; DR7.GD: a MOV to or from a debug register is a #DB fault (RIP at the MOV, DR6.BD set,
    ; RF = 1 in the frame); entering the handler clears GD (SDM Vol. 3B §17.2.4, §17.3.1.3).
    xor eax, eax
    mov dr6, rax
    mov eax, 0x2400
    mov dr7, rax
    EXPECT_FAULT .r
.f: mov rbx, dr0
.r: CHECKV 1
    CHECK qword [fault_rip], .f
    mov rbx, [fault_rflags]
    and ebx, 0x10000
    CHECK rbx, 0x10000
    mov rax, dr6
    CHECK rax, 0xFFFF2FF0
    mov rax, dr7
    CHECK rax, 0x400
ENDTEST
KTEST dr7_gd_in_mov_ss_shadow, REQ_SINGLESTEP | REQ_DEBUGREG
    ; MOV SS does not hold back the general-detect fault; the fault drops the single-step trap
    ; MOV SS held (the MOV DR6 did not complete), so DR6 shows BD alone.
    xor eax, eax
    mov dr6, rax
    mov eax, 0x2400
    mov dr7, rax
    xor ecx, ecx
    mov ax, ss
    pushfq
    or qword [rsp], TFLAG
    EXPECT_FAULT .r
    popfq
    mov ss, ax
.f: mov dr6, rcx
    nop
.r: CHECKV 1
    CHECK qword [fault_rip], .f
    mov rax, dr6
    CHECK rax, 0xFFFF2FF0
    mov rax, dr7
    CHECK rax, 0x400
ENDTEST
; WATCH_SS_SELECTOR: DR0 watches reads and writes of the word at SCRATCH + 0x3200, which
; holds KDATA for a MOV SS to load; DR6 cleared; RSP saved for UNWATCH.
%macro WATCH_SS_SELECTOR 0
    xor eax, eax
    mov dr6, rax
    mov word [SCRATCH + 0x3200], KDATA
    mov rax, SCRATCH + 0x3200
    mov dr0, rax
    mov eax, 0x400 | 1 | (3 << 16) | (1 << 18)  ; L0, R/W0 = 11 (read or write), LEN0 = 2 bytes
    mov dr7, rax
    mov [SCRATCH + 0x3208], rsp
%endmacro
%macro UNWATCH 0
    mov rsp, [SCRATCH + 0x3208]
    mov eax, 0x400
    mov dr7, rax
%endmacro
KTEST mov_ss_data_breakpoint_held_one_instruction, REQ_DEBUGREG
    ; MOV SS reading a watched selector: its #DB waits for the end of the next instruction
    ; (SDM Vol. 3A §6.8.3).
    WATCH_SS_SELECTOR
    EXPECT_FAULT .r
    mov ss, [SCRATCH + 0x3200]
.n: nop
.t: nop
.r: UNWATCH
    CHECKV 1
    CHECK qword [fault_rip], .t
    mov rax, dr6
    and eax, 0xF
    CHECK rax, 1
ENDTEST
KTEST mov_ss_data_breakpoint_then_int3, REQ_DEBUGREG | REQ_CPL0EMU
    ; The held #DB comes after INT3's transfer, at the #BP handler's first instruction
    ; (kvm-unit-tests x86/debug.c "MOV SS + watchpoint + INT3"; CVE-2018-8897).
    WATCH_SS_SELECTOR
    EXPECT_FAULT .r
    mov ss, [SCRATCH + 0x3200]
    int3
.r: UNWATCH
    CHECKV 1
    lea rax, [isr_stubs + 3 * 16]
    CHECK qword [fault_rip], rax
ENDTEST
KTEST mov_ss_data_breakpoint_then_icebp, REQ_DEBUGREG
    ; INT1's #DB takes the held one with it: one #DB, after INT1 (kvm-unit-tests x86/debug.c
    ; "MOV SS + watchpoint + ICEBP").
    WATCH_SS_SELECTOR
    EXPECT_FAULT .r
    mov ss, [SCRATCH + 0x3200]
    db 0xF1
.n: nop
.r: UNWATCH
    CHECKV 1
    CHECK qword [fault_rip], .n
    CHECK qword [fault_count], 1
ENDTEST
%include "include/end64.inc"
