; A 32-bit "bzImage": a Linux setup header without XLF_KERNEL_64, then protected-mode code
; that checks the state the 32-bit boot protocol promises (Documentation/arch/x86/boot.rst,
; "32-bit BOOT PROTOCOL"), prints what it found, and leaves through the debug-exit port with
; the status named by "exit=N" on the command line (N decimal, 0..127), so `swiftpc run`
; returns (N << 1) | 1. It also prints the BIOS Data Area words a kernel sizes low memory by.
%include "include/platform.inc"

SETUP_SECTS     equ 1           ; the protected-mode part starts at (1 + 1) * 512
LOAD_ADDRESS    equ 0x100000
BP_HDRS         equ 0x202       ; struct boot_params: the "HdrS" magic of the setup header
BP_LOADER_TYPE  equ 0x210
BP_CODE32_START equ 0x214
BP_CMD_LINE_PTR equ 0x228
BP_E820_ENTRIES equ 0x1E8
BDA_COM1        equ 0x400
BDA_EBDA_SEG    equ 0x40E
BDA_BASE_KIB    equ 0x413

section setup start=0
    times 0x1F1 - ($ - $$) db 0
    db SETUP_SECTS                      ; 0x1F1 setup_sects
    dw 0                                ; 0x1F2 root_flags
    dd (kernel_end - entry + 15) / 16   ; 0x1F4 syssize
    dw 0                                ; 0x1F8 ram_size
    dw 0xFFFF                           ; 0x1FA vid_mode
    dw 0                                ; 0x1FC root_dev
    dw 0xAA55                           ; 0x1FE boot_flag
    db 0xEB, header_end - 0x202         ; 0x200 jump over the header
    db "HdrS"                           ; 0x202
    dw 0x020F                           ; 0x206 version 2.15
    dd 0                                ; 0x208 realmode_swtch
    dw 0x1000                           ; 0x20C start_sys_seg
    dw 0                                ; 0x20E kernel_version
    db 0                                ; 0x210 type_of_loader
    db 1                                ; 0x211 loadflags: LOADED_HIGH
    dw 0                                ; 0x212 setup_move_size
    dd LOAD_ADDRESS                     ; 0x214 code32_start
    dd 0, 0                             ; 0x218 ramdisk_image, ramdisk_size
    dd 0                                ; 0x220 bootsect_kludge
    dw 0                                ; 0x224 heap_end_ptr
    db 0, 0                             ; 0x226 ext_loader_ver, ext_loader_type
    dd 0                                ; 0x228 cmd_line_ptr
    dd 0x7FFFFFFF                       ; 0x22C initrd_addr_max
    dd 0x1000                           ; 0x230 kernel_alignment
    db 0                                ; 0x234 relocatable_kernel
    db 12                               ; 0x235 min_alignment
    dw 0                                ; 0x236 xloadflags: no XLF_KERNEL_64
    dd 0x7FF                            ; 0x238 cmdline_size
    dd 0                                ; 0x23C hardware_subarch
    dq 0                                ; 0x240 hardware_subarch_data
    dd 0, 0                             ; 0x248 payload_offset, payload_length
    dq 0                                ; 0x250 setup_data
    dq LOAD_ADDRESS                     ; 0x258 pref_address
    dd 0x10000                          ; 0x260 init_size
    dd 0                                ; 0x264 handover_offset
    dd 0                                ; 0x268 kernel_info_offset
header_end:
    times (SETUP_SECTS + 1) * 512 - ($ - $$) db 0

section kernel follows=setup vstart=LOAD_ADDRESS
bits 32
entry:
    ; Registers first, before anything changes them.
    mov [saved_ebx], ebx
    mov [saved_ebp], ebp
    mov [saved_edi], edi
    mov [saved_esi], esi
    mov esp, stack_top                  ; the protocol gives no stack
    pushfd
    pop eax
    mov [saved_eflags], eax
    mov eax, cr0
    mov [saved_cr0], eax

    mov esi, seg_label
    call puts32
    mov ax, cs
    call puthex16
    mov esi, ds_label
    call puts32
    mov ax, ds
    call puthex16
    mov esi, es_label
    call puts32
    mov ax, es
    call puthex16
    mov esi, ss_label
    call puts32
    mov ax, ss
    call puthex16
    mov esi, crlf
    call puts32

    mov esi, regs_label
    call puts32
    mov eax, [saved_ebx]
    or eax, [saved_ebp]
    or eax, [saved_edi]
    call puthex32
    mov esi, if_label
    call puts32
    mov eax, [saved_eflags]
    shr eax, 9
    and eax, 1
    call putdec32
    mov esi, pg_label
    call puts32
    mov eax, [saved_cr0]
    shr eax, 31
    call putdec32
    mov esi, crlf
    call puts32

    ; The zero page: its setup header magic, and code32_start pointing at us.
    mov ebp, [saved_esi]
    mov esi, zp_label
    call puts32
    mov eax, ebp
    call puthex32
    mov esi, space
    call puts32
    lea esi, [ebp + BP_HDRS]
    mov ecx, 4
    call putn32
    mov esi, code32_label
    call puts32
    mov eax, [ebp + BP_CODE32_START]
    call puthex32
    mov esi, e820_label
    call puts32
    movzx eax, byte [ebp + BP_E820_ENTRIES]
    call putdec32
    mov esi, crlf
    call puts32

    mov esi, cmd_label
    call puts32
    mov esi, [ebp + BP_CMD_LINE_PTR]
    call puts32
    mov esi, crlf
    call puts32

    mov esi, bda_label
    call puts32
    mov ax, [BDA_EBDA_SEG]
    call puthex16
    mov esi, base_label
    call puts32
    movzx eax, word [BDA_BASE_KIB]
    call putdec32
    mov esi, com1_label
    call puts32
    mov ax, [BDA_COM1]
    call puthex16
    mov esi, crlf
    call puts32

    ; Leave with the "exit=N" of the command line.
    mov esi, [ebp + BP_CMD_LINE_PTR]
    jmp exit_with_cmdline_code

fail:
    mov al, 0x7F
    call debug_exit32

%include "include/serial32.inc"
%include "include/cmdline-exit32.inc"

seg_label: db "bzImage32: cs=", 0
ds_label: db " ds=", 0
es_label: db " es=", 0
ss_label: db " ss=", 0
regs_label: db "ebx|ebp|edi=", 0
if_label: db " if=", 0
pg_label: db " pg=", 0
zp_label: db "zero page: ", 0
code32_label: db " code32_start=", 0
e820_label: db " e820=", 0
cmd_label: db "cmdline: ", 0
bda_label: db "bda: ebda=", 0
base_label: db " base_kib=", 0
com1_label: db " com1=", 0
space: db " ", 0
crlf: db 13, 10, 0

align 4
saved_ebx: dd 0
saved_ebp: dd 0
saved_edi: dd 0
saved_esi: dd 0
saved_eflags: dd 0
saved_cr0: dd 0
align 16
stack_bottom: times 1024 db 0
stack_top:
kernel_end:
