; Virtual-8086 mode (SDM Vol. 3A §20.2): a 32-bit monitor enters v86 through IRET (VM=1,
; IOPL=3), the 8086 code prints through OUT (allowed by the TSS I/O bitmap), calls the monitor through INT 0x30 (IOPL 3: the
; IDT gate, with the v86 segments pushed) and comes back through IRET, then executes HLT,
; which is privileged at CPL 3: #GP(0) to the monitor, which reports and exits with 0x18.
%include "include/platform.inc"
bits 32
org 0x100000

SEL_CODE    equ 0x08
SEL_DATA    equ 0x10
SEL_TSS     equ 0x18
V86_SEG     equ 0x0800                  ; v86 code and stack at linear 0x8000
V86_LINEAR  equ V86_SEG << 4
EFLAGS_VM   equ 1 << 17
EFLAGS_IOPL3 equ 3 << 12

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header, 0x100000, 0, bss_end, entry

entry:
    cli
    lgdt [gdt_desc]
    jmp SEL_CODE:.reload
.reload:
    mov ax, SEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, stack0
    lidt [idt_desc]
    mov ax, SEL_TSS
    ltr ax
    ; Copy the 8086 code below 1 MiB.
    mov esi, v86_code
    mov edi, V86_LINEAR
    mov ecx, v86_end - v86_code
    rep movsb
    mov esi, msg_enter
    call puts32
    ; IRET frame to v86: GS FS DS ES SS ESP EFLAGS CS EIP.
    push dword V86_SEG                  ; GS
    push dword V86_SEG                  ; FS
    push dword V86_SEG                  ; DS
    push dword V86_SEG                  ; ES
    push dword V86_SEG                  ; SS
    push dword 0xFFF0                   ; ESP
    push dword EFLAGS_VM | EFLAGS_IOPL3 | 2
    push dword V86_SEG                  ; CS
    push dword 0                        ; EIP
    iretd

; INT 0x30 from v86 (trap gate, DPL 3): the frame holds EIP CS EFLAGS ESP SS ES DS FS GS.
int30_handler:
    mov ax, SEL_DATA
    mov ds, ax
    mov esi, msg_int30
    call puts32
    mov eax, [esp + 4]                  ; CS of the v86 caller
    call puthex16
    mov esi, msg_vm
    call puts32
    mov eax, [esp + 8]                  ; EFLAGS: VM set in the pushed image
    shr eax, 17
    and eax, 1
    call puthex16
    mov esi, crlf
    call puts32
    iretd

; #GP from v86: error code, then EIP CS EFLAGS ESP SS ES DS FS GS.
gp_handler:
    mov ax, SEL_DATA
    mov ds, ax
    mov esi, msg_gp
    call puts32
    mov eax, [esp]                      ; error code
    call puthex16
    mov esi, msg_ip
    call puts32
    mov eax, [esp + 4]                  ; faulting IP
    call puthex16
    mov esi, crlf
    call puts32
    mov al, 0x18
    call debug_exit32

%include "include/serial32.inc"

bits 16
v86_code:
    mov si, v86_msg - v86_code
.next:
    lodsb                               ; DS = V86_SEG
    test al, al
    jz .done
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    int 0x30
    mov al, 'B'
    mov dx, COM1
    out dx, al
    mov al, 13
    out dx, al
    mov al, 10
    out dx, al
    cli                                 ; IOPL 3: allowed in v86
    hlt                                 ; privileged: #GP(0)
v86_msg: db "8086 code in v86 mode", 13, 10, 0
v86_end:
bits 32

msg_enter: db "monitor: IRET to virtual-8086 mode", 13, 10, 0
msg_int30: db "monitor: INT 30 from v86, CS=", 0
msg_vm:    db " VM=", 0
msg_gp:    db "monitor: #GP error=", 0
msg_ip:    db " IP=", 0
crlf:      db 13, 10, 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF
    dq 0x00CF92000000FFFF
    dw tss_end - tss - 1                ; 0x18: 32-bit TSS with an I/O permission bitmap
    dw (tss - $$ + 0x100000) & 0xFFFF
    db ((tss - $$ + 0x100000) >> 16) & 0xFF
    db 0x89, 0
    db ((tss - $$ + 0x100000) >> 24) & 0xFF
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt

%macro gate 2                           ; handler, type/attributes byte
    dw (%1 - $$ + 0x100000) & 0xFFFF
    dw SEL_CODE
    db 0, %2
    dw ((%1 - $$ + 0x100000) >> 16) & 0xFFFF
%endmacro
align 8
idt:
    times 13 dq 0
    gate gp_handler, 0x8E               ; 13: #GP, interrupt gate, DPL 0
    times 0x30 - 14 dq 0
    gate int30_handler, 0xEF            ; 0x30: trap gate, DPL 3
idt_desc:
    dw idt_desc - idt - 1
    dd idt

; In v86 mode port I/O is checked against the TSS I/O permission bitmap whatever IOPL is
; (SDM Vol. 3A §20.2.8.1): ports 0-0x3FF are covered, only COM1 (0x3F8-0x3FF) is allowed.
align 16
tss:
    dd 0
    dd stack0, SEL_DATA                 ; ESP0, SS0: the monitor's stack for v86 events
    times 22 dd 0                       ; ESP1/SS1 .. LDT (offsets 0x0C-0x63)
    dw 0, 0x68                          ; T flag (0x64), I/O map base (0x66)
    times 0x7F db 0xFF                  ; ports 0x000-0x3F7 denied
    db 0x00                             ; ports 0x3F8-0x3FF allowed
    db 0xFF                             ; the byte that must follow the bitmap
tss_end:

align 16
    times 2048 db 0
stack0:
bss_end:
