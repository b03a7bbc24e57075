; swiftpc's demo kernel: a multiboot v1 kernel that greets on the serial console, shows
; its command line, and powers off through ACPI. `swiftpc run --kernel demo.bin` boots it.
%include "include/platform.inc"
bits 32
org 0x100000

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT | MB_FLAG_MEMINFO
    dd -(MB_MAGIC + MB_FLAG_AOUT + MB_FLAG_MEMINFO)
    dd mb_header, 0x100000, 0, stack_top, entry

entry:
    cli
    mov esp, stack_top
    mov esi, banner
    call puts32
    mov ebp, ebx                ; multiboot information
    mov esi, mem_label
    call puts32
    mov eax, [ebp + 8]          ; mem_upper: KiB above 1 MiB
    add eax, 1024
    shr eax, 10
    call putdec32
    mov esi, mem_unit
    call puts32
    test dword [ebp], 1 << 2
    jz .off
    mov esi, cmd_label
    call puts32
    mov esi, [ebp + 16]
    call skip_argv0             ; the kernel's path comes first
    call puts32
    mov esi, crlf
    call puts32
.off:
    mov esi, bye
    call puts32
    call poweroff32

%include "include/serial32.inc"
%include "include/cmdline32.inc"

banner:    db "swiftpc demo kernel: hello, world!", 13, 10, 0
mem_label: db "memory: ", 0
mem_unit:  db " MiB", 13, 10, 0
cmd_label: db "command line: ", 0
bye:       db "powering off", 13, 10, 0
crlf:      db 13, 10, 0

align 16
    times 4096 db 0
stack_top:
