; A multiboot v1 kernel that switches from the 32-bit multiboot entry to 64-bit long mode
; (SDM Vol. 3A §9.8.5: PAE, CR3, EFER.LME, CR0.PG, then a far jump to a 64-bit code
; segment), prints a greeting from 64-bit code and powers off.
%include "include/platform.inc"
bits 32
org 0x100000

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header            ; header_addr
    dd 0x100000             ; load_addr
    dd 0                    ; load_end_addr: whole file
    dd bss_end              ; bss_end_addr
    dd entry32              ; entry_addr

entry32:
    cli
    mov esp, stack_top
    cmp eax, MB_BOOT_MAGIC
    jne .bad
    mov esi, msg32
    call puts32

    ; Identity-map the first 1 GiB with 2 MiB pages.
    mov edi, pml4
    mov eax, pdpt + 3
    mov [edi], eax
    mov eax, pd + 3
    mov [pdpt], eax
    mov ecx, 0
.map:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83            ; present, writable, 2 MiB page
    mov [pd + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jne .map

    mov eax, cr4
    or eax, 1 << 5          ; CR4.PAE
    mov cr4, eax
    mov eax, pml4
    mov cr3, eax
    mov ecx, 0xC0000080     ; IA32_EFER
    rdmsr
    or eax, 1 << 8          ; LME
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | 1   ; PG | PE
    mov cr0, eax
    lgdt [gdt_desc]
    jmp 0x08:entry64
.bad:
    mov al, 0x7F
    call debug_exit32

%include "include/serial32.inc"

bits 64
entry64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, stack_top
    ; Check we really are in 64-bit mode: a 64-bit immediate survives.
    mov rax, 0x1234567800000000
    shr rax, 32
    cmp eax, 0x12345678
    jne .fail
    lea rsi, [rel msg64]
.next:
    lodsb
    test al, al
    jz .done
    mov bl, al
    mov dx, COM1_LSR
.wait:
    in al, dx
    test al, LSR_THRE
    jz .wait
    mov al, bl
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    mov dx, PM1A_CNT
    mov ax, PM1_SLP_EN
    out dx, ax
.fail:
    mov al, 0x7E
    out DEBUG_EXIT, al
    hlt

align 8
gdt:
    dq 0
    dq 0x00AF9A000000FFFF   ; 0x08: 64-bit code, DPL 0
    dq 0x00CF92000000FFFF   ; 0x10: data
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt

msg32: db "multiboot entry in 32-bit protected mode", 13, 10, 0
msg64: db "Hello from long mode", 13, 10, 0

align 4096
file_end:
pml4:   equ file_end
pdpt:   equ file_end + 0x1000
pd:     equ file_end + 0x2000
stack_top: equ file_end + 0x4000
bss_end:   equ file_end + 0x4000
