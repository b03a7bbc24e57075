/// Intel-syntax text for decoded instructions, and the line logic of `swiftpc disasm`
/// (docs/ARCHITECTURE.md, "Command line"): one `LENGTH<TAB>text` or `LENGTH<TAB>(bad)` line per
/// instruction, or one `error: ...` line for an input line that is not hex.
public enum Disassembler {
    /// Why an input line could not be disassembled.
    public enum InputError: Error, Equatable, CustomStringConvertible {
        case empty
        case oddLength(digits: Int)
        case notHex(character: Character, column: Int)

        public var description: String {
            switch self {
            case .empty: return "empty input line"
            case .oddLength(let n): return "odd number of hex digits (\(n))"
            case .notHex(let c, let col): return "not a hex digit '\(c)' at column \(col)"
            }
        }
    }

    /// Parses a hex string ("0f05", "0F 05"; spaces and tabs between digits are ignored).
    public static func parseHex(_ line: String) -> Result<[UInt8], InputError> {
        var out: [UInt8] = []
        var hi: UInt8 = 0, half = false, digits = 0, column = 0
        for ch in line {
            column += 1
            if ch == " " || ch == "\t" || ch == "\r" { continue }
            guard let ascii = ch.asciiValue, let v = hexValue(ascii) else {
                return .failure(.notHex(character: ch, column: column))
            }
            digits += 1
            if half { out.append(hi << 4 | v) } else { hi = v }
            half.toggle()
        }
        if digits == 0 { return .failure(.empty) }
        if half { return .failure(.oddLength(digits: digits)) }
        return .success(out)
    }

    /// Output lines for one input line of `swiftpc disasm --bits bitness [--first]`: with
    /// `first`, exactly one line (the first instruction, or the error); otherwise a linear
    /// sweep over all the bytes. Bad input gives the single line `error: <reason>`.
    public static func formatLines(hex line: String, bitness: Int, first: Bool) -> [String] {
        switch parseHex(line) {
        case .failure(let e): return ["error: \(e)"]
        case .success(let bytes): return formatLines(bytes: bytes, bitness: bitness, first: first)
        }
    }

    /// Output lines for raw bytes (see `formatLines(hex:bitness:first:)`). A bitness other than
    /// 16, 32 or 64 gives one error line.
    public static func formatLines(bytes: [UInt8], bitness: Int, first: Bool) -> [String] {
        guard let dec = X86Decoder(bitness: bitness) else { return ["error: bitness must be 16, 32 or 64"] }
        var lines: [String] = []
        var offset = 0
        var d = DecodedInstruction()
        bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let slice = UnsafeRawBufferPointer(rebasing: raw[offset...])
                dec.decode(slice, into: &d)
                let n = max(1, Int(d.length))
                lines.append("\(n)\t" + (d.isValid ? format(d, address: UInt64(offset)) : "(bad)"))
                offset += n
                if first { break }
            }
        }
        return lines
    }

    /// Intel-syntax text of a valid instruction at `address` (used for branch targets).
    public static func format(_ d: DecodedInstruction, address: UInt64 = 0) -> String {
        guard d.isValid else { return "(bad)" }
        let t = ISATables.shared
        let fi = t.forms[Int(d.form)]
        var text = ""
        if d.prefixes & PrefixBits.lock != 0 { text += "lock " }
        if d.prefixes & PrefixBits.mandatory == 0 {
            if d.prefixes & PrefixBits.rep != 0 && fi.has(FormAttributes.rep) { text += "rep " }
            if d.prefixes & PrefixBits.repne != 0 && fi.has(FormAttributes.repne) { text += "repne " }
        }
        var mn = t.mnemonicNames[Int(d.mnemonic)]
        if mn == "reservednop" { mn = "nop" }
        text += mn
        var ops: [String] = []
        var second = d
        second.immediate = d.immediate2
        var immediates = 0
        for i in 0..<5 {
            let k = fi.operand(i)
            if k == .none { break }
            // The second immediate operand (ENTER's imm8) lives in immediate2.
            let isImm = k == .imm8 || k == .imm16 || k == .imm32
            var s = operand(k, isImm && immediates == 1 ? second : d, fi, address: address)
            if isImm { immediates += 1 }
            if i == 0 && d.prefixes & PrefixBits.evex != 0 {
                if d.opmask != 0 { s += "{k\(d.opmask)}" }
                if d.evex & EVEXBits.z != 0 { s += "{z}" }
            }
            ops.append(s)
        }
        if d.prefixes & PrefixBits.evex != 0 && d.evex & EVEXBits.b != 0 && !d.hasMemory {
            if fi.has(FormAttributes.rounding) {
                let rc = ["{rn-sae}", "{rd-sae}", "{ru-sae}", "{rz-sae}"][Int((d.evex >> EVEXBits.roundingShift) & 3)]
                ops.append(rc)
            } else {
                ops.append("{sae}")
            }
        }
        if !ops.isEmpty { text += " " + ops.joined(separator: ", ") }
        return text
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    static func vector(_ n: UInt8, _ kind: String) -> String { "\(kind)\(n & 31)" }

    // swiftlint:disable:next cyclomatic_complexity
    static func operand(_ k: OperandKind, _ d: DecodedInstruction, _ fi: FormInfo, address: UInt64) -> String {
        let os = Int(d.operandSize)
        switch k {
        case .none: return ""
        case .r8_reg: return RegisterNames.gpr(d.reg, bits: 8)
        case .r16_reg, .r16_reg_mem: return RegisterNames.gpr(d.reg, bits: 16)
        case .r32_reg, .r32_reg_mem: return RegisterNames.gpr(d.reg, bits: 32)
        case .r64_reg, .r64_reg_mem: return RegisterNames.gpr(d.reg, bits: 64)
        case .r8_opcode: return RegisterNames.gpr(d.rm, bits: 8)
        case .r16_opcode, .r16_rm: return RegisterNames.gpr(d.rm, bits: 16)
        case .r32_opcode, .r32_rm: return RegisterNames.gpr(d.rm, bits: 32)
        case .r64_opcode, .r64_rm: return RegisterNames.gpr(d.rm, bits: 64)
        case .r32_vvvv: return RegisterNames.gpr(d.vvvv, bits: 32)
        case .r64_vvvv: return RegisterNames.gpr(d.vvvv, bits: 64)
        case .r8_or_mem: return d.hasMemory ? memory(d, fi) : RegisterNames.gpr(d.rm, bits: 8)
        case .r16_or_mem: return d.hasMemory ? memory(d, fi) : RegisterNames.gpr(d.rm, bits: 16)
        case .r32_or_mem, .r32_or_mem_mpx: return d.hasMemory ? memory(d, fi) : RegisterNames.gpr(d.rm, bits: 32)
        case .r64_or_mem, .r64_or_mem_mpx: return d.hasMemory ? memory(d, fi) : RegisterNames.gpr(d.rm, bits: 64)
        case .mm_or_mem: return d.hasMemory ? memory(d, fi) : "mm\(d.rm & 7)"
        case .xmm_or_mem: return d.hasMemory ? memory(d, fi) : vector(d.rm, "xmm")
        case .ymm_or_mem: return d.hasMemory ? memory(d, fi) : vector(d.rm, "ymm")
        case .zmm_or_mem: return d.hasMemory ? memory(d, fi) : vector(d.rm, "zmm")
        case .k_or_mem: return d.hasMemory ? memory(d, fi) : "k\(d.rm & 7)"
        case .bnd_or_mem_mpx: return d.hasMemory ? memory(d, fi) : "bnd\(d.rm & 3)"
        case .mem, .mem_mpx, .mem_mib, .sibmem, .mem_vsib32x, .mem_vsib64x, .mem_vsib32y, .mem_vsib64y,
             .mem_vsib32z, .mem_vsib64z:
            return memory(d, fi)
        case .mem_offs:
            let seg = d.segmentOverride == Segment.none ? "ds" : RegisterNames.seg(d.segmentOverride)
            return RegisterNames.sizeKeyword(Int(fi.memorySize)) + seg + ":[" + hex(d.immediate) + "]"
        case .seg_reg: return RegisterNames.seg((d.modrm >> 3) & 7)
        case .k_reg, .kp1_reg: return "k\(d.reg & 7)"
        case .k_rm: return "k\(d.rm & 7)"
        case .k_vvvv: return "k\(d.vvvv & 7)"
        case .mm_reg: return "mm\(d.reg & 7)"
        case .mm_rm: return "mm\(d.rm & 7)"
        case .xmm_reg: return vector(d.reg, "xmm")
        case .xmm_rm: return vector(d.rm, "xmm")
        case .xmm_vvvv, .xmmp3_vvvv: return vector(d.vvvv, "xmm")
        case .ymm_reg: return vector(d.reg, "ymm")
        case .ymm_rm: return vector(d.rm, "ymm")
        case .ymm_vvvv: return vector(d.vvvv, "ymm")
        case .zmm_reg: return vector(d.reg, "zmm")
        case .zmm_rm: return vector(d.rm, "zmm")
        case .zmm_vvvv, .zmmp3_vvvv: return vector(d.vvvv, "zmm")
        case .xmm_is4, .xmm_is5: return "xmm\((d.immediate >> 4) & (d.bitness == 64 ? 15 : 7))"
        case .ymm_is4, .ymm_is5: return "ymm\((d.immediate >> 4) & (d.bitness == 64 ? 15 : 7))"
        case .tmm_reg: return "tmm\(d.reg & 7)"
        case .tmm_rm: return "tmm\(d.rm & 7)"
        case .tmm_vvvv: return "tmm\(d.vvvv & 7)"
        case .cr_reg: return "cr\(d.reg)"
        case .dr_reg: return "dr\(d.reg)"
        case .tr_reg: return "tr\(d.reg & 7)"
        case .bnd_reg: return "bnd\(d.reg & 3)"
        case .es: return "es"
        case .cs: return "cs"
        case .ss: return "ss"
        case .ds: return "ds"
        case .fs: return "fs"
        case .gs: return "gs"
        case .al: return "al"
        case .cl: return "cl"
        case .ax: return "ax"
        case .dx: return "dx"
        case .eax: return "eax"
        case .rax: return "rax"
        case .st0: return "st(0)"
        case .sti_opcode: return "st(\(d.modrm & 7))"
        case .imm8_const_1: return "1"
        case .imm8, .imm4_m2z: return hex(d.immediate & 0xFF)
        case .imm16: return hex(d.immediate & 0xFFFF)
        case .imm32: return hex(d.immediate & 0xFFFF_FFFF)
        case .imm64: return hex(d.immediate)
        case .imm8sex16: return hex(d.immediate & 0xFFFF)
        case .imm8sex32: return hex(d.immediate & 0xFFFF_FFFF)
        case .imm8sex64, .imm32sex64: return hex(d.immediate)
        case .br16_1, .br16_2, .xbegin_2, .brdisp_2:
            return hex((address &+ UInt64(d.length) &+ d.immediate) & 0xFFFF)
        case .br32_1, .br32_4, .xbegin_4, .brdisp_4:
            let target = address &+ UInt64(d.length) &+ d.immediate
            return hex(os == 16 ? target & 0xFFFF : d.bitness == 64 && os == 64 ? target : target & 0xFFFF_FFFF)
        case .br64_1, .br64_4:
            let target = address &+ UInt64(d.length) &+ d.immediate
            return hex(os == 16 ? target & 0xFFFF : target)
        case .farbr2_2, .farbr4_2: return hex(d.immediate2 & 0xFFFF) + ":" + hex(d.immediate)
        case .seg_rsi: return stringOperand(d, fi, reg: 6, forceES: false)
        case .es_rdi: return stringOperand(d, fi, reg: 7, forceES: true)
        case .seg_rdi: return stringOperand(d, fi, reg: 7, forceES: false)
        case .seg_rbx_al:
            let seg = d.segmentOverride == Segment.none ? "" : RegisterNames.seg(d.segmentOverride) + ":"
            return "byte ptr " + seg + "[" + RegisterNames.gpr(3, bits: Int(d.addressSize)) + "+al]"
        }
    }

    static func stringOperand(_ d: DecodedInstruction, _ fi: FormInfo, reg: UInt8, forceES: Bool) -> String {
        let seg: String
        if forceES { seg = "es:" } else if d.segmentOverride != Segment.none { seg = RegisterNames.seg(d.segmentOverride) + ":" } else { seg = "" }
        return RegisterNames.sizeKeyword(Int(fi.memorySize)) + seg + "[" + RegisterNames.gpr(reg, bits: Int(d.addressSize)) + "]"
    }

    static func memory(_ d: DecodedInstruction, _ fi: FormInfo) -> String {
        var s = ""
        let bcst = d.prefixes & PrefixBits.evex != 0 && d.evex & EVEXBits.b != 0
        s += RegisterNames.sizeKeyword(Int(bcst ? UInt16(fi.broadcastSize) : fi.memorySize))
        if d.segmentOverride != Segment.none { s += RegisterNames.seg(d.segmentOverride) + ":" }
        var parts: [String] = []
        let abits = Int(d.addressSize)
        if d.memoryBase == Register.rip {
            parts.append("rip")
        } else if d.memoryBase != Register.none {
            parts.append(RegisterNames.gpr(d.memoryBase, bits: abits))
        }
        if d.memoryIndex != Register.none {
            let k0 = fi.operand(0), k1 = fi.operand(1), k2 = fi.operand(2)
            let vs = [k0, k1, k2].first { X86Decoder.isVSIB($0.rawValue) }
            var idx: String
            switch vs {
            case .mem_vsib32x?, .mem_vsib64x?: idx = vector(d.memoryIndex, "xmm")
            case .mem_vsib32y?, .mem_vsib64y?: idx = vector(d.memoryIndex, "ymm")
            case .mem_vsib32z?, .mem_vsib64z?: idx = vector(d.memoryIndex, "zmm")
            default: idx = RegisterNames.gpr(d.memoryIndex, bits: abits)
            }
            if d.memoryScale != 1 { idx += "*\(d.memoryScale)" }
            parts.append(idx)
        }
        var text = parts.joined(separator: "+")
        let disp = d.displacement
        if parts.isEmpty {
            let mask: UInt64 = abits == 16 ? 0xFFFF : abits == 32 ? 0xFFFF_FFFF : ~0
            text = hex(UInt64(bitPattern: disp) & mask)
        } else if disp > 0 {
            text += "+" + hex(UInt64(disp))
        } else if disp < 0 {
            text += "-" + hex(disp.magnitude)
        }
        s += "[" + text + "]"
        if bcst && fi.broadcastSize != 0 {
            let vbytes = 16 << Int(d.vectorLength)
            s += "{1to\(vbytes / Int(fi.broadcastSize))}"
        }
        return s
    }
}
