; Exceptions and their error codes (SDM Vol. 3A ch. 6, §6.15): privileged instructions at
; CPL 3, #UD forms, traps reporting the next RIP, faults the faulting one, #PF error codes
; and CR2, #SS and #GP for non-canonical addresses, #AC, #NM, selector error codes, and the
; frame a CPL 3 exception pushes.
%include "include/harness64.inc"

; PRIV name, instruction: #GP(0) at CPL 3.
%macro PRIV 2
TEST %1
    EXPECT_FAULT .r
.f: %2
.r: CHECKV 13
    CHECKERR 0
    CHECK qword [fault_rip], .f
ENDTEST
%endmacro
PRIV hlt_cpl3_gp, hlt
PRIV cli_cpl3_gp, cli
PRIV mov_cr0_cpl3_gp, {mov rax, cr0}
PRIV mov_to_cr3_cpl3_gp, {mov cr3, rax}
PRIV rdmsr_cpl3_gp, rdmsr
PRIV wrmsr_cpl3_gp, wrmsr
PRIV lgdt_cpl3_gp, {lgdt [SCRATCH]}
PRIV lidt_cpl3_gp, {lidt [SCRATCH]}
PRIV in_cpl3_no_bitmap_gp, {in al, dx}
PRIV out_cpl3_no_bitmap_gp, {out 0x80, al}
PRIV invlpg_cpl3_gp, {invlpg [SCRATCH]}
PRIV wbinvd_cpl3_gp, wbinvd
PRIV mov_dr7_cpl3_gp, {mov rax, dr7}
PRIV rdpmc_cpl3_no_pce_gp, rdpmc
PRIV clts_cpl3_gp, clts

; UD name, bytes
%macro UD 2
TEST %1
    EXPECT_FAULT .r
.f: db %2
.r: CHECKV 6
    CHECK qword [fault_rip], .f
ENDTEST
%endmacro
UD ud2_ud, {0x0F, 0x0B}
UD push_es_64bit_ud, {0x06}
UD into_64bit_ud, {0xCE}
UD aaa_64bit_ud, {0x37}
UD lock_nop_ud, {0xF0, 0x90}
UD lock_mov_reg_ud, {0xF0, 0x89, 0xC0}
UD lds_64bit_ud, {0xC5, 0x00}
UD mov_cs_ud, {0x8E, 0xC8}
UD ud0_ud, {0x0F, 0xFF, 0xC0}

TEST int3_trap_next_rip
    EXPECT_FAULT .r
    int3
.n: nop
.r: CHECKV 3
    CHECK qword [fault_rip], .n
    CHECK qword [fault_cs], UCODE
ENDTEST
TEST icebp_db_trap, REQ_USERINT
    EXPECT_FAULT .r
    db 0xF1                         ; INT1
.n: nop
.r: CHECKV 1
    CHECK qword [fault_rip], .n
ENDTEST
TEST pf_user_read_not_present
    mov rbx, 0x40001008             ; past the mapped first GiB
    EXPECT_FAULT .r
.f: mov rax, [rbx]
.r: CHECKV 14
    CHECKERR 4                      ; user, read, not present
    CHECK qword [fault_cr2], 0x40001008
    CHECK qword [fault_rip], .f
ENDTEST
TEST pf_user_write_not_present
    mov rbx, 0x40002000
    EXPECT_FAULT .r
    mov [rbx], eax
.r: CHECKV 14
    CHECKERR 6
    CHECK qword [fault_cr2], 0x40002000
ENDTEST
TEST pf_user_fetch_not_present
    mov rbx, 0x40003000
    EXPECT_FAULT .r
    call rbx
.r: CHECKV 14
    CHECKERR 4 | 0x10 * 0           ; the I/D bit is set only with NX enabled
    CHECK qword [fault_cr2], 0x40003000
ENDTEST
TEST pf_straddling_page_end
    mov rbx, 0x3FFFFFFE             ; the last two bytes of the mapped GiB
    EXPECT_FAULT .r
    mov eax, [rbx]
.r: CHECKV 14
    CHECK qword [fault_cr2], 0x40000000
ENDTEST
KTEST pf_kernel_read_not_present
    mov rbx, 0x40004000
    EXPECT_FAULT .r
    mov rax, [rbx]
.r: CHECKV 14
    CHECKERR 0
ENDTEST
TEST gp_noncanonical_data
    mov rbx, 0x8000000000000000
    EXPECT_FAULT .r
    mov rax, [rbx]
.r: CHECKV 13
    CHECKERR 0
ENDTEST
TEST ss_noncanonical_stack
    mov rbx, rsp
    mov rax, 0x0000800000000010
    mov rsp, rax
    EXPECT_FAULT .r
    push rax
.r: mov rsp, rbx
    CHECKV 12
    CHECKERR 0
ENDTEST
TEST ss_noncanonical_rbp_base
    mov rbp, 0x0000800000000000
    EXPECT_FAULT .r
    mov rax, [rbp + 8]              ; an RBP base uses SS
.r: CHECKV 12
ENDTEST
TEST ac_misaligned_with_ac_flag, REQ_ALIGNCHECK
    pushfq
    or qword [rsp], 0x40000
    popfq
    EXPECT_FAULT .r
    mov eax, [SCRATCH + 1]
.r: CHECKV 17
    CHECKERR 0
ENDTEST
TEST ac_aligned_no_fault
    pushfq
    or qword [rsp], 0x40000
    popfq
    mov eax, [SCRATCH + 4]
    mov rax, 1
    CHECK rax, 1
ENDTEST
TEST frame_from_cpl3
    mov rbx, rsp
    EXPECT_FAULT .r
    ud2
.r: CHECKV 6
    CHECK qword [fault_cs], UCODE
    CHECK qword [fault_rsp], rbx
ENDTEST
KTEST nm_with_cr0_ts, REQ_CPL0EMU
    mov rax, cr0
    or eax, 8                       ; TS
    mov cr0, rax
    EXPECT_FAULT .r
    fld1
.r: CHECKV 7
    clts
    mov rax, cr0
    CHECK rax, 0x80050033
ENDTEST
KTEST nm_with_cr0_em_x87, REQ_CPL0EMU
    mov rax, cr0
    or eax, 4                       ; EM
    mov cr0, rax
    EXPECT_FAULT .r
    fld1
.r: mov rax, cr0
    and eax, ~4
    mov cr0, rax
    CHECKV 7
ENDTEST
KTEST ud_sse_with_cr0_em, REQ_CPL0EMU
    mov rax, cr0
    or eax, 4
    mov cr0, rax
    EXPECT_FAULT .r
    addps xmm0, xmm1
.r: mov rax, cr0
    and eax, ~4
    mov cr0, rax
    CHECKV 6
ENDTEST
KTEST ud_sse_without_osfxsr, REQ_CPL0EMU
    mov rax, cr4
    and eax, ~(1 << 9)
    mov cr4, rax
    EXPECT_FAULT .r
    addps xmm0, xmm1
.r: mov rax, cr4
    or eax, 1 << 9
    mov cr4, rax
    CHECKV 6
ENDTEST
KTEST gp_selector_past_gdt_limit
    mov ax, 0x1230
    EXPECT_FAULT .r
    mov ds, ax
.r: CHECKV 13
    CHECKERR 0x1230
ENDTEST
KTEST np_not_present_data_segment
    mov rax, 0x00CF12000000FFFF     ; data, DPL 0, P = 0
    mov [gdt + TEST_SEL], rax
    mov ax, TEST_SEL
    EXPECT_FAULT .r
    mov es, ax
.r: CHECKV 11
    CHECKERR TEST_SEL
ENDTEST
KTEST gp_execute_only_code_in_ds
    mov rax, 0x00CF98000000FFFF     ; code, execute-only
    mov [gdt + TEST_SEL + 8], rax
    mov ax, TEST_SEL + 8
    EXPECT_FAULT .r
    mov ds, ax
.r: CHECKV 13
    CHECKERR TEST_SEL + 8
ENDTEST
KTEST gp_ss_rpl_mismatch
    mov ax, KDATA | 3
    EXPECT_FAULT .r
    mov ss, ax
.r: CHECKV 13
    CHECKERR KDATA
ENDTEST
KTEST ss_null_allowed_cpl0_64bit
    mov ax, ss
    xor ecx, ecx
    mov ss, cx                      ; a null SS is legal at CPL 0 in 64-bit mode
    mov ss, ax
    mov ecx, 1
    CHECK rcx, 1
ENDTEST
KTEST gp_mov_cr4_reserved_bit, REQ_CRCHECK
    mov rax, cr4
    mov rbx, rax
    bts rax, 63
    EXPECT_FAULT .r
    mov cr4, rax
.r: CHECKV 13
    mov rax, cr4
    CHECK rax, rbx
ENDTEST
KTEST gp_clear_cr0_pg_in_long_mode_pe
    mov rax, cr0
    and eax, ~1                     ; PE = 0 with PG = 1 is invalid
    EXPECT_FAULT .r
    mov cr0, rax
.r: CHECKV 13
ENDTEST
%include "include/end64.inc"
