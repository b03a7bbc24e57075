"""The x86 instruction forms: scripts/isa/opcode-maps.txt (hand-written, SDM notation) as
expanded by expand.py into per-form lines (format: scripts/isa/forms-format.txt), parsed here.

Shared by the table generator (gen_tables.py) and the differential test tools under
scripts/decoder/, so that both read the same forms, coverage and model exclusions.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import expand  # noqa: E402

SRC_PATH = expand.SRC

# Encoding spaces (see opcode-maps.txt). A legacy-encoded form belongs to legacy-simd when one
# of its CPUID features is one of these; x87 instructions stay legacy-nonsimd even where a
# SIMD extension introduced them (FISTTP came with SSE3). Names are the SDM's feature flags
# as spelled in our data file and in iced-x86's CpuidFeature (the differential test applies
# the same rule to iced's answers).
SIMD_FEATURES = {
    'MMX', 'SSE', 'SSE2', 'SSE3', 'SSSE3', 'SSE4_1', 'SSE4_2', 'AES', 'PCLMULQDQ', 'SHA',
    'ADX', 'LZCNT', 'POPCNT', 'MOVBE', 'BMI1', 'BMI2', 'XSAVE', 'XSAVEOPT', 'XSAVEC', 'XSAVES',
    'FXSR', 'VMX', 'SVM', 'SKINIT_OR_SVM', 'GFNI', 'AESKLE', 'AESKLEWIDE_KL', 'KL', 'MMX_PLUS', 'SSE4A',
}
SPACES = ['legacy-nonsimd', 'legacy-simd', 'vex', 'evex', 'd3now']


def space_of(enc, cpuid, mnemonic):
    """The encoding space of a form (or of iced-x86's answer) from its encoding and CPUID features."""
    if enc in ('vex', 'evex', 'd3now', 'xop'):
        return enc
    if mnemonic.startswith('f') and not mnemonic.startswith(('fxsave', 'fxrstor', 'femms')):
        return 'legacy-nonsimd'  # x87
    if 'D3NOW' in cpuid:
        return 'd3now'  # FEMMS
    return 'legacy-simd' if set(cpuid) & SIMD_FEATURES else 'legacy-nonsimd'

# Operand kinds in the order of OperandKind's raw values (0 = none). Appending is safe;
# reordering changes every generated id.
OPERAND_KINDS = [
    'none', 'farbr2_2', 'farbr4_2', 'mem_offs', 'mem', 'mem_mpx', 'mem_mib',
    'mem_vsib32x', 'mem_vsib64x', 'mem_vsib32y', 'mem_vsib64y', 'mem_vsib32z', 'mem_vsib64z',
    'r8_or_mem', 'r16_or_mem', 'r32_or_mem', 'r32_or_mem_mpx', 'r64_or_mem', 'r64_or_mem_mpx',
    'mm_or_mem', 'xmm_or_mem', 'ymm_or_mem', 'zmm_or_mem', 'bnd_or_mem_mpx', 'k_or_mem',
    'r8_reg', 'r8_opcode', 'r16_reg', 'r16_reg_mem', 'r16_rm', 'r16_opcode',
    'r32_reg', 'r32_reg_mem', 'r32_rm', 'r32_opcode', 'r32_vvvv',
    'r64_reg', 'r64_reg_mem', 'r64_rm', 'r64_opcode', 'r64_vvvv',
    'seg_reg', 'k_reg', 'kp1_reg', 'k_rm', 'k_vvvv', 'mm_reg', 'mm_rm',
    'xmm_reg', 'xmm_rm', 'xmm_vvvv', 'xmmp3_vvvv', 'xmm_is4', 'xmm_is5',
    'ymm_reg', 'ymm_rm', 'ymm_vvvv', 'ymm_is4', 'ymm_is5',
    'zmm_reg', 'zmm_rm', 'zmm_vvvv', 'zmmp3_vvvv', 'cr_reg', 'dr_reg', 'tr_reg', 'bnd_reg',
    'es', 'cs', 'ss', 'ds', 'fs', 'gs', 'al', 'cl', 'ax', 'dx', 'eax', 'rax', 'st0', 'sti_opcode',
    'imm4_m2z', 'imm8', 'imm8_const_1', 'imm8sex16', 'imm8sex32', 'imm8sex64', 'imm16', 'imm32',
    'imm32sex64', 'imm64', 'seg_rsi', 'es_rdi', 'seg_rdi', 'seg_rbx_al',
    'br16_1', 'br32_1', 'br64_1', 'br16_2', 'br32_4', 'br64_4', 'xbegin_2', 'xbegin_4',
    'brdisp_2', 'brdisp_4', 'sibmem', 'tmm_reg', 'tmm_rm', 'tmm_vvvv',
]

# Operands that live in ModRM (reg or r/m field): a form with one has a ModRM byte.
MODRM_OPERANDS = {k for k in OPERAND_KINDS if k.endswith(('_or_mem', '_or_mem_mpx', '_reg', '_rm', '_reg_mem'))
                  or k.startswith('mem') and k != 'mem_offs' or k == 'sibmem'}
MEM_ONLY = {k for k in OPERAND_KINDS if (k.startswith('mem') and k != 'mem_offs') or k == 'sibmem'} | {'r16_reg_mem', 'r32_reg_mem', 'r64_reg_mem'}
REG_ONLY_RM = {k for k in OPERAND_KINDS if k.endswith('_rm')}
VVVV_OPERANDS = {k for k in OPERAND_KINDS if k.endswith('_vvvv')}

FLAG_NAMES = ['of', 'sf', 'zf', 'af', 'cf', 'pf', 'df', 'if', 'ac', 'uif', 'c0', 'c1', 'c2', 'c3']
TUPLES = ['N1', 'N2', 'N4', 'N8', 'N16', 'N32', 'N64', 'N8B4', 'N16B4', 'N32B4', 'N64B4', 'N16B8',
          'N32B8', 'N64B8', 'N4B2', 'N8B2', 'N16B2', 'N32B2', 'N64B2']
ATTRS = ['d64', 'f64', 'anymod', 'lock', 'xacquire', 'xrelease', 'rep', 'repne', 'bnd', 'notrack',
         'no66', 'nfx', 'cpl0', 'uniqreg', 'uniqdest', 'bcst', 'er', 'sae', 'k', 'kreq', 'z']


class ISAError(Exception):
    pass


class Form:
    def __init__(self, line, lineno):
        parts = line.split()
        self.name = parts[0]
        self.lineno = lineno
        kv = {}
        for p in parts[1:]:
            if '=' not in p:
                raise ISAError('line %d: field %r is not key=value' % (lineno, p))
            k, v = p.split('=', 1)
            kv[k] = v
        self.kv = kv
        self.mn = kv['mn']
        self.enc = kv['enc']
        self.map = kv['map']
        self.op = int(kv['op'], 16)
        self.modrm_byte = None     # fixed ModRM (mod=11) or None
        self.modrm_plus_i = False
        if 'modrm' in kv:
            m = kv['modrm']
            if m.endswith('+i'):
                self.modrm_plus_i = True
                m = m[:-2]
            self.modrm_byte = int(m, 16)
        self.reg = int(kv['reg']) if 'reg' in kv else None
        self.rm = int(kv['rm']) if 'rm' in kv else None
        if self.modrm_byte is not None:
            self.reg = (self.modrm_byte >> 3) & 7
            if not self.modrm_plus_i:
                self.rm = self.modrm_byte & 7
        self.mp = kv.get('mp', '-')
        self.W = kv.get('W', None)
        self.L = kv.get('L', None)
        self.os = int(kv['os']) if 'os' in kv else 0
        self.asz = int(kv['as']) if 'as' in kv else 0
        ops = kv.get('ops', '-')
        self.ops = [] if ops == '-' else ops.split(',')
        for o in self.ops:
            if o not in OPERAND_KINDS:
                raise ISAError('line %d: unknown operand kind %r' % (lineno, o))
        self.modes = set(int(m) for m in kv['modes'].split(',')) if kv.get('modes') else set()
        self.attrs = set(kv['attr'].split(',')) if 'attr' in kv else set()
        for a in self.attrs:
            if a not in ATTRS:
                raise ISAError('line %d: unknown attribute %r' % (lineno, a))
        self.tuple = kv.get('tuple')
        self.msz = int(kv.get('msz', '0'))
        self.bsz = int(kv.get('bsz', '0'))
        self.cpuid = [c for c in kv.get('cpuid', '').split(',') if c]
        self.flags = {k: [f for f in kv.get(k, '').split(',') if f] for k in ('fr', 'fw', 'fu', 'fc', 'fs')}
        # Derived encoding facts.
        self.opcode_reg = any(o.endswith('_opcode') and o != 'sti_opcode' for o in self.ops)
        self.has_modrm = (self.enc in ('d3now',) or self.modrm_byte is not None or self.reg is not None
                          or any(o in MODRM_OPERANDS for o in self.ops))
        if self.modrm_byte is not None or any(o in REG_ONLY_RM for o in self.ops) or 'sti_opcode' in self.ops:
            self.mod = 'reg'
        elif any(o in MEM_ONLY for o in self.ops):
            self.mod = 'mem'
        else:
            self.mod = 'any'
        if kv.get('mod') in ('reg', 'mem'):
            self.mod = kv['mod']
        if 'anymod' in self.attrs:
            self.mod = 'any'
        self.uses_vvvv = any(o in VVVV_OPERANDS for o in self.ops)


def load(path=SRC_PATH):
    """Returns (forms, excluded_cpuid_set). Forms keep source order; form id = index + 1."""
    e = expand.expand(path)
    forms = [Form(line, n) for n, line in enumerate(e.lines(), 1)]
    for f in forms:
        f.space = space_of(f.enc, f.cpuid, f.mn)
    return forms, e.exclude


def coverage(path=SRC_PATH):
    """The encoding spaces the data file claims complete."""
    return expand.expand(path).coverage


def decoded_forms(path=SRC_PATH, with_excluded=False):
    """The forms the swiftpc CPU model decodes (file order), and the exclusion set. With
    with_excluded, also returns the excluded forms: they still claim their encodings (an
    excluded form's bytes are #UD, not whatever another form would make of them)."""
    forms, excluded = load(path)
    ok = [f for f in forms if f.modes and not (set(f.cpuid) & excluded) and f.enc != 'xop']
    if with_excluded:
        ex = [f for f in forms if f.modes and set(f.cpuid) & excluded and f.enc != 'xop']
        return ok, excluded, ex
    return ok, excluded
