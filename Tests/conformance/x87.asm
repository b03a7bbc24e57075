; x87 (SDM Vol. 1 ch. 8, Vol. 2 FADD ... FXSAVE): precision control, rounding control on
; arithmetic and on integer stores, stack overflow and underflow (IE with SF, C1 telling
; them apart), special values (infinities, NaNs, zeros, denormals), compares, FPREM's
; quotient bits, BCD and integer loads and stores, FXSAVE's abridged tag word. All
; exceptions are masked (FNINIT), so faults become flags and default results.
%include "include/harness64.inc"

FK equ SCRATCH + 0x800              ; constants go through here

; FLDD value: pushes a double constant.
%macro FLDD 1
    mov rax, __?float64?__(%1)
    mov [FK], rax
    fld qword [FK]
%endmacro
; STD expected: pops ST0 as a double and checks its bits.
%macro STD 1
    fstp qword [FK]
    CHECK qword [FK], %1
%endmacro
; SW mask, expected: the status word's bits.
%macro SW 2
    fnstsw ax
    and eax, %1
    CHECK rax, %2
%endmacro
; CW value: loads the control word.
%macro CW 1
    mov word [FK + 16], %1
    fldcw [FK + 16]
%endmacro
CW_DOUBLE equ 0x027F                ; all masked, 53-bit precision, round to nearest
CW_SINGLE equ 0x007F
RC_DOWN   equ 0x0400
RC_UP     equ 0x0800
RC_CHOP   equ 0x0C00
SW_IE equ 1
SW_DE equ 2
SW_ZE equ 4
SW_OE equ 8
SW_UE equ 0x10
SW_PE equ 0x20
SW_SF equ 0x40
SW_C0 equ 0x100
SW_C1 equ 0x200
SW_C2 equ 0x400
SW_C3 equ 0x4000
SW_TOP equ 0x3800
SW_FLAGS equ 0x7F

TEST fadd_one_one
    fld1
    fld1
    faddp
    STD 0x4000000000000000
    SW SW_FLAGS | SW_TOP, 0
ENDTEST
TEST fdiv_third_double_precision
    CW CW_DOUBLE
    fld1
    FLDD 3.0
    fdivp
    STD 0x3FD5555555555555
    SW SW_PE, SW_PE
ENDTEST
TEST fdiv_third_single_precision
    CW CW_SINGLE
    fld1
    FLDD 3.0
    fdivp
    STD 0x3FD5555560000000
ENDTEST
TEST fdiv_third_extended_stored_double
    fld1
    FLDD 3.0
    fdivp
    STD 0x3FD5555555555555
ENDTEST
TEST fdiv_neg_third_round_down
    CW CW_DOUBLE | RC_DOWN
    FLDD -1.0
    FLDD 3.0
    fdivp
    STD 0xBFD5555555555556
ENDTEST
TEST fdiv_neg_third_round_up
    CW CW_DOUBLE | RC_UP
    FLDD -1.0
    FLDD 3.0
    fdivp
    STD 0xBFD5555555555555
ENDTEST
TEST fdiv_third_round_up
    CW CW_DOUBLE | RC_UP
    fld1
    FLDD 3.0
    fdivp
    STD 0x3FD5555555555556
ENDTEST
TEST fdiv_third_chop
    CW CW_DOUBLE | RC_CHOP
    fld1
    FLDD 3.0
    fdivp
    STD 0x3FD5555555555555
ENDTEST
; FIST name, control word, value, expected integer
%macro FIST 4
TEST %1
    CW %2
    FLDD %3
    fistp qword [FK + 8]
    CHECK qword [FK + 8], %4
ENDTEST
%endmacro
FIST fistp_nearest_even_down,  CW_DOUBLE, 2.5, 2
FIST fistp_nearest_even_up,    CW_DOUBLE, 3.5, 4
FIST fistp_nearest_negative,   CW_DOUBLE, -2.5, -2
FIST fistp_down_negative,      CW_DOUBLE | RC_DOWN, -2.5, -3
FIST fistp_up_positive,        CW_DOUBLE | RC_UP, 2.1, 3
FIST fistp_chop_negative,      CW_DOUBLE | RC_CHOP, -2.9, -2
TEST fistp_m16_overflow_indefinite
    FLDD 40000.0
    fistp word [FK + 8]
    CHECK16 word [FK + 8], 0x8000
    SW SW_IE, SW_IE
ENDTEST
TEST fist_m32_nan_indefinite
    fldz
    fldz
    fdivp                           ; 0/0: the default NaN
    fistp dword [FK + 8]
    CHECK32 dword [FK + 8], 0x80000000
ENDTEST
TEST frndint_round_up
    CW CW_DOUBLE | RC_UP
    FLDD 1.25
    frndint
    STD __?float64?__(2.0)
ENDTEST
TEST stack_underflow
    fld1
    fadd st0, st1                   ; ST1 is empty
    SW SW_IE | SW_SF | SW_C1, SW_IE | SW_SF
    STD 0xFFF8000000000000          ; the QNaN indefinite
ENDTEST
TEST stack_overflow
%rep 8
    fld1
%endrep
    fldz                            ; a ninth push
    SW SW_IE | SW_SF | SW_C1, SW_IE | SW_SF | SW_C1
    STD 0xFFF8000000000000
ENDTEST
TEST fsqrt_negative_invalid
    FLDD -1.0
    fsqrt
    SW SW_IE, SW_IE
    STD 0xFFF8000000000000
ENDTEST
TEST fdiv_by_zero_infinity
    fld1
    fldz
    fdivp
    SW SW_ZE | SW_IE, SW_ZE
    STD 0x7FF0000000000000
ENDTEST
TEST fsub_inf_inf_invalid
    mov rax, 0x7FF0000000000000     ; +inf
    mov [FK], rax
    fld qword [FK]
    fld st0
    fsubp
    SW SW_IE, SW_IE
    STD 0xFFF8000000000000
ENDTEST
TEST fmul_overflow_flags
    CW CW_DOUBLE
    FLDD 1.0e308
    FLDD 10.0
    fmulp
    fstp qword [FK]                 ; +inf in double
    CHECK qword [FK], 0x7FF0000000000000
    SW SW_OE | SW_PE, SW_OE | SW_PE
ENDTEST
TEST fst_single_overflow
    FLDD 1.0e300
    fstp dword [FK]
    CHECK32 dword [FK], 0x7F800000
    SW SW_OE | SW_PE, SW_OE | SW_PE
ENDTEST
TEST fld_denormal_sets_de
    mov rax, 1                      ; the smallest double denormal
    mov [FK], rax
    fld qword [FK]
    SW SW_DE, SW_DE
ENDTEST
TEST fst_double_underflow_to_zero
    CW CW_DOUBLE
    FLDD 1.0e-300
    FLDD 1.0e-300
    fmulp
    fstp qword [FK]
    CHECK qword [FK], 0
    SW SW_UE | SW_PE, SW_UE | SW_PE
ENDTEST
TEST fchs_fabs_zero_sign
    fldz
    fchs
    STD 0x8000000000000000
    FLDD -3.0
    fabs
    STD __?float64?__(3.0)
ENDTEST
TEST fcomi_less
    FLDD 2.0
    FLDD 1.0                        ; ST0 = 1, ST1 = 2
    fcomi st0, st1
    CHECKF ZF | PF | CF, CF
ENDTEST
TEST fcomi_equal
    fld1
    fld1
    fcomi st0, st1
    CHECKF ZF | PF | CF, ZF
ENDTEST
TEST fucomi_nan_unordered
    fldz
    fldz
    fdivp
    fnclex
    fld1
    fucomi st0, st1
    CHECKF ZF | PF | CF, ZF | PF | CF
    SW SW_IE, 0                     ; a QNaN raises nothing for FUCOMI
ENDTEST
TEST fcomi_nan_invalid
    fldz
    fldz
    fdivp
    fnclex
    fld1
    fcomi st0, st1
    CHECKF ZF | PF | CF, ZF | PF | CF
    SW SW_IE, SW_IE                 ; FCOMI signals on any NaN
ENDTEST
TEST fcom_condition_codes
    FLDD 5.0
    FLDD 7.0                        ; ST0 = 7 > ST1 = 5
    fcom st1
    SW SW_C0 | SW_C2 | SW_C3, 0
    fcomp st0
    SW SW_C0 | SW_C2 | SW_C3, SW_C3
ENDTEST
TEST fprem_quotient_bits
    FLDD 3.0
    FLDD 7.0
    fprem                           ; 7 = 2 * 3 + 1: Q = 2 in C3 C1 C0 = Q1 Q0 Q2
    SW SW_C0 | SW_C1 | SW_C2 | SW_C3, SW_C3
    STD __?float64?__(1.0)
ENDTEST
TEST fprem1_negative_remainder
    FLDD 3.0
    FLDD 8.0
    fprem1                          ; 8 = 3 * 3 - 1
    STD __?float64?__(-1.0)
ENDTEST
TEST fxam_classes
    fldz
    fxam
    SW SW_C0 | SW_C2 | SW_C3, SW_C3             ; zero
    fstp st0
    fld1
    fxam
    SW SW_C0 | SW_C2 | SW_C3 | SW_C1, SW_C2     ; normal, positive
    fstp st0
    fxam                                        ; empty register
    SW SW_C0 | SW_C2 | SW_C3, SW_C3 | SW_C0
ENDTEST
TEST fldpi_extended
    fldpi
    fstp tword [FK]
    CHECK qword [FK], 0xC90FDAA22168C235
    CHECK16 word [FK + 8], 0x4000
ENDTEST
TEST fsqrt_two_double
    CW CW_DOUBLE
    FLDD 2.0
    fsqrt
    STD 0x3FF6A09E667F3BCD
ENDTEST
TEST fild_fistp_64_exact
    mov rax, 0x7FFFFFFFFFFFFFFF
    mov [FK + 8], rax
    fild qword [FK + 8]             ; exact: the significand has 64 bits
    fistp qword [FK]
    CHECK qword [FK], 0x7FFFFFFFFFFFFFFF
    SW SW_IE | SW_PE, 0
ENDTEST
TEST fistp_64_too_large_indefinite
    FLDD 1.0e19
    fistp qword [FK]
    CHECK qword [FK], 0x8000000000000000
    SW SW_IE, SW_IE
ENDTEST
TEST fild_fistp_32_exact
    mov dword [FK + 8], -123456
    fild dword [FK + 8]
    fistp dword [FK]
    CHECK32 dword [FK], -123456 & 0xFFFFFFFF
ENDTEST
TEST fbstp_packed_bcd
    mov dword [FK + 8], -12345
    fild dword [FK + 8]
    fbstp tword [FK]
    CHECK qword [FK], 0x12345
    CHECK16 word [FK + 8], 0x8000
ENDTEST
TEST fbld_packed_bcd
    mov rax, 0x9876543210
    mov [FK], rax
    mov word [FK + 8], 0
    fbld tword [FK]
    fistp qword [FK]
    CHECK qword [FK], 9876543210
ENDTEST
TEST top_moves_with_push_and_pop
    fld1
    fld1
    SW SW_TOP, 6 << 11
    fincstp
    SW SW_TOP, 7 << 11
    ffree st0
    fdecstp
    SW SW_TOP, 6 << 11
ENDTEST
TEST fxsave_abridged_tags
    fld1
    fldz
    fxsave [SCRATCH + 0x1000]
    CHECK16 word [SCRATCH + 0x1000], 0x037F     ; FCW
    CHECK8 byte [SCRATCH + 0x1004], 0xC0        ; ST6 and ST7 (physical) in use
    CHECK32 dword [SCRATCH + 0x1018], 0x1F80    ; MXCSR
ENDTEST
TEST fnstenv_fldenv_round_trip
    CW CW_SINGLE | RC_CHOP
    fnstenv [SCRATCH + 0x1000]
    fninit
    fldenv [SCRATCH + 0x1000]
    fnstcw [FK]
    CHECK16 word [FK], CW_SINGLE | RC_CHOP
ENDTEST
TEST fxch_swaps
    fld1
    fldz
    fxch
    STD __?float64?__(1.0)
    STD 0
ENDTEST
%include "include/end64.inc"
