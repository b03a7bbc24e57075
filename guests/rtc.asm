; A firmware image that reads the MC146818 RTC (waiting for update-in-progress to clear,
; as the datasheet asks) and prints the date and time as "RTC 20YY-MM-DD HH:MM:SS",
; assuming the BCD, 24-hour format a PC BIOS sets up. Then powers off.
%include "include/platform.inc"
bits 16
org 0xF000

RTC_SECONDS     equ 0x00
RTC_MINUTES     equ 0x02
RTC_HOURS       equ 0x04
RTC_DAY         equ 0x07
RTC_MONTH       equ 0x08
RTC_YEAR        equ 0x09
RTC_REG_A       equ 0x0A
RTC_REG_B       equ 0x0B
RTC_A_UIP       equ 0x80
RTC_B_24H       equ 0x02
RTC_B_BINARY    equ 0x04

%macro rtc_read 1
    mov al, %1
    out RTC_INDEX, al
    in al, RTC_DATA
%endmacro

start:
    cli
    xor ax, ax
    mov ss, ax
    mov sp, 0x7000
    ; Register B: 24-hour, BCD (the format the date is printed in).
    rtc_read RTC_REG_B
    and al, ~RTC_B_BINARY
    or al, RTC_B_24H
    mov ah, al
    mov al, RTC_REG_B
    out RTC_INDEX, al
    mov al, ah
    out RTC_DATA, al
.uip:
    rtc_read RTC_REG_A
    test al, RTC_A_UIP
    jnz .uip
    mov si, prefix
    call puts16
    rtc_read RTC_YEAR
    call puthex8_16
    mov al, '-'
    call putc16
    rtc_read RTC_MONTH
    call puthex8_16
    mov al, '-'
    call putc16
    rtc_read RTC_DAY
    call puthex8_16
    mov al, ' '
    call putc16
    rtc_read RTC_HOURS
    call puthex8_16
    mov al, ':'
    call putc16
    rtc_read RTC_MINUTES
    call puthex8_16
    mov al, ':'
    call putc16
    rtc_read RTC_SECONDS
    call puthex8_16
    mov si, crlf
    call puts16
    call poweroff16

%include "include/serial16.inc"

prefix: db "RTC 20", 0
crlf: db 13, 10, 0

    times 0xFF0 - ($ - $$) db 0xF4
    jmp 0xF000:start
    times 0x1000 - ($ - $$) db 0xF4
