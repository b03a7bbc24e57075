; SYSCALL/SYSRET and SYSENTER/SYSEXIT (SDM Vol. 2B, Vol. 3A §5.8.7-5.8.8): the selectors
; STAR gives, RCX/R11 saved, RFLAGS masked by FMASK, SYSRET's RFLAGS from R11, #UD without
; EFER.SCE, and the SYSENTER MSRs.
%include "include/harness64.inc"

MSR_EFER equ 0xC0000080
MSR_STAR equ 0xC0000081
MSR_LSTAR equ 0xC0000082
MSR_FMASK equ 0xC0000084

; WRMSR64 msr, value
%macro WRMSR64 2
    mov ecx, %1
    mov rax, %2
    mov rdx, rax
    shr rdx, 32
    wrmsr
%endmacro

KTEST syscall_sysret_round_trip, REQ_SYSCALL
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1                                   ; SCE
    wrmsr
    WRMSR64 MSR_STAR, (0x18 << 48) | (KCODE << 32)
    lea rax, [.entry]
    WRMSR64 MSR_LSTAR, rax
    WRMSR64 MSR_FMASK, DF | TFLAG | 0x40000 | CF
    mov [SCRATCH + 0x3000], rsp
    lea rcx, [.user]
    mov r11, 0x202 | CF | ZF                    ; SYSRET's RFLAGS
    mov rsp, USTACK_TOP - 0x200
    o64 sysret
.user:
    mov r12, cs
    mov r13, ss
    pushfq
    pop r14
    std
    syscall
.after:
.entry:
    mov rsp, [SCRATCH + 0x3000]
    pushfq
    pop r15
    cld
    mov ax, cs
    mov bx, ss
    CHECK r12, UCODE                            ; STAR[63:48] + 16, RPL 3
    CHECK r13, UDATA                            ; STAR[63:48] + 8
    and r14, 0xFFF
    CHECK r14, 0x202 | CF | ZF
    lea rdx, [.after]
    CHECK rcx, rdx                              ; the return RIP
    and r11, DF | CF | ZF | 0x200
    CHECK r11, DF | CF | ZF | 0x200             ; user RFLAGS (DF set there)
    and r15, DF | CF | ZF
    CHECK r15, ZF                               ; FMASK cleared DF and CF
    CHECK16 ax, KCODE
    CHECK16 bx, KCODE + 8
ENDTEST
KTEST sysret_to_compat_mode, REQ_SYSCALL
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1
    wrmsr
    WRMSR64 MSR_STAR, (0x18 << 48) | (KCODE << 32)
    mov ecx, 0xC0000083                         ; CSTAR: the compatibility-mode entry
    lea rax, [.entry]
    xor edx, edx
    wrmsr
    mov [SCRATCH + 0x3000], rsp
    lea rcx, [.user]
    mov r11, 0x202
    mov rsp, USTACK_TOP - 0x200
    sysret                                      ; 32-bit SYSRET: CS = STAR[63:48]
bits 32
.user:
    mov ebx, cs
    syscall
bits 64
.entry:
    mov rsp, [SCRATCH + 0x3000]
    CHECK rbx, UCODE32
ENDTEST
KTEST syscall_without_sce_ud
    mov ecx, MSR_EFER
    rdmsr
    and eax, ~1
    wrmsr
    EXPECT_FAULT .r
    syscall
.r: CHECKV 6
ENDTEST
KTEST sysret_noncanonical_rcx_gp, REQ_SYSCALL
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1
    wrmsr
    WRMSR64 MSR_STAR, (0x18 << 48) | (KCODE << 32)
    mov rcx, 0x0000800000000000
    mov r11, 0x202
    EXPECT_FAULT .r
    o64 sysret
.r: CHECKV 13                                   ; Intel: #GP(0) at CPL 0 (AMD would SYSRET first)
ENDTEST
KTEST sysenter_msrs_round_trip
    mov ecx, 0x174
    mov eax, KCODE
    xor edx, edx
    wrmsr
    WRMSR64 0x175, 0x123456789000
    WRMSR64 0x176, 0xFFFF800000001000
    mov ecx, 0x176
    rdmsr
    shl rdx, 32
    or rax, rdx
    CHECK rax, 0xFFFF800000001000
    mov ecx, 0x174
    rdmsr
    CHECK rax, KCODE
ENDTEST
KTEST sysret_tf_traps_after_first_compat_instruction, REQ_SYSCALL | REQ_SINGLESTEP
    ; SYSRET loading TF from R11 into 32-bit code: like POPF, no trap after the SYSRET itself;
    ; the #DB comes after the first user instruction (SDM Vol. 3B §17.3.1.4), at CPL 3.
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1
    wrmsr
    WRMSR64 MSR_STAR, (0x18 << 48) | (KCODE << 32)
    mov ecx, 0xC0000083                         ; CSTAR
    lea rax, [.entry]
    xor edx, edx
    wrmsr
    WRMSR64 MSR_FMASK, TFLAG
    mov [SCRATCH + 0x3000], rsp
    lea rcx, [.user]
    mov r11, 0x202 | TFLAG
    mov rsp, USTACK_TOP - 0x200
    EXPECT_FAULT .r
    sysret                                      ; 32-bit SYSRET: compatibility mode
bits 32
.user:
    mov ebx, 1
.n: mov ebx, 2
.r: syscall                                     ; resumed here at CPL 3 with TF clear
bits 64
.entry:
    mov rsp, [SCRATCH + 0x3000]
    CHECKV 1
    CHECK qword [fault_rip], .n
    CHECK qword [fault_cs], UCODE32
    CHECK rbx, 1
ENDTEST
KTEST sysret64_tf_traps_after_first_instruction, REQ_SYSCALL | REQ_SINGLESTEP
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1
    wrmsr
    WRMSR64 MSR_STAR, (0x18 << 48) | (KCODE << 32)
    lea rax, [.entry]
    WRMSR64 MSR_LSTAR, rax
    WRMSR64 MSR_FMASK, TFLAG
    mov [SCRATCH + 0x3000], rsp
    lea rcx, [.user]
    mov r11, 0x202 | TFLAG
    mov rsp, USTACK_TOP - 0x200
    EXPECT_FAULT .r
    o64 sysret
.user:
    mov ebx, 1
.n: mov ebx, 2
.r: syscall
.entry:
    mov rsp, [SCRATCH + 0x3000]
    CHECKV 1
    CHECK qword [fault_rip], .n
    CHECK qword [fault_cs], UCODE
    CHECK rbx, 1
ENDTEST
KTEST sysret_tf_then_int_no_db_in_handler, REQ_SYSCALL | REQ_SINGLESTEP
    ; SYSRET sets TF; the first user instruction is INT 0x80, which clears TF on its way to
    ; the handler: the first event is the INT itself (its frame at CPL 3, after the INT),
    ; not a single-step #DB at the handler's first instruction.
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1
    wrmsr
    WRMSR64 MSR_STAR, (0x18 << 48) | (KCODE << 32)
    mov ecx, 0xC0000083                         ; CSTAR
    lea rax, [.entry]
    xor edx, edx
    wrmsr
    WRMSR64 MSR_FMASK, TFLAG
    mov [SCRATCH + 0x3000], rsp
    lea rcx, [.user]
    mov r11, 0x202 | TFLAG
    mov rsp, USTACK_TOP - 0x200
    EXPECT_FAULT .r
    sysret
bits 32
.user:
    int 0x80
.n: nop
.r: syscall
bits 64
.entry:
    mov rsp, [SCRATCH + 0x3000]
    CHECKV 0x80
    CHECK qword [fault_rip], .n
    CHECK qword [fault_cs], UCODE32
ENDTEST
%include "include/end64.inc"
