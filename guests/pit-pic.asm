; A firmware image that programs the 8259A PICs and the 8254 PIT channel 0 at 100 Hz,
; counts timer interrupts on IRQ0 (vector 0x08) with HLT in between, and reports the
; count. Exits through the debug-exit port with 0x10 when 20 ticks arrived.
%include "include/platform.inc"
bits 16
org 0xF000

TICKS_WANTED    equ 20
PIT_DIVISOR     equ 11932       ; 1193182 Hz / 11932 = 100 Hz
ticks           equ 0x500       ; counter in low RAM

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [ticks], 0
    ; IVT entry 0x08 -> irq0_handler
    mov word [0x08 * 4], irq0_handler
    mov word [0x08 * 4 + 2], 0xF000

    ; ICW1: edge, cascade, ICW4 needed. ICW2: vector bases 0x08 / 0x70. ICW3: slave on IRQ2.
    mov al, 0x11
    out PIC1_CMD, al
    out PIC2_CMD, al
    mov al, 0x08
    out PIC1_DATA, al
    mov al, 0x70
    out PIC2_DATA, al
    mov al, 0x04
    out PIC1_DATA, al
    mov al, 0x02
    out PIC2_DATA, al
    mov al, 0x01                ; ICW4: 8086 mode, normal EOI
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, 0xFE                ; OCW1: only IRQ0 unmasked
    out PIC1_DATA, al
    mov al, 0xFF
    out PIC2_DATA, al

    ; PIT channel 0, lobyte/hibyte, mode 2 (rate generator), binary.
    mov al, 0x34
    out PIT_CMD, al
    mov ax, PIT_DIVISOR
    out PIT_CH0, al
    mov al, ah
    out PIT_CH0, al

    mov si, armed_msg
    call puts16
    sti
.wait:
    hlt
    cmp word [ticks], TICKS_WANTED
    jb .wait
    cli
    mov si, done_msg
    call puts16
    mov ax, [ticks]
    call puthex8_16
    mov si, crlf
    call puts16
    mov al, 0x10
    out DEBUG_EXIT, al
    hlt

irq0_handler:
    push ax
    inc word [ticks]
    mov al, 0x20                ; OCW2: non-specific EOI
    out PIC1_CMD, al
    pop ax
    iret

%include "include/serial16.inc"

armed_msg: db "PIT armed at 100 Hz", 13, 10, 0
done_msg: db "timer interrupts counted: 0x", 0
crlf: db 13, 10, 0

    times 0xFF0 - ($ - $$) db 0xF4
    jmp 0xF000:start
    times 0x1000 - ($ - $$) db 0xF4
