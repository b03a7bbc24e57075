; Integer ALU and flags (SDM Vol. 1 §3.4.3.1 and Appendix A; Vol. 2 ADD, ADC, SUB, SBB, CMP,
; AND, OR, XOR, TEST, NEG, NOT, INC, DEC). Each test loads RAX (upper bits patterned, so that
; 8/16-bit forms must keep them and 32-bit forms must zero them), RBX and RFLAGS, runs the
; r/m,reg form at one width and checks the whole of RAX and the defined flags.
%include "include/harness64.inc"
%include "include/regs.inc"

; ALU name, op, width, rax, rbx, flags in, rax out, flag mask, flags out
%macro ALU 9
TEST %1
    mov rax, %4
    mov rbx, %5
    push qword %6
    popfq
    %2 A%3, B%3
    CHECKF %8, %9
    CHECK rax, %7
    CHECK rbx, %5
ENDTEST
%endmacro
; ALU1 name, op, width, rax, flags in, rax out, flag mask, flags out
%macro ALU1 8
TEST %1
    mov rax, %4
    push qword %5
    popfq
    %2 A%3
    CHECKF %7, %8
    CHECK rax, %6
ENDTEST
%endmacro

ALU add_rm8_r8_1, add, 8, 0x123456789abcd01, 0x2, 0, 0x123456789abcd03, ALLF, PF
ALU add_rm8_r8_2, add, 8, 0x123456789abcdff, 0x1, 0, 0x123456789abcd00, ALLF, CF|PF|AF|ZF
ALU add_rm8_r8_3, add, 8, 0x123456789abcd7f, 0x1, 0, 0x123456789abcd80, ALLF, AF|SF|OF
ALU add_rm8_r8_4, add, 8, 0x123456789abcd80, 0x80, 0, 0x123456789abcd00, ALLF, CF|PF|ZF|OF
ALU add_rm8_r8_5, add, 8, 0x123456789abcd0f, 0x1, 0, 0x123456789abcd10, ALLF, AF
ALU adc_rm8_r8_1, adc, 8, 0x123456789abcdff, 0x0, CF, 0x123456789abcd00, ALLF, CF|PF|AF|ZF
ALU adc_rm8_r8_2, adc, 8, 0x123456789abcd7f, 0x0, CF, 0x123456789abcd80, ALLF, AF|SF|OF
ALU adc_rm8_r8_3, adc, 8, 0x123456789abcd05, 0x7, CF, 0x123456789abcd0d, ALLF, 0
ALU sub_rm8_r8_1, sub, 8, 0x123456789abcd00, 0x1, 0, 0x123456789abcdff, ALLF, CF|PF|AF|SF
ALU sub_rm8_r8_2, sub, 8, 0x123456789abcd80, 0x1, 0, 0x123456789abcd7f, ALLF, AF|OF
ALU sub_rm8_r8_3, sub, 8, 0x123456789abcd05, 0x5, 0, 0x123456789abcd00, ALLF, PF|ZF
ALU sub_rm8_r8_4, sub, 8, 0x123456789abcd10, 0x1, 0, 0x123456789abcd0f, ALLF, PF|AF
ALU sbb_rm8_r8_1, sbb, 8, 0x123456789abcd00, 0x0, CF, 0x123456789abcdff, ALLF, CF|PF|AF|SF
ALU sbb_rm8_r8_2, sbb, 8, 0x123456789abcd80, 0x0, CF, 0x123456789abcd7f, ALLF, AF|OF
ALU sbb_rm8_r8_3, sbb, 8, 0x123456789abcd07, 0x3, CF, 0x123456789abcd03, ALLF, PF
ALU cmp_rm8_r8_1, cmp, 8, 0x123456789abcd03, 0x4, 0, 0x123456789abcd03, ALLF, CF|PF|AF|SF
ALU cmp_rm8_r8_2, cmp, 8, 0x123456789abcd80, 0x7f, 0, 0x123456789abcd80, ALLF, AF|OF
ALU add_rm16_r16_1, add, 16, 0x123456789ab0001, 0x2, 0, 0x123456789ab0003, ALLF, PF
ALU add_rm16_r16_2, add, 16, 0x123456789abffff, 0x1, 0, 0x123456789ab0000, ALLF, CF|PF|AF|ZF
ALU add_rm16_r16_3, add, 16, 0x123456789ab7fff, 0x1, 0, 0x123456789ab8000, ALLF, PF|AF|SF|OF
ALU add_rm16_r16_4, add, 16, 0x123456789ab8000, 0x8000, 0, 0x123456789ab0000, ALLF, CF|PF|ZF|OF
ALU add_rm16_r16_5, add, 16, 0x123456789ab000f, 0x1, 0, 0x123456789ab0010, ALLF, AF
ALU adc_rm16_r16_1, adc, 16, 0x123456789abffff, 0x0, CF, 0x123456789ab0000, ALLF, CF|PF|AF|ZF
ALU adc_rm16_r16_2, adc, 16, 0x123456789ab7fff, 0x0, CF, 0x123456789ab8000, ALLF, PF|AF|SF|OF
ALU adc_rm16_r16_3, adc, 16, 0x123456789ab0005, 0x7, CF, 0x123456789ab000d, ALLF, 0
ALU sub_rm16_r16_1, sub, 16, 0x123456789ab0000, 0x1, 0, 0x123456789abffff, ALLF, CF|PF|AF|SF
ALU sub_rm16_r16_2, sub, 16, 0x123456789ab8000, 0x1, 0, 0x123456789ab7fff, ALLF, PF|AF|OF
ALU sub_rm16_r16_3, sub, 16, 0x123456789ab0005, 0x5, 0, 0x123456789ab0000, ALLF, PF|ZF
ALU sub_rm16_r16_4, sub, 16, 0x123456789ab0010, 0x1, 0, 0x123456789ab000f, ALLF, PF|AF
ALU sbb_rm16_r16_1, sbb, 16, 0x123456789ab0000, 0x0, CF, 0x123456789abffff, ALLF, CF|PF|AF|SF
ALU sbb_rm16_r16_2, sbb, 16, 0x123456789ab8000, 0x0, CF, 0x123456789ab7fff, ALLF, PF|AF|OF
ALU sbb_rm16_r16_3, sbb, 16, 0x123456789ab0007, 0x3, CF, 0x123456789ab0003, ALLF, PF
ALU cmp_rm16_r16_1, cmp, 16, 0x123456789ab0003, 0x4, 0, 0x123456789ab0003, ALLF, CF|PF|AF|SF
ALU cmp_rm16_r16_2, cmp, 16, 0x123456789ab8000, 0x7fff, 0, 0x123456789ab8000, ALLF, AF|OF
ALU add_rm32_r32_1, add, 32, 0x1, 0x2, 0, 0x3, ALLF, PF
ALU add_rm32_r32_2, add, 32, 0xffffffff, 0x1, 0, 0x0, ALLF, CF|PF|AF|ZF
ALU add_rm32_r32_3, add, 32, 0x7fffffff, 0x1, 0, 0x80000000, ALLF, PF|AF|SF|OF
ALU add_rm32_r32_4, add, 32, 0x80000000, 0x80000000, 0, 0x0, ALLF, CF|PF|ZF|OF
ALU add_rm32_r32_5, add, 32, 0xf, 0x1, 0, 0x10, ALLF, AF
ALU adc_rm32_r32_1, adc, 32, 0xffffffff, 0x0, CF, 0x0, ALLF, CF|PF|AF|ZF
ALU adc_rm32_r32_2, adc, 32, 0x7fffffff, 0x0, CF, 0x80000000, ALLF, PF|AF|SF|OF
ALU adc_rm32_r32_3, adc, 32, 0x5, 0x7, CF, 0xd, ALLF, 0
ALU sub_rm32_r32_1, sub, 32, 0x0, 0x1, 0, 0xffffffff, ALLF, CF|PF|AF|SF
ALU sub_rm32_r32_2, sub, 32, 0x80000000, 0x1, 0, 0x7fffffff, ALLF, PF|AF|OF
ALU sub_rm32_r32_3, sub, 32, 0x5, 0x5, 0, 0x0, ALLF, PF|ZF
ALU sub_rm32_r32_4, sub, 32, 0x10, 0x1, 0, 0xf, ALLF, PF|AF
ALU sbb_rm32_r32_1, sbb, 32, 0x0, 0x0, CF, 0xffffffff, ALLF, CF|PF|AF|SF
ALU sbb_rm32_r32_2, sbb, 32, 0x80000000, 0x0, CF, 0x7fffffff, ALLF, PF|AF|OF
ALU sbb_rm32_r32_3, sbb, 32, 0x7, 0x3, CF, 0x3, ALLF, PF
ALU cmp_rm32_r32_1, cmp, 32, 0x3, 0x4, 0, 0x3, ALLF, CF|PF|AF|SF
ALU cmp_rm32_r32_2, cmp, 32, 0x80000000, 0x7fffffff, 0, 0x80000000, ALLF, AF|OF
ALU add_rm64_r64_1, add, 64, 0x1, 0x2, 0, 0x3, ALLF, PF
ALU add_rm64_r64_2, add, 64, 0xffffffffffffffff, 0x1, 0, 0x0, ALLF, CF|PF|AF|ZF
ALU add_rm64_r64_3, add, 64, 0x7fffffffffffffff, 0x1, 0, 0x8000000000000000, ALLF, PF|AF|SF|OF
ALU add_rm64_r64_4, add, 64, 0x8000000000000000, 0x8000000000000000, 0, 0x0, ALLF, CF|PF|ZF|OF
ALU add_rm64_r64_5, add, 64, 0xf, 0x1, 0, 0x10, ALLF, AF
ALU adc_rm64_r64_1, adc, 64, 0xffffffffffffffff, 0x0, CF, 0x0, ALLF, CF|PF|AF|ZF
ALU adc_rm64_r64_2, adc, 64, 0x7fffffffffffffff, 0x0, CF, 0x8000000000000000, ALLF, PF|AF|SF|OF
ALU adc_rm64_r64_3, adc, 64, 0x5, 0x7, CF, 0xd, ALLF, 0
ALU sub_rm64_r64_1, sub, 64, 0x0, 0x1, 0, 0xffffffffffffffff, ALLF, CF|PF|AF|SF
ALU sub_rm64_r64_2, sub, 64, 0x8000000000000000, 0x1, 0, 0x7fffffffffffffff, ALLF, PF|AF|OF
ALU sub_rm64_r64_3, sub, 64, 0x5, 0x5, 0, 0x0, ALLF, PF|ZF
ALU sub_rm64_r64_4, sub, 64, 0x10, 0x1, 0, 0xf, ALLF, PF|AF
ALU sbb_rm64_r64_1, sbb, 64, 0x0, 0x0, CF, 0xffffffffffffffff, ALLF, CF|PF|AF|SF
ALU sbb_rm64_r64_2, sbb, 64, 0x8000000000000000, 0x0, CF, 0x7fffffffffffffff, ALLF, PF|AF|OF
ALU sbb_rm64_r64_3, sbb, 64, 0x7, 0x3, CF, 0x3, ALLF, PF
ALU cmp_rm64_r64_1, cmp, 64, 0x3, 0x4, 0, 0x3, ALLF, CF|PF|AF|SF
ALU cmp_rm64_r64_2, cmp, 64, 0x8000000000000000, 0x7fffffffffffffff, 0, 0x8000000000000000, ALLF, AF|OF
ALU and_rm8_r8_1, and, 8, 0x123456789abcdff, 0x80, CF|OF, 0x123456789abcd80, ALLF & ~AF, SF
ALU or_rm8_r8_1, or, 8, 0x123456789abcd00, 0x0, CF|OF, 0x123456789abcd00, ALLF & ~AF, PF|ZF
ALU xor_rm8_r8_1, xor, 8, 0x123456789abcdff, 0xff, CF|OF, 0x123456789abcd00, ALLF & ~AF, PF|ZF
ALU test_rm8_r8_1, test, 8, 0x123456789abcd80, 0x80, CF|OF, 0x123456789abcd80, ALLF & ~AF, SF
ALU and_rm8_r8_2, and, 8, 0x123456789abcd0f, 0xf0, CF|OF, 0x123456789abcd00, ALLF & ~AF, PF|ZF
ALU or_rm8_r8_2, or, 8, 0x123456789abcd80, 0x1, CF|OF, 0x123456789abcd81, ALLF & ~AF, PF|SF
ALU and_rm16_r16_1, and, 16, 0x123456789abffff, 0x8000, CF|OF, 0x123456789ab8000, ALLF & ~AF, PF|SF
ALU or_rm16_r16_1, or, 16, 0x123456789ab0000, 0x0, CF|OF, 0x123456789ab0000, ALLF & ~AF, PF|ZF
ALU xor_rm16_r16_1, xor, 16, 0x123456789abffff, 0xffff, CF|OF, 0x123456789ab0000, ALLF & ~AF, PF|ZF
ALU test_rm16_r16_1, test, 16, 0x123456789ab8000, 0x8000, CF|OF, 0x123456789ab8000, ALLF & ~AF, PF|SF
ALU and_rm16_r16_2, and, 16, 0x123456789ab000f, 0xf0, CF|OF, 0x123456789ab0000, ALLF & ~AF, PF|ZF
ALU or_rm16_r16_2, or, 16, 0x123456789ab8000, 0x1, CF|OF, 0x123456789ab8001, ALLF & ~AF, SF
ALU and_rm32_r32_1, and, 32, 0xffffffff, 0x80000000, CF|OF, 0x80000000, ALLF & ~AF, PF|SF
ALU or_rm32_r32_1, or, 32, 0x0, 0x0, CF|OF, 0x0, ALLF & ~AF, PF|ZF
ALU xor_rm32_r32_1, xor, 32, 0xffffffff, 0xffffffff, CF|OF, 0x0, ALLF & ~AF, PF|ZF
ALU test_rm32_r32_1, test, 32, 0x80000000, 0x80000000, CF|OF, 0x80000000, ALLF & ~AF, PF|SF
ALU and_rm32_r32_2, and, 32, 0xf, 0xf0, CF|OF, 0x0, ALLF & ~AF, PF|ZF
ALU or_rm32_r32_2, or, 32, 0x80000000, 0x1, CF|OF, 0x80000001, ALLF & ~AF, SF
ALU and_rm64_r64_1, and, 64, 0xffffffffffffffff, 0x8000000000000000, CF|OF, 0x8000000000000000, ALLF & ~AF, PF|SF
ALU or_rm64_r64_1, or, 64, 0x0, 0x0, CF|OF, 0x0, ALLF & ~AF, PF|ZF
ALU xor_rm64_r64_1, xor, 64, 0xffffffffffffffff, 0xffffffffffffffff, CF|OF, 0x0, ALLF & ~AF, PF|ZF
ALU test_rm64_r64_1, test, 64, 0x8000000000000000, 0x8000000000000000, CF|OF, 0x8000000000000000, ALLF & ~AF, PF|SF
ALU and_rm64_r64_2, and, 64, 0xf, 0xf0, CF|OF, 0x0, ALLF & ~AF, PF|ZF
ALU or_rm64_r64_2, or, 64, 0x8000000000000000, 0x1, CF|OF, 0x8000000000000001, ALLF & ~AF, SF
ALU1 neg_rm8_1, neg, 8, 0x123456789abcd00, 0, 0x123456789abcd00, ALLF, PF|ZF
ALU1 neg_rm8_2, neg, 8, 0x123456789abcd80, 0, 0x123456789abcd80, ALLF, CF|SF|OF
ALU1 neg_rm8_3, neg, 8, 0x123456789abcd01, 0, 0x123456789abcdff, ALLF, CF|PF|AF|SF
ALU1 not_rm8_1, not, 8, 0x123456789abcd5a, CF, 0x123456789abcda5, ALLF, CF
ALU1 inc_rm8_1, inc, 8, 0x123456789abcdff, CF, 0x123456789abcd00, ALLF, CF|PF|AF|ZF
ALU1 inc_rm8_2, inc, 8, 0x123456789abcd7f, 0, 0x123456789abcd80, ALLF, AF|SF|OF
ALU1 dec_rm8_1, dec, 8, 0x123456789abcd00, 0, 0x123456789abcdff, ALLF, PF|AF|SF
ALU1 dec_rm8_2, dec, 8, 0x123456789abcd80, CF, 0x123456789abcd7f, ALLF, CF|AF|OF
ALU1 neg_rm16_1, neg, 16, 0x123456789ab0000, 0, 0x123456789ab0000, ALLF, PF|ZF
ALU1 neg_rm16_2, neg, 16, 0x123456789ab8000, 0, 0x123456789ab8000, ALLF, CF|PF|SF|OF
ALU1 neg_rm16_3, neg, 16, 0x123456789ab0001, 0, 0x123456789abffff, ALLF, CF|PF|AF|SF
ALU1 not_rm16_1, not, 16, 0x123456789ab005a, CF, 0x123456789abffa5, ALLF, CF
ALU1 inc_rm16_1, inc, 16, 0x123456789abffff, CF, 0x123456789ab0000, ALLF, CF|PF|AF|ZF
ALU1 inc_rm16_2, inc, 16, 0x123456789ab7fff, 0, 0x123456789ab8000, ALLF, PF|AF|SF|OF
ALU1 dec_rm16_1, dec, 16, 0x123456789ab0000, 0, 0x123456789abffff, ALLF, PF|AF|SF
ALU1 dec_rm16_2, dec, 16, 0x123456789ab8000, CF, 0x123456789ab7fff, ALLF, CF|PF|AF|OF
ALU1 neg_rm32_1, neg, 32, 0x0, 0, 0x0, ALLF, PF|ZF
ALU1 neg_rm32_2, neg, 32, 0x80000000, 0, 0x80000000, ALLF, CF|PF|SF|OF
ALU1 neg_rm32_3, neg, 32, 0x1, 0, 0xffffffff, ALLF, CF|PF|AF|SF
ALU1 not_rm32_1, not, 32, 0x5a, CF, 0xffffffa5, ALLF, CF
ALU1 inc_rm32_1, inc, 32, 0xffffffff, CF, 0x0, ALLF, CF|PF|AF|ZF
ALU1 inc_rm32_2, inc, 32, 0x7fffffff, 0, 0x80000000, ALLF, PF|AF|SF|OF
ALU1 dec_rm32_1, dec, 32, 0x0, 0, 0xffffffff, ALLF, PF|AF|SF
ALU1 dec_rm32_2, dec, 32, 0x80000000, CF, 0x7fffffff, ALLF, CF|PF|AF|OF
ALU1 neg_rm64_1, neg, 64, 0x0, 0, 0x0, ALLF, PF|ZF
ALU1 neg_rm64_2, neg, 64, 0x8000000000000000, 0, 0x8000000000000000, ALLF, CF|PF|SF|OF
ALU1 neg_rm64_3, neg, 64, 0x1, 0, 0xffffffffffffffff, ALLF, CF|PF|AF|SF
ALU1 not_rm64_1, not, 64, 0x5a, CF, 0xffffffffffffffa5, ALLF, CF
ALU1 inc_rm64_1, inc, 64, 0xffffffffffffffff, CF, 0x0, ALLF, CF|PF|AF|ZF
ALU1 inc_rm64_2, inc, 64, 0x7fffffffffffffff, 0, 0x8000000000000000, ALLF, PF|AF|SF|OF
ALU1 dec_rm64_1, dec, 64, 0x0, 0, 0xffffffffffffffff, ALLF, PF|AF|SF
ALU1 dec_rm64_2, dec, 64, 0x8000000000000000, CF, 0x7fffffffffffffff, ALLF, CF|PF|AF|OF

; The memory form and LOCK: ADD [mem], reg with a carry out, then LOCK XADD-free LOCK ADD.
TEST add_mem64_r64_lock
    mov qword [SCRATCH], -1
    mov ebx, 2
    lock add [SCRATCH], rbx
    CHECKF ALLF, CF|AF
    CHECK qword [SCRATCH], 1
ENDTEST

; ADD r32 zero-extends into the full register even when the result is the same.
TEST add_r32_zero_extends
    mov rax, -1
    add eax, 0
    CHECK rax, 0xFFFFFFFF
ENDTEST

; LEA computes without touching flags.
TEST lea_keeps_flags
    push qword CF|ZF
    popfq
    mov rbx, 0x1000
    mov rcx, 3
    lea rax, [rbx + rcx * 8 + 5]
    CHECKF ALLF, CF|ZF
    CHECK rax, 0x101d
ENDTEST
%include "include/end64.inc"
