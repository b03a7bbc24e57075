import MachineCore
import X86Decoder

/// A small seedable generator (SplitMix64): the same seed gives the same streams on every
/// machine, so a mismatch can be reproduced from its seed and stream index.
public struct DifferentialRandom {
    var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n (n > 0).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    public mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    /// 64 bits for an XMM lane pair: two floats or one double, with zeros, infinities, NaNs,
    /// denormals and ordinary values more often than uniform bits would give them.
    public mutating func interestingFloatBits() -> UInt64 {
        func single() -> UInt64 {
            switch below(8) {
            case 0: return [0, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7F80_0001, 0x0000_0001, 0x3F80_0000][below(8)]
            case 1: return next() & 0x807F_FFFF       // a denormal
            case 2, 3: return 0x3F00_0000 | (next() & 0x80FF_FFFF)   // around 1.0
            default: return next() & 0xFFFF_FFFF
            }
        }
        switch below(6) {
        case 0: return [0, 0x8000_0000_0000_0000, 0x7FF0_0000_0000_0000, 0xFFF8_0000_0000_0000, 0x7FF0_0000_0000_0001,
                        0x0000_0000_0000_0001, 0x3FF0_0000_0000_0000, 0xC000_0000_0000_0000][below(8)]
        case 1: return 0x3FE0_0000_0000_0000 | (next() & 0x801F_FFFF_FFFF_FFFF)
        case 2: return single() << 32 | single()
        case 3: return next() & 0x800F_FFFF_FFFF_FFFF
        default: return next()
        }
    }

    /// A register value with the interesting edges more often than uniform bits would give.
    public mutating func interestingValue() -> UInt64 {
        switch below(8) {
        case 0: return UInt64(below(256))
        case 1: return ~UInt64(below(256)) &+ 1
        case 2: return [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ~0][below(14)]
        case 3: return next() & 0xFFFF_FFFF
        default: return next()
        }
    }
}

/// One generated instruction: its bytes and the form the decoder gives them.
public struct DifferentialInstruction: Equatable, Sendable {
    public var bytes: [UInt8]
    public var form: UInt16
}

/// Builds random streams of user-mode integer instructions from the ISA table: every
/// legacy-encoded one-byte and 0F form valid in 64-bit mode that a user program can run
/// without faulting, leaving the CPU, or reading state the two engines do not share.
/// Register operands never name RSP or the data base register; memory operands are
/// always `[r14 + disp]` inside the data page.
public final class DifferentialGenerator {
    /// Where an encoding's bytes come from: prefixes, map, opcode and a ModRM skeleton.
    struct Template: Hashable {
        /// Legacy prefixes before REX: operand size (66) and the mandatory F3/F2.
        var legacy: [UInt8]
        var rexW: Bool
        /// 0 one-byte map, 1 0F map, 2 0F 38, 3 0F 3A.
        var map: UInt8
        var opcode: UInt8
        var hasModRM: Bool
        /// ModRM.reg when it selects the form (group opcodes), else nil (a register operand).
        var fixedReg: UInt8?
        var memory: Bool
    }

    /// Forms the generator may emit, with the templates that encode them.
    let templates: [UInt16: [Template]]
    public let formIDs: [UInt16]
    /// The forms grouped by mnemonic: streams pick a mnemonic first, so that one with many
    /// forms (the hint NOPs of 0F 18-1F) is not drawn more often than ADD.
    let formsByMnemonic: [[UInt16]]
    let decoder: X86Decoder
    let forms = ISATables.shared.forms
    /// 64: 64-bit mode (REX, r14 as the data base); 32: compatibility mode (no REX, EDI as
    /// the data base).
    public let bitness: Int
    /// Whether SSE forms (XMM operands, SSE to SSE4.2) are generated as well.
    public let includesSSE: Bool
    /// Whether x87 forms (D8-DF: register-stack and memory operands) are generated as well.
    public let includesX87: Bool
    /// The register every memory operand is based on.
    public let dataBaseRegister: Int

    /// CPUID feature sets of the forms allowed: the base ISA and what the interpreter's CPU
    /// model and every x86-64 host have. LZCNT/TZCNT, MOVBE and BMI are left out because the
    /// model does not advertise them (the host would run F3 0F BD as LZCNT, the model as BSR).
    static let allowedFeatures: Set<String> = ["CMOV", "CX8", "INTEL8086", "INTEL186", "INTEL286", "INTEL386",
                                               "INTEL486", "MULTIBYTENOP", "POPCNT", "X64"]
    /// The SSE families the CPU model advertises and every x86-64 host this runs on has.
    static let sseFeatures: Set<String> = ["SSE", "SSE2", "SSE3", "SSSE3", "SSE4_1", "SSE4_2"]
    /// The x87 feature sets (8087 to 387, and SSE3's FISTTP).
    static let x87Features: Set<String> = ["FPU", "FPU287", "FPU387", "SSE3_FPU"]
    /// x87 forms left out: the environment and state images hold the FPU instruction and
    /// data pointers (FIP/FDP/FOP), which are implementation details (AMD and Intel differ,
    /// and the interpreter does not track FOP); FLDCW could unmask exceptions (#MF would end
    /// the stream on either engine, but on kvm_pvm through a host trap); FSTSW/FNSTSW store
    /// the condition codes C0/C2/C3, which most arithmetic leaves undefined; the 8087/287
    /// no-ops and the undocumented FFREEP.
    static let excludedX87Mnemonics: Set<String> = ["FLDENV", "FNSTENV", "FSTENV", "FNSAVE", "FSAVE", "FRSTOR",
                                                    "FLDCW", "FNSTSW", "FSTSW", "FENI", "FNENI", "FDISI", "FNDISI",
                                                    "FSETPM", "FNSETPM", "FFREEP", "FXSAVE", "FXRSTOR", "FXSAVE64",
                                                    "FXRSTOR64", "FWAIT", "WAIT",
                                                    // Undocumented alias of FSTP (D9 D8+i): the host takes an
                                                    // empty ST0 without a stack fault.
                                                    "FSTPNCE",
                                                    // Transcendentals: the SDM promises them within 1 ulp, not a
                                                    // bit pattern, and vendors differ in the last bit (this
                                                    // runner saw the AMD host and the interpreter do); FSIN and
                                                    // friends also reduce with a 66-bit pi on Intel. The x87
                                                    // assembly group checks them on chosen arguments.
                                                    "FSIN", "FCOS", "FSINCOS", "FPTAN", "FPATAN", "F2XM1", "FYL2X", "FYL2XP1",
                                                    // FBLD of invalid BCD digits (random data) is undefined.
                                                    "FBLD"]

    /// SSE forms left out: the reciprocal approximations differ between CPU vendors by
    /// design (SDM Vol. 2B RCPPS: "relative error ≤ 1.5 * 2^-12"); MASKMOVDQU writes
    /// through [RDI]; the MXCSR and state loads take whole memory images.
    static let excludedSSEMnemonics: Set<String> = ["RCPPS", "RCPSS", "RSQRTPS", "RSQRTSS", "MASKMOVDQU", "LDMXCSR",
                                                    "STMXCSR", "FXSAVE", "FXRSTOR", "FXSAVE64", "FXRSTOR64", "MONITOR",
                                                    "MWAIT", "LDDQU"]

    /// Mnemonics left out although their operands qualify: control flow, I/O, system and
    /// identification instructions, anything whose result depends on machine state that the
    /// host and the interpreter do not share (descriptor tables under kvm_pvm, TSC, random
    /// numbers), flag loads that could set TF/IF, and stack-frame instructions that move RSP
    /// wholesale.
    static let excludedMnemonics: Set<String> = [
        "JMP", "CALL", "RET", "RETF", "IRET", "IRETD", "IRETQ", "INT", "INT1", "INT3", "INTO", "SYSCALL", "SYSRET",
        "SYSENTER", "SYSEXIT", "LOOP", "LOOPE", "LOOPNE", "JRCXZ", "JECXZ", "JCXZ", "JO", "JNO", "JB", "JNB", "JZ",
        "JNZ", "JBE", "JNBE", "JS", "JNS", "JP", "JNP", "JL", "JNL", "JLE", "JNLE",
        "IN", "OUT", "INSB", "INSW", "INSD", "OUTSB", "OUTSW", "OUTSD", "HLT", "CLI", "STI", "POPF", "POPFQ", "POPFD",
        "CPUID", "RDTSC", "RDTSCP", "RDPMC", "RDRAND", "RDSEED", "RDPID", "UD0", "UD1", "UD2",
        "LAR", "LSL", "VERR", "VERW", "SGDT", "SIDT", "SLDT", "STR", "SMSW", "LGDT", "LIDT", "LLDT", "LTR", "LMSW",
        "LFS", "LGS", "LSS", "ENTER", "LEAVE", "CMPXCHG16B", "PAUSE", "RSM",
        // DIV/IDIV fault on a zero divisor or an overflowing quotient; not generated yet.
        "DIV", "IDIV",
    ]

    /// Left out in compatibility mode: this host's software KVM (kvm_pvm) raises an exception
    /// for them in a 32-bit code segment at CPL 3 (the stream ends in a triple fault under
    /// KVM only), where hardware runs them.
    static let compatibilityModeHostQuirks: Set<String> = ["POPCNT", "WAIT"]

    /// Forms generated with a memory operand only, because their register form differs
    /// between CPU vendors by design (see `hostQuirkForms`).
    public let memoryOnlyForms: Set<UInt16>

    /// Register forms whose result depends on the host CPU's vendor, to leave out when the
    /// host is not the vendor the interpreter's model follows (GenuineIntel): CMPXCHG r32
    /// with unequal operands writes the destination back (zero-extending it) on Intel and
    /// leaves it alone on AMD.
    public static let amdRegisterQuirkForms: Set<UInt16> = [FormID.CMPXCHG_Ev_Gv_o32]

    public init(memoryOnlyForms: Set<UInt16> = [], bitness: Int = 64, includeSSE: Bool = false, includeX87: Bool = false) {
        precondition(bitness == 64 || bitness == 32, "the differential guest runs 64-bit or compatibility-mode code")
        self.memoryOnlyForms = memoryOnlyForms
        self.bitness = bitness
        // kvm_pvm raises #UD for SSE instructions in a 32-bit code segment (as for LDMXCSR in
        // the assembly suite), so compatibility mode stays integer-only.
        includesSSE = includeSSE && bitness == 64
        includesX87 = includeX87 && bitness == 64
        decoder = X86Decoder(bitness: bitness)!
        dataBaseRegister = DifferentialGuest.dataBaseRegister(bitness: bitness)
        var byForm: [UInt16: Set<Template>] = [:]
        let dec = decoder
        for map: UInt8 in 0...(includesSSE ? 3 : 1) {
            for opcode in 0...255 {
                for (legacy, rexW) in DifferentialGenerator.prefixSets where bitness == 64 || !rexW {
                    for memory in [false, true] {
                        // x87 register forms with a whole fixed ModRM byte (D9 F0 F2XM1, DA E9 FUCOMPP, ...)
                        // are found only by trying every r/m as well.
                        let x87RegisterForms = map == 0 && (0xD8...0xDF).contains(opcode) && !memory
                        for (reg, rm) in (0...7).flatMap({ r in (x87RegisterForms ? Array(0...7) : [-1]).map { (UInt8(r), $0) } }) {
                            var t = Template(legacy: legacy, rexW: rexW, map: map, opcode: UInt8(opcode), hasModRM: true,
                                             fixedReg: reg, memory: memory)
                            var bytes = DifferentialGenerator.skeleton(t, reg: reg, rexRB: 0, mod: memory ? 0 : 3, bitness: bitness,
                                                                       base: DifferentialGuest.dataBaseRegister(bitness: bitness))
                            if rm >= 0 { bytes[bytes.count - 1] = (bytes[bytes.count - 1] & ~7) | UInt8(rm) }
                            bytes += [UInt8](repeating: 0, count: 12)
                            let d = dec.decode(bytes)
                            guard d.isValid, DifferentialGenerator.allowed(d, bitness: bitness, sse: includesSSE, x87: includesX87) else { continue }
                            let info = ISATables.shared.forms[Int(d.form)]
                            t.hasModRM = info.has(FormAttributes.hasModRM)
                            if !t.hasModRM {
                                t.fixedReg = nil
                                t.memory = false
                            } else if !DifferentialGenerator.regIsOperand(info) {
                                t.fixedReg = reg
                            } else {
                                t.fixedReg = nil
                            }
                            if t.hasModRM && d.hasMemory != memory { continue }
                            if !d.hasMemory && memoryOnlyForms.contains(d.form) { continue }
                            byForm[d.form, default: []].insert(t)
                        }
                    }
                }
            }
        }
        var result: [UInt16: [Template]] = [:]
        for (form, set) in byForm {
            result[form] = set.sorted { ($0.map, $0.opcode, $0.legacy.lexicographicallyPrecedes($1.legacy) ? 0 : 1, $0.rexW ? 1 : 0, $0.fixedReg ?? 9, $0.memory ? 1 : 0)
                < ($1.map, $1.opcode, $1.legacy.lexicographicallyPrecedes($0.legacy) ? 0 : 1, $1.rexW ? 1 : 0, $1.fixedReg ?? 9, $1.memory ? 1 : 0) }
        }
        templates = result
        formIDs = result.keys.sorted()
        var groups: [UInt16: [UInt16]] = [:]
        for f in formIDs { groups[ISATables.shared.forms[Int(f)].mnemonic, default: []].append(f) }
        formsByMnemonic = groups.keys.sorted().map { groups[$0]! }
    }

    /// Prefix combinations the catalogue tries: operand size 16/32/64, and F3/F2 for the
    /// forms that need them as mandatory prefixes (POPCNT).
    static let prefixSets: [([UInt8], Bool)] = [([], false), ([0x66], false), ([], true), ([0xF3], false),
                                                ([0x66, 0xF3], false), ([0xF3], true), ([0xF2], false)]

    /// The bytes of a template with ModRM.reg = `reg` and r/m = the data base register
    /// ([r14] / [edi], or the register itself), before displacement and immediates.
    func skeleton(_ t: Template, reg: UInt8, rexRB: UInt8, mod: UInt8 = 0) -> [UInt8] {
        DifferentialGenerator.skeleton(t, reg: reg, rexRB: rexRB, mod: mod, bitness: bitness, base: dataBaseRegister)
    }

    static func skeleton(_ t: Template, reg: UInt8, rexRB: UInt8, mod: UInt8, bitness: Int, base dataBaseRegister: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: t.legacy)
        if bitness == 64 {
            var rex: UInt8 = t.rexW ? 0x48 : 0
            if t.hasModRM { rex |= 0x41 }   // REX.B: r/m = r14 (register 6 + 8)
            rex |= rexRB
            if rex != 0 { out.append(rex | 0x40) }
        }
        switch t.map {
        case 1: out.append(0x0F)
        case 2: out.append(contentsOf: [0x0F, 0x38])
        case 3: out.append(contentsOf: [0x0F, 0x3A])
        default: break
        }
        out.append(t.opcode)
        if t.hasModRM {
            let m: UInt8 = t.memory ? mod : 3
            out.append(m << 6 | (reg & 7) << 3 | UInt8(dataBaseRegister & 7))
        }
        return out
    }

    /// Whether ModRM.reg names an operand of the form (rather than selecting it).
    static func regIsOperand(_ info: FormInfo) -> Bool {
        for i in 0..<info.operandCount {
            switch info.operand(i) {
            case .r8_reg, .r16_reg, .r32_reg, .r64_reg, .r16_reg_mem, .r32_reg_mem, .r64_reg_mem: return true
            default: continue
            }
        }
        return false
    }

    /// The form rules: legacy encoding, 64-bit mode, unprivileged, integer operands only,
    /// no implicit memory other than the stack, not excluded by mnemonic or CPUID feature.
    static func allowed(_ d: DecodedInstruction, bitness: Int = 64, sse: Bool = false, x87: Bool = false) -> Bool {
        let t = ISATables.shared
        let info = t.forms[Int(d.form)]
        let modeBit: UInt8 = bitness == 64 ? 4 : 2
        guard info.encoding == 0, info.map <= (sse ? 3 : 1), info.modes & modeBit != 0, !info.has(FormAttributes.privileged) else { return false }
        // Compatibility mode: no instructions that exist only outside 64-bit mode but touch
        // segment state (PUSH/POP ES etc.), BCD or BOUND/ARPL; the catalogue stays integer-only.
        if bitness == 32 && info.modes & 4 == 0 { return false }
        if bitness == 32 && compatibilityModeHostQuirks.contains(t.mnemonicNames[Int(info.mnemonic)].uppercased()) { return false }
        let name = t.mnemonicNames[Int(info.mnemonic)].uppercased()
        if excludedMnemonics.contains(name) || excludedSSEMnemonics.contains(name) || excludedX87Mnemonics.contains(name) { return false }
        // 16-bit SHLD/SHRD by CL: a count above 16 leaves the result undefined (SDM Vol. 2B).
        if (name == "SHLD" || name == "SHRD") && info.operandSize == 16 && info.operand(2) == .cl { return false }
        for f in t.cpuidFeatures(ofForm: d.form) where !allowedFeatures.contains(f) && !(sse && sseFeatures.contains(f))
            && !(x87 && x87Features.contains(f)) { return false }
        for i in 0..<info.operandCount {
            switch info.operand(i) {
            case .mem, .r8_or_mem, .r16_or_mem, .r32_or_mem, .r64_or_mem, .r8_reg, .r8_opcode, .r16_reg, .r16_reg_mem,
                 .r16_rm, .r16_opcode, .r32_reg, .r32_reg_mem, .r32_rm, .r32_opcode, .r64_reg, .r64_reg_mem, .r64_rm,
                 .r64_opcode, .al, .cl, .ax, .dx, .eax, .rax, .imm8, .imm8_const_1, .imm8sex16, .imm8sex32,
                 .imm8sex64, .imm16, .imm32, .imm32sex64, .imm64:
                continue
            case .xmm_reg, .xmm_rm, .xmm_or_mem where sse:
                continue
            case .st0, .sti_opcode where x87:
                continue
            default:
                return false
            }
        }
        return true
    }

    /// Register numbers the generated operands may name: all but RSP and the data base.
    func usableRegister(_ r: UInt8) -> Bool {
        if r >= 16 { return true }  // AH, CH, DH, BH: parts of RAX..RBX
        return r != 4 && Int(r) != dataBaseRegister
    }

    /// Checks the decoded operands of a candidate: registers usable, memory only [r14 + disp]
    /// inside the data page, BT* with a register bit offset never on memory (the offset can
    /// reach far outside the page).
    func operandsUsable(_ d: DecodedInstruction) -> Bool {
        let info = forms[Int(d.form)]
        let name = ISATables.shared.mnemonicNames[Int(info.mnemonic)].uppercased()
        for i in 0..<info.operandCount {
            switch info.operand(i) {
            case .r8_reg, .r16_reg, .r32_reg, .r64_reg, .r16_reg_mem, .r32_reg_mem, .r64_reg_mem:
                if !usableRegister(d.reg) { return false }
            case .r8_opcode, .r16_opcode, .r32_opcode, .r64_opcode, .r16_rm, .r32_rm, .r64_rm:
                if !usableRegister(d.rm) { return false }
            case .r8_or_mem, .r16_or_mem, .r32_or_mem, .r64_or_mem:
                if !d.hasMemory && !usableRegister(d.rm) { return false }
            default:
                continue
            }
        }
        if d.hasMemory {
            guard Int(d.memoryBase) == dataBaseRegister, d.memoryIndex == Register.none,
                  d.displacement >= -0x7F0, d.displacement <= 0x7F0 else { return false }
            if name.hasPrefix("BT"), info.operand(1) != .imm8 { return false }
        }
        if (name == "SHLD" || name == "SHRD") && info.operandSize == 16 && d.immediate & 31 > 16 { return false }
        return true
    }

    /// One random instruction of `form`, or nil when the attempts found no usable encoding.
    public func instruction(form: UInt16, _ rng: inout DifferentialRandom) -> DifferentialInstruction? {
        guard let list = templates[form] else { return nil }
        for _ in 0..<8 {
            let t = list[rng.below(list.count)]
            let reg = t.fixedReg ?? UInt8(rng.below(8))
            // REX.R (0x44) extends ModRM.reg, REX.B (0x41) extends r/m or the opcode register;
            // with a ModRM the skeleton already sets REX.B for r14.
            var rexRB: UInt8 = 0
            if bitness == 64 && rng.chance(40) { rexRB |= 0x44 }
            if bitness == 64 && !t.hasModRM && rng.chance(40) { rexRB |= 0x41 }
            let mod: UInt8 = t.memory ? UInt8(rng.below(3)) : 3
            var bytes = skeleton(t, reg: reg, rexRB: rexRB, mod: mod)
            if t.hasModRM && !t.memory {
                // r/m register: any of 0..7, extended by REX.B when present.
                let rm = UInt8(rng.below(8))
                bytes[bytes.count - 1] = (bytes[bytes.count - 1] & ~7) | rm
                if bitness == 64, rng.chance(50), let rexAt = bytes.firstIndex(where: { $0 & 0xF0 == 0x40 }) {
                    bytes[rexAt] &= ~0x01
                }
            }
            if t.memory {
                // With SSE forms, nearly all displacements are 16-byte aligned: a misaligned 128-bit
                // operand of a legacy SSE form is #GP (SDM Vol. 1 §4.1.1), which ends the stream.
                let aligned: UInt8 = includesSSE && rng.chance(97) ? 0xF0 : 0xFF
                switch mod {
                case 1: bytes.append(UInt8(truncatingIfNeeded: rng.below(256)) & aligned)
                case 2:
                    let disp = (Int32(rng.below(0xFE0)) - 0x7F0) & Int32(Int8(bitPattern: aligned))
                    withUnsafeBytes(of: disp.littleEndian) { bytes.append(contentsOf: $0) }
                default: break
                }
            }
            // Immediates: random bytes, cut to the decoded length.
            var tail: [UInt8] = []
            let v = rng.interestingValue()
            withUnsafeBytes(of: v.littleEndian) { tail.append(contentsOf: $0) }
            // Small shift counts and imm8 more often, so shifts and ENTER-like imms mean something.
            if rng.chance(50) { tail[0] = UInt8(rng.below(70)) }
            let candidate = bytes + tail
            let d = decoder.decode(candidate)
            guard d.isValid, d.form == form, operandsUsable(d) else { continue }
            return DifferentialInstruction(bytes: Array(candidate.prefix(Int(d.length))), form: form)
        }
        return nil
    }

    /// A stream of `count` instructions. Flags an earlier instruction left undefined are never
    /// read by a later one (their values differ between CPUs by design).
    public func stream(count: Int, _ rng: inout DifferentialRandom) -> [DifferentialInstruction] {
        var out: [DifferentialInstruction] = []
        var undefined: UInt64 = 0
        var attempts = 0
        while out.count < count && attempts < count * 50 {
            attempts += 1
            let group = formsByMnemonic[rng.below(formsByMnemonic.count)]
            let form = group[rng.below(group.count)]
            let effect = DifferentialGenerator.flagEffect(form)
            if effect.read & undefined != 0 { continue }
            guard let ins = instruction(form: form, &rng) else { continue }
            undefined = effect.after(undefined)
            out.append(ins)
        }
        return out
    }

    /// What a form does to the status flags, as the comparison needs it.
    public struct FlagEffect {
        /// Flags whose values the form's result depends on (PUSHF and LAHF store them).
        public var read: UInt64
        /// Flags the form always gives a defined value.
        public var defined: UInt64
        /// Flags the form leaves undefined.
        public var undefined: UInt64

        /// The undefined set after the form, given the set before it.
        public func after(_ before: UInt64) -> UInt64 { (before & ~defined) | undefined }
    }

    /// Shifts and rotates change flags only for a nonzero (masked) count, so they never make
    /// an undefined flag defined again; OF is undefined for counts other than 1 and AF for
    /// shifts with a nonzero count (SDM Vol. 2B, SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD,
    /// SHRD). The ISA table lists no flags for the imm8-count forms (C0, C1, 0F A4, 0F AC),
    /// so these are given here for every form of the mnemonic.
    static let shifts: Set<String> = ["SHL", "SAL", "SHR", "SAR", "SHLD", "SHRD"]
    static let rotates: Set<String> = ["ROL", "ROR", "RCL", "RCR"]

    public static func flagEffect(_ form: UInt16) -> FlagEffect {
        let info = ISATables.shared.forms[Int(form)]
        let name = ISATables.shared.mnemonicNames[Int(info.mnemonic)].uppercased()
        if shifts.contains(name) {
            return FlagEffect(read: 0, defined: 0, undefined: RFLAGS.of | RFLAGS.af)
        }
        if rotates.contains(name) {
            return FlagEffect(read: name.hasPrefix("RC") ? RFLAGS.cf : 0, defined: 0, undefined: RFLAGS.of)
        }
        // The SSE2 CMPSD (F2 0F C2) shares its mnemonic with the string compare, and the ISA
        // table gives it the string form's flags; it writes none (SDM Vol. 2A "CMPSD").
        if name == "CMPSD" && info.map == 1 { return FlagEffect(read: 0, defined: 0, undefined: 0) }
        let undefined = DifferentialFlags.rflags(info.flagsUndefined)
        return FlagEffect(read: DifferentialFlags.rflags(info.flagsRead),
                          defined: DifferentialFlags.rflags(info.flagsWritten | info.flagsCleared | info.flagsSet) & ~undefined,
                          undefined: undefined)
    }
}
