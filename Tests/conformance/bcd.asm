; BCD adjustments (SDM Vol. 2A DAA, DAS, AAA, AAS, AAM, AAD), valid outside 64-bit mode only:
; these bodies run in compatibility mode at CPL 3. kvm_pvm raises #UD there for DAA, AAA and
; AAS (not for DAS, AAM, AAD), so those tests carry REQ_LEGACYOPS.
%include "include/harness64.inc"

; BCD name, ax in, flags in, instruction, ax out, defined flags, flags out [, requirements]
%macro BCD 7-8 0
TEST32 %1, %8
    mov eax, %2
    push dword %3
    popfd
    %4
    CHECKF %6, %7
    CHECK16 ax, %5
ENDTEST
%endmacro

DAAF equ CF | AF | ZF | SF | PF   ; OF is undefined after DAA/DAS
SZP equ ZF | SF | PF             ; the flags AAM/AAD define
BCD daa_simple,  0x003C, 0,  daa, 0x0042, DAAF, PF | AF, REQ_LEGACYOPS
BCD daa_carry,   0x009A, 0,  daa, 0x0000, DAAF, CF | AF | ZF | PF, REQ_LEGACYOPS
BCD daa_af_in,   0x0011, AF, daa, 0x0017, DAAF, AF | PF, REQ_LEGACYOPS
BCD daa_cf_in,   0x0012, CF, daa, 0x0072, DAAF, CF | PF, REQ_LEGACYOPS
BCD das_simple,  0x000F, 0,  das, 0x0009, DAAF, AF | PF
BCD das_borrow,  0x00FF, CF, das, 0x0099, DAAF, CF | AF | SF | PF
BCD aaa_adjust,  0x000B, 0,  aaa, 0x0101, CF | AF, CF | AF, REQ_LEGACYOPS
BCD aaa_none,    0x0005, 0,  aaa, 0x0005, CF | AF, 0, REQ_LEGACYOPS
BCD aas_adjust,  0x020F, 0,  aas, 0x0109, CF | AF, CF | AF, REQ_LEGACYOPS
BCD aas_af_in,   0x0208, AF, aas, 0x0102, CF | AF, CF | AF, REQ_LEGACYOPS
BCD aam_10,      0x003F, 0,  aam, 0x0603, SZP, PF
BCD aam_16,      0x00FF, 0,  {aam 16}, 0x0F0F, SZP, PF
BCD aad_10,      0x0307, 0,  aad, 0x0025, SZP, 0
BCD aad_zero,    0x0000, 0,  aad, 0x0000, SZP, ZF | PF

TEST32 aam_zero_de
    mov eax, 0x12
    EXPECT_FAULT .r
    aam 0
.r: CHECKV 0
ENDTEST
%include "include/end64.inc"
