; 4-level paging in long mode (SDM Vol. 3A §4.5) with 4 KiB and 2 MiB pages: aliases through
; both sizes, #PF error codes and CR2 for not-present entries, reserved bit 63 without
; EFER.NXE, CR0.WP, execute-disable pages (I/D bit only with NXE, §4.7), supervisor pages
; from CPL 3, and the accessed and dirty bits (§4.8).
%include "include/platform.inc"
%include "include/sysmacros.inc"
bits 32
org 0x100000
%include "include/multiboot.inc"

PT1         equ 0x203000            ; linear 2-4 MiB in 4 KiB pages
TEST_RO     equ 0x380000            ; read-only, user
TEST_SUP    equ 0x381000            ; writable, supervisor only
TEST_NP     equ 0x382000            ; not present until the handler fixes it
TEST_ALIAS  equ 0x383000            ; maps physical ALIAS_PHYS
TEST_AD     equ 0x384000            ; accessed/dirty bits start clear
TEST_NP2    equ 0x385000            ; never present
TEST_NX     equ 0x386000            ; execute-disable, user
ALIAS_PHYS  equ 0x390000
BIG_ALIAS   equ 0x800000            ; 2 MiB page onto physical 4 MiB
UNMAPPED_2M equ 0xC00000            ; PDE 6 not present until fixed
PTE_P       equ 1
PTE_RW      equ 2
PTE_US      equ 4
PDE_PS      equ 0x80
XD_HIGH     equ 0x80000000          ; bit 63 in the high dword
STACK_TOP   equ 0x1F0000
USER_STACK  equ 0x1E0000

%define PTE(linear) (PT1 + (((linear) >> 9) & 0xFF8))
%define PDE(linear) (LM_PD + (((linear) >> 18) & 0xFF8))

entry:
    cli
    mov esp, STACK_TOP
    call sys32_init
    PRINTLN "4-level paging guest"
    jmp long_mode_enter

bits 64
entry64:
    call install_pf64
    mov rax, cr0
    and eax, ~(1 << 16)             ; CR0.WP = 0 for now
    mov cr0, rax
    ; PT1: identity for 2-4 MiB, present + writable + user; then the special pages.
    xor ecx, ecx
.pt:
    mov eax, ecx
    shl eax, 12
    add eax, 0x200000 | PTE_P | PTE_RW | PTE_US
    mov [PT1 + rcx * 8], rax
    inc ecx
    cmp ecx, 512
    jne .pt
    mov dword [PTE(TEST_RO)], TEST_RO | PTE_P | PTE_US
    mov dword [PTE(TEST_SUP)], TEST_SUP | PTE_P | PTE_RW
    mov dword [PTE(TEST_NP)], TEST_NP | PTE_RW | PTE_US
    mov dword [PTE(TEST_ALIAS)], ALIAS_PHYS | PTE_P | PTE_RW | PTE_US
    mov dword [PTE(TEST_NP2)], 0
    mov dword [PTE(TEST_NX) + 4], XD_HIGH
    mov byte [TEST_NX], 0xC3        ; RET, never executed
    mov dword [PDE(0x200000)], PT1 | PTE_P | PTE_RW | PTE_US
    mov dword [PDE(BIG_ALIAS)], 0x400000 | PDE_PS | PTE_P | PTE_RW | PTE_US
    mov dword [PDE(UNMAPPED_2M)], 0
    mov rax, cr3
    mov cr3, rax                    ; flush the TLB

    mov dword [TEST_ALIAS + 0x10], 0xCAFE0001
    PRINT "4 KiB alias: "
    mov eax, [ALIAS_PHYS + 0x10]
    call puthex32
    call crlf32
    mov dword [BIG_ALIAS + 0x1234], 0xCAFE0002
    PRINT "2 MiB alias: "
    mov eax, [0x400000 + 0x1234]
    call puthex32
    call crlf32

    mov dword [TEST_RO + 0x20], 0x5A5A
    PRINT "WP=0 write to read-only page: "
    mov eax, [TEST_RO + 0x20]
    call puthex32
    call crlf32

    PF_FIX PTE(TEST_NP), 0xFFFFFFFF, PTE_P
    mov dword [TEST_NP + 0x10], 0xABCD
    PRINT "after fix: "
    mov eax, [TEST_NP + 0x10]
    call puthex32
    call crlf32
    PF_FIX PDE(UNMAPPED_2M), 0, UNMAPPED_2M | PDE_PS | PTE_P | PTE_RW
    mov eax, [UNMAPPED_2M + 0x10]
    PRINTLN "read through the fixed PDE"

    ; Bit 63 is reserved while EFER.NXE = 0: err = P|RSVD.
    PF_SKIP .after_rsvd
    mov eax, [TEST_NX]
.after_rsvd:
    mov rax, cr0
    or eax, 1 << 16                 ; CR0.WP
    mov cr0, rax
    PF_SKIP .after_wp
    mov dword [TEST_RO + 0x20], 0x6B6B
    PRINTLN "no fault with WP=1"
.after_wp:
    ; Fetch from a not-present page: no I/D bit while NXE = 0, I/D with NXE = 1.
    PF_SKIP .after_fetch0
    mov eax, TEST_NP2
    jmp rax
.after_fetch0:
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1 << 11                 ; EFER.NXE
    wrmsr
    PF_SKIP .after_fetch1
    mov eax, TEST_NP2
    jmp rax
.after_fetch1:
    PF_SKIP .after_nx
    mov eax, TEST_NX
    jmp rax
.after_nx:
    PRINT "XD page readable: "
    movzx eax, byte [TEST_NX]
    call puthex32
    call crlf32

    PRINT "A/D: pte "
    mov eax, [PTE(TEST_AD)]
    and eax, 0xFFF
    call puthex32
    mov eax, [TEST_AD]
    PRINT ", after read "
    mov eax, [PTE(TEST_AD)]
    and eax, 0xFFF
    call puthex32
    mov dword [TEST_AD], 1
    PRINT ", after write "
    mov eax, [PTE(TEST_AD)]
    and eax, 0xFFF
    call puthex32
    PRINT ", pde "
    mov eax, [PDE(0x200000)]
    and eax, 0xFFF
    call puthex32
    PRINT ", 2 MiB pde "
    mov eax, [PDE(BIG_ALIAS)]
    and eax, 0xFFF
    call puthex32
    call crlf32

    PRINTLN "to CPL 3"
    mov eax, user_code
    mov ecx, USER_STACK
    call enter_user64
    PRINTLN "back at CPL 0"
    EXIT 0x12

; CPL 3: supervisor page read, read-only page write, supervisor fetch, XD fetch.
user_code:
    PF_SKIP .r1
    mov eax, [TEST_SUP]
.r1:
    PF_SKIP .r2
    mov dword [TEST_RO], 1
.r2:
    PF_SKIP .r3
    mov eax, TEST_SUP
    jmp rax
.r3:
    PF_SKIP .r4
    mov eax, TEST_NX
    jmp rax
.r4:
    ud2                             ; back to CPL 0

%include "include/serial32.inc"
%include "include/sys32.inc"
%include "include/sys64.inc"
%include "include/pf64.inc"
image_end:
