; CPUID and MSRs (SDM Vol. 2A CPUID, Vol. 2B RDMSR/WRMSR/RDTSC, Vol. 4 the MSR list): the
; feature bits every x86-64 CPU has, CPUID's zero-extended outputs, MSR round trips, #GP(0)
; for an unknown MSR, a non-canonical address MSR and a reserved EFER bit, the TSC moving.
%include "include/harness64.inc"

TEST cpuid_max_leaf
    xor eax, eax
    cpuid
    cmp eax, 1
    setae al
    movzx eax, al
    CHECK rax, 1
ENDTEST
TEST cpuid_leaf1_baseline_features
    mov eax, 1
    cpuid
    mov eax, edx
    and eax, (1 << 0) | (1 << 4) | (1 << 8) | (1 << 15) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26)
    CHECK rax, (1 << 0) | (1 << 4) | (1 << 8) | (1 << 15) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26)
ENDTEST
TEST cpuid_extended_long_mode
    mov eax, 0x80000001
    cpuid
    and edx, (1 << 29) | (1 << 20) | (1 << 11)  ; LM, NX, SYSCALL
    CHECK rdx, (1 << 29) | (1 << 20) | (1 << 11)
ENDTEST
TEST cpuid_zero_extends
    mov rax, -1
    mov rbx, -1
    mov rcx, -1
    mov rdx, -1
    mov eax, 0
    cpuid
    shr rax, 32
    shr rbx, 32
    shr rcx, 32
    shr rdx, 32
    or rax, rbx
    or rax, rcx
    or rax, rdx
    CHECK rax, 0
ENDTEST
TEST cpuid_vendor_known
    xor eax, eax
    cpuid
    cmp ebx, 'Genu'
    je .ok
    cmp ebx, 'Auth'
.ok:
    setz al
    movzx eax, al
    CHECK rax, 1
ENDTEST
TEST rdtsc_advances
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov rbx, rax
    mov ecx, 1000
.l: loop .l
    rdtsc
    shl rdx, 32
    or rax, rdx
    cmp rax, rbx
    seta al
    movzx eax, al
    CHECK rax, 1
ENDTEST
KTEST wrmsr_rdmsr_star
    mov ecx, 0xC0000081
    mov eax, 0x11223344
    mov edx, 0x00180008
    wrmsr
    xor eax, eax
    xor edx, edx
    rdmsr
    CHECK rax, 0x11223344
    CHECK rdx, 0x00180008
ENDTEST
KTEST wrmsr_lstar_noncanonical_gp
    mov ecx, 0xC0000082
    xor eax, eax
    mov edx, 0x00008000
    EXPECT_FAULT .r
    wrmsr
.r: CHECKV 13
    CHECKERR 0
ENDTEST
KTEST rdmsr_unknown_gp
    mov ecx, 0x4B564DFF                         ; not an architectural MSR
    EXPECT_FAULT .r
    rdmsr
.r: CHECKV 13
    CHECKERR 0
ENDTEST
KTEST wrmsr_efer_reserved_gp
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1 << 2                              ; reserved
    EXPECT_FAULT .r
    wrmsr
.r: CHECKV 13
ENDTEST
KTEST rdmsr_efer_long_mode_bits
    mov ecx, 0xC0000080
    rdmsr
    and eax, (1 << 8) | (1 << 10)               ; LME, LMA
    CHECK rax, (1 << 8) | (1 << 10)
ENDTEST
KTEST wrmsr_sysenter_cs_round_trip
    mov ecx, 0x174
    mov eax, 0x1234
    xor edx, edx
    wrmsr
    xor eax, eax
    rdmsr
    CHECK rax, 0x1234
ENDTEST
KTEST rdmsr_pat_default
    mov ecx, 0x277
    rdmsr
    shl rdx, 32
    or rax, rdx
    CHECK rax, 0x0007040600070406
ENDTEST
%include "include/end64.inc"
