; Xen guest: SCHEDOP_block with interrupts off sleeps until an interrupt is requested of the
; vCPU, as on Xen (the vCPU wakes on any kick, whatever its IF). The 8254 counts down ~55 ms
; to IRQ0 at the 8259, and the guest blocks: when the call returns, IRQ0 must be pending in
; the 8259's IRR (with IF clear it was not taken). Then SCHEDOP_shutdown(poweroff): status 0.
; A failed check writes its number to the debug-exit port (status (n << 1) | 1).
%include "include/platform.inc"
bits 32
org 0x100000

XEN_CPUID_BASE      equ 0x40000000
XEN_SIGNATURE_EBX   equ 0x566E6558      ; "XenV"
HC_SCHED_OP         equ 29
SCHEDOP_BLOCK       equ 1
SCHEDOP_SHUTDOWN    equ 2

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header
    dd 0x100000
    dd 0
    dd bss_end
    dd entry32

entry32:
    cli
    mov esp, stack_top
    mov eax, XEN_CPUID_BASE
    cpuid
    cmp ebx, XEN_SIGNATURE_EBX
    jne fail_1

    ; The 8259 pair: vectors 0x20/0x28, only IRQ0 unmasked.
    mov al, 0x11
    out PIC1_CMD, al
    out PIC2_CMD, al
    mov al, 0x20
    out PIC1_DATA, al
    mov al, 0x28
    out PIC2_DATA, al
    mov al, 0x04
    out PIC1_DATA, al
    mov al, 0x02
    out PIC2_DATA, al
    mov al, 0x01
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, 0xFE
    out PIC1_DATA, al
    mov al, 0xFF
    out PIC2_DATA, al
    call irr0
    jnz fail_2                          ; nothing pending yet

    ; PIT channel 0, mode 0 (interrupt on terminal count), 65535 ticks: about 55 ms.
    mov al, 0x30
    out PIT_CMD, al
    mov al, 0xFF
    out PIT_CH0, al
    out PIT_CH0, al

    mov eax, HC_SCHED_OP
    mov ebx, SCHEDOP_BLOCK
    vmcall
    test eax, eax
    jnz fail_3
    call irr0
    jz fail_4                           ; woke before the interrupt was requested

    mov eax, HC_SCHED_OP
    mov ebx, SCHEDOP_SHUTDOWN
    mov ecx, reason
    vmcall
.stopped:
    hlt
    jmp .stopped

; ZF clear when IRQ0 is pending in the master 8259's IRR (OCW3: read IRR).
irr0:
    mov al, 0x0A
    out PIC1_CMD, al
    in al, PIC1_CMD
    test al, 1
    ret

%macro failure 1
fail_%1:
    mov al, %1
    out DEBUG_EXIT, al
    hlt
%endmacro
failure 1
failure 2
failure 3
failure 4

reason: dd 0                            ; SHUTDOWN_poweroff

align 4096
file_end:
stack_top:      equ file_end + 0x2000
bss_end:        equ file_end + 0x2000
