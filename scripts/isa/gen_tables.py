#!/usr/bin/env python3
"""Generates the decoder's tables from scripts/isa/opcode-maps.txt (via expand.py).

    python3 scripts/isa/gen_tables.py            # rewrite Sources/X86Decoder/Generated/
    python3 scripts/isa/gen_tables.py --check    # exit 1 if the checked-in files differ
    python3 scripts/isa/gen_tables.py --out DIR  # write into DIR instead

Decoding model. After the prefixes and the opcode escape bytes, the decoder knows an
opcode space (legacy one-byte, 0F, 0F38, 0F3A, 3DNow!, VEX and EVEX maps) and an opcode
byte. The root table maps (space, opcode) to a node of a reduced decision tree whose
internal nodes test one selector of the decode state and whose leaves are form ids (0 =
invalid). Selectors, in tree order:

    0 mode   0:16 1:32 2:64 (resolved by the root table: one root per mode)
    1 mp     0:none 1:66 2:F3 3:F2 (last of F2/F3 wins, else 66; VEX/EVEX: pp)
    2 ow     bit 0: a 66 prefix was seen, bit 1: REX.W / VEX.W / EVEX.W
    4 asz    effective address size 0:16 1:32 2:64     5 L    VEX.L / EVEX.L'L
    6 mod    0: memory, 1: register (ModRM.mod = 11)    7 reg  ModRM.reg
    8 rm     ModRM.rm                                   9 rexb REX.B

The tree is built by splitting only on selectors some candidate form constrains, and
subtrees are shared, so the tables stay small. When several forms match one point the most
specific wins: an explicit mandatory prefix beats none (0F BC: F3 selects TZCNT over BSF),
then a fixed ModRM.reg, a fixed ModRM.rm, a required operand or address size, a required
VEX/EVEX.W (VPCMPESTRI64 over VPCMPESTRI).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import isa  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, 'Sources', 'X86Decoder', 'Generated')

SPACES = {('legacy', '-'): 0, ('legacy', '0F'): 1, ('legacy', '0F38'): 2, ('legacy', '0F3A'): 3,
          ('d3now', '0F'): 4, ('vex', '0F'): 5, ('vex', '0F38'): 6, ('vex', '0F3A'): 7,
          ('evex', '0F'): 8, ('evex', '0F38'): 9, ('evex', '0F3A'): 10, ('evex', 'MAP5'): 11,
          ('evex', 'MAP6'): 12}
SPACE_COUNT = 13
SEL_NAMES = ['mode', 'mp', 'ow', 'unused', 'asz', 'L', 'mod', 'reg', 'rm', 'rexb']
SEL_DOMAIN = [3, 4, 4, 1, 3, 4, 2, 8, 8, 2]
MODE_BITS = [16, 32, 64]
MP_VALUE = {'NP': 0, '66': 1, 'F3': 2, 'F2': 3}

LEAF = 0x8000_0000
HAS_MODRM = 0x4000_0000


def eff_os(mode, osp, w, d64, f64):
    if mode == 64:
        if f64 or w:
            return 64
        if osp:
            return 16
        return 64 if d64 else 32
    if mode == 32:
        return 16 if osp else 32
    return 32 if osp else 16


class Candidate:
    """A form placed at one opcode slot, with its constraint over the selectors."""

    def __init__(self, form, low):
        self.f = form
        self.low = low  # opcode low 3 bits at this slot (for +r forms and NOP/XCHG at 90)
        legacy = form.enc in ('legacy', 'd3now')
        care = set()
        if form.modes != {16, 32, 64} or form.os or (form.W or '').startswith('ig32'):
            care.add(0)
        if form.mp != '-' or 'nfx' in form.attrs:
            care.add(1)
        if legacy and form.os or 'no66' in form.attrs:
            care.add(2)
        if not legacy and form.W not in (None, 'ig'):
            care.add(2)
        if form.asz:
            care.add(4)
        if not legacy and form.L not in (None, 'ig'):
            care.add(5)
        if form.has_modrm and form.mod != 'any':
            care.add(6)
        if form.reg is not None:
            care.add(7)
        if form.rm is not None:
            care.add(8)
        self.nopslot = legacy and form.map == '-' and form.op == 0x90 and low == 0
        if self.nopslot:
            care.add(9)
        self.care = care
        self.spec = (form.mp != '-', form.reg is not None, form.rm is not None, form.os != 0, form.asz != 0,
                     not legacy and form.W not in (None, 'ig'))

    def ok(self, a):
        """False when the partial assignment `a` (selector -> value) violates the form."""
        f = self.f
        legacy = f.enc in ('legacy', 'd3now')
        mode = MODE_BITS[a[0]] if 0 in a else None
        if mode is not None and mode not in f.modes:
            return False
        if 1 in a and f.mp != '-' and a[1] != MP_VALUE[f.mp]:
            return False
        if 2 in a and 'no66' in f.attrs and a[2] & 1:
            return False  # no 66 prefix allowed (PTWRITE)
        if 1 in a and 'nfx' in f.attrs and a[1] >= 2:
            return False  # F2/F3 not allowed (MOVBE, RDRAND, RDSEED)
        if legacy and f.os and mode is not None and 2 in a:
            osp = 0 if f.mp == '66' else a[2] & 1
            w = a[2] >> 1 if mode == 64 else 0
            e = eff_os(mode, osp, w, 'd64' in f.attrs, 'f64' in f.attrs)
            # A form with 16- and 32-bit variants only: REX.W leaves the 32-bit one.
            if e == 64 and f.os == 32 and w and not f.has64sibling:
                e = 32
            if e != f.os:
                return False
        if not legacy and 2 in a and f.W not in (None, 'ig'):
            if f.W.startswith('ig32.'):
                if mode is not None and mode == 64 and a[2] >> 1 != int(f.W[5:]):
                    return False
            elif a[2] >> 1 != int(f.W):
                return False
        if f.asz and 4 in a and MODE_BITS[a[4]] != f.asz:
            return False
        if not legacy and f.L not in (None, 'ig') and 5 in a and a[5] != int(f.L):
            return False
        if 6 in a and f.has_modrm and f.mod != 'any' and a[6] != (1 if f.mod == 'reg' else 0):
            return False
        if 7 in a and f.reg is not None and a[7] != f.reg:
            return False
        if 8 in a and f.rm is not None and a[8] != f.rm:
            return False
        if self.nopslot and 9 in a:
            # 90 is NOP (or PAUSE with F3) only without REX.B; with it, XCHG r8, rAX.
            # PAUSE (F3 90) ignores REX.B.
            if f.mn == 'nop' and a[9] != 0 or f.mn == 'xchg' and a[9] == 0:
                return False
        return True


class Builder:
    def __init__(self):
        self.nodes = []        # flat children storage
        self.intern = {}       # (selector, children tuple) -> ref
        self.ambiguities = []

    def build(self, cands, level, a, where):
        cands = [c for c in cands if c.ok(a)]
        if not cands:
            return LEAF  # form 0: invalid
        sel = None
        for s in range(level, len(SEL_NAMES)):
            if any(s in c.care for c in cands):
                sel = s
                break
        if sel is None:
            best = max(c.spec for c in cands)
            top = [c for c in cands if c.spec == best]
            ids = sorted(set(c.f.id for c in top))
            if len(ids) > 1:
                self.ambiguities.append((where, dict(a), [c.f.name for c in top]))
            return LEAF | ids[0]
        children = []
        for v in range(SEL_DOMAIN[sel]):
            a2 = dict(a)
            a2[sel] = v
            children.append(self.build(cands, sel + 1, a2, where))
        if all(ch == children[0] for ch in children):
            return children[0]
        key = (sel, tuple(children))
        ref = self.intern.get(key)
        if ref is None:
            base = len(self.nodes)
            self.nodes.extend(children)
            ref = (sel << 24) | base
            assert base < (1 << 24)
            self.intern[key] = ref
        return ref


IMM_CODES = {  # operand kind -> immediate code (see ImmediateKind in the Swift side)
    'imm8': 1, 'imm16': 2, 'imm32': 3, 'imm64': 4, 'mem_offs': 5,
    'br16_1': 6, 'br32_1': 6, 'br64_1': 6, 'br16_2': 7, 'xbegin_2': 7, 'br32_4': 8, 'br64_4': 8,
    'xbegin_4': 8, 'imm8sex16': 9, 'imm8sex32': 9, 'imm8sex64': 9, 'imm32sex64': 10,
    'xmm_is4': 11, 'ymm_is4': 11, 'xmm_is5': 11, 'ymm_is5': 11, 'imm4_m2z': 1,
    'brdisp_2': 2, 'brdisp_4': 3,
}
# Operands whose register number has gaps or a smaller file than the ModRM/REX bits can
# name (checked by the decoder): segment, control, debug, opmask and tile registers.
REGCHECK_OPERANDS = {'seg_reg', 'cr_reg', 'dr_reg', 'tr_reg', 'k_reg', 'kp1_reg', 'k_rm', 'k_vvvv',
                     'tmm_reg', 'tmm_rm', 'tmm_vvvv'}
EVEX_GPR = {'r32_reg', 'r64_reg', 'r32_or_mem', 'r64_or_mem', 'r32_rm', 'r64_rm'}
ATTR_BITS = {a: i for i, a in enumerate(isa.ATTRS)}


def form_record(f, mnem_id, cpuid_id):
    """32 bytes per form; layout mirrors FormInfo in Sources/X86Decoder/FormInfo.swift."""
    imms = []
    for o in f.ops:
        if o == 'farbr2_2':
            imms += [2, 2]
        elif o == 'farbr4_2':
            imms += [3, 2]
        elif o in IMM_CODES:
            imms.append(IMM_CODES[o])
    if f.enc == 'd3now':
        imms = []  # the suffix opcode byte is consumed by the decoder, not an immediate
    # A form whose is4/is5 register shares the trailing byte with an imm4 counts it once.
    if len(imms) > 2:
        if 11 in imms:
            imms = [i for i in imms if i != 1]
    assert len(imms) <= 2, (f.name, imms)
    imms += [0] * (2 - len(imms))
    attrs = 0
    for a in f.attrs:
        attrs |= 1 << ATTR_BITS[a]
    if f.uses_vvvv:
        attrs |= 1 << 24
    if f.has_modrm:
        attrs |= 1 << 25
    if f.mod == 'reg' or 'anymod' in f.attrs:
        attrs |= 1 << 26
    if f.opcode_reg:
        attrs |= 1 << 27
    if any(o in REGCHECK_OPERANDS for o in f.ops) or f.enc == 'evex' and any(o in EVEX_GPR for o in f.ops):
        attrs |= 1 << 28
    ops = [isa.OPERAND_KINDS.index(o) for o in f.ops] + [0] * (5 - len(f.ops))
    size_code = {0: 0, 16: 1, 32: 2, 64: 3}
    fl = []
    for k in ('fr', 'fw', 'fu', 'fc', 'fs'):
        m = 0
        for n in f.flags[k]:
            m |= 1 << isa.FLAG_NAMES.index(n)
        fl.append(m)
    enc = {'legacy': 0, 'vex': 1, 'evex': 2, 'd3now': 3}[f.enc]
    mapn = {'-': 0, '0F': 1, '0F38': 2, '0F3A': 3, 'MAP5': 5, 'MAP6': 6}[f.map]
    modes = sum(1 << i for i, m in enumerate(MODE_BITS) if m in f.modes)
    tup = isa.TUPLES.index(f.tuple) + 1 if f.tuple else 0
    b = bytearray()
    b += mnem_id.to_bytes(2, 'little')
    b += attrs.to_bytes(4, 'little')
    b.append(imms[0] | imms[1] << 4)
    b.append(size_code[f.os] | size_code[f.asz] << 4)
    b += bytes(ops[:5])
    b.append(tup)
    b += f.msz.to_bytes(2, 'little')
    b.append(f.bsz)
    b.append(cpuid_id)
    for m in fl:
        b += m.to_bytes(2, 'little')
    b.append(enc | mapn << 4)
    b.append(f.op)
    b.append(modes)
    b.append({'-': 0, 'NP': 1, '66': 2, 'F3': 3, 'F2': 4}[f.mp])
    assert len(b) == 32, len(b)
    return bytes(b)


def swift_hex_literal(name, data, per_line=96):
    h = data.hex()
    lines = [h[i:i + per_line * 2] for i in range(0, len(h), per_line * 2)]
    body = '\n'.join(lines)
    return 'static let %s: StaticString = """\n%s\n"""\n' % (name, body)


def generate():
    forms, excluded, shadow = isa.decoded_forms(with_excluded=True)
    for i, f in enumerate(forms):
        f.id = i + 1
    for f in shadow:
        f.id = 0  # claims its encoding, decodes as invalid
    assert len(forms) < 0xFFFF
    mnemonics = sorted(set(f.mn for f in forms))
    mnem_id = {m: i + 1 for i, m in enumerate(mnemonics)}
    cpuid_sets = sorted(set(','.join(f.cpuid) for f in forms))
    cpuid_id = {c: i for i, c in enumerate(cpuid_sets)}
    assert len(cpuid_sets) < 256

    sib64 = set((f.enc, f.map, f.op, f.mp, f.reg, f.rm, f.mod) for f in forms + shadow if f.os == 64 and 64 in f.modes)
    for f in forms + shadow:
        f.has64sibling = (f.enc, f.map, f.op, f.mp, f.reg, f.rm, f.mod) in sib64
    slots = {}
    for f in forms + shadow:
        key = (f.enc, f.map)
        if key not in SPACES:
            raise isa.ISAError('%s: no opcode space for enc=%s map=%s' % (f.name, f.enc, f.map))
        space = SPACES[key]
        span = 8 if f.opcode_reg else 1
        for low in range(span):
            slots.setdefault((space, f.op + low), []).append(Candidate(f, low))
    b = Builder()
    roots = [LEAF] * (3 * SPACE_COUNT * 256)
    for (space, op), cands in sorted(slots.items()):
        mods = set(c.f.has_modrm for c in cands)
        if len(mods) != 1:
            raise isa.ISAError('space %d opcode %02X: forms disagree on having ModRM: %s' % (
                space, op, [(c.f.name, c.f.has_modrm) for c in cands]))
        modrm = mods.pop()
        for mode in range(3):
            ref = b.build(cands, 1, {0: mode}, (space, op))
            roots[(mode * SPACE_COUNT + space) * 256 + op] = ref | (HAS_MODRM if modrm else 0)

    records = b''.join(form_record(f, mnem_id[f.mn], cpuid_id[','.join(f.cpuid)]) for f in forms)
    u32 = lambda xs: b''.join(x.to_bytes(4, 'little') for x in xs)

    out = {}
    s = []
    s.append('// GENERATED by scripts/isa/gen_tables.py from scripts/isa/opcode-maps.txt. Do not edit.\n')
    s.append('// Tests/X86DecoderTests/GeneratedTablesTests.swift fails when this file is stale.\n\n')
    s.append('enum PackedISA {\n')
    s.append('    static let formCount = %d\n' % len(forms))
    s.append('    static let nodeCount = %d\n' % len(b.nodes))
    s.append('    static let spaceCount = %d\n' % SPACE_COUNT)
    s.append('    /// Root refs, 3 modes * spaceCount * 256 little-endian UInt32 (bit 31 leaf, bit 30 ModRM follows).\n')
    s.append('    ' + swift_hex_literal('roots', u32(roots)))
    s.append('    /// Decision-tree children, little-endian UInt32 refs.\n')
    s.append('    ' + swift_hex_literal('nodes', u32(b.nodes)))
    s.append('    /// FormInfo records, 32 bytes each, for form ids 1...formCount.\n')
    s.append('    ' + swift_hex_literal('forms', records))
    s.append('    /// Mnemonic names, one per line, for mnemonic ids 1...\n')
    s.append('    static let mnemonicNames: StaticString = """\n%s\n"""\n' % '\n'.join(mnemonics))
    s.append('    /// Form names, one per line, for form ids 1...\n')
    s.append('    static let formNames: StaticString = """\n%s\n"""\n' % '\n'.join(f.name for f in forms))
    s.append('    /// Encoding space of each form (legacy-nonsimd, legacy-simd, vex, evex, d3now), one per line.\n')
    s.append('    static let formSpaces: StaticString = """\n%s\n"""\n' % '\n'.join(f.space for f in forms))
    s.append('    /// The encoding spaces opcode-maps.txt claims complete, one per line.\n')
    s.append('    static let coveredSpaces: StaticString = """\n%s\n"""\n' % '\n'.join(isa.coverage()))
    s.append('    /// CPUID feature sets (comma separated), one per line, by FormInfo.cpuidSet.\n')
    s.append('    static let cpuidSets: StaticString = """\n%s\n"""\n' % '\n'.join(c or '-' for c in cpuid_sets))
    s.append('}\n')
    out['PackedISA.swift'] = ''.join(s)

    s = ['// GENERATED by scripts/isa/gen_tables.py from scripts/isa/opcode-maps.txt. Do not edit.\n\n']
    s.append('/// Dense ids of the instruction forms of scripts/isa/opcode-maps.txt (0 is invalid), for the\n')
    s.append('/// interpreter to switch on.\n')
    s.append('public enum FormID {\n    public static let INVALID: UInt16 = 0\n')
    for f in forms:
        s.append('    public static let %s: UInt16 = %d\n' % (f.name, f.id))
    s.append('}\n\n/// Dense mnemonic ids (0 is invalid).\npublic enum MnemonicID {\n')
    s.append('    public static let invalid: UInt16 = 0\n')
    for m in mnemonics:
        s.append('    public static let %s: UInt16 = %d\n' % (m if m not in ('in', 'int', 'out', 'and', 'or', 'xor', 'not') else m + '_', mnem_id[m]))
    s.append('}\n\n/// Operand kinds of FormInfo.operands (raw values are the generator\'s order).\n')
    s.append('public enum OperandKind: UInt8, Sendable {\n')
    for i, k in enumerate(isa.OPERAND_KINDS):
        s.append('    case %s = %d\n' % (k, i))
    s.append('}\n')
    out['FormIDs.swift'] = ''.join(s)
    return out, b.ambiguities, len(b.nodes)


def main():
    args = sys.argv[1:]
    out_dir = OUT_DIR
    if '--out' in args:
        out_dir = args[args.index('--out') + 1]
    files, amb, nnodes = generate()
    if '--check' in args:
        bad = []
        for name, text in files.items():
            p = os.path.join(OUT_DIR, name)
            if not os.path.exists(p) or open(p).read() != text:
                bad.append(name)
        if bad:
            print('stale generated files: %s (run scripts/isa/gen_tables.py)' % ', '.join(bad))
            sys.exit(1)
        print('generated tables are up to date')
        return
    os.makedirs(out_dir, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(out_dir, name), 'w') as fh:
            fh.write(text)
    for where, a, names in amb[:40]:
        print('ambiguous at space %d op %02X %s: %s' % (where[0], where[1], {SEL_NAMES[k]: v for k, v in a.items()}, names), file=sys.stderr)
    print('%d ambiguities, %d tree nodes' % (len(amb), nnodes), file=sys.stderr)


if __name__ == '__main__':
    main()
