#!/usr/bin/env python3
"""Systematic sweep of the opcode spaces with iced-x86's verdicts, in the same line format as
iced_reference.py, for runs outside the test suite that look for gaps random sampling misses:

    iced_sweep.py --bits 64 --out FILE [--vex]

Legacy: every mandatory/size prefix combination (none, 66, F3, F2, and REX.W in 64-bit mode)
x maps (one-byte, 0F, 0F38, 0F3A) x opcode x a ModRM set covering every reg field with
mod 00/01/11. With --vex: VEX3 with every map, W, L and pp x opcode x the same ModRM set.
With --evex N (instead): EVEX with every map, W, L'L, pp and b x opcode x ModRM, the other
fields per EVEX_FIELDS[N].
Run the result through the Swift differential test:

    X86_DIFF_FILE_64=FILE swift test --skip-build --filter DifferentialTests.testDifferential64
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iced_reference as ref  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'isa'))
import isa  # noqa: E402

TAIL = bytes([0x25, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD])
MODRMS = [reg << 3 | rm for reg in range(8) for rm in (0, 4)] + [0x40 | reg << 3 for reg in range(8)] + \
         [0xC0 | reg << 3 | rm for reg in range(8) for rm in (0, 1, 7)]


def sequences(bits, vex):
    pfxs = [b'', b'\x66', b'\xF3', b'\xF2']
    if bits == 64:
        pfxs += [b'\x48', b'\x66\x48', b'\xF3\x48', b'\xF2\x48']
    for p in pfxs:
        for m in (b'', b'\x0F', b'\x0F\x38', b'\x0F\x3A'):
            for op in range(256):
                for modrm in MODRMS:
                    yield p + m + bytes([op, modrm])
    if vex:
        for mm in (1, 2, 3):
            for w in (0, 1):
                for L in (0, 1):
                    for pp in range(4):
                        b1 = 0xE0 | mm
                        b2 = w << 7 | 0x78 | L << 2 | pp
                        for op in range(256):
                            for modrm in MODRMS:
                                yield bytes([0xC4, b1, b2, op, modrm])


EVEX_MODRMS = [reg << 3 for reg in range(8)] + [0x40 | reg << 3 for reg in range(8)] + [0xC1 | reg << 3 for reg in range(8)]


# (vvvv field as stored, z, aaa, V' as stored): unused vvvv with k1; a used vvvv with zeroing
# into k2; no mask with V' cleared (high registers).
EVEX_FIELDS = [(0xF, 0, 1, 1), (0x0, 1, 2, 1), (0xF, 0, 0, 0)]


def evex_sequences(variant):
    """EVEX with maps 1-3/5/6, W, L'L 0-2, pp and b x opcode x ModRM, fields per EVEX_FIELDS."""
    vvvv, z, aaa, vp = EVEX_FIELDS[variant]
    for mm in (1, 2, 3, 5, 6):
        for w in (0, 1):
            for LL in (0, 1, 2):
                for pp in range(4):
                    for b in (0, 1):
                        p0 = 0xF0 | mm
                        p1 = w << 7 | vvvv << 3 | 0x04 | pp
                        p2 = z << 7 | LL << 5 | b << 4 | vp << 3 | aaa
                        for op in range(256):
                            for modrm in EVEX_MODRMS:
                                yield bytes([0x62, p0, p1, p2, op, modrm])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bits', type=int, required=True, choices=(16, 32, 64))
    ap.add_argument('--out', required=True)
    ap.add_argument('--vex', action='store_true')
    ap.add_argument('--evex', type=int, default=-1, help='only the EVEX sweep, field variant 0-2 (EVEX_FIELDS)')
    a = ap.parse_args()
    _, excluded = isa.decoded_forms()
    with open(a.out, 'w') as f:
        for s in (evex_sequences(a.evex) if a.evex >= 0 else sequences(a.bits, a.vex)):
            data = (s + TAIL)[:15]
            v = ref.iced_verdict(data, a.bits, excluded)
            if v is None:
                f.write('%s 0 - - -\n' % data.hex())
            else:
                f.write('%s 1 %d %s %s\n' % (data.hex(), v[0], v[1], v[2]))


if __name__ == '__main__':
    main()
