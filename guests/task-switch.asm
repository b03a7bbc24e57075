; Hardware task switching (SDM Vol. 3A §7.3): a multiboot kernel with three 32-bit TSSs.
; main CALLs task B through its TSS descriptor (B sees NT=1 and its back link), B returns
; with IRET; INT 0x40 reaches task C through a task gate, C returns with IRET; main checks
; that B is no longer busy. Exits through the debug-exit port with 0x15.
%include "include/platform.inc"
bits 32
org 0x100000

SEL_CODE    equ 0x08
SEL_DATA    equ 0x10
SEL_TSS_MAIN equ 0x18
SEL_TSS_B   equ 0x20
SEL_TSS_C   equ 0x28
TSS_LIMIT   equ 0x67

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header, 0x100000, 0, bss_end, entry

; tss_descriptor base: a 32-bit available TSS (type 9), DPL 0, present, byte granular.
%macro tss_descriptor 1
    dw TSS_LIMIT
    dw (%1 - $$ + 0x100000) & 0xFFFF
    db ((%1 - $$ + 0x100000) >> 16) & 0xFF
    db 0x89
    db 0x00
    db ((%1 - $$ + 0x100000) >> 24) & 0xFF
%endmacro

entry:
    cli
    lgdt [gdt_desc]
    jmp SEL_CODE:.reload
.reload:
    mov ax, SEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov esp, stack_main
    lidt [idt_desc]
    mov ax, SEL_TSS_MAIN
    ltr ax

    mov esi, msg_call
    call puts32
    call SEL_TSS_B:0
    mov esi, msg_back_b
    call puts32

    int 0x40
    mov esi, msg_back_c
    call puts32

    ; Task B was left by IRET: its descriptor must be available (type 9) again.
    mov al, [gdt + SEL_TSS_B + 5]
    and al, 0x0F
    add al, '0'
    mov [msg_type_digit], al
    mov esi, msg_type
    call puts32
    ; main was nested by the CALL and resumed by IRET: NT clear, TR is main's.
    pushfd
    pop eax
    shr eax, 14
    and al, 1
    add al, '0'
    mov [msg_nt_digit], al
    str ax
    cmp ax, SEL_TSS_MAIN
    jne .bad
    mov esi, msg_nt
    call puts32
    mov al, 0x15
    call debug_exit32
.bad:
    mov al, 0x7F
    call debug_exit32

task_b:
    mov esi, msg_b
    call puts32
    pushfd
    pop eax
    test eax, 1 << 14
    jz .no_nt
    mov esi, msg_b_nt
    call puts32
.no_nt:
    cmp word [tss_b], SEL_TSS_MAIN      ; back link written by the CALL
    jne .done
    mov esi, msg_b_link
    call puts32
.done:
    iretd
    jmp task_b

task_c:
    mov esi, msg_c
    call puts32
    iretd
    jmp task_c

%include "include/serial32.inc"

msg_call:   db "main: CALL to task B", 13, 10, 0
msg_b:      db "task B: running", 13, 10, 0
msg_b_nt:   db "task B: NT set", 13, 10, 0
msg_b_link: db "task B: back link is main", 13, 10, 0
msg_back_b: db "main: back from task B", 13, 10, 0
msg_c:      db "task C: entered through a task gate", 13, 10, 0
msg_back_c: db "main: back from task C", 13, 10, 0
msg_type:   db "task B descriptor type: "
msg_type_digit: db "?", 13, 10, 0
msg_nt:     db "main: NT="
msg_nt_digit: db "?", 13, 10, 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF               ; 0x08 code
    dq 0x00CF92000000FFFF               ; 0x10 data
    tss_descriptor tss_main             ; 0x18
    tss_descriptor tss_b                ; 0x20
    tss_descriptor tss_c                ; 0x28
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt

align 8
idt:
    times 0x40 dq 0
    ; 0x40: task gate (type 5), DPL 0, present, selector of TSS C.
    dw 0
    dw SEL_TSS_C
    db 0
    db 0x85
    dw 0
idt_desc:
    dw idt_desc - idt - 1
    dd idt

; 32-bit TSS layout (SDM Vol. 3A Figure 7-2): link, ESP0/SS0.., CR3 0x1C, EIP 0x20, EFLAGS 0x24,
; EAX..EDI 0x28-0x44, ES CS SS DS FS GS 0x48-0x5C, LDT 0x60, I/O map base 0x66.
%macro tss 3                            ; eip, esp, name
align 16
%3:
    dd 0                                ; back link
    dd 0, SEL_DATA, 0, 0, 0, 0          ; ESP0/SS0 .. ESP2/SS2
    dd 0                                ; CR3
    dd %1                               ; EIP
    dd 0x2                              ; EFLAGS
    dd 0, 0, 0, 0, %2, 0, 0, 0          ; EAX ECX EDX EBX ESP EBP ESI EDI
    dd SEL_DATA, SEL_CODE, SEL_DATA, SEL_DATA, SEL_DATA, SEL_DATA
    dd 0                                ; LDT
    dw 0, 0x68                          ; T, I/O map base
%endmacro
    tss 0, 0, tss_main
    tss task_b, stack_b, tss_b
    tss task_c, stack_c, tss_c

align 16
    times 1024 db 0
stack_main:
    times 1024 db 0
stack_b:
    times 1024 db 0
stack_c:
bss_end:
