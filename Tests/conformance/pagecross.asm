; Instructions that cross a page boundary, run once and then run again after the second
; page's mapping changed (SDM Vol. 3A §4.10.2, §4.10.4: the fetch of each page goes through its
; own translation; INVLPG and a CR3 write drop the old one). A 7-byte `mov rdi, imm32` starts
; two bytes before the page boundary; an emulator that keeps the instruction decoded runs the
; stale copy instead of faulting or seeing the new bytes. The KTEST `cross_setup` hangs a
; test page structure below linear 1 GiB...2 GiB (PDPT entry 1).
%include "include/harness64.inc"

PDPT equ 0x9000                     ; the runner's PDPT (harness64.inc PML4_ADDRESS + 0x1000)
C_PD equ 0x740000                   ; test PD for linear 0x40000000-0x7FFFFFFF
C_PT equ 0x741000                   ; test PT for linear 0x40000000-0x401FFFFF
C_PHYS equ 0x750000                 ; physical pages the test PTEs point to
C_LIN equ 0x40000000
P equ 1
RW equ 2
US equ 4
XD equ 0x8000000000000000
EFER equ 0xC0000080

; PTE index, value: writes test PTE `index` and flushes its translation.
%macro CPTE 2
    mov rax, %2
    mov [C_PT + (%1) * 8], rax
    invlpg [C_LIN + (%1) * 0x1000]
%endmacro

; CROSSING page, immediate: `mov rdi, imm` (48 C7 C7 imm32) at the last two bytes of test
; page `page` (physical C_PHYS + page * 0x1000), its imm32 and a RET on the physical page
; after it.
%macro CROSSING 2
    mov word [C_PHYS + (%1) * 0x1000 + 0xFFE], 0xC748
    mov byte [C_PHYS + (%1) * 0x1000 + 0x1000], 0xC7
    mov dword [C_PHYS + (%1) * 0x1000 + 0x1001], %2
    mov byte [C_PHYS + (%1) * 0x1000 + 0x1005], 0xC3
%endmacro

; Runs the crossing instruction at the end of linear page %1 a few times (so that it is
; decoded, cached and hot) and checks that it loaded %2.
%macro RUN_CROSSING 2
    mov ecx, 20
%%again:
    xor edi, edi
    mov rax, C_LIN + (%1) * 0x1000 + 0xFFE
    push rcx
    call rax
    pop rcx
    dec ecx
    jnz %%again
    CHECK rdi, %2
%endmacro

; Jumps to the crossing instruction at the end of linear page %1 expecting #PF at it with
; CR2 at the second page and the error code %2; RDI must be unchanged.
%macro FAULTS_AT_CROSSING 2
    xor edi, edi
    mov rax, C_LIN + (%1) * 0x1000 + 0xFFE
    EXPECT_FAULT %%r
    jmp rax
%%r:
    CHECKV 14
    CHECKERR %2
    CHECK qword [fault_cr2], C_LIN + (%1) * 0x1000 + 0x1000
    CHECK qword [fault_rip], C_LIN + (%1) * 0x1000 + 0xFFE
    CHECK rdi, 0
%endmacro

KTEST cross_setup
    mov rdi, C_PD
    mov ecx, 0x2000 / 8
    xor eax, eax
    rep stosq
    mov qword [C_PD], C_PT | P | RW | US
    mov qword [PDPT + 8], C_PD | P | RW | US
    mov rax, cr3
    mov cr3, rax
    mov qword [C_PHYS], 0x4321
    CPTE 0, C_PHYS | P | RW | US
    mov rax, [C_LIN]
    CHECK rax, 0x4321
ENDTEST
KTEST cross_second_page_made_not_present_faults
    CROSSING 0, 2
    CPTE 0, C_PHYS | P | RW | US
    CPTE 1, (C_PHYS + 0x1000) | P | RW | US
    RUN_CROSSING 0, 2
    CPTE 1, 0
    FAULTS_AT_CROSSING 0, 0
ENDTEST
KTEST cross_second_page_not_present_after_cr3_write_faults
    CROSSING 2, 3
    CPTE 2, (C_PHYS + 0x2000) | P | RW | US
    CPTE 3, (C_PHYS + 0x3000) | P | RW | US
    RUN_CROSSING 2, 3
    mov qword [C_PT + 3 * 8], 0                 ; no INVLPG: the CR3 write flushes it
    mov rax, cr3
    mov cr3, rax
    FAULTS_AT_CROSSING 2, 0
ENDTEST
KTEST cross_second_page_made_execute_disable_faults
    mov ecx, EFER
    rdmsr
    mov ebx, eax
    or eax, 1 << 11                             ; EFER.NXE
    wrmsr
    CROSSING 4, 4
    CPTE 4, (C_PHYS + 0x4000) | P | RW | US
    CPTE 5, (C_PHYS + 0x5000) | P | RW | US
    RUN_CROSSING 4, 4
    CPTE 5, XD | (C_PHYS + 0x5000) | P | RW | US
    FAULTS_AT_CROSSING 4, 0x10 | 1              ; instruction fetch, present
    mov ecx, EFER
    mov eax, ebx
    xor edx, edx
    wrmsr
ENDTEST
KTEST cross_second_page_remapped_runs_new_bytes
    CROSSING 6, 6
    mov dword [C_PHYS + 0x8001], 8              ; the other frame's bytes differ
    mov byte [C_PHYS + 0x8000], 0xC7
    mov byte [C_PHYS + 0x8005], 0xC3
    CPTE 6, (C_PHYS + 0x6000) | P | RW | US
    CPTE 7, (C_PHYS + 0x7000) | P | RW | US
    RUN_CROSSING 6, 6
    CPTE 7, (C_PHYS + 0x8000) | P | RW | US
    RUN_CROSSING 6, 8
ENDTEST
KTEST cross_second_page_write_runs_new_bytes
    ; Self-modifying code through the second page: the new immediate is used.
    CROSSING 10, 10
    CPTE 10, (C_PHYS + 0xA000) | P | RW | US
    CPTE 11, (C_PHYS + 0xB000) | P | RW | US
    RUN_CROSSING 10, 10
    mov dword [C_LIN + 0xB001], 11
    RUN_CROSSING 10, 11
ENDTEST
KTEST cross_user_setup
    ; Pages 12 and 13 for the user-mode tests below (all user-accessible).
    CROSSING 12, 12
    CPTE 12, (C_PHYS + 0xC000) | P | RW | US
    CPTE 13, (C_PHYS + 0xD000) | P | RW | US
    mov rax, 1
    CHECK rax, 1
ENDTEST
TEST cross_user_runs
    RUN_CROSSING 12, 12
ENDTEST
KTEST cross_user_second_page_made_supervisor
    CPTE 13, (C_PHYS + 0xD000) | P | RW
    mov rax, 1
    CHECK rax, 1
ENDTEST
TEST cross_user_second_page_supervisor_faults
    FAULTS_AT_CROSSING 12, 4 | 1                ; user, present
ENDTEST
KTEST cross_supervisor_still_runs_it
    RUN_CROSSING 12, 12
ENDTEST
KTEST fetch_fault_reports_the_fetch_address
    ; Not page-crossing: a fetch from a not-present page faults with CR2 at the byte fetched.
    CPTE 14, 0
    mov rax, C_LIN + 0xE123
    EXPECT_FAULT .r
    jmp rax
.r: CHECKV 14
    CHECK qword [fault_cr2], C_LIN + 0xE123
    CHECK qword [fault_rip], C_LIN + 0xE123
ENDTEST
KTEST cross_teardown
    mov qword [PDPT + 8], 0
    mov rax, cr3
    mov cr3, rax
    EXPECT_FAULT .r
    mov rax, [C_LIN]
.r: CHECKV 14
ENDTEST
%include "include/end64.inc"
