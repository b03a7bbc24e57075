; SYSENTER/SYSEXIT round trips in 32-bit protected mode (SDM Vol. 2B "SYSENTER",
; "SYSEXIT"): CS/SS come from IA32_SYSENTER_CS (+16/+24 with RPL 3 on the way back), ESP
; and EIP from the MSRs going in and from ECX and EDX going out; IF is cleared on entry.
%include "include/platform.inc"
%include "include/sysmacros.inc"
bits 32
org 0x100000
%include "include/multiboot.inc"

STACK_TOP   equ 0x1F0000
KSTACK      equ 0x1D0000            ; IA32_SYSENTER_ESP
USER_STACK  equ 0x1E0000
CALLS       equ 4

entry:
    cli
    mov esp, STACK_TOP
    call sys32_init
    PRINTLN "sysenter guest"
    xor edx, edx
    mov ecx, 0x174                  ; IA32_SYSENTER_CS
    mov eax, KCODE
    wrmsr
    mov ecx, 0x175                  ; IA32_SYSENTER_ESP
    mov eax, KSTACK
    wrmsr
    mov ecx, 0x176                  ; IA32_SYSENTER_EIP
    mov eax, sysenter_entry
    wrmsr
    PRINTLN "to CPL 3 with SYSEXIT"
    mov ecx, USER_STACK
    mov edx, user_code
    sysexit

sysenter_entry:
    push eax
    PRINT "sysenter "
    call puthex32
    PRINT " esp="
    lea eax, [esp + 4]
    call puthex32
    PRINT " cs="
    mov ax, cs
    movzx eax, ax
    call puthex32
    PRINT " ss="
    mov ax, ss
    movzx eax, ax
    call puthex32
    PRINT " eflags.if="
    pushfd
    pop eax
    shr eax, 9
    and eax, 1
    call puthex32
    call crlf32
    pop eax
    cmp eax, 0xFF
    je .exit
    inc dword [calls]
    add eax, eax
    sysexit                         ; ECX and EDX still hold the user's stack and resume point
.exit:
    PRINT "calls counted: "
    mov eax, [calls]
    call puthex32
    PRINT ", user errors: "
    mov eax, ebx
    call puthex32
    call crlf32
    EXIT 0x14

; CPL 3: checks CS/SS after SYSEXIT and the answers; EBX counts surprises.
user_code:
    xor ebx, ebx
    mov ax, cs
    cmp ax, UCODE
    je .cs_ok
    inc ebx
.cs_ok:
    mov ax, ss
    cmp ax, UDATA
    je .ss_ok
    inc ebx
.ss_ok:
    mov esi, 1
.loop:
    mov eax, esi
    mov ecx, esp
    mov edx, .back
    sysenter
.back:
    lea edi, [esi * 2]
    cmp eax, edi
    je .ok
    inc ebx
.ok:
    cmp esp, USER_STACK
    je .sp_ok
    inc ebx
.sp_ok:
    inc esi
    cmp esi, CALLS
    jbe .loop
    mov eax, 0xFF
    mov ecx, esp
    mov edx, .back
    sysenter

calls: dd 0

%include "include/serial32.inc"
%include "include/sys32.inc"
image_end:
