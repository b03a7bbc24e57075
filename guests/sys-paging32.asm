; 32-bit paging (SDM Vol. 3A §4.3) with 4 KiB and 4 MiB (CR4.PSE) pages: aliases through
; both page sizes, #PF error codes and CR2 for not-present entries, CR0.WP, fetches with
; EFER.NXE (no I/D bit without PAE, §4.7), supervisor pages from CPL 3, and the accessed and
; dirty bits (§4.8). The #PF handler prints "err" and "cr2" and fixes or skips.
%include "include/platform.inc"
bits 32
org 0x100000
%include "include/sysmacros.inc"
%include "include/multiboot.inc"

PD          equ 0x300000            ; page directory
PT0         equ 0x301000            ; page table for linear 0-4 MiB
TEST_RO     equ 0x380000            ; read-only, user
TEST_SUP    equ 0x381000            ; writable, supervisor only
TEST_NP     equ 0x382000            ; not present until the handler fixes it
TEST_ALIAS  equ 0x383000            ; maps physical ALIAS_PHYS
TEST_AD     equ 0x384000            ; accessed/dirty bits start clear
TEST_NP2    equ 0x385000            ; never present
ALIAS_PHYS  equ 0x390000
BIG_ALIAS   equ 0x800000            ; 4 MiB page onto physical 4 MiB
UNMAPPED_4M equ 0xC00000            ; PDE 3 not present until fixed
PTE_P       equ 1
PTE_RW      equ 2
PTE_US      equ 4
PDE_PS      equ 0x80
STACK_TOP   equ 0x1F0000
USER_STACK  equ 0x1E0000

entry:
    cli
    mov esp, STACK_TOP
    call sys32_init
    call install_pf32
    PRINTLN "32-bit paging guest"

    ; Page table 0: identity, present + writable + user; then the special pages.
    xor ecx, ecx
.pt:
    mov eax, ecx
    shl eax, 12
    or eax, PTE_P | PTE_RW | PTE_US
    mov [PT0 + ecx * 4], eax
    inc ecx
    cmp ecx, 1024
    jne .pt
    mov dword [PT0 + (TEST_RO >> 10)], TEST_RO | PTE_P | PTE_US
    mov dword [PT0 + (TEST_SUP >> 10)], TEST_SUP | PTE_P | PTE_RW
    mov dword [PT0 + (TEST_NP >> 10)], TEST_NP | PTE_RW | PTE_US
    mov dword [PT0 + (TEST_ALIAS >> 10)], ALIAS_PHYS | PTE_P | PTE_RW | PTE_US
    mov dword [PT0 + (TEST_NP2 >> 10)], 0
    mov dword [PD + 0], PT0 | PTE_P | PTE_RW | PTE_US
    mov dword [PD + 4], 0x400000 | PDE_PS | PTE_P | PTE_RW | PTE_US
    mov dword [PD + (BIG_ALIAS >> 20)], 0x400000 | PDE_PS | PTE_P | PTE_RW | PTE_US
    mov eax, PD
    mov cr3, eax
    mov eax, cr4
    or eax, 1 << 4                  ; CR4.PSE
    mov cr4, eax
    mov eax, cr0
    or eax, 1 << 31                 ; CR0.PG (WP still clear)
    mov cr0, eax

    ; Aliases: write through the alias, read the physical page through the identity map.
    mov dword [TEST_ALIAS + 0x10], 0xCAFE0001
    PRINT "4 KiB alias: "
    mov eax, [ALIAS_PHYS + 0x10]
    call puthex32
    call crlf32
    mov dword [BIG_ALIAS + 0x1234], 0xCAFE0004
    PRINT "4 MiB alias: "
    mov eax, [0x400000 + 0x1234]
    call puthex32
    call crlf32

    ; CR0.WP = 0: supervisor writes ignore the R/W bit (SDM Vol. 3A §4.6.1).
    mov dword [TEST_RO + 0x20], 0x5A5A
    PRINT "WP=0 write to read-only page: "
    mov eax, [TEST_RO + 0x20]
    call puthex32
    call crlf32

    ; Not-present PTE, write: err = W; the handler sets P and the write is retried.
    PF_FIX PT0 + (TEST_NP >> 10), 0xFFFFFFFF, PTE_P
    mov dword [TEST_NP + 0x10], 0xABCD
    PRINT "after fix: "
    mov eax, [TEST_NP + 0x10]
    call puthex32
    call crlf32
    ; Not-present PDE, read: err = 0; fixed with a 4 MiB page.
    PF_FIX PD + (UNMAPPED_4M >> 20), 0, UNMAPPED_4M | PDE_PS | PTE_P | PTE_RW
    mov eax, [UNMAPPED_4M + 0x10]
    PRINTLN "read through the fixed PDE"

    ; CR0.WP = 1: a supervisor write to a read-only page faults with err = P|W.
    mov eax, cr0
    or eax, 1 << 16
    mov cr0, eax
    PF_SKIP .after_wp
    mov dword [TEST_RO + 0x20], 0x6B6B
    PRINTLN "no fault with WP=1"
.after_wp:
    ; A fetch from a not-present page with EFER.NXE = 1: I/D is only reported with PAE.
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1 << 11                 ; EFER.NXE
    wrmsr
    PF_SKIP .after_fetch
    jmp TEST_NP2
.after_fetch:

    ; Accessed and dirty bits of the PTE and of the PDEs.
    PRINT "A/D: pte "
    mov eax, [PT0 + (TEST_AD >> 10)]
    and eax, 0xFFF
    call puthex32
    mov eax, [TEST_AD]
    PRINT ", after read "
    mov eax, [PT0 + (TEST_AD >> 10)]
    and eax, 0xFFF
    call puthex32
    mov dword [TEST_AD], 1
    PRINT ", after write "
    mov eax, [PT0 + (TEST_AD >> 10)]
    and eax, 0xFFF
    call puthex32
    PRINT ", pde0 "
    mov eax, [PD]
    and eax, 0xFFF
    call puthex32
    PRINT ", 4 MiB pde "
    mov eax, [PD + (BIG_ALIAS >> 20)]
    and eax, 0xFFF
    call puthex32
    call crlf32

    PRINTLN "to CPL 3"
    mov eax, user_code
    mov ecx, USER_STACK
    xor edx, edx
    call enter_user32
    PRINTLN "back at CPL 0"
    EXIT 0x10

; CPL 3: supervisor page read, read-only page write, supervisor page fetch.
user_code:
    PF_SKIP .r1
    mov eax, [TEST_SUP]
.r1:
    PF_SKIP .r2
    mov dword [TEST_RO], 1
.r2:
    PF_SKIP .r3
    jmp TEST_SUP
.r3:
    ud2                             ; back to CPL 0

%include "include/serial32.inc"
%include "include/sys32.inc"
%include "include/pf32.inc"
image_end:
