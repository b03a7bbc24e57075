; A multiboot v1 kernel that prints its command line and its first module, then leaves
; through the debug-exit port with the status named by "exit=N" on the command line
; (N decimal, 0..127), so `swiftpc run` returns (N << 1) | 1.
%include "include/platform.inc"
bits 32
org 0x100000

MBI_FLAGS       equ 0
MBI_CMDLINE     equ 16
MBI_MODS_COUNT  equ 20
MBI_MODS_ADDR   equ 24
MBI_HAS_CMDLINE equ 1 << 2
MBI_HAS_MODS    equ 1 << 3

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT | MB_FLAG_MEMINFO
    dd -(MB_MAGIC + MB_FLAG_AOUT + MB_FLAG_MEMINFO)
    dd mb_header, 0x100000, 0, stack_top, entry

entry:
    cli
    mov esp, stack_top
    cmp eax, MB_BOOT_MAGIC
    jne fail
    mov ebp, ebx                        ; multiboot information
    test dword [ebp + MBI_FLAGS], MBI_HAS_CMDLINE
    jz fail
    mov esi, cmd_label
    call puts32
    mov esi, [ebp + MBI_CMDLINE]
    call puts32
    mov esi, crlf
    call puts32

    ; The first module: print its bytes (start..end).
    test dword [ebp + MBI_FLAGS], MBI_HAS_MODS
    jz .no_module
    cmp dword [ebp + MBI_MODS_COUNT], 0
    je .no_module
    mov edx, [ebp + MBI_MODS_ADDR]
    mov esi, mod_label
    call puts32
    mov esi, [edx]                      ; mod_start
    mov ecx, [edx + 4]                  ; mod_end
    sub ecx, esi
    call putn32
    mov esi, crlf
    call puts32
.no_module:

    ; Leave with the "exit=N" of the command line.
    mov esi, [ebp + MBI_CMDLINE]
    jmp exit_with_cmdline_code

fail:
    mov al, 0x7F
    call debug_exit32

%include "include/serial32.inc"
%include "include/cmdline-exit32.inc"

cmd_label: db "cmdline: ", 0
mod_label: db "module: ", 0
crlf: db 13, 10, 0

align 16
stack_bottom: times 4096 db 0
stack_top:
