#!/usr/bin/env python3
"""Expands scripts/isa/opcode-maps.txt (our hand-written opcode maps, in notation close to
the Intel SDM Vol. 2, Appendix A) into one line per instruction form in the format that
isa.Form parses (documented in scripts/isa/forms-format.txt).

    python3 scripts/isa/expand.py            # print the expanded form lines
    python3 scripts/isa/expand.py --stats    # forms per encoding space

Source notation (see the header of opcode-maps.txt for the full list):

    space NAME          following forms belong to encoding space NAME (legacy-nonsimd, ...)
    map M               opcode map of the following lines: 1 (one-byte), 0F, 0F38, 0F3A
    enc E               legacy | vex | evex | d3now
    cpuid F[,F]         CPUID feature(s) of the following lines (until the next cpuid line)
    flags MN k=v...     RFLAGS effect of every form with mnemonic MN ("Flags Affected")
    lockable MN...      LOCK is allowed on these mnemonics' memory-destination forms
    privileged MN...    these mnemonics are CPL-0 only (attr cpl0)
    coverage S...       the spaces this table claims complete (the differential test's scope)
    exclude-cpuid F...  features the swiftpc CPU model lacks (see opcode-maps.txt)

    [PFX] OPC MNEMONIC OPERANDS [TAG...]

PFX is NP, 66, F3 or F2 (mandatory prefix). OPC is HH, HH/d (ModRM.reg = d), HH:MM (whole
ModRM byte), HH:MM+i (ModRM MM..MM+7) or HH+r (register in the opcode's low 3 bits).
OPERANDS are SDM operand codes, comma separated, or -. Under `enc vex` / `enc evex` the codes
follow VEX.L / EVEX.L'L (Vx Hx Wx Ux ... expand to one form per vector length) and the tags L0
L1 L2 L12 LIG, W0 W1 (default: W ignored), and for EVEX T=tuple e=element-bytes k z b er sae
kreq select the encoding fields and the disp8*N compression. A mnemonic written A/B/C names the
16-, 32- and 64-bit operand-size variants (A/B: 16 and 32). Macros: `alu MN OP` (the six
forms of an ALU row 00-3F), `grp OPC MN0,...,MN7 OPERANDS` (a /digit group), `cc OPC MN*
OPERANDS` (the 16 condition codes from OPC, * replaced by the condition).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, 'opcode-maps.txt')

CONDITIONS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g']
# The flags each condition pair tests (SDM Vol. 1, Appendix B, EFLAGS Condition Codes).
CONDITION_FLAGS = ['of', 'cf', 'zf', 'cf,zf', 'sf', 'pf', 'sf,of', 'zf,sf,of']


class SourceError(Exception):
    pass


def _sz(os_, table):
    return table[os_]


# Operand code -> function(os) -> (kind, memory size in bytes or None). `os` is the form's
# operand size (16/32/64) or 0 for forms without a size split.
def _gpr(kind_fmt, msz=True):
    return lambda o: (kind_fmt % o, o // 8 if msz else None)


OPERANDS = {
    'Eb': lambda o: ('r8_or_mem', 1), 'Gb': lambda o: ('r8_reg', None), 'Zb': lambda o: ('r8_opcode', None),
    'Ew': lambda o: ('r16_or_mem', 2), 'Gw': lambda o: ('r16_reg', None), 'Rw': lambda o: ('r16_rm', None),
    'Ed': lambda o: ('r32_or_mem', 4), 'Gd': lambda o: ('r32_reg', None), 'Rd': lambda o: ('r32_rm', None),
    'Eq': lambda o: ('r64_or_mem', 8), 'Gq': lambda o: ('r64_reg', None), 'Rq': lambda o: ('r64_rm', None),
    'Ev': _gpr('r%d_or_mem'), 'Gv': _gpr('r%d_reg', False), 'Zv': _gpr('r%d_opcode', False),
    'Rv': _gpr('r%d_rm', False), 'Ey': _gpr('r%d_or_mem'), 'Gy': _gpr('r%d_reg', False),
    'Ry': _gpr('r%d_rm', False),
    'RvMw': lambda o: ('r%d_or_mem' % o, 2),     # SDM "Rv/Mw": register of the operand size, or m16
    'RyMw': lambda o: ('r%d_or_mem' % o, 2),
    'RdMw': lambda o: ('r32_or_mem', 2), 'RdMb': lambda o: ('r32_or_mem', 1),
    'Ib': lambda o: ('imm8', None), 'Iw': lambda o: ('imm16', None),
    'Iz': lambda o: ({16: 'imm16', 32: 'imm32', 64: 'imm32sex64'}[o], None),
    'Iv': lambda o: ({16: 'imm16', 32: 'imm32', 64: 'imm64'}[o], None),
    'Ibs': lambda o: ('imm8sex%d' % o, None),    # SDM "Ib" sign-extended to the operand size
    'Jb': lambda o: ('br%d_1' % o, None),
    'Jz': lambda o: ({16: 'br16_2', 32: 'br32_4', 64: 'br64_4'}[o], None),
    'Jx': lambda o: ({16: 'xbegin_2', 32: 'xbegin_4', 64: 'xbegin_4'}[o], None),  # XBEGIN rel16/rel32
    'Ap': lambda o: ({16: 'farbr2_2', 32: 'farbr4_2'}[o], None),
    'Ob': lambda o: ('mem_offs', 1), 'Ov': lambda o: ('mem_offs', o // 8),
    'M': lambda o: ('mem', 0), 'Mb': lambda o: ('mem', 1), 'Mw': lambda o: ('mem', 2),
    'Md': lambda o: ('mem', 4), 'Mq': lambda o: ('mem', 8), 'Mdq': lambda o: ('mem', 16),
    'Mt': lambda o: ('mem', 10), 'Mv': lambda o: ('mem', o // 8), 'My': lambda o: ('mem', o // 8),
    'Mp': lambda o: ('mem', o // 8 + 2), 'Ma': lambda o: ('mem', o // 4),
    'Ms': lambda o: ('mem', 10 if o == 64 else 6), 'Menv': lambda o: ('mem', 14 if o == 16 else 28),
    'Mstate': lambda o: ('mem', 94 if o == 16 else 108), 'M512': lambda o: ('mem', 512),
    'Sw': lambda o: ('seg_reg', None), 'Cd': lambda o: ('cr_reg', None), 'Dd': lambda o: ('dr_reg', None),
    'Td': lambda o: ('tr_reg', None),
    'AL': lambda o: ('al', None), 'CL': lambda o: ('cl', None), 'DX': lambda o: ('dx', None),
    'AX': lambda o: ('ax', None), 'EAX': lambda o: ('eax', None),
    'eAX': lambda o: ({16: 'ax', 32: 'eax'}[o], None),
    'rAX': lambda o: ({16: 'ax', 32: 'eax', 64: 'rax'}[o], None),
    '1': lambda o: ('imm8_const_1', None),
    'ES': lambda o: ('es', None), 'CS': lambda o: ('cs', None), 'SS': lambda o: ('ss', None),
    'DS': lambda o: ('ds', None), 'FS': lambda o: ('fs', None), 'GS': lambda o: ('gs', None),
    'Xb': lambda o: ('seg_rsi', 1), 'Xv': lambda o: ('seg_rsi', o // 8), 'Xz': lambda o: ('seg_rsi', o // 8),
    'Yb': lambda o: ('es_rdi', 1), 'Yv': lambda o: ('es_rdi', o // 8), 'Yz': lambda o: ('es_rdi', o // 8),
    'XLATm': lambda o: ('seg_rbx_al', 1),
    'ST': lambda o: ('st0', None), 'STi': lambda o: ('sti_opcode', None),
    'Pq': lambda o: ('mm_reg', None), 'Qq': lambda o: ('mm_or_mem', 8), 'Nq': lambda o: ('mm_rm', None),
    'Vx': lambda o: ('xmm_reg', None), 'Wx': lambda o: ('xmm_or_mem', 16), 'Ux': lambda o: ('xmm_rm', None),
    'Wd': lambda o: ('xmm_or_mem', 4), 'Wq': lambda o: ('xmm_or_mem', 8), 'Ww': lambda o: ('xmm_or_mem', 2),
    'Wss': lambda o: ('xmm_or_mem', 4), 'Wsd': lambda o: ('xmm_or_mem', 8), 'Qd': lambda o: ('mm_or_mem', 4),
    'Mx': lambda o: ('mem', 16), 'Ud': lambda o: ('xmm_rm', None),
    'RyMb': lambda o: ('r%d_or_mem' % o, 1), 'Gyv': lambda o: ('r%d_reg' % o, None),
}
# Codes whose kind depends on the operand size, and which sizes they allow.
SIZE_V = {'Ev', 'Gv', 'Zv', 'Rv', 'Iv', 'Ov', 'Mv', 'Xv', 'Yv', 'rAX', 'RvMw', 'Mp', 'Ma', 'Menv', 'Mstate', 'Ms',
          'Iz', 'Ibs', 'Jz', 'Jb', 'Jx'}
SIZE_Y = {'Ey', 'Gy', 'Ry', 'My', 'RyMw', 'RyMb'}
SIZE_Z = {'eAX', 'Xz', 'Yz', 'Ap'}
MEMORY_FIRST = ('E', 'M', 'R', 'O', 'X', 'Y')


# VEX operand codes -> function(L, os) -> (kind, memory bytes or None). x-sized codes follow
# VEX.L (xmm for L=0, ymm for L=1); dq/qq codes are always xmm/ymm; h/qt/et are the half,
# quarter and eighth-width sources of widening conversions; By is the GPR in VEX.vvvv.
def _xy(x, y):
    return lambda L, o: (y if L == 1 else x, None)


VEX_OPERANDS = {
    'Vx': _xy('xmm_reg', 'ymm_reg'), 'Hx': _xy('xmm_vvvv', 'ymm_vvvv'), 'Ux': _xy('xmm_rm', 'ymm_rm'),
    'Lx': _xy('xmm_is4', 'ymm_is4'),
    'Wx': lambda L, o: ('ymm_or_mem' if L == 1 else 'xmm_or_mem', 32 if L == 1 else 16),
    'Mx': lambda L, o: ('mem', 32 if L == 1 else 16),
    'Wh': lambda L, o: ('xmm_or_mem', 16 if L == 1 else 8),
    'Wqt': lambda L, o: ('xmm_or_mem', 8 if L == 1 else 4),
    'Wet': lambda L, o: ('xmm_or_mem', 4 if L == 1 else 2),
    'Vdq': lambda L, o: ('xmm_reg', None), 'Hdq': lambda L, o: ('xmm_vvvv', None),
    'Udq': lambda L, o: ('xmm_rm', None), 'Wdq': lambda L, o: ('xmm_or_mem', 16), 'Mdq': lambda L, o: ('mem', 16),
    'Vqq': lambda L, o: ('ymm_reg', None), 'Hqq': lambda L, o: ('ymm_vvvv', None),
    'Wqq': lambda L, o: ('ymm_or_mem', 32), 'Mqq': lambda L, o: ('mem', 32), 'Uqq': lambda L, o: ('ymm_rm', None),
    'Wss': lambda L, o: ('xmm_or_mem', 4), 'Wsd': lambda L, o: ('xmm_or_mem', 8),
    'Wd': lambda L, o: ('xmm_or_mem', 4), 'Wq': lambda L, o: ('xmm_or_mem', 8),
    'Ww': lambda L, o: ('xmm_or_mem', 2), 'Wb': lambda L, o: ('xmm_or_mem', 1),
    'Md': lambda L, o: ('mem', 4), 'Mq': lambda L, o: ('mem', 8), 'Mw': lambda L, o: ('mem', 2),
    'Mb': lambda L, o: ('mem', 1), 'M': lambda L, o: ('mem', 0),
    'Gy': lambda L, o: ('r%d_reg' % o, None), 'Ey': lambda L, o: ('r%d_or_mem' % o, o // 8),
    'By': lambda L, o: ('r%d_vvvv' % o, None), 'Ry': lambda L, o: ('r%d_rm' % o, None),
    'My': lambda L, o: ('mem', o // 8),
    'Gq': lambda L, o: ('r64_reg', None), 'Rq': lambda L, o: ('r64_rm', None),
    'Gd': lambda L, o: ('r32_reg', None), 'Ed': lambda L, o: ('r32_or_mem', 4), 'Rd': lambda L, o: ('r32_rm', None),
    'RyMb': lambda L, o: ('r%d_or_mem' % o, 1), 'RyMw': lambda L, o: ('r%d_or_mem' % o, 2),
    'RdMb': lambda L, o: ('r32_or_mem', 1), 'RdMw': lambda L, o: ('r32_or_mem', 2),
    'Ib': lambda L, o: ('imm8', None),
    # VSIB memory: d/q index elements, index register xmm (x) or by VEX.L (L).
    'VSdx': lambda L, o: ('mem_vsib32x', 4), 'VSdL': lambda L, o: ('mem_vsib32y' if L == 1 else 'mem_vsib32x', 4),
    'VSqL': lambda L, o: ('mem_vsib64y' if L == 1 else 'mem_vsib64x', 8),
    'KG': lambda L, o: ('k_reg', None), 'KH': lambda L, o: ('k_vvvv', None), 'KR': lambda L, o: ('k_rm', None),
    'KW': lambda L, o: ('k_or_mem', 8),
    'TG': lambda L, o: ('tmm_reg', None), 'TR': lambda L, o: ('tmm_rm', None), 'TH': lambda L, o: ('tmm_vvvv', None),
    'SIBM': lambda L, o: ('sibmem', 0),
}
VEX_L_CODES = {'Vx', 'Hx', 'Ux', 'Lx', 'Wx', 'Mx', 'Wh', 'Wqt', 'Wet', 'VSdL', 'VSqL'}
VEX_Y_CODES = {'Gy', 'Ey', 'By', 'Ry', 'My', 'RyMb', 'RyMw'}


# EVEX operand codes -> function(L, os) -> (kind, memory bytes or None); L is EVEX.L'L
# (0: 128, 1: 256, 2: 512 bits). h/qt/et: half/quarter/eighth-width operands of conversions.
def _xyz(x, y, z):
    return lambda L, o: ((x, y, z)[L], None)


def _xyzm(x, y, z, sizes):
    return lambda L, o: ((x, y, z)[L], sizes[L])


EVEX_OPERANDS = {
    'Vx': _xyz('xmm_reg', 'ymm_reg', 'zmm_reg'), 'Hx': _xyz('xmm_vvvv', 'ymm_vvvv', 'zmm_vvvv'),
    'Ux': _xyz('xmm_rm', 'ymm_rm', 'zmm_rm'),
    'Wx': _xyzm('xmm_or_mem', 'ymm_or_mem', 'zmm_or_mem', (16, 32, 64)),
    'Mx': _xyzm('mem', 'mem', 'mem', (16, 32, 64)),
    'Vh': _xyz('xmm_reg', 'xmm_reg', 'ymm_reg'), 'Uh': _xyz('xmm_rm', 'xmm_rm', 'ymm_rm'),
    'Wh': _xyzm('xmm_or_mem', 'xmm_or_mem', 'ymm_or_mem', (8, 16, 32)),
    'Vqt': _xyz('xmm_reg', 'xmm_reg', 'xmm_reg'),
    'Wqt': _xyzm('xmm_or_mem', 'xmm_or_mem', 'xmm_or_mem', (4, 8, 16)),
    'Wet': _xyzm('xmm_or_mem', 'xmm_or_mem', 'xmm_or_mem', (2, 4, 8)),
    'Vdq': lambda L, o: ('xmm_reg', None), 'Hdq': lambda L, o: ('xmm_vvvv', None),
    'Udq': lambda L, o: ('xmm_rm', None), 'Wdq': lambda L, o: ('xmm_or_mem', 16), 'Mdq': lambda L, o: ('mem', 16),
    'Vqq': lambda L, o: ('ymm_reg', None), 'Wqq': lambda L, o: ('ymm_or_mem', 32), 'Mqq': lambda L, o: ('mem', 32),
    'Vzz': lambda L, o: ('zmm_reg', None), 'Hzz': lambda L, o: ('zmm_vvvv', None), 'Wzz': lambda L, o: ('zmm_or_mem', 64),
    'Wss': lambda L, o: ('xmm_or_mem', 4), 'Wsd': lambda L, o: ('xmm_or_mem', 8), 'Wsh': lambda L, o: ('xmm_or_mem', 2),
    'Wd': lambda L, o: ('xmm_or_mem', 4), 'Wq': lambda L, o: ('xmm_or_mem', 8),
    'Ww': lambda L, o: ('xmm_or_mem', 2), 'Wb': lambda L, o: ('xmm_or_mem', 1),
    'Md': lambda L, o: ('mem', 4), 'Mq': lambda L, o: ('mem', 8), 'Mw': lambda L, o: ('mem', 2),
    'Gy': lambda L, o: ('r%d_reg' % o, None), 'Ey': lambda L, o: ('r%d_or_mem' % o, o // 8),
    'Ry': lambda L, o: ('r%d_rm' % o, None), 'Gd': lambda L, o: ('r32_reg', None), 'Rd': lambda L, o: ('r32_rm', None),
    'Ed': lambda L, o: ('r32_or_mem', 4),
    'RyMb': lambda L, o: ('r%d_or_mem' % o, 1), 'RyMw': lambda L, o: ('r%d_or_mem' % o, 2),
    'RdMb': lambda L, o: ('r32_or_mem', 1), 'RdMw': lambda L, o: ('r32_or_mem', 2),
    'Ib': lambda L, o: ('imm8', None),
    'KG': lambda L, o: ('k_reg', None), 'KH': lambda L, o: ('k_vvvv', None), 'KR': lambda L, o: ('k_rm', None),
    'KP1': lambda L, o: ('kp1_reg', None),
    'VSdL': lambda L, o: (('mem_vsib32x', 'mem_vsib32y', 'mem_vsib32z')[L], 4),
    'VSqL': lambda L, o: (('mem_vsib64x', 'mem_vsib64y', 'mem_vsib64z')[L], 8),
    'VSdh': lambda L, o: (('mem_vsib32x', 'mem_vsib32x', 'mem_vsib32y')[L], 4),
    'Hp3': lambda L, o: ('zmmp3_vvvv' if L == 2 else 'xmmp3_vvvv', None),
}
EVEX_L_CODES = {'Vx', 'Hx', 'Ux', 'Wx', 'Mx', 'Vh', 'Uh', 'Wh', 'Wqt', 'Wet', 'VSdL', 'VSqL', 'VSdh', 'Vqt'}
EVEX_Y_CODES = {'Gy', 'Ey', 'Ry', 'RyMb', 'RyMw'}


def evex_tuple(t, L, e, bcst):
    """disp8*N tuple (SDM Vol. 2A, 2.7.5, Tables 2-34 and 2-35) as isa.TUPLES spells it."""
    vl = 16 << L if L != 'ig' else 16
    n = {'FV': vl, 'FVM': vl, 'HV': vl // 2, 'QV': vl // 4, 'HVM': vl // 2, 'QVM': vl // 4, 'OVM': vl // 8, 'T1S': e, 'T1F': e,
         'T2': 2 * e, 'T4': 4 * e, 'T8': 8 * e, 'M128': 16, 'DUP': 8 if vl == 16 else vl, 'T1': 1}[t]
    if bcst and t in ('FV', 'HV', 'QV'):
        return 'N%dB%d' % (n, e)
    return 'N%d' % n


class Line:
    def __init__(self, ctx, lineno, pfx, opc, mn, ops, tags):
        self.ctx = dict(ctx)
        self.lineno, self.pfx, self.opc, self.mn, self.ops, self.tags = lineno, pfx, opc, mn, ops, tags


def parse_opc(s, lineno):
    """-> (op, reg, modrm, plus_i, plus_r)."""
    reg = modrm = None
    plus_i = plus_r = False
    if s.endswith('+r'):
        return int(s[:-2], 16), None, None, False, True
    if ':' in s:
        a, m = s.split(':')
        if m.endswith('+i'):
            plus_i = True
            m = m[:-2]
        return int(a, 16), None, int(m, 16), plus_i, False
    if '/' in s:
        a, d = s.split('/')
        return int(a, 16), int(d), None, False, False
    try:
        return int(s, 16), None, None, False, False
    except ValueError:
        raise SourceError('line %d: bad opcode %r' % (lineno, s))


class Expander:
    def __init__(self):
        self.flags = {}
        self.lockable = set()
        self.privileged = set()
        self.coverage = []
        self.exclude = set()
        self.forms = []  # (name, fields dict in output order)
        self.names = {}

    def read(self, path=SRC):
        ctx = {'space': None, 'map': '1', 'enc': 'legacy', 'cpuid': ''}
        lines = []
        with open(path) as f:
            for n, raw in enumerate(f, 1):
                line = raw.split('#', 1)[0].strip()
                if not line:
                    continue
                t = line.split()
                head = t[0]
                if head in ('space', 'map', 'enc', 'cpuid'):
                    ctx[head] = t[1] if len(t) > 1 else ''
                elif head == 'flags':
                    self.flags[t[1].lower()] = dict(kv.split('=', 1) for kv in t[2:])
                elif head == 'lockable':
                    self.lockable |= set(m.lower() for m in t[1:])
                elif head == 'privileged':
                    self.privileged |= set(m.lower() for m in t[1:])
                elif head == 'coverage':
                    self.coverage += t[1:]
                elif head == 'exclude-cpuid':
                    self.exclude |= set(t[1:])
                elif head == 'alu':
                    mn, op = t[1], int(t[2], 16)
                    rows = [('Eb,Gb', 0), ('Ev,Gv', 1), ('Gb,Eb', 2), ('Gv,Ev', 3), ('AL,Ib', 4), ('rAX,Iz', 5)]
                    for ops, k in rows:
                        lines.append(Line(ctx, n, None, '%02X' % (op + k), mn, ops, t[3:]))
                elif head == 'grp':
                    base, mns, ops = t[1], t[2].split(','), t[3]
                    for d, mn in enumerate(mns):
                        if mn != '-':
                            lines.append(Line(ctx, n, None, '%s/%d' % (base, d), mn, ops, t[4:]))
                elif head in ('mmx', 'ssse3'):
                    # An MMX row (NP: Pq,Qq) with its SSE2 twin (66: Vx,Wx); `mmx OP MN Qd`
                    # narrows the MMX source. ssse3: the same pair in 0F38 with CPUID SSSE3.
                    feat = ['MMX', 'SSE2'] if head == 'mmx' else ['SSSE3', 'SSSE3']
                    q = t[3] if len(t) > 3 else 'Qq'
                    lines.append(Line(ctx, n, 'NP', t[1], t[2], 'Pq,' + q, ['cpuid=' + feat[0]]))
                    lines.append(Line(ctx, n, '66', t[1], t[2], 'Vx,Wx', ['cpuid=' + feat[1]]))
                elif head == 'mmxshift':
                    # Groups 12-14: shift by immediate, register operand only.
                    lines.append(Line(ctx, n, 'NP', t[1], t[2], 'Nq,Ib', ['reg', 'cpuid=MMX']))
                    lines.append(Line(ctx, n, '66', t[1], t[2], 'Ux,Ib', ['reg', 'cpuid=SSE2']))
                elif head == 'cc':
                    op = int(t[1], 16)
                    for k, c in enumerate(CONDITIONS):
                        lines.append(Line(ctx, n, None, '%02X' % (op + k), t[2].replace('*', c.upper()), t[3],
                                          t[4:] + ['fr=' + CONDITION_FLAGS[k // 2]]))
                else:
                    pfx = None
                    if head in ('NP', '66', 'F3', 'F2') and len(t) > 3:
                        pfx, t = head, t[1:]
                    if len(t) < 3:
                        raise SourceError('line %d: want OPC MNEMONIC OPERANDS' % n)
                    lines.append(Line(ctx, n, pfx, t[0], t[1], t[2], t[3:]))
        for ln in lines:
            self.expand(ln)
        return self

    def expand_vex(self, ln, op, reg, modrm, plus_i, tags):
        """VEX forms: one per VEX.L (x-sized operands, unless L0/L1/LIG) and per GPR size
        (y-sized operands: W0 gives 32 bits, ignored outside 64-bit mode; W1 gives 64)."""
        codes = [] if ln.ops == '-' else ln.ops.split(',')
        for c in codes:
            if c not in VEX_OPERANDS:
                raise SourceError('line %d: unknown VEX operand code %r' % (ln.lineno, c))
        modes = {16, 32, 64}
        if 'o64' in tags:
            modes = {64}
        cset = set(codes)
        if 'LIG' in tags:
            Ls = ['ig']
        elif 'L0' in tags or 'LZ' in tags:
            Ls = [0]
        elif 'L1' in tags:
            Ls = [1]
        elif cset & VEX_L_CODES:
            Ls = [0, 1]
        else:
            Ls = [0]
        mns = ln.mn.lower().split('/')
        sizes = [32, 64] if cset & VEX_Y_CODES else [0]
        for L in Ls:
            for idx, osz in enumerate(sizes):
                W = 'ig'
                if 'W0' in tags:
                    W = '0'
                if 'W1' in tags:
                    W = '1'
                fmodes = set(modes)
                if osz == 32:
                    W = 'ig32.0'
                elif osz == 64:
                    W = '1'
                    fmodes &= {64}
                if 'W0' in tags and osz == 32 and 'W0strict' in tags:
                    W = '0'
                if not fmodes:
                    continue
                mn = mns[min(idx, len(mns) - 1)]
                kinds, msz = [], 0
                for c in codes:
                    kind, m = VEX_OPERANDS[c](L if L != 'ig' else 0, osz or 32)
                    kinds.append(kind)
                    if m and msz == 0:
                        msz = m
                if 'msz' in tags:
                    msz = int(tags['msz'])
                t2 = dict(tags)
                t2['W'] = W
                t2['L'] = str(L)
                if len(Ls) > 1 and 'name' not in tags:
                    t2['_suffix'] = '_%d' % (128 << L if L != 'ig' else 0)
                if len(sizes) > 1 and 'name' not in tags:
                    t2['_suffix'] = t2.get('_suffix', '') + '_W%d' % (osz // 64)
                self.emit(ln, mn, codes, kinds, 0, fmodes, msz, op, reg, modrm, plus_i, t2)

    def expand_evex(self, ln, op, reg, modrm, plus_i, tags):
        """EVEX forms: one per vector length (x-sized operands, unless L0/L1/L2/LIG) and per
        GPR size. Tags: T=tuple e=element bytes (default from W: 4 for W0, 8 for W1), k z b
        (broadcast) er sae kreq; kz and kzb are shorthands."""
        codes = [] if ln.ops == '-' else ln.ops.split(',')
        for c in codes:
            if c not in EVEX_OPERANDS:
                raise SourceError('line %d: unknown EVEX operand code %r' % (ln.lineno, c))
        cset = set(codes)
        if 'LIG' in tags:
            Ls = ['ig']
        elif 'L0' in tags:
            Ls = [0]
        elif 'L1' in tags:
            Ls = [1]
        elif 'L2' in tags:
            Ls = [2]
        elif 'L12' in tags:
            Ls = [1, 2]
        elif cset & EVEX_L_CODES:
            Ls = [0, 1, 2]
        else:
            Ls = [0]
        if 'kz' in tags:
            tags.update(k='', z='')
        if 'kzb' in tags:
            tags.update(k='', z='', b='')
        if 'kreq' in tags:
            tags['k'] = ''  # a required mask is an allowed one
        mns = ln.mn.lower().split('/')
        sizes = [32, 64] if cset & EVEX_Y_CODES else [0]
        for L in Ls:
            for idx, osz in enumerate(sizes):
                W = 'ig'
                if 'W0' in tags:
                    W = '0'
                if 'W1' in tags:
                    W = '1'
                fmodes = {16, 32, 64} if 'o64' not in tags else {64}
                if osz == 32:
                    W = 'ig32.0'
                elif osz == 64:
                    W = '1'
                    fmodes = {64}
                mn = mns[min(idx, len(mns) - 1)]
                kinds, msz = [], 0
                for c in codes:
                    kind, m = EVEX_OPERANDS[c](L if L != 'ig' else 0, osz or 32)
                    kinds.append(kind)
                    if m and msz == 0:
                        msz = m
                e = int(tags['e']) if 'e' in tags else (8 if W == '1' or osz == 64 else 4)
                t2 = dict(tags)
                t2['W'], t2['L'] = W, str(L)
                attrs = []
                for a, tag in (('k', 'k'), ('z', 'z'), ('bcst', 'b'), ('er', 'er'), ('sae', 'sae'), ('kreq', 'kreq')):
                    if tag in tags:
                        attrs.append(a)
                # Rounding/SAE apply to the 512-bit (or scalar) register form only.
                if L not in (2, 'ig'):
                    attrs = [a for a in attrs if a not in ('er', 'sae')]
                t2['_evexattrs'] = attrs
                if 'T' in tags and any(k in ('mem', 'xmm_or_mem', 'ymm_or_mem', 'zmm_or_mem') or k.startswith('mem') or
                                       k.endswith('_or_mem') for k in kinds):
                    t2['tuple'] = evex_tuple(tags['T'], L, e, 'b' in tags)
                if 'b' in tags:
                    t2['bsz'] = str(e)
                if 'msz' in tags:
                    msz = int(tags['msz'])
                if len(Ls) > 1 and 'name' not in tags:
                    t2['_suffix'] = '_%d' % (128 << L)
                if len(sizes) > 1 and 'name' not in tags:
                    t2['_suffix'] = t2.get('_suffix', '') + '_W%d' % (osz // 64)
                t2['_suffix'] = t2.get('_suffix', '') + '_E'
                self.emit(ln, mn, codes, kinds, 0, fmodes, msz, op, reg, modrm, plus_i, t2)

    def expand(self, ln):
        op, reg, modrm, plus_i, plus_r = parse_opc(ln.opc, ln.lineno)
        if ln.ctx['enc'] == 'evex':
            tags = {}
            for tg in ln.tags:
                k, _, v = tg.partition('=')
                tags[k] = v
            return self.expand_evex(ln, op, reg, modrm, plus_i, tags)
        if ln.ctx['enc'] == 'vex':
            tags = {}
            for tg in ln.tags:
                k, _, v = tg.partition('=')
                tags[k] = v
            return self.expand_vex(ln, op, reg, modrm, plus_i, tags)
        codes = [] if ln.ops == '-' else ln.ops.split(',')
        for c in codes:
            if c not in OPERANDS:
                raise SourceError('line %d: unknown operand code %r' % (ln.lineno, c))
        if plus_r:
            # The register in the opcode byte is the first operand code Zb/Zv or ST(i).
            pass
        tags = {}
        for tg in ln.tags:
            k, _, v = tg.partition('=')
            tags[k] = v
        modes = {16, 32, 64}
        if 'i64' in tags:
            modes = {16, 32}
        if 'o64' in tags:
            modes = {64}
        d64, f64 = 'd64' in tags, 'f64' in tags
        mns = ln.mn.lower().split('/')
        cset = set(codes)
        if cset & SIZE_V:
            sizes = [16, 32, 64]
        elif cset & SIZE_Z:
            sizes = [16, 32]
        elif cset & SIZE_Y:
            sizes = [32, 64]  # a D/Q mnemonic pair names these two
        elif len(mns) == 3:
            sizes = [16, 32, 64]
        elif len(mns) == 2:
            sizes = [16, 32]
        else:
            sizes = [0]
        for k in ('os16', 'os32', 'os64'):
            if k in tags:
                sizes = [s for s in sizes if s == int(k[2:])] if sizes != [0] else [int(k[2:])]
                tags['keepos'] = ''
        if 'nos' in tags:  # operand size codes, but no operand-size split (e.g. MOV CRn)
            sizes = [0]
        for idx, osz in enumerate(sizes):
            fmodes = set(modes)
            if osz == 64:
                fmodes &= {64}
            if osz == 32 and (d64 or f64) and len(sizes) == 3:
                fmodes -= {64}
            if osz == 16 and f64 and len(sizes) == 3:
                fmodes -= {64}
            if not fmodes:
                continue
            mn = mns[min(idx, len(mns) - 1)] if len(mns) > 1 else mns[0]
            kinds, msz = [], 0
            ko = osz or 32
            for c in codes:
                kind, m = OPERANDS[c](ko)
                kinds.append(kind)
                if m and msz == 0:
                    msz = m  # the first memory-capable operand gives the memory size
            if 'msz' in tags:
                msz = int(tags['msz'])
            rec_os = osz if len(sizes) > 1 or 'keepos' in tags else 0
            if rec_os == 32 and 16 not in sizes:
                rec_os = 0  # "y"-sized: 32 bits unless REX.W selects the 64-bit variant
            self.emit(ln, mn, codes, kinds, rec_os,
                      fmodes, msz, op, reg, modrm, plus_i, tags)

    def emit(self, ln, mn, codes, kinds, osz, modes, msz, op, reg, modrm, plus_i, tags):
        ctx = ln.ctx
        attrs = []
        for a in ('d64', 'f64', 'anymod', 'rep', 'repne', 'bnd', 'notrack', 'no66', 'nfx', 'cpl0',
                  'xacquire', 'xrelease', 'uniqreg', 'uniqdest'):
            if a in tags:
                attrs.append(a)
        if mn in self.lockable and codes and codes[0][0] in ('E', 'M') and 'nolock' not in tags:
            attrs += ['lock', 'xacquire', 'xrelease']
        if 'lock' in tags:
            attrs.append('lock')
        if mn in self.privileged:
            attrs.append('cpl0')
        attrs += tags.get('_evexattrs', [])
        if 'hle' in tags:
            attrs += ['xacquire', 'xrelease']
        attrs = sorted(set(attrs), key=lambda a: ['d64', 'f64', 'anymod', 'lock', 'xacquire', 'xrelease', 'rep', 'repne',
                                                 'bnd', 'notrack', 'no66', 'nfx', 'cpl0', 'uniqreg', 'uniqdest', 'bcst', 'er',
                                                 'sae', 'k', 'kreq', 'z'].index(a))
        name = tags.get('name') or '_'.join([mn.upper()] + [c.replace('(', '').replace(')', '') for c in codes])
        if osz and 'name' not in tags:
            name += '_o%d' % osz
        name += tags.get('_suffix', '')
        mapn = '-' if ctx['map'] == '1' else ctx['map']
        if name in self.names:
            alt = '%s_%s%02X' % (name, '' if mapn == '-' else mapn, op)
            if ln.pfx:
                alt += '_' + ln.pfx
            if reg is not None:
                alt += '_%d' % reg
            k = 2
            base = alt
            while alt in self.names:
                alt = '%s_%d' % (base, k)
                k += 1
            name = alt
        self.names[name] = True
        fl = dict(self.flags.get(mn, {}))
        for k in ('fr', 'fw', 'fu', 'fc', 'fs'):
            if k in tags:
                fl[k] = tags[k]
        out = [('mn', mn), ('enc', ctx['enc']), ('map', mapn), ('op', '%02X' % op)]
        if modrm is not None:
            out.append(('modrm', '%02X%s' % (modrm, '+i' if plus_i else '')))
        if reg is not None:
            out.append(('reg', str(reg)))
        if 'rm' in tags:
            out.append(('rm', tags['rm']))
        if 'mem' in tags:
            out.append(('mod', 'mem'))
        if 'reg' in tags:
            out.append(('mod', 'reg'))
        out.append(('mp', ln.pfx or '-'))
        for k in ('W', 'L'):
            if k in tags:
                out.append((k, tags[k]))
        if osz:
            out.append(('os', str(osz)))
        for k in ('as16', 'as32', 'as64'):
            if k in tags:
                out.append(('as', k[2:]))
        out.append(('ops', ','.join(kinds) if kinds else '-'))
        out.append(('modes', ','.join(str(m) for m in sorted(modes))))
        if attrs:
            out.append(('attr', ','.join(attrs)))
        if 'tuple' in tags:
            out.append(('tuple', tags['tuple']))
        if msz:
            out.append(('msz', str(msz)))
        if 'bsz' in tags:
            out.append(('bsz', tags['bsz']))
        cpuid = tags.get('cpuid', ctx['cpuid'])
        if cpuid:
            out.append(('cpuid', cpuid))
        for k in ('fr', 'fw', 'fu', 'fc', 'fs'):
            if fl.get(k):
                out.append((k, fl[k]))
        self.forms.append((name, out))

    def lines(self):
        return ['%s %s' % (n, ' '.join('%s=%s' % kv for kv in f)) for n, f in self.forms]


def expand(path=SRC):
    return Expander().read(path)


def main():
    e = expand()
    if '--stats' in sys.argv:
        from collections import Counter
        import isa
        c = Counter(isa.space_of(dict(f)['enc'], dict(f).get('cpuid', '').split(','), dict(f)['mn']) for _, f in e.forms)
        for k, v in sorted(c.items()):
            print('%-16s %5d' % (k, v))
        print('coverage: %s' % ' '.join(e.coverage))
        return
    for line in e.lines():
        print(line)


if __name__ == '__main__':
    main()
