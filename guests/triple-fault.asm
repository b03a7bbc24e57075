; A multiboot kernel (32-bit protected mode) that triple-faults on purpose: with an empty
; IDT, the #UD from UD2 cannot be delivered (#GP), neither can the #GP (#DF), nor the #DF,
; so the CPU shuts down (SDM Vol. 3A §6.15, "Interrupt 8 - Double Fault Exception").
; (A fault rather than INT3: this host's software KVM fails to emulate a software interrupt
; through a broken IDT at CPL 0, where hardware KVM reports a shutdown either way.)
%include "include/platform.inc"
bits 32
org 0x100000

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header, 0x100000, 0, stack_top, entry

entry:
    cli
    mov esp, stack_top
    mov esi, msg
    call puts32
    lidt [empty_idt]
    ud2
    mov al, 0x7F                ; not reached
    call debug_exit32

%include "include/serial32.inc"

empty_idt:
    dw 0                        ; limit 0: no gate descriptor fits
    dd 0
msg: db "about to triple fault", 13, 10, 0

align 16
    times 1024 db 0
stack_top:
