; A Multiboot2 kernel (Multiboot2 Specification 2.0): checks the boot magic, walks the
; boot information tags and prints what it found (command line, boot loader name, first
; module, basic memory information, memory map, ACPI RSDP copy), then leaves through the
; debug-exit port with the status named by "exit=N" on the command line (N decimal,
; 0..127), so `swiftpc run` returns (N << 1) | 1; a wrong magic exits with 0x7F.
%include "include/platform.inc"
bits 32
org 0x100000

MB2_MAGIC       equ 0xE85250D6  ; header magic (spec 3.1.1)
MB2_ARCH_I386   equ 0           ; 32-bit protected mode
MB2_BOOT_MAGIC  equ 0x36D76289  ; EAX at entry
; Header tag types (spec 3.1.3-3.1.5).
MB2_HT_END      equ 0
MB2_HT_INFO_REQ equ 1
MB2_HT_ADDRESS  equ 2
MB2_HT_ENTRY    equ 3
; Boot information tag types (spec 3.6).
MB2_T_END       equ 0
MB2_T_CMDLINE   equ 1
MB2_T_LOADER    equ 2
MB2_T_MODULE    equ 3
MB2_T_MEMINFO   equ 4
MB2_T_MMAP      equ 6
MB2_T_ACPI_OLD  equ 14
MB2_T_ACPI_NEW  equ 15
MMAP_RAM        equ 1

mb2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
info_request:                           ; required: the loader must supply these or refuse
    dw MB2_HT_INFO_REQ, 0
    dd info_request_end - info_request
    dd MB2_T_CMDLINE, MB2_T_LOADER, MB2_T_MODULE, MB2_T_MEMINFO, MB2_T_MMAP
info_request_end:
    align 8, db 0
    dw MB2_HT_ADDRESS, 0
    dd 24
    dd mb2_header                       ; header_addr
    dd 0x100000                         ; load_addr
    dd 0                                ; load_end_addr: the whole file
    dd image_end                        ; bss_end_addr
    dw MB2_HT_ENTRY, 0
    dd 12
    dd entry
    align 8, db 0
    dw MB2_HT_END, 0
    dd 8
mb2_header_end:

entry:
    cli
    mov esp, stack_top
    cmp eax, MB2_BOOT_MAGIC
    jne fail
    mov ebp, ebx                        ; the boot information: u32 total_size, u32 reserved, tags
    lea edi, [ebp + 8]
.tag:
    mov eax, [edi]
    cmp eax, MB2_T_END
    je .end
    cmp eax, MB2_T_CMDLINE
    je .cmdline
    cmp eax, MB2_T_LOADER
    je .loader
    cmp eax, MB2_T_MODULE
    je .module
    cmp eax, MB2_T_MEMINFO
    je .meminfo
    cmp eax, MB2_T_MMAP
    je .mmap
    cmp eax, MB2_T_ACPI_OLD
    je .acpi
    cmp eax, MB2_T_ACPI_NEW
    je .acpi
.next:
    mov eax, [edi + 4]                  ; tag size, then padding to 8
    add eax, 7
    and eax, ~7
    add edi, eax
    jmp .tag

.cmdline:
    lea esi, [edi + 8]
    mov [cmdline], esi
    mov esi, cmd_label
    call puts32
    mov esi, [cmdline]
    call puts32
    call newline
    jmp .next
.loader:
    mov esi, loader_label
    call puts32
    lea esi, [edi + 8]
    call puts32
    call newline
    jmp .next
.module:
    cmp byte [module_seen], 0
    jne .next
    mov byte [module_seen], 1
    mov esi, mod_label
    call puts32
    mov esi, [edi + 8]                  ; mod_start
    mov ecx, [edi + 12]                 ; mod_end
    sub ecx, esi
    call putn32
    call newline
    jmp .next
.meminfo:
    mov esi, lower_label
    call puts32
    mov eax, [edi + 8]
    call putdec32
    mov esi, upper_label
    call puts32
    mov eax, [edi + 12]
    call putdec32
    call newline
    jmp .next
.mmap:
    ; u32 entry_size, u32 entry_version, then entries {u64 base, u64 length, u32 type, u32 0}.
    lea esi, [edi + 16]
    mov edx, edi
    add edx, [edi + 4]                  ; end of the tag
    xor ecx, ecx                        ; entries
    xor ebx, ebx                        ; RAM in KiB
.entry:
    cmp esi, edx
    jae .mmap_done
    inc ecx
    cmp dword [esi + 16], MMAP_RAM
    jne .skip
    mov eax, [esi + 8]                  ; length, low half
    shr eax, 10
    add ebx, eax
    mov eax, [esi + 12]                 ; length, high half: 4 GiB = 2^22 KiB
    shl eax, 22
    add ebx, eax
.skip:
    add esi, [edi + 8]
    jmp .entry
.mmap_done:
    mov esi, mmap_label
    call puts32
    mov eax, ecx
    call putdec32
    mov esi, ram_label
    call puts32
    mov eax, ebx
    call putdec32
    call newline
    jmp .next
.acpi:
    mov esi, acpi_label
    call puts32
    lea esi, [edi + 8]                  ; a copy of the RSDP: its signature first
    mov ecx, 8
    call putn32
    call newline
    jmp .next

.end:
    ; The end tag closes the structure: total_size covers exactly up to its end.
    lea eax, [edi + 8]
    sub eax, ebp
    cmp eax, [ebp]
    jne fail
    mov esi, total_label
    call puts32

    ; Leave with the "exit=N" of the command line.
    mov esi, [cmdline]
    test esi, esi
    jz fail
    jmp exit_with_cmdline_code

fail:
    mov al, 0x7F
    call debug_exit32

newline:
    push esi
    mov esi, crlf
    call puts32
    pop esi
    ret

%include "include/serial32.inc"
%include "include/cmdline-exit32.inc"

cmd_label: db "cmdline: ", 0
loader_label: db "loader: ", 0
mod_label: db "module: ", 0
lower_label: db "mem_lower: ", 0
upper_label: db " mem_upper: ", 0
mmap_label: db "mmap: ", 0
ram_label: db " entries, ram_kib: ", 0
acpi_label: db "acpi: ", 0
total_label: db "total_size: ok", 13, 10, 0
crlf: db 13, 10, 0

align 4
cmdline: dd 0
module_seen: db 0

align 16
stack_bottom: times 4096 db 0
stack_top:
image_end:
