; SSE families (SDM Vol. 1 ch. 10-12, §4.8.3 and Table 4-7 for NaN results, Vol. 2 for each
; instruction): MXCSR rounding, NaN propagation (first source wins, SNaNs quieted, the
; default NaN for invalid operations), denormals with DAZ and FTZ, conversions and their
; integer indefinite, MIN/MAX operand order, compares, integer wrap-around and saturation,
; shuffles and packs, and #XM for an unmasked exception.
%include "include/harness64.inc"

XK equ SCRATCH + 0x900

; XLOAD xmm, low, high
%macro XLOAD 3
    mov rax, %2
    mov [XK], rax
    mov rax, %3
    mov [XK + 8], rax
    movdqu %1, [XK]
%endmacro
; XCHK xmm, low, high
%macro XCHK 3
    movdqu [XK], %1
    CHECK qword [XK], %2
    CHECK qword [XK + 8], %3
%endmacro
; MXCSR value
%macro MXCSR 1
    mov dword [XK + 16], %1
    ldmxcsr [XK + 16]
%endmacro
; MXCHK mask, expected: MXCSR bits
%macro MXCHK 2
    stmxcsr [XK + 16]
    mov eax, [XK + 16]
    and eax, %1
    CHECK rax, %2
%endmacro
MX_IE equ 1
MX_DE equ 2
MX_ZE equ 4
MX_OE equ 8
MX_UE equ 0x10
MX_PE equ 0x20
MX_FLAGS equ 0x3F
MX_DAZ equ 0x40
MX_ZM equ 0x200
MX_DOWN equ 0x2000
MX_UP equ 0x4000
MX_CHOP equ 0x6000
MX_FTZ equ 0x8000
D1 equ 0x3FF0000000000000           ; 1.0
D2 equ 0x4000000000000000           ; 2.0
D3 equ 0x4008000000000000           ; 3.0
QNAN1 equ 0x7FF8000000000001
QNAN2 equ 0x7FF8000000000002
SNAN1 equ 0x7FF0000000000001
SNAN2 equ 0x7FF0000000000002
DNAN equ 0xFFF8000000000000         ; the default NaN (QNaN indefinite)

TEST addsd_basic_keeps_high
    XLOAD xmm0, D1, 0x1234
    XLOAD xmm1, D2, 0x5678
    addsd xmm0, xmm1
    XCHK xmm0, D3, 0x1234
ENDTEST
TEST addps_four_lanes
    XLOAD xmm0, 0x400000003F800000, 0xC0000000BF800000      ; 1, 2, -1, -2
    XLOAD xmm1, 0x3F8000003F800000, 0x3F8000003F800000      ; 1, 1, 1, 1
    addps xmm0, xmm1
    XCHK xmm0, 0x4040000040000000, 0xBF80000000000000       ; 2, 3, 0, -1
ENDTEST
TEST divsd_third_nearest
    XLOAD xmm0, D1, 0
    XLOAD xmm1, D3, 0
    divsd xmm0, xmm1
    XCHK xmm0, 0x3FD5555555555555, 0
    MXCHK MX_FLAGS, MX_PE
ENDTEST
TEST divsd_third_round_up
    MXCSR 0x1F80 | MX_UP
    XLOAD xmm0, D1, 0
    XLOAD xmm1, D3, 0
    divsd xmm0, xmm1
    XCHK xmm0, 0x3FD5555555555556, 0
ENDTEST
TEST divss_third_round_down
    MXCSR 0x1F80 | MX_DOWN
    mov eax, 0x3F800000
    movd xmm0, eax
    mov eax, 0x40400000
    movd xmm1, eax
    divss xmm0, xmm1
    movd eax, xmm0
    CHECK rax, 0x3EAAAAAA
ENDTEST
TEST divss_third_chop_negative
    MXCSR 0x1F80 | MX_CHOP
    mov eax, 0xBF800000
    movd xmm0, eax
    mov eax, 0x40400000
    movd xmm1, eax
    divss xmm0, xmm1
    movd eax, xmm0
    CHECK rax, 0xBEAAAAAA
ENDTEST
TEST nan_two_qnans_first_wins
    XLOAD xmm0, QNAN1, 0
    XLOAD xmm1, QNAN2, 0
    addsd xmm0, xmm1
    XCHK xmm0, QNAN1, 0
    MXCHK MX_IE, 0
ENDTEST
TEST nan_qnan_second_propagates
    XLOAD xmm0, D1, 0
    XLOAD xmm1, QNAN2, 0
    mulsd xmm0, xmm1
    XCHK xmm0, QNAN2, 0
ENDTEST
TEST nan_snan_quieted_and_invalid
    XLOAD xmm0, D1, 0
    XLOAD xmm1, SNAN2, 0
    subsd xmm0, xmm1
    XCHK xmm0, 0x7FF8000000000002, 0
    MXCHK MX_IE, MX_IE
ENDTEST
TEST nan_qnan_first_snan_second
    XLOAD xmm0, QNAN1, 0
    XLOAD xmm1, SNAN2, 0
    addsd xmm0, xmm1
    XCHK xmm0, QNAN1, 0
    MXCHK MX_IE, MX_IE
ENDTEST
TEST nan_two_snans_first_quieted
    XLOAD xmm0, SNAN1, 0
    XLOAD xmm1, SNAN2, 0
    addsd xmm0, xmm1
    XCHK xmm0, 0x7FF8000000000001, 0
ENDTEST
TEST nan_single_snan_quieted
    mov eax, 0x7F800001
    movd xmm0, eax
    mov eax, 0x3F800000
    movd xmm1, eax
    addss xmm1, xmm0
    movd eax, xmm1
    CHECK rax, 0x7FC00001
ENDTEST
TEST invalid_zero_div_zero_default_nan
    xorps xmm0, xmm0
    xorps xmm1, xmm1
    divsd xmm0, xmm1
    XCHK xmm0, DNAN, 0
    MXCHK MX_IE | MX_ZE, MX_IE
ENDTEST
TEST sqrtsd_negative_default_nan
    XLOAD xmm1, 0xBFF0000000000000, 0
    sqrtsd xmm0, xmm1
    movq rax, xmm0
    CHECK rax, DNAN
ENDTEST
TEST divsd_by_zero_infinity
    XLOAD xmm0, 0xBFF0000000000000, 0
    xorps xmm1, xmm1
    divsd xmm0, xmm1
    movq rax, xmm0
    CHECK rax, 0xFFF0000000000000
    MXCHK MX_FLAGS, MX_ZE
ENDTEST
TEST denormal_input_sets_de
    XLOAD xmm0, 1, 0                ; the smallest denormal
    XLOAD xmm1, D1, 0
    mulsd xmm0, xmm1
    XCHK xmm0, 1, 0
    MXCHK MX_DE, MX_DE
ENDTEST
TEST denormal_daz_reads_zero
    MXCSR 0x1F80 | MX_DAZ
    XLOAD xmm0, 1, 0
    XLOAD xmm1, D1, 0
    addsd xmm0, xmm1
    XCHK xmm0, D1, 0
    MXCHK MX_DE, 0
ENDTEST
TEST denormal_result_ftz_flushes
    MXCSR 0x1F80 | MX_FTZ
    XLOAD xmm0, 0x0010000000000000, 0   ; the smallest normal
    XLOAD xmm1, 0x3FE0000000000000, 0   ; 0.5
    mulsd xmm0, xmm1
    XCHK xmm0, 0, 0
    MXCHK MX_UE | MX_PE, MX_UE | MX_PE
ENDTEST
TEST denormal_result_without_ftz
    XLOAD xmm0, 0x0010000000000000, 0
    XLOAD xmm1, 0x3FE0000000000000, 0
    mulsd xmm0, xmm1
    XCHK xmm0, 0x0008000000000000, 0
    MXCHK MX_UE, 0                  ; exact: no underflow when masked
ENDTEST
TEST cvtsd2si_nearest_even
    XLOAD xmm0, 0x4004000000000000, 0   ; 2.5
    cvtsd2si eax, xmm0
    CHECK rax, 2
ENDTEST
TEST cvttsd2si_truncates
    XLOAD xmm0, 0xC00C000000000000, 0   ; -3.5
    cvttsd2si rax, xmm0
    CHECK rax, -3
ENDTEST
TEST cvtsd2si_nan_indefinite
    XLOAD xmm0, QNAN1, 0
    cvtsd2si eax, xmm0
    CHECK rax, 0x80000000
    MXCHK MX_IE, MX_IE
ENDTEST
TEST cvttss2si_overflow_indefinite64
    mov eax, 0x5F800000             ; 2^64
    movd xmm0, eax
    cvttss2si rax, xmm0
    CHECK rax, 0x8000000000000000
ENDTEST
TEST cvtsi2sd_rounds
    mov rax, 0x7FFFFFFFFFFFFFFF
    cvtsi2sd xmm0, rax
    movq rax, xmm0
    CHECK rax, 0x43E0000000000000
ENDTEST
TEST cvtps2dq_uses_rc
    MXCSR 0x1F80 | MX_DOWN
    XLOAD xmm1, 0xBFC000003FC00000, 0x4020000040200000  ; 1.5, -1.5, 2.5, 2.5
    cvtps2dq xmm0, xmm1
    XCHK xmm0, 0xFFFFFFFE00000001, 0x0000000200000002
ENDTEST
TEST minsd_nan_returns_source
    XLOAD xmm0, QNAN1, 0
    XLOAD xmm1, D2, 0
    minsd xmm0, xmm1
    movq rax, xmm0
    CHECK rax, D2
ENDTEST
TEST maxsd_zeros_return_source
    XLOAD xmm0, 0, 0
    XLOAD xmm1, 0x8000000000000000, 0
    maxsd xmm0, xmm1                ; +0 vs -0: the second operand
    movq rax, xmm0
    CHECK rax, 0x8000000000000000
ENDTEST
TEST ucomisd_unordered_flags
    XLOAD xmm0, QNAN1, 0
    XLOAD xmm1, D1, 0
    push qword OF | SF | AF
    popfq
    ucomisd xmm0, xmm1
    CHECKF ALLF, ZF | PF | CF
    MXCHK MX_IE, 0
ENDTEST
TEST comisd_qnan_invalid
    XLOAD xmm0, QNAN1, 0
    XLOAD xmm1, D1, 0
    comisd xmm0, xmm1
    MXCHK MX_IE, MX_IE
ENDTEST
TEST comiss_greater
    mov eax, 0x40000000
    movd xmm0, eax
    mov eax, 0x3F800000
    movd xmm1, eax
    comiss xmm0, xmm1
    CHECKF ZF | PF | CF, 0
ENDTEST
TEST cmpltps_masks
    XLOAD xmm0, 0x400000003F800000, 0x7FC0000040400000   ; 1, 2, 3, NaN
    XLOAD xmm1, 0x3F80000040000000, 0x4080000040800000   ; 2, 1, 4, 4
    cmpltps xmm0, xmm1
    XCHK xmm0, 0x00000000FFFFFFFF, 0x00000000FFFFFFFF
ENDTEST
TEST paddb_wraps
    XLOAD xmm0, 0x7F80FF01, 0
    XLOAD xmm1, 0x01FF0101, 0
    paddb xmm0, xmm1
    XCHK xmm0, 0x807F0002, 0
ENDTEST
TEST paddsb_saturates
    XLOAD xmm0, 0x7F80, 0
    XLOAD xmm1, 0x01FF, 0
    paddsb xmm0, xmm1
    XCHK xmm0, 0x7F80, 0
ENDTEST
TEST psubusw_saturates
    XLOAD xmm0, 0x0005000100000010, 0
    XLOAD xmm1, 0x0002000200010001, 0
    psubusw xmm0, xmm1
    XCHK xmm0, 0x000300000000000F, 0
ENDTEST
TEST pmulhw_pmullw
    XLOAD xmm0, 0x7FFF8000, 0
    XLOAD xmm1, 0x00028000, 0
    movdqa xmm2, xmm0
    pmulhw xmm0, xmm1
    pmullw xmm2, xmm1
    XCHK xmm0, 0x00004000, 0
    XCHK xmm2, 0xFFFE0000, 0
ENDTEST
TEST pmuludq_low_dwords
    XLOAD xmm0, 0x12345678FFFFFFFF, 2
    XLOAD xmm1, 0x00000000FFFFFFFF, 3
    pmuludq xmm0, xmm1
    XCHK xmm0, 0xFFFFFFFE00000001, 6
ENDTEST
TEST pshufd_reverse
    XLOAD xmm1, 0x1111111100000000, 0x3333333322222222
    pshufd xmm0, xmm1, 0x1B
    XCHK xmm0, 0x2222222233333333, 0x0000000011111111
ENDTEST
TEST packsswb_saturates
    XLOAD xmm0, 0xFF80007F0100FF00, 0
    XLOAD xmm1, 0, 0
    packsswb xmm0, xmm1
    XCHK xmm0, 0x807F7F80, 0
ENDTEST
TEST punpcklbw_interleaves
    XLOAD xmm0, 0x0706050403020100, 0
    XLOAD xmm1, 0x1716151413121110, 0
    punpcklbw xmm0, xmm1
    XCHK xmm0, 0x1303120211011000, 0x1707160615051404
ENDTEST
TEST pcmpeqb_pmovmskb
    XLOAD xmm0, 0x0706050403020100, 0
    XLOAD xmm1, 0x0700050003000100, 0
    pcmpeqb xmm0, xmm1
    pmovmskb eax, xmm0
    CHECK rax, 0xFFAB
ENDTEST
TEST psllq_count_too_large
    XLOAD xmm0, -1, -1
    mov eax, 64
    movd xmm1, eax
    psllq xmm0, xmm1
    XCHK xmm0, 0, 0
ENDTEST
TEST psraw_count_too_large
    XLOAD xmm0, 0x7FFF8000, 0
    psraw xmm0, 40
    XCHK xmm0, 0x0000FFFF, 0
ENDTEST
TEST pslldq_bytes
    XLOAD xmm0, 0x0807060504030201, 0x100F0E0D0C0B0A09
    pslldq xmm0, 3
    XCHK xmm0, 0x0504030201000000, 0x0D0C0B0A09080706
ENDTEST
TEST psadbw_sums
    XLOAD xmm0, 0x00FF000000000005, 0
    XLOAD xmm1, 0x0000000000000001, 0
    psadbw xmm0, xmm1
    XCHK xmm0, 259, 0
ENDTEST
TEST pavgb_rounds_up
    XLOAD xmm0, 0x00FF01, 0
    XLOAD xmm1, 0x00FE02, 0
    pavgb xmm0, xmm1
    XCHK xmm0, 0x00FF02, 0
ENDTEST
TEST movss_register_merges
    XLOAD xmm0, -1, -1
    XLOAD xmm1, 0x12345678, 0
    movss xmm0, xmm1
    XCHK xmm0, 0xFFFFFFFF12345678, -1
ENDTEST
TEST movss_load_zeroes
    XLOAD xmm0, -1, -1
    mov dword [XK + 32], 0x12345678
    movss xmm0, [XK + 32]
    XCHK xmm0, 0x12345678, 0
ENDTEST
TEST movd_zero_extends
    XLOAD xmm0, -1, -1
    mov eax, 7
    movd xmm0, eax
    XCHK xmm0, 7, 0
ENDTEST
TEST shufps_selects
    XLOAD xmm0, 0x1111111100000000, 0x3333333322222222
    XLOAD xmm1, 0x5555555544444444, 0x7777777766666666
    shufps xmm0, xmm1, 0xE4 ^ 0x0F      ; 0xEB: 3, 2 from xmm0; 2, 3 from xmm1
    XCHK xmm0, 0x2222222233333333, 0x7777777766666666
ENDTEST
TEST andnps_bits
    XLOAD xmm0, 0xFF00FF00, 0
    XLOAD xmm1, 0xFFFF0000, -1
    andnps xmm0, xmm1
    XCHK xmm0, 0x00FF0000, -1
ENDTEST
TEST pshufb_ssse3
    XLOAD xmm0, 0x0706050403020100, 0x0F0E0D0C0B0A0908
    XLOAD xmm1, 0x80000102030405FF, 0x0F0F0F0F0F0F0F0F
    pshufb xmm0, xmm1
    XCHK xmm0, 0x0000010203040500, 0x0F0F0F0F0F0F0F0F
ENDTEST
TEST ldmxcsr_reserved_gp, REQ_MXCSRGP
    mov dword [XK + 16], 0x10000 | 0x1F80
    EXPECT_FAULT .r
    ldmxcsr [XK + 16]
.r: CHECKV 13
ENDTEST
TEST unmasked_divide_by_zero_xm
    MXCSR 0x1F80 & ~MX_ZM
    XLOAD xmm0, D1, 0
    xorps xmm1, xmm1
    EXPECT_FAULT .r
    divsd xmm0, xmm1
.r: CHECKV 19
    XCHK xmm0, D1, 0                ; the destination is not written
    MXCHK MX_ZE, MX_ZE
ENDTEST
%include "include/end64.inc"
