; SYSCALL/SYSRET round trips in long mode (SDM Vol. 2B "SYSCALL", "SYSRET"; Vol. 3A §5.8.8):
; the kernel drops to CPL 3 with SYSRET, user code makes N system calls with DF set, the
; kernel checks the selectors STAR gives, the RFLAGS in R11 and the SFMASK masking, answers
; with RAX * 2 through SYSRET; one call returns through IRETQ instead; the last one reports.
%include "include/platform.inc"
%include "include/sysmacros.inc"
bits 32
org 0x100000
%include "include/multiboot.inc"

STACK_TOP   equ 0x1F0000
USER_STACK  equ 0x1E0000
MSR_EFER    equ 0xC0000080
MSR_STAR    equ 0xC0000081
MSR_LSTAR   equ 0xC0000082
MSR_FMASK   equ 0xC0000084
CALLS       equ 5
SYS_IRET    equ 100                 ; return through IRETQ
SYS_EXIT    equ 101

entry:
    cli
    mov esp, STACK_TOP
    call sys32_init
    PRINTLN "syscall guest"
    jmp long_mode_enter

bits 64
entry64:
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1                       ; EFER.SCE
    wrmsr
    mov ecx, MSR_STAR
    xor eax, eax
    mov edx, (0x18 << 16) | KCODE64_L   ; SYSRET base 0x18, SYSCALL CS 0x08
    wrmsr
    mov ecx, MSR_LSTAR
    mov eax, syscall_entry
    xor edx, edx
    wrmsr
    mov ecx, MSR_FMASK
    mov eax, 0x40700                ; AC, DF, IF, TF cleared on entry
    xor edx, edx
    wrmsr
    mov [kernel_rsp], rsp
    PRINTLN "to CPL 3 with SYSRET"
    mov ecx, user_code
    mov r11d, 0x2
    mov rsp, USER_STACK
    o64 sysret

syscall_entry:
    mov [user_rsp], rsp
    mov rsp, [kernel_rsp]
    push rcx
    push r11
    push rax
    PRINT "syscall "
    call puthex32
    PRINT " r11="                   ; user RFLAGS: AC, DF, IF, TF shown
    mov rax, r11
    and eax, 0x40700
    call puthex32
    PRINT " rflags="                ; kernel RFLAGS after SFMASK
    pushfq
    pop rax
    and eax, 0x40700
    call puthex32
    PRINT " cs="
    mov ax, cs
    movzx eax, ax
    call puthex32
    PRINT " ss="
    mov ax, ss
    movzx eax, ax
    call puthex32
    call crlf32
    pop rax
    pop r11
    pop rcx
    cmp eax, SYS_EXIT
    je .exit
    inc dword [calls]
    cmp eax, SYS_IRET
    je .iret
    add eax, eax
    mov rsp, [user_rsp]
    o64 sysret
.iret:
    mov eax, 0x77
    push UDATA64
    push qword [user_rsp]
    push r11
    push UCODE64
    push rcx
    iretq
.exit:
    PRINT "calls counted: "
    mov eax, [calls]
    call puthex32
    PRINT ", user errors: "
    mov eax, ebx
    call puthex32
    PRINT ", sum: "
    mov eax, r12d
    call puthex32
    call crlf32
    EXIT 0x13

; CPL 3: check the selectors SYSRET loaded, then call the kernel; EBX counts surprises.
user_code:
    xor ebx, ebx
    xor r12d, r12d
    mov ax, cs
    cmp ax, UCODE64
    je .cs_ok
    inc ebx
.cs_ok:
    mov ax, ss
    cmp ax, UDATA64
    je .ss_ok
    inc ebx
.ss_ok:
    mov r13d, 1
.loop:
    mov eax, r13d
    std
    syscall
    cld
    lea ecx, [r13 * 2]
    cmp eax, ecx
    je .answer_ok
    inc ebx
.answer_ok:
    add r12d, eax
    inc r13d
    cmp r13d, CALLS
    jbe .loop
    mov eax, SYS_IRET
    syscall
    cmp eax, 0x77
    je .iret_ok
    inc ebx
.iret_ok:
    mov ax, cs
    cmp ax, UCODE64
    je .cs2_ok
    inc ebx
.cs2_ok:
    mov eax, SYS_EXIT
    syscall
    ud2

kernel_rsp: dq 0
user_rsp:   dq 0
calls:      dd 0

%include "include/serial32.inc"
%include "include/sys32.inc"
%include "include/sys64.inc"
image_end:
