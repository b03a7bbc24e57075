#!/usr/bin/env python3
"""Random x86 instruction bytes and iced-x86's verdict on them, for the differential test.

    iced_reference.py --bits 64 --count 100000 --seed 1 --out FILE

Each output line is `HEX VALID LENGTH MNEMONIC SPACE` (VALID 1/0; LENGTH, MNEMONIC and
SPACE are `-` for invalid). SPACE is the encoding space of iced's answer (isa.space_of on its
encoding and CPUID features), so that the test can leave out spaces our table does not cover. HEX is always 15 bytes: the decoder may use all of them, and an instruction
that needs more is invalid for both (the 15-byte limit).

iced-x86 configuration (matches the swiftpc CPU model, a GenuineIntel part): DecoderOptions.NONE,
i.e. Intel decoding rules, no Cyrix/VIA/KNC/MPX/UMOV/LOADALL/old-FPU extras. iced still decodes
AMD-only and other vendor opcodes that have no option to turn them off (XOP, TBM, FMA4, SSE4A,
CLZERO, ...). Those are listed in scripts/isa/opcode-maps.txt as `exclude-cpuid`; an instruction iced
decodes whose CPUID features meet that list is taken as invalid here, because the swiftpc
model does not have it. The list is read from the data file, so there is one place to change.

Generation is biased so that every opcode space and prefix combination is exercised: legacy
prefixes (any order, repeated, with REX in and out of last place), one-byte, 0F, 0F38, 0F3A,
3DNow!, x87 with register and memory ModRM, VEX2/VEX3 and EVEX with mostly well-formed
payloads, ModRM/SIB with every mod, and random tails. 40% of the sequences aim at a form
drawn from the data file (prefixes, escape or VEX/EVEX fields and ModRM built for it), so
that every form is exercised; iced-x86 still judges each one independently. Targeted
sequences are drawn only from forms in the spaces the data file claims (`coverage`), and
random VEX/EVEX/3DNow! payloads only when those spaces are claimed.
"""
import argparse
import os
import random
import sys

import iced_x86 as ix

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'isa'))
import isa  # noqa: E402

MNEMONIC = {v: k.lower() for k, v in vars(ix.Mnemonic).items() if not k.startswith('_') and isinstance(v, int)}
CPUID = {v: k for k, v in vars(ix.CpuidFeature).items() if not k.startswith('_') and isinstance(v, int)}
ENCODING = {ix.EncodingKind.LEGACY: 'legacy', ix.EncodingKind.VEX: 'vex', ix.EncodingKind.EVEX: 'evex',
            ix.EncodingKind.XOP: 'xop', ix.EncodingKind.D3NOW: 'd3now', ix.EncodingKind.MVEX: 'mvex'}
LEGACY = [0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3]


MP_BYTE = {'66': 0x66, 'F3': 0xF3, 'F2': 0xF2}
PP = {'NP': 0, '66': 1, 'F3': 2, 'F2': 3}
MAPS = {'0F': 1, '0F38': 2, '0F3A': 3, 'MAP5': 5, 'MAP6': 6}


def gen_from_form(r, bits, f):
    """An encoding aimed at one form of the data file (then judged by iced like any other)."""
    out = []
    for _ in range(r.choice([0, 0, 1, 2])):
        out.append(r.choice([0x2E, 0x3E, 0x26, 0x64, 0x65, 0x67, 0x66, 0xF0]))
    w = 1 if f.os == 64 or f.W == '1' or (f.W or '').endswith('.1') else (r.randrange(2) if f.W in ('ig', None) else 0)
    L = int(f.L) if f.L not in (None, 'ig') else r.randrange(2)
    op = f.op | (r.randrange(8) if f.opcode_reg else 0)
    if f.enc in ('legacy', 'd3now'):
        if f.os == 16 and bits != 16 or f.os == 32 and bits == 16:
            out.append(0x66)
        if f.mp in MP_BYTE:
            out.append(MP_BYTE[f.mp])
        if bits == 64 and (w or r.random() < 0.3):
            out.append(0x40 | w << 3 | r.randrange(8))
        if f.enc == 'd3now':
            out += [0x0F, 0x0F]
        elif f.map == '0F':
            out += [0x0F, op]
        elif f.map in ('0F38', '0F3A'):
            out += [0x0F, 0x38 if f.map == '0F38' else 0x3A, op]
        else:
            out.append(op)
    elif f.enc == 'vex':
        rxb = r.randrange(8) if bits == 64 else 7
        vvvv = r.randrange(16) if f.uses_vvvv else 15
        if bits != 64:
            vvvv |= 8
        if f.map == '0F' and not w and r.random() < 0.5:
            out += [0xC5, (rxb >> 2) << 7 | vvvv << 3 | L << 2 | PP[f.mp]]
        else:
            out += [0xC4, rxb << 5 | MAPS[f.map], w << 7 | vvvv << 3 | L << 2 | PP[f.mp]]
        out.append(op)
    else:
        rxb = r.randrange(16) if bits == 64 else 0xD
        vvvv = r.randrange(16) if f.uses_vvvv else 15
        vp = 1 if bits != 64 or not f.uses_vvvv or r.random() < 0.7 else 0
        aaa = r.randrange(8) if 'k' in f.attrs and r.random() < 0.6 else 0
        if 'kreq' in f.attrs and aaa == 0:
            aaa = 1
        z = 1 if 'z' in f.attrs and aaa and r.random() < 0.3 else 0
        b = 1 if r.random() < 0.15 else 0
        LL = L if f.L not in (None, 'ig') else r.randrange(3)
        out += [0x62, rxb << 4 | MAPS[f.map], w << 7 | vvvv << 3 | 4 | PP[f.mp], z << 7 | LL << 5 | b << 4 | vp << 3 | aaa, op]
    if f.has_modrm:
        mod = 3 if f.mod == 'reg' else (r.randrange(3) if f.mod == 'mem' else r.randrange(4))
        reg = f.reg if f.reg is not None else r.randrange(8)
        rm = f.rm if f.rm is not None else r.randrange(8)
        if f.modrm_byte is not None:
            mod = 3
        out.append(mod << 6 | reg << 3 | rm)
    return out


def gen_one(r, bits, forms=None, covered=()):
    if forms and r.random() < 0.4:
        out = gen_from_form(r, bits, r.choice(forms))
        while len(out) < 15:
            out.append(r.randrange(256))
        return bytes(out[:15])
    out = []
    # Prefixes: usually none or one or two, sometimes many.
    n = r.choice([0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 6, 14])
    for _ in range(n):
        out.append(r.choice([0x66, 0x66, 0xF2, 0xF3, 0xF0, 0x67] + LEGACY))
    if bits == 64 and r.random() < 0.45:
        out.append(0x40 | r.randrange(16))
        if r.random() < 0.15:  # a REX that is not last is ignored
            out.append(r.choice(LEGACY))
    kind = r.random()
    if 'vex' not in covered and 'evex' not in covered:
        kind *= 0.66 if 'd3now' in covered else 0.64  # legacy (and 3DNow!) opcode spaces only
    if kind < 0.22:
        out.append(r.randrange(256))
    elif kind < 0.30:
        out.append(0xD8 + r.randrange(8))
        out.append(r.choice([r.randrange(0xC0, 0x100), r.randrange(0xC0)]))
    elif kind < 0.50:
        out += [0x0F, r.randrange(256)]
    elif kind < 0.58:
        out += [0x0F, 0x38, r.randrange(256)]
    elif kind < 0.64:
        out += [0x0F, 0x3A, r.randrange(256)]
    elif kind < 0.66:
        out += [0x0F, 0x0F]
    elif kind < 0.72:
        b1 = r.randrange(256)
        if r.random() < 0.7:
            b1 |= 0xC0 if bits != 64 or r.random() < 0.5 else 0
        out += [0xC5, b1, r.randrange(256)]
    elif kind < 0.82:
        b1 = r.randrange(256)
        if r.random() < 0.85:
            b1 = (b1 & 0xE0) | r.choice([1, 2, 3])
        if bits != 64 and r.random() < 0.7:
            b1 |= 0xC0
        b2 = r.randrange(256)
        if r.random() < 0.5:
            b2 |= 0x78  # vvvv = 1111 (unused)
        out += [0xC4, b1, b2, r.randrange(256)]
    else:
        p0 = r.randrange(256)
        if r.random() < 0.85:
            p0 = (p0 & 0xF0) | r.choice([1, 2, 3, 5, 6])
        if bits != 64 and r.random() < 0.7:
            p0 |= 0xC0
        p1 = r.randrange(256)
        if r.random() < 0.85:
            p1 |= 0x04
        if r.random() < 0.5:
            p1 |= 0x78
        p2 = r.randrange(256)
        if r.random() < 0.5:
            p2 |= 0x08  # V' = 1
        if r.random() < 0.4:
            p2 &= 0x6F  # no z, no b
        if r.random() < 0.3:
            p2 &= 0xF8  # no mask
        out += [0x62, p0, p1, p2, r.randrange(256)]
    # ModRM-ish byte: bias to each mod, then SIB / tail.
    m = r.random()
    if m < 0.35:
        out.append(r.randrange(0xC0, 0x100))
    elif m < 0.55:
        out.append(r.randrange(0, 0xC0) & ~7 | 4)  # SIB follows
    else:
        out.append(r.randrange(256))
    while len(out) < 15:
        out.append(r.randrange(256))
    return bytes(out[:15])


def iced_verdict(data, bits, excluded):
    dec = ix.Decoder(bits, data, ix.DecoderOptions.NONE)
    ins = dec.decode()
    if ins.code == ix.Code.INVALID:
        return None
    feats = set(CPUID[c] for c in ins.cpuid_features())
    if feats & excluded:
        return None
    mn = MNEMONIC[ins.mnemonic]
    return ins.len, mn, isa.space_of(ENCODING[ins.encoding], feats, mn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bits', type=int, required=True, choices=(16, 32, 64))
    ap.add_argument('--count', type=int, default=100000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--out', required=True)
    ap.add_argument('--all-spaces', action='store_true',
                    help='target forms of every space, also those the data file does not claim (progress runs)')
    a = ap.parse_args()
    forms, excluded = isa.decoded_forms()
    covered = isa.coverage() if not a.all_spaces else isa.SPACES
    forms = [f for f in forms if a.bits in f.modes and f.space in covered]
    r = random.Random(a.seed * 1000 + a.bits)
    with open(a.out, 'w') as f:
        for _ in range(a.count):
            data = gen_one(r, a.bits, forms, covered)
            v = iced_verdict(data, a.bits, excluded)
            if v is None:
                f.write('%s 0 - - -\n' % data.hex())
            else:
                f.write('%s 1 %d %s %s\n' % (data.hex(), v[0], v[1], v[2]))


if __name__ == '__main__':
    main()
