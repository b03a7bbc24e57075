; 4-level paging and its faults (SDM Vol. 3A ch. 4: §4.5 the walk, §4.6 access rights,
; §4.7 #PF error codes, §4.8 accessed and dirty flags, §4.10 TLB invalidation). The KTEST
; `map_setup` hangs a test page structure below linear 1 GiB...2 GiB (PDPT entry 1) and the
; later tests change one entry at a time. 32-bit and PAE paging need a legacy-mode guest
; (paging32.asm).
%include "include/harness64.inc"

PDPT equ 0x9000                     ; the runner's PDPT (harness64.inc PML4_ADDRESS + 0x1000)
T_PD equ 0x700000                   ; test PD for linear 0x40000000-0x7FFFFFFF
T_PT equ 0x701000                   ; test PT for linear 0x40000000-0x401FFFFF
T_PHYS equ 0x710000                 ; physical pages the test PTEs point to
T_LIN equ 0x40000000
P equ 1
RW equ 2
US equ 4
A equ 0x20
D equ 0x40
PS equ 0x80
XD equ 0x8000000000000000

; PTE index, value: writes test PTE `index` and flushes its translation.
%macro PTE 2
    mov rax, %2
    mov [T_PT + (%1) * 8], rax
    invlpg [T_LIN + (%1) * 0x1000]
%endmacro

KTEST map_setup
    mov rdi, T_PD
    mov ecx, 0x2000 / 8
    xor eax, eax
    rep stosq
    mov qword [T_PD], T_PT | P | RW | US
    mov qword [PDPT + 8], T_PD | P | RW | US
    mov rax, cr3
    mov cr3, rax
    mov qword [T_PHYS], 0x1234
    PTE 0, T_PHYS | P | RW | US
    mov rax, [T_LIN]
    CHECK rax, 0x1234
ENDTEST
KTEST read_through_4k_page_offset
    mov qword [T_PHYS + 0x1000 + 0x7F8], 0x5678
    PTE 1, (T_PHYS + 0x1000) | P | RW | US
    mov rax, [T_LIN + 0x1000 + 0x7F8]
    CHECK rax, 0x5678
ENDTEST
KTEST accessed_and_dirty_flags
    PTE 2, (T_PHYS + 0x2000) | P | RW | US
    mov rax, [T_LIN + 0x2000]
    mov rax, [T_PT + 16]
    and eax, A | D
    CHECK rax, A
    mov [T_LIN + 0x2000], eax
    mov rax, [T_PT + 16]
    and eax, A | D
    CHECK rax, A | D
ENDTEST
KTEST pf_not_present_kernel_read
    PTE 3, 0
    EXPECT_FAULT .r
    mov rax, [T_LIN + 0x3010]
.r: CHECKV 14
    CHECKERR 0
    CHECK qword [fault_cr2], T_LIN + 0x3010
ENDTEST
KTEST pf_not_present_kernel_write
    PTE 3, 0
    EXPECT_FAULT .r
    mov [T_LIN + 0x3000], eax
.r: CHECKV 14
    CHECKERR 2
ENDTEST
KTEST pf_write_read_only_with_wp
    PTE 4, (T_PHYS + 0x4000) | P | US
    EXPECT_FAULT .r
    mov [T_LIN + 0x4000], eax
.r: CHECKV 14
    CHECKERR 3
ENDTEST
KTEST write_read_only_without_wp
    PTE 4, (T_PHYS + 0x4000) | P | US
    mov rbx, cr0
    mov rax, rbx
    and eax, ~(1 << 16)
    mov cr0, rax
    mov dword [T_LIN + 0x4000], 0x77
    mov cr0, rbx
    CHECK32 dword [T_PHYS + 0x4000], 0x77
ENDTEST
KTEST pf_read_only_at_pd_level
    mov qword [T_PD + 8], T_PT | P | US         ; PDE 1 (linear +2 MiB) read-only
    mov qword [T_PT + 0], T_PHYS | P | RW | US
    invlpg [T_LIN + 0x200000]
    EXPECT_FAULT .r
    mov [T_LIN + 0x200000], eax
.r: mov qword [T_PD + 8], 0
    CHECKV 14
    CHECKERR 3
ENDTEST
KTEST pf_reserved_bit
    mov rax, 1 << 51                            ; above MAXPHYADDR (below 52 on every x86-64 of today)
    or rax, (T_PHYS + 0x5000) | P | RW | US
    mov [T_PT + 5 * 8], rax
    invlpg [T_LIN + 0x5000]
    EXPECT_FAULT .r
    mov rax, [T_LIN + 0x5000]
.r: CHECKV 14
    CHECKERR 8 | 1                              ; RSVD, present
ENDTEST
KTEST pf_nx_fetch
    mov ecx, 0xC0000080
    rdmsr
    mov ebx, eax
    or eax, 1 << 11                             ; EFER.NXE
    wrmsr
    mov byte [T_PHYS + 0x6000], 0xC3            ; RET
    mov rax, XD | (T_PHYS + 0x6000) | P | RW | US
    mov [T_PT + 6 * 8], rax
    invlpg [T_LIN + 0x6000]
    mov rax, T_LIN + 0x6000
    EXPECT_FAULT .r
    call rax
.r: mov eax, ebx
    xor edx, edx
    mov ecx, 0xC0000080
    wrmsr
    CHECKV 14
    CHECKERR 0x10 | 1                           ; instruction fetch, present
    CHECK qword [fault_cr2], T_LIN + 0x6000
ENDTEST
KTEST execute_mapped_page
    mov byte [T_PHYS + 0x7000], 0xB8            ; mov eax, 42; ret
    mov dword [T_PHYS + 0x7001], 42
    mov byte [T_PHYS + 0x7005], 0xC3
    PTE 7, (T_PHYS + 0x7000) | P | RW | US
    mov rax, T_LIN + 0x7000
    call rax
    CHECK rax, 42
ENDTEST
KTEST large_page_2m
    mov qword [T_PHYS], 0xABCD
    mov qword [T_PD + 16], 0x600000 | P | RW | US | PS  ; linear +4 MiB -> 6 MiB... (2 MiB aligned)
    invlpg [T_LIN + 0x400000]
    mov qword [0x600000 + 0x1238], 0x4321
    mov rax, [T_LIN + 0x400000 + 0x1238]
    mov qword [T_PD + 16], 0
    CHECK rax, 0x4321
ENDTEST
KTEST pdpte_ps_reserved_without_1g_pages
    ; The swiftpc CPU model does not advertise 1-GiB pages (CPUID 80000001H:EDX[26]), which
    ; makes PS in a PDPTE a reserved bit.
    mov qword [PDPT + 16], 0 | P | RW | US | PS         ; linear 2 GiB -> physical 0
    mov rax, cr3
    mov cr3, rax
    mov rbx, 0x80000000 + SCRATCH + 0x40
    EXPECT_FAULT .r
    mov rax, [rbx]
.r: mov qword [PDPT + 16], 0
    mov rax, cr3
    mov cr3, rax
    CHECKV 14
    CHECKERR 8 | 1
ENDTEST
%assign rbit 13
%rep 8
KTEST pf_2m_pde_reserved_bit_ %+ rbit
    ; Bits 20:13 of a 2-MiB PDE lie below the page's alignment: reserved, #PF with RSVD
    ; (SDM Vol. 3A §4.5, Table 4-17).
    mov rax, 0x600000 | P | RW | US | PS | (1 << rbit)
    mov [T_PD + 24], rax
    invlpg [T_LIN + 0x600000]
    EXPECT_FAULT .r
    mov rax, [T_LIN + 0x600000 + 0x40]
.r: mov qword [T_PD + 24], 0
    invlpg [T_LIN + 0x600000]
    CHECKV 14
    CHECKERR 8 | 1
    CHECK qword [fault_cr2], T_LIN + 0x600000 + 0x40
ENDTEST
%assign rbit rbit + 1
%endrep
KTEST large_page_2m_pat_bit_is_not_reserved
    ; Bit 12 of a 2-MiB PDE is PAT, not an address bit.
    mov qword [0x600000 + 0x48], 0x77
    mov qword [T_PD + 24], 0x600000 | P | RW | US | PS | (1 << 12)
    invlpg [T_LIN + 0x600000]
    mov rax, [T_LIN + 0x600000 + 0x48]
    mov qword [T_PD + 24], 0
    invlpg [T_LIN + 0x600000]
    CHECK rax, 0x77
ENDTEST
KTEST pml4e_ps_reserved
    ; PS (bit 7) is reserved in a PML4E (SDM Vol. 3A §4.5, Table 4-15).
    mov qword [PML4_ADDRESS + 8], PDPT | P | RW | US | PS     ; linear 512 GiB -> the runner's PDPT
    mov rax, cr3
    mov cr3, rax
    mov rbx, 0x8000000000 + SCRATCH + 0x40
    EXPECT_FAULT .r
    mov rax, [rbx]
.r: mov qword [PML4_ADDRESS + 8], 0
    mov rax, cr3
    mov cr3, rax
    CHECKV 14
    CHECKERR 8 | 1
ENDTEST
KTEST invlpg_needed_for_new_mapping
    mov qword [T_PHYS + 0x8000], 1
    mov qword [T_PHYS + 0x9000], 2
    PTE 8, (T_PHYS + 0x8000) | P | RW | US
    mov rax, [T_LIN + 0x8000]
    mov qword [T_PT + 8 * 8], (T_PHYS + 0x9000) | P | RW | US
    invlpg [T_LIN + 0x8000]
    mov rax, [T_LIN + 0x8000]
    CHECK rax, 2
ENDTEST
KTEST user_page_setup_supervisor
    PTE 10, (T_PHYS + 0xA000) | P | RW          ; supervisor-only
    PTE 11, (T_PHYS + 0xB000) | P | US          ; user, read-only
    mov qword [T_PHYS + 0xB000], 0x99
    mov rax, 1
    CHECK rax, 1
ENDTEST
TEST pf_user_reads_supervisor_page
    EXPECT_FAULT .r
    mov rax, [T_LIN + 0xA000]
.r: CHECKV 14
    CHECKERR 4 | 1                              ; user, read, present
    CHECK qword [fault_cr2], T_LIN + 0xA000
ENDTEST
TEST pf_user_writes_read_only_page
    mov rax, [T_LIN + 0xB000]
    CHECK rax, 0x99
    EXPECT_FAULT .r
    mov [T_LIN + 0xB000], eax
.r: CHECKV 14
    CHECKERR 4 | 2 | 1
ENDTEST
KTEST kernel_writes_user_page
    PTE 12, (T_PHYS + 0xC000) | P | RW | US
    mov dword [T_LIN + 0xC000], 0x5A
    CHECK32 dword [T_PHYS + 0xC000], 0x5A
ENDTEST
KTEST cr3_reload_flushes
    mov qword [T_PHYS + 0xD000], 0xD
    mov qword [T_PHYS + 0xE000], 0xE
    PTE 13, (T_PHYS + 0xD000) | P | RW | US
    mov rax, [T_LIN + 0xD000]
    mov qword [T_PT + 13 * 8], (T_PHYS + 0xE000) | P | RW | US
    mov rax, cr3
    mov cr3, rax
    mov rax, [T_LIN + 0xD000]
    CHECK rax, 0xE
ENDTEST
KTEST map_teardown
    mov qword [PDPT + 8], 0
    mov rax, cr3
    mov cr3, rax
    EXPECT_FAULT .r
    mov rax, [T_LIN]
.r: CHECKV 14
ENDTEST
%include "include/end64.inc"
