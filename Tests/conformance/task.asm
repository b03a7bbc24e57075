; Hardware task switches (SDM Vol. 3A ch. 8): JMP and CALL to a TSS, the state saved in the
; old TSS and loaded from the new, busy flags, NT and the back link with IRET, CR0.TS, and
; #GP for a busy target. Legacy protected mode (harness32.inc).
%include "include/harness32.inc"

TB equ tss_b
; TASK_B entry: fills the second TSS so that it starts at `entry` on its own stack.
%macro TASK_B 1
    mov edi, TB
    mov ecx, 0x68 / 4
    xor eax, eax
    rep stosd
    mov dword [TB + 0x20], %1       ; EIP
    mov dword [TB + 0x24], 2        ; EFLAGS
    mov dword [TB + 0x34], 0x1234   ; EBX
    mov dword [TB + 0x38], 0x3E0000 ; ESP
    mov dword [TB + 0x48], KDATA    ; ES
    mov dword [TB + 0x4C], KCODE    ; CS
    mov dword [TB + 0x50], KDATA    ; SS
    mov dword [TB + 0x54], KDATA    ; DS
    mov dword [TB + 0x58], KDATA    ; FS
    mov dword [TB + 0x5C], KDATA    ; GS
    mov word [TB + 0x66], 0x68
    mov byte [gdt + TSS_B_SEL + 5], 0x89        ; available
%endmacro

TEST task_jmp_and_back, REQ_TASKSWITCH
    TASK_B .in_b
    mov esi, 0x5678
    jmp TSS_B_SEL:0
.back:
    CHECK esi, 0x5678               ; restored from the old TSS
    CHECK dword [SCRATCH], 0x1234   ; task B saw its EBX
    str ax
    CHECK16 ax, TSS_SEL
    smsw ax
    and eax, 8
    CHECK eax, 8                    ; CR0.TS set by the switch
    clts
    CHECK8 byte [gdt + TSS_B_SEL + 5], 0x89     ; B no longer busy
    CHECK dword [TB + 0x20], .b_resume          ; B's EIP saved at its JMP
    jmp .out
.in_b:
    mov [SCRATCH], ebx
    str ax
    movzx eax, ax
    mov [SCRATCH + 4], eax
    jmp TSS_SEL:0
.b_resume:
    hlt
.out:
    CHECK dword [SCRATCH + 4], TSS_B_SEL
ENDTEST
TEST task_call_nested_iret, REQ_TASKSWITCH
    TASK_B .in_b
    call TSS_B_SEL:0
    CHECK dword [SCRATCH + 8], 0x4000           ; NT was set in B
    CHECK dword [SCRATCH + 12], TSS_SEL         ; its back link
    CHECK8 byte [gdt + TSS_B_SEL + 5], 0x89     ; IRET cleared B's busy flag
    pushfd
    pop eax
    and eax, 0x4000
    CHECK eax, 0                                ; A's NT unchanged
    clts
    jmp .out
.in_b:
    pushfd
    pop eax
    and eax, 0x4000
    mov [SCRATCH + 8], eax
    movzx eax, word [TB]
    mov [SCRATCH + 12], eax
    iretd
.out:
ENDTEST
TEST task_jmp_to_busy_gp, REQ_TASKSWITCH
    EXPECT_FAULT .r
    jmp TSS_SEL:0                   ; the current task is busy
.r: CHECKV 13
    CHECKERR TSS_SEL
ENDTEST
TEST task_gate_in_gdt_call, REQ_TASKSWITCH
    TASK_B .in_b
    ; A task gate (type 5) in a test slot, naming TSS B.
    mov dword [gdt + TEST_SEL], TSS_B_SEL << 16
    mov dword [gdt + TEST_SEL + 4], 0x8500
    call TEST_SEL:0
    CHECK dword [SCRATCH + 16], 0x77
    clts
    jmp .out
.in_b:
    mov dword [SCRATCH + 16], 0x77
    iretd
.out:
ENDTEST
TEST task_limit_too_small_ts, REQ_TASKSWITCH
    TASK_B .in_b
    mov word [gdt + TSS_B_SEL], 0x20            ; below the 0x67 minimum
    EXPECT_FAULT .r
    jmp TSS_B_SEL:0
.r: mov word [gdt + TSS_B_SEL], 0x67
    CHECKV 10
    CHECKERR TSS_B_SEL
    jmp .out
.in_b:
    hlt
.out:
ENDTEST
%include "include/end32.inc"
