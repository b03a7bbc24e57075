; A 4 KiB firmware image: starts at the reset vector in real mode, prints a greeting on
; COM1 and powers off. swiftpc maps a --bios image so that it ends at 4 GiB and, for images
; up to 128 KiB, also at 1 MiB; this one runs from F000:F000 after the first far jump.
%include "include/platform.inc"
bits 16
org 0xF000

start:
    cli
    xor ax, ax
    mov ss, ax
    mov sp, 0x7000
    mov si, greeting
    call puts16
    ; String output too: REP OUTSB sends the second line in one instruction.
    push cs
    pop ds
    mov si, rep_line
    mov cx, rep_line_len
    mov dx, COM1
    cld
    rep outsb
    call poweroff16

%include "include/serial16.inc"

greeting: db "Hello from real mode", 13, 10, 0
rep_line: db "rep outsb works", 13, 10
rep_line_len equ $ - rep_line

    times 0xFF0 - ($ - $$) db 0xF4
reset_vector:                    ; F000:FFF0 = physical FFFFFFF0 at reset
    jmp 0xF000:start
    times 0x1000 - ($ - $$) db 0xF4
