; A firmware image that halts with interrupts disabled: nothing can wake it. swiftpc keeps
; waiting, as hardware would, until it is stopped from outside (a signal, Ctrl-A x).
%include "include/platform.inc"
bits 16
org 0xF000

start:
    cli
.again:
    hlt
    jmp .again

    times 0xFF0 - ($ - $$) db 0xF4
    jmp 0xF000:start
    times 0x1000 - ($ - $$) db 0xF4
