; Multiply and divide (SDM Vol. 2A DIV, IDIV, MUL, IMUL): full-width products, CF/OF on
; overflow of the low half (SF, ZF, AF, PF are undefined and not checked), quotients and
; remainders with their signs, and #DE for a zero divisor or a quotient that does not fit.
%include "include/harness64.inc"

TEST mul_r8
    mov eax, 0x80
    mov bl, 2
    mul bl
    CHECK rax, 0x100
    CHECKF CF|OF, CF|OF
ENDTEST
TEST mul_r16_fits
    mov eax, 0x100
    mov ebx, 0xFF
    mul bx
    CHECK rax, 0xFF00
    CHECK rdx, 0
    CHECKF CF|OF, 0
ENDTEST
TEST mul_r32_high
    mov eax, 0xFFFFFFFF
    mov ebx, 0xFFFFFFFF
    mul ebx
    CHECK rax, 1
    CHECK rdx, 0xFFFFFFFE
    CHECKF CF|OF, CF|OF
ENDTEST
TEST mul_r64_high
    mov rax, -1
    mov rbx, 2
    mul rbx
    CHECK rax, -2
    CHECK rdx, 1
    CHECKF CF|OF, CF|OF
ENDTEST
TEST imul_r8_negative
    mov al, -4
    mov bl, 5
    imul bl
    CHECK16 ax, 0xFFEC
    CHECKF CF|OF, 0
ENDTEST
TEST imul_r32_overflow
    mov eax, 0x10000
    mov ebx, 0x10000
    imul ebx
    CHECK rax, 0
    CHECK rdx, 1
    CHECKF CF|OF, CF|OF
ENDTEST
TEST imul_r64_two_operand
    mov rax, -3
    mov rbx, 7
    imul rax, rbx
    CHECK rax, -21
    CHECKF CF|OF, 0
ENDTEST
TEST imul_r64_two_operand_overflow
    mov rax, 0x4000000000000000
    mov rbx, 2
    imul rax, rbx
    CHECK rax, 0x8000000000000000
    CHECKF CF|OF, CF|OF
ENDTEST
TEST imul_r16_imm8
    mov ebx, 0x1000
    imul ax, bx, 8
    CHECK16 ax, 0x8000
    CHECKF CF|OF, CF|OF
ENDTEST
TEST imul_r32_imm32
    mov ebx, -2
    imul eax, ebx, 100000
    CHECK rax, 0xFFFCF2C0
    CHECKF CF|OF, 0
ENDTEST
TEST div_r8
    mov eax, 1000
    mov bl, 7
    div bl
    CHECK16 ax, (6 << 8) | 142
ENDTEST
TEST div_r16
    mov edx, 1
    mov eax, 0x0005
    mov ebx, 3
    div bx
    CHECK rax, 0x5557
    CHECK rdx, 0
ENDTEST
TEST div_r32
    mov edx, 2
    mov eax, 0
    mov ebx, 0x10000
    div ebx
    CHECK rax, 0x20000
    CHECK rdx, 0
ENDTEST
TEST div_r64
    mov rdx, 0
    mov rax, -1
    mov rbx, 10
    div rbx
    CHECK rax, 0x1999999999999999
    CHECK rdx, 5
ENDTEST
TEST idiv_r32_signs
    mov eax, -7
    cdq
    mov ebx, 2
    idiv ebx
    CHECK rax, 0xFFFFFFFD
    CHECK rdx, 0xFFFFFFFF
ENDTEST
TEST idiv_r64_signs
    mov rax, 7
    cqo
    mov rbx, -2
    idiv rbx
    CHECK rax, -3
    CHECK rdx, 1
ENDTEST
TEST idiv_r8_signs
    mov ax, -100
    mov bl, 7
    idiv bl
    CHECK16 ax, 0xFEF2               ; quotient -14 (0xF2), remainder -2 (0xFE)
ENDTEST
TEST div_by_zero_de
    mov eax, 1
    xor ebx, ebx
    EXPECT_FAULT .r
.f: div ebx
.r: CHECKV 0
    CHECK qword [fault_rip], .f
    CHECK rax, 1                    ; a fault leaves the destination unchanged
ENDTEST
TEST div_overflow_de
    mov edx, 1
    xor eax, eax
    mov ebx, 1
    EXPECT_FAULT .r
    div ebx
.r: CHECKV 0
ENDTEST
TEST div_r8_overflow_de
    mov eax, 0x200
    mov bl, 2
    EXPECT_FAULT .r
    div bl
.r: CHECKV 0
ENDTEST
TEST idiv_min_by_minus1_de
    mov rax, 0x8000000000000000
    cqo
    mov rbx, -1
    EXPECT_FAULT .r
    idiv rbx
.r: CHECKV 0
ENDTEST
TEST idiv_r32_min_by_minus1_de
    mov eax, 0x80000000
    cdq
    mov ebx, -1
    EXPECT_FAULT .r
    idiv ebx
.r: CHECKV 0
ENDTEST
TEST idiv_r16_positive_overflow_de
    mov dx, 0
    mov ax, 0x8000                  ; DX:AX = +32768, / 1 does not fit in a signed word
    mov bx, 1
    EXPECT_FAULT .r
    idiv bx
.r: CHECKV 0
ENDTEST
TEST mul_mem64
    mov qword [SCRATCH], 3
    mov rax, 0x5555555555555556
    mul qword [SCRATCH]
    CHECK rax, 2
    CHECK rdx, 1
ENDTEST
TEST cwd_cdq_cqo_cbw
    mov eax, 0x8000
    cwd
    CHECK16 dx, 0xFFFF
    mov eax, 0x80
    cbw
    CHECK16 ax, 0xFF80
    mov rax, 0x80000000
    cdqe
    CHECK rax, 0xFFFFFFFF80000000
    cqo
    CHECK rdx, -1
ENDTEST
%include "include/end64.inc"
