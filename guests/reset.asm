; A firmware image that resets the machine through the i8042 (command 0xFE pulses the
; CPU's reset line) twice, counting resets in a CMOS NVRAM byte (which survives a reset,
; as on real hardware), then exits through the debug-exit port with the count.
%include "include/platform.inc"
bits 16
org 0xF000

CMOS_SCRATCH    equ 0x38        ; an NVRAM byte no BIOS field uses in swiftpc
KBC_COMMAND     equ 0x64
KBC_PULSE_RESET equ 0xFE

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
    mov al, KBC_PULSE_RESET
    out KBC_COMMAND, al
.spin:
    hlt
    jmp .spin
.done:
    mov al, bl
    out DEBUG_EXIT, al
    hlt

%include "include/serial16.inc"

boot_msg: db "boot, resets so far: ", 0
crlf: db 13, 10, 0

    times 0xFF0 - ($ - $$) db 0xF4
    jmp 0xF000:start
    times 0x1000 - ($ - $$) db 0xF4
