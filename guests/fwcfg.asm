; A multiboot kernel that learns about the machine from QEMU's fw_cfg (docs/specs/fw_cfg.rst)
; as small test kernels do: the signature, the CPU count, the RAM size, the command line and
; the size of the etc/e820 file from the file directory. It prints them and exits through
; debug-exit with the CPU count; a CPU count of 0 (no fw_cfg content) exits with 0x7F.
%include "include/platform.inc"
bits 32
org 0x100000

FW_CFG_SELECTOR equ 0x510
FW_CFG_DATA     equ 0x511
FW_SIGNATURE    equ 0x00
FW_RAM_SIZE     equ 0x03
FW_NB_CPUS      equ 0x05
FW_CMDLINE_SIZE equ 0x14
FW_CMDLINE_DATA equ 0x15
FW_FILE_DIR     equ 0x19
DIR_ENTRY_SIZE  equ 64
DIR_NAME        equ 8

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT | MB_FLAG_MEMINFO
    dd -(MB_MAGIC + MB_FLAG_AOUT + MB_FLAG_MEMINFO)
    dd mb_header, 0x100000, 0, stack_top, entry

entry:
    cli
    cld
    mov esp, stack_top

    mov ax, FW_SIGNATURE
    call select
    mov esi, sig_msg
    call puts32
    mov ecx, 4
.sig:
    in al, dx
    call putc32
    loop .sig
    mov esi, crlf
    call puts32

    mov ax, FW_NB_CPUS
    call select
    call read16
    mov ebx, eax
    mov esi, cpus_msg
    call puts32
    call putdec32
    mov esi, crlf
    call puts32

    mov ax, FW_RAM_SIZE
    call select
    call read32
    shr eax, 20
    mov esi, ram_msg
    call puts32
    call putdec32
    mov esi, mib_msg
    call puts32

    mov ax, FW_CMDLINE_SIZE
    call select
    call read32
    mov ecx, eax
    mov esi, cmd_msg
    call puts32
    mov ax, FW_CMDLINE_DATA
    call select
    jecxz .cmd_done
.cmd:
    in al, dx
    test al, al
    jz .cmd_done
    call putc32
    loop .cmd
.cmd_done:
    mov esi, crlf
    call puts32

    ; The file directory: a big-endian count, then 64-byte entries (size, select, name).
    mov ax, FW_FILE_DIR
    call select
    call read32
    bswap eax
    mov ebp, eax
.entry:
    test ebp, ebp
    jz .no_e820
    dec ebp
    mov edi, dir_entry
    mov ecx, DIR_ENTRY_SIZE
    rep insb
    mov esi, dir_entry + DIR_NAME
    mov edi, e820_name
    mov ecx, e820_name_len
    repe cmpsb
    jne .entry
    mov esi, e820_msg
    call puts32
    mov eax, [dir_entry]
    bswap eax
    call putdec32
    mov esi, crlf
    call puts32
    jmp .exit
.no_e820:
    mov esi, no_e820_msg
    call puts32
.exit:
    mov al, bl
    test al, al
    jnz .status
    mov al, 0x7F
.status:
    call debug_exit32

; select: AX = key; leaves DX = the data port.
select:
    mov dx, FW_CFG_SELECTOR
    out dx, ax
    mov dx, FW_CFG_DATA
    ret

; read16 / read32: the next 2 / 4 bytes of the selected item, little-endian, into EAX.
read16:
    xor eax, eax
    in al, dx
    mov ah, al
    in al, dx
    xchg al, ah
    ret
read32:
    push ecx
    mov ecx, 4
.byte:
    in al, dx
    ror eax, 8
    loop .byte
    pop ecx
    ret

%include "include/serial32.inc"

sig_msg:     db "signature: ", 0
cpus_msg:    db "cpus: ", 0
ram_msg:     db "ram: ", 0
mib_msg:     db " MiB", 13, 10, 0
cmd_msg:     db "cmdline: ", 0
e820_msg:    db "etc/e820 bytes: ", 0
no_e820_msg: db "no etc/e820", 13, 10, 0
e820_name:   db "etc/e820", 0
e820_name_len equ $ - e820_name
crlf:        db 13, 10, 0

align 16
dir_entry: times DIR_ENTRY_SIZE db 0
    times 4096 db 0
stack_top:
