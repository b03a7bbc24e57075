; A multiboot kernel that clears 1 GiB with one REP STOSB (needs -m 2G), then says "done"
; and exits with 1 (status 3). The stop-latency test sends SIGTERM while the instruction
; runs: the interpreter must act on it between iterations (SDM Vol. 2B, "REP": the
; instruction is interruptible, with ECX/EDI saying how far it got).
%include "include/platform.inc"
bits 32
org 0x100000
%include "include/sysmacros.inc"
%include "include/multiboot.inc"

FILL_BASE   equ 0x200000
FILL_BYTES  equ 0x40000000

entry:
    cli
    mov esp, stack_top
    PRINTLN "rep stosb"
    mov edi, FILL_BASE
    mov ecx, FILL_BYTES
    mov al, 0x55
    cld
    rep stosb
    PRINTLN "done"
    EXIT 1

%include "include/serial32.inc"
    align 16
    times 256 db 0
stack_top:
image_end:
