; A firmware image that resets the machine through the PIIX3 reset control register at
; 0xCF9, the way Linux's reboot=pci does (SYS_RST first, then RST_CPU: a 0->1 edge of bit 2),
; twice, counting resets in a CMOS NVRAM byte; then exits through debug-exit with the count.
; Before each reset it checks that a byte write at 0xCF9 leaves PCI configuration
; mechanism #1 (the dword register at 0xCF8) working.
%include "include/platform.inc"
bits 16
org 0xF000

CMOS_SCRATCH    equ 0x38
PCI_ADDRESS     equ 0xCF8
PCI_DATA        equ 0xCFC
RESET_CONTROL   equ 0xCF9
SYS_RST         equ 0x02
RST_CPU         equ 0x04
HOST_BRIDGE_ID  equ 0x12378086      ; i440FX, device 00:00.0 register 0

start:
    cli
    xor ax, ax
    mov ss, ax
    mov sp, 0x7000
    mov al, CMOS_SCRATCH
    out RTC_INDEX, al
    in al, RTC_DATA
    mov bl, al
    mov si, boot_msg
    call puts16
    mov al, bl
    call puthex8_16
    mov si, crlf
    call puts16
    cmp bl, 2
    jae .done
    inc bl
    mov al, CMOS_SCRATCH
    out RTC_INDEX, al
    mov al, bl
    out RTC_DATA, al
    ; CONFIG_ADDRESS survives a byte write of SYS_RST at 0xCF9 (no reset yet: bit 2 clear).
    mov dx, PCI_ADDRESS
    mov eax, 0x80000000
    out dx, eax
    mov dx, RESET_CONTROL
    mov al, SYS_RST
    out dx, al
    in al, dx
    cmp al, SYS_RST
    jne .broken
    mov dx, PCI_ADDRESS
    in eax, dx
    cmp eax, 0x80000000
    jne .broken
    mov dx, PCI_DATA
    in eax, dx
    cmp eax, HOST_BRIDGE_ID
    jne .broken
    mov si, pci_msg
    call puts16
    mov dx, RESET_CONTROL
    mov al, SYS_RST | RST_CPU
    out dx, al
    mov si, alive_msg           ; only if no reset happened
    call puts16
    mov al, 0x7E
    out DEBUG_EXIT, al
.spin:
    hlt
    jmp .spin
.broken:
    mov al, 0x7D
    out DEBUG_EXIT, al
    hlt
.done:
    mov al, bl
    out DEBUG_EXIT, al
    hlt

%include "include/serial16.inc"

boot_msg: db "boot, resets so far: ", 0
pci_msg: db "pci config intact", 13, 10, 0
alive_msg: db "no reset", 13, 10, 0
crlf: db 13, 10, 0

    times 0xFF0 - ($ - $$) db 0xF4
    jmp 0xF000:start
    times 0x1000 - ($ - $$) db 0xF4
