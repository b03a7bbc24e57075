; Protected mode back to real mode the way software does it (SDM Vol. 3A §9.9.2), then
; "unreal mode". A multiboot kernel (32-bit protected mode):
;   1. copies its real-mode part to LOW_BASE and leaves a marker at 2 MiB;
;   2. far-jumps to a 16-bit code segment (limit 64 KiB, based at LOW_BASE), loads SS, DS, ES
;      and GS with a 16-bit data segment (limit 64 KiB) but FS with a flat 4 GiB one;
;   3. LIDT of the real-mode IVT, clears CR0.PE, far-jumps to the real-mode CS, reloads the
;      segments except FS;
;   4. runs a real-mode INT handler (IVT[0x30]) that prints;
;   5. reads and writes above 1 MiB through FS, which kept its 4 GiB limit (unreal mode),
;      also after FS is reloaded in real mode (which sets only selector and base);
;   6. an offset beyond 64 KiB through DS, which kept its 64 KiB limit, raises #GP (IVT[13]).
; Exits through the debug-exit port with 0x17.
%include "include/platform.inc"
bits 32
org 0x100000

LOW_BASE     equ 0x40000
LOW_SEGMENT  equ LOW_BASE >> 4
MARKER_ADDR  equ 0x200000       ; 2 MiB: out of reach of real-mode segment:offset

SEL_CODE32   equ 0x08
SEL_DATA32   equ 0x10           ; flat, 4 GiB
SEL_CODE16   equ 0x18           ; 16-bit code, base LOW_BASE, limit 64 KiB
SEL_DATA16   equ 0x20           ; 16-bit data, base LOW_BASE, limit 64 KiB
CR0_PE       equ 1

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header, 0x100000, 0, 0, entry

entry:
    cli
    lgdt [gdt_desc]
    jmp SEL_CODE32:.reload
.reload:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov esp, stack32
    mov esi, msg_pm32
    call puts32
    mov esi, section.low.start
    mov edi, LOW_BASE
    mov ecx, low_end
    cld
    rep movsb
    mov dword [MARKER_ADDR], 0xCAFEBABE
    ; Step 3 of §9.9.2: a readable code segment with a 64 KiB limit.
    jmp SEL_CODE16:pm16_entry

%include "include/serial32.inc"

msg_pm32: db "32-bit protected mode", 13, 10, 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF       ; 0x08 code32
    dq 0x00CF92000000FFFF       ; 0x10 data32, 4 GiB
    dq 0x00009A040000FFFF       ; 0x18 code16, base 0x40000, 64 KiB
    dq 0x000092040000FFFF       ; 0x20 data16, base 0x40000, 64 KiB
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt

align 16
    times 1024 db 0
stack32:

; ---------------------------------------------------------------------------------------------
; Real-mode part, assembled for offset 0 of segment LOW_SEGMENT (and of the 16-bit protected
; mode segments based at LOW_BASE).
section low vstart=0 follows=.text align=16
bits 16

; PRINT16 "text": prints a literal string and CR LF.
%macro PRINT16 1
    jmp %%after
%%text: db %1, 13, 10, 0
%%after:
    push si
    mov si, %%text
    call puts16
    pop si
%endmacro

; PUT16 "text": the same without CR LF.
%macro PUT16 1
    jmp %%after
%%text: db %1, 0
%%after:
    push si
    mov si, %%text
    call puts16
    pop si
%endmacro

pm16_entry:
    ; Step 4: SS, DS, ES, GS get 64 KiB limits; FS stays flat (4 GiB) for unreal mode.
    mov ax, SEL_DATA16
    mov ss, ax
    mov ds, ax
    mov es, ax
    mov gs, ax
    mov ax, SEL_DATA32
    mov fs, ax
    mov sp, stack16
    PRINT16 "16-bit protected mode"
    ; Step 5: the real-mode IVT.
    lidt [rm_idtr]
    ; Step 6: leave protected mode; step 7: far jump to load a real-mode CS.
    mov eax, cr0
    and eax, ~CR0_PE
    mov cr0, eax
    jmp LOW_SEGMENT:rm_entry

rm_entry:
    ; Step 8: real-mode segments (FS is left alone).
    mov ax, LOW_SEGMENT
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, stack16
    PUT16 "real mode: CS="
    mov ax, cs
    call puthex16_16
    PUT16 " CR0.PE="
    mov eax, cr0
    and al, CR0_PE
    call puthex8_16
    call crlf16

    ; IVT[0x30] and IVT[13] at 0000:00C0 and 0000:0034.
    push es
    xor ax, ax
    mov es, ax
    mov word [es:0x30 * 4], int30_handler
    mov word [es:0x30 * 4 + 2], LOW_SEGMENT
    mov word [es:13 * 4], gp_handler
    mov word [es:13 * 4 + 2], LOW_SEGMENT
    pop es
    mov al, 0x5A
    int 0x30

    ; Unreal mode: FS still has base 0 and a 4 GiB limit.
    mov esi, MARKER_ADDR
    PUT16 "unreal mode: FS reads 2 MiB: "
    mov eax, [fs:esi]
    call puthex32_16
    call crlf16
    mov dword [fs:esi + 4], 0x12345678
    PUT16 "unreal mode: FS writes 2 MiB + 4: "
    mov eax, [fs:esi + 4]
    call puthex32_16
    call crlf16

    ; A real-mode segment load sets the selector and base only: FS keeps its 4 GiB limit.
    xor ax, ax
    mov fs, ax
    PUT16 "unreal mode: FS reloaded in real mode, reads 2 MiB: "
    mov eax, [fs:esi]
    call puthex32_16
    call crlf16

    ; DS kept the 64 KiB limit of step 4: offset 0x10000 is beyond it.
    mov esi, 0x10000
    mov al, [ds:esi]
    PRINT16 "no #GP for DS offset 10000"
gp_resume:
    mov al, 0x17
    out DEBUG_EXIT, al
.hang:
    hlt
    jmp .hang

int30_handler:
    PUT16 "INT 30 handler in real mode: AL="
    call puthex8_16
    call crlf16
    iret

gp_handler:
    PRINT16 "real mode #GP: DS offset 10000 is beyond the 64 KiB limit"
    push bp
    mov bp, sp
    mov word [bp + 2], gp_resume
    pop bp
    iret

; puthex32_16: EAX as eight hex digits.
puthex32_16:
    push eax
    shr eax, 16
    call puthex16_16
    pop eax
; puthex16_16: AX as four hex digits.
puthex16_16:
    xchg al, ah
    call puthex8_16
    xchg al, ah
    jmp puthex8_16

crlf16:
    push ax
    mov al, 13
    call putc16
    mov al, 10
    call putc16
    pop ax
    ret

%include "include/serial16.inc"

rm_idtr:
    dw 0x3FF
    dd 0

align 16
    times 512 db 0
stack16:
low_end:
