; 32-bit and PAE paging (SDM Vol. 3A §4.3, §4.4, §4.7): 4-KiB and 4-MiB/2-MiB pages, #PF
; error codes and CR2, the write-protect bit, accessed and dirty flags, NX under PAE, and the
; PDPTE reserved-bit check of MOV CR3. Legacy protected mode (harness32.inc).
%include "include/harness32.inc"

PD equ 0x700000
PT equ 0x701000
PDPT equ 0x702000
PAE_PD0 equ 0x703000
PAE_PD1 equ 0x704000
PAE_PT equ 0x705000
T_PHYS equ 0x710000
T_LIN equ 0x40000000
P equ 1
RW equ 2
US equ 4
A equ 0x20
D equ 0x40
PS equ 0x80

; PAGING32: PD mapping 0-8 MiB with 4-MiB pages, linear 1 GiB through PT to T_PHYS; on.
%macro PAGING32 0
    mov edi, PD
    mov ecx, 0x2000 / 4
    xor eax, eax
    rep stosd
    mov dword [PD], 0 | P | RW | PS
    mov dword [PD + 4], 0x400000 | P | RW | PS
    mov dword [PD + 0x100 * 4], PT | P | RW
    mov dword [PT], T_PHYS | P | RW
    mov eax, cr4
    or eax, 1 << 4                  ; PSE
    mov cr4, eax
    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16)   ; PG, WP
    mov cr0, eax
%endmacro

; PAEPAGING: PDPT -> PD0 (0-8 MiB in 2-MiB pages) and PD1 -> PT (linear 1 GiB); on.
%macro PAEPAGING 0
    mov edi, PDPT
    mov ecx, 0x4000 / 4
    xor eax, eax
    rep stosd
    mov dword [PDPT], PAE_PD0 | P
    mov dword [PDPT + 8], PAE_PD1 | P
    mov dword [PAE_PD0], 0 | P | RW | PS
    mov dword [PAE_PD0 + 8], 0x200000 | P | RW | PS
    mov dword [PAE_PD0 + 16], 0x400000 | P | RW | PS
    mov dword [PAE_PD0 + 24], 0x600000 | P | RW | PS
    mov dword [PAE_PD1], PAE_PT | P | RW
    mov dword [PAE_PT], T_PHYS | P | RW
    mov eax, cr4
    or eax, 1 << 5                  ; PAE
    mov cr4, eax
    mov eax, PDPT
    mov cr3, eax
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16)
    mov cr0, eax
%endmacro

TEST paging32_read_4k, REQ_PAGING32
    mov dword [T_PHYS + 0x10], 0xCAFE
    PAGING32
    mov eax, [T_LIN + 0x10]
    CHECK eax, 0xCAFE
ENDTEST
TEST paging32_pf_not_present, REQ_PAGING32
    PAGING32
    EXPECT_FAULT .r
    mov eax, [T_LIN + 0x1004]
.r: CHECKV 14
    CHECKERR 0
    CHECK dword [fault_cr2], T_LIN + 0x1004
ENDTEST
TEST paging32_pf_write_read_only_wp, REQ_PAGING32
    PAGING32
    mov dword [PT + 8], (T_PHYS + 0x2000) | P
    invlpg [T_LIN + 0x2000]
    EXPECT_FAULT .r
    mov [T_LIN + 0x2000], eax
.r: CHECKV 14
    CHECKERR 3
ENDTEST
TEST paging32_accessed_dirty, REQ_PAGING32
    PAGING32
    mov eax, [T_LIN]
    mov eax, [PT]
    and eax, A | D
    CHECK eax, A
    mov [T_LIN], eax
    mov eax, [PT]
    and eax, A | D
    CHECK eax, A | D
    mov eax, [PD + 0x100 * 4]
    and eax, A
    CHECK eax, A
ENDTEST
TEST paging32_4m_page, REQ_PAGING32
    mov dword [0x400000 + 0x1234], 0x4444
    PAGING32
    mov dword [PD + 0x101 * 4], 0x400000 | P | RW | PS
    mov eax, [T_LIN + 0x400000 + 0x1234]
    CHECK eax, 0x4444
ENDTEST
TEST paging32_not_present_pde, REQ_PAGING32
    PAGING32
    EXPECT_FAULT .r
    mov [T_LIN + 0x800000], eax
.r: CHECKV 14
    CHECKERR 2
    CHECK dword [fault_cr2], T_LIN + 0x800000
ENDTEST
TEST pae_read_4k, REQ_PAE
    mov dword [T_PHYS + 0x20], 0xBEEF
    PAEPAGING
    mov eax, [T_LIN + 0x20]
    CHECK eax, 0xBEEF
ENDTEST
TEST pae_pf_not_present, REQ_PAE
    PAEPAGING
    EXPECT_FAULT .r
    mov eax, [T_LIN + 0x3000]
.r: CHECKV 14
    CHECKERR 0
    CHECK dword [fault_cr2], T_LIN + 0x3000
ENDTEST
TEST pae_2m_page, REQ_PAE
    mov dword [0x600000 + 0x10], 0x2222
    PAEPAGING
    mov dword [PAE_PD1 + 8], 0x600000 | P | RW | PS
    mov eax, [T_LIN + 0x200000 + 0x10]
    CHECK eax, 0x2222
ENDTEST
TEST pae_nx_fetch, REQ_PAE
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1 << 11                 ; EFER.NXE
    wrmsr
    mov byte [T_PHYS + 0x1000], 0xC3
    PAEPAGING
    mov dword [PAE_PT + 8], (T_PHYS + 0x1000) | P | RW
    mov dword [PAE_PT + 12], 0x80000000         ; XD
    mov eax, T_LIN + 0x1000
    EXPECT_FAULT .r
    call eax
.r: mov ecx, 0xC0000080
    rdmsr
    and eax, ~(1 << 11)
    wrmsr
    CHECKV 14
    CHECKERR 0x10 | 1
ENDTEST
TEST pae_pdpte_reserved_gp, REQ_PAE
    PAEPAGING
    mov dword [PDPT + 16], PAE_PD1 | P | RW     ; RW is reserved in a PDPTE
    mov eax, PDPT
    EXPECT_FAULT .r
    mov cr3, eax
.r: CHECKV 13
    CHECKERR 0
ENDTEST
TEST paging32_pse36_reserved_bit21, REQ_PAGING32
    ; A 4-MiB PDE with PSE-36 and MAXPHYADDR 40: bit 21 is reserved (SDM Vol. 3A Table 4-4).
    PAGING32
    mov dword [PD + 0x101 * 4], 0x400000 | P | RW | PS | (1 << 21)
    EXPECT_FAULT .r
    mov eax, [T_LIN + 0x400000 + 0x20]
.r: CHECKV 14
    CHECKERR 8 | 1
ENDTEST
TEST paging32_pse36_high_address_bits, REQ_PAGING32
    ; Bits 20:13 of a 4-MiB PDE are physical address bits 39:32: a page above 4 GiB (no RAM
    ; there, so reads see all ones) is not the page at the low 32 bits.
    mov dword [0x400000 + 0x24], 0x1234
    PAGING32
    mov dword [PD + 0x101 * 4], 0x400000 | P | RW | PS | (1 << 20)  ; physical 0x80_0040_0000
    mov eax, [T_LIN + 0x400000 + 0x24]
    CHECK eax, 0xFFFFFFFF
ENDTEST
TEST pae_2m_pde_reserved_bit13, REQ_PAE
    PAEPAGING
    mov dword [PAE_PD1 + 8], 0x600000 | P | RW | PS | (1 << 13)
    EXPECT_FAULT .r
    mov eax, [T_LIN + 0x200000 + 0x10]
.r: CHECKV 14
    CHECKERR 8 | 1
ENDTEST
TEST pae_2m_pde_reserved_bit20, REQ_PAE
    PAEPAGING
    mov dword [PAE_PD1 + 8], 0x600000 | P | RW | PS | (1 << 20)
    EXPECT_FAULT .r
    mov eax, [T_LIN + 0x200000 + 0x10]
.r: CHECKV 14
    CHECKERR 8 | 1
ENDTEST
%include "include/end32.inc"
