/// A small x86-64 machine-code writer for the block translator (BlockTranslator.swift): just
/// the instruction forms translated blocks use, encoded as the SDM Vol. 2 describes them
/// (§2.1 instruction format, §2.2.1 REX prefixes).
enum HostReg {
    static let rax: UInt8 = 0, rcx: UInt8 = 1, rdx: UInt8 = 2, rbx: UInt8 = 3, rsp: UInt8 = 4, rbp: UInt8 = 5
    static let rsi: UInt8 = 6, rdi: UInt8 = 7, r8: UInt8 = 8, r9: UInt8 = 9, r10: UInt8 = 10, r11: UInt8 = 11
    static let r12: UInt8 = 12, r13: UInt8 = 13, r14: UInt8 = 14, r15: UInt8 = 15
}

/// A host memory operand: [base + index * scale + displacement].
struct HostMemory {
    var base: UInt8
    var index: UInt8? = nil
    var scale: UInt8 = 1
    var displacement: Int32 = 0
}

/// The r/m side of a ModRM-encoded host instruction.
enum HostOperand {
    case register(UInt8)
    case memory(HostMemory)
}

/// A forward jump whose 32-bit displacement is filled in when its target is known.
struct HostLabelUse {
    let patchOffset: Int
}

struct HostAssembler {
    private(set) var bytes: [UInt8] = []
    init() { bytes.reserveCapacity(4096) }

    var offset: Int { bytes.count }

    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func int32(_ v: Int32) {
        let u = UInt32(bitPattern: v)
        for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: u >> UInt32(k * 8))) }
    }
    mutating func int64(_ v: UInt64) {
        for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(k * 8))) }
    }

    // MARK: general encoding

    /// Emits `[66] [REX] opcode ModRM [SIB] [disp]` with `reg` in ModRM.reg.
    /// `size` is the operand size in bytes: 2 adds the 66 prefix, 8 sets REX.W, and 1 forces a
    /// REX prefix when SPL/BPL/SIL/DIL would otherwise mean AH/CH/DH/BH.
    /// `prefix` is a mandatory prefix (66, F2, F3) of an SSE form, placed before REX.
    mutating func instruction(_ opcode: [UInt8], size: Int, reg: UInt8, _ rm: HostOperand, prefix: UInt8? = nil) {
        if let prefix { byte(prefix) }
        if size == 2 { byte(0x66) }
        var rex: UInt8 = size == 8 ? 0x48 : 0
        if reg >= 8 { rex |= 0x44 }
        var needsByteREX = size == 1 && reg >= 4 && reg < 8
        switch rm {
        case .register(let r):
            if r >= 8 { rex |= 0x41 }
            if size == 1 && r >= 4 && r < 8 { needsByteREX = true }
        case .memory(let m):
            if m.base >= 8 { rex |= 0x41 }
            if let i = m.index, i >= 8 { rex |= 0x42 }
        }
        if needsByteREX { rex |= 0x40 }
        if rex != 0 { byte(rex) }
        bytes.append(contentsOf: opcode)
        modRM(reg: reg, rm)
    }

    private mutating func modRM(reg: UInt8, _ rm: HostOperand) {
        let r = (reg & 7) << 3
        switch rm {
        case .register(let x):
            byte(0xC0 | r | (x & 7))
        case .memory(let m):
            let d = m.displacement
            // mod 00 has no base for rbp/r13 (it means RIP-relative or disp32): use disp8 0.
            let mod: UInt8 = d == 0 && m.base & 7 != 5 ? 0x00 : (Int32(Int8(truncatingIfNeeded: d)) == d ? 0x40 : 0x80)
            if let index = m.index {
                precondition(index != HostReg.rsp, "rsp cannot be an index")
                let ss: UInt8 = m.scale == 8 ? 3 : (m.scale == 4 ? 2 : (m.scale == 2 ? 1 : 0))
                byte(mod | r | 4)
                byte((ss << 6) | ((index & 7) << 3) | (m.base & 7))
            } else if m.base & 7 == 4 {
                byte(mod | r | 4)
                byte(0x24)
            } else {
                byte(mod | r | (m.base & 7))
            }
            if mod == 0x40 { byte(UInt8(bitPattern: Int8(truncatingIfNeeded: d))) } else if mod == 0x80 { int32(d) }
        }
    }

    // MARK: moves (no flags)

    /// Loads `size` bytes (1, 2 zero-extended; 4 zero-extended; 8) into `dst`.
    mutating func load(_ dst: UInt8, _ src: HostOperand, size: Int) {
        switch size {
        case 1: instruction([0x0F, 0xB6], size: 4, reg: dst, src)
        case 2: instruction([0x0F, 0xB7], size: 4, reg: dst, src)
        case 4: instruction([0x8B], size: 4, reg: dst, src)
        default: instruction([0x8B], size: 8, reg: dst, src)
        }
    }

    /// Loads `size` bytes sign-extended to 64 bits.
    mutating func loadSigned(_ dst: UInt8, _ src: HostOperand, size: Int) {
        switch size {
        case 1: instruction([0x0F, 0xBE], size: 8, reg: dst, src)
        case 2: instruction([0x0F, 0xBF], size: 8, reg: dst, src)
        case 4: instruction([0x63], size: 8, reg: dst, src)
        default: instruction([0x8B], size: 8, reg: dst, src)
        }
    }

    /// Stores the low `size` bytes of `src`.
    mutating func store(_ dst: HostMemory, _ src: UInt8, size: Int) {
        instruction([size == 1 ? 0x88 : 0x89], size: size, reg: src, .memory(dst))
    }

    mutating func movRegReg(_ dst: UInt8, _ src: UInt8, size: Int = 8) {
        instruction([0x8B], size: size, reg: dst, .register(src))
    }

    mutating func movImmediate(_ dst: UInt8, _ value: UInt64) {
        if value <= 0xFFFF_FFFF {
            // mov r32, imm32 zero-extends.
            if dst >= 8 { byte(0x41) }
            byte(0xB8 | (dst & 7))
            int32(Int32(bitPattern: UInt32(value)))
        } else {
            byte(dst >= 8 ? 0x49 : 0x48)
            byte(0xB8 | (dst & 7))
            int64(value)
        }
    }

    mutating func lea(_ dst: UInt8, _ m: HostMemory) {
        instruction([0x8D], size: 8, reg: dst, .memory(m))
    }

    // MARK: arithmetic

    /// ALU operation `kind` (0 ADD, 1 OR, 2 ADC, 3 SBB, 4 AND, 5 SUB, 6 XOR, 7 CMP) `rm, reg`.
    mutating func alu(_ kind: Int, _ rm: HostOperand, _ reg: UInt8, size: Int) {
        instruction([UInt8(kind << 3) | (size == 1 ? 0 : 1)], size: size, reg: reg, rm)
    }

    /// ALU operation `kind` `rm, imm32` (sign-extended for 64-bit).
    mutating func aluImmediate(_ kind: Int, _ rm: HostOperand, _ value: Int32, size: Int) {
        if size == 1 {
            instruction([0x80], size: 1, reg: UInt8(kind), rm)
            byte(UInt8(truncatingIfNeeded: value))
        } else if Int32(Int8(truncatingIfNeeded: value)) == value {
            instruction([0x83], size: size, reg: UInt8(kind), rm)
            byte(UInt8(truncatingIfNeeded: value))
        } else {
            instruction([0x81], size: size, reg: UInt8(kind), rm)
            if size == 2 {
                byte(UInt8(truncatingIfNeeded: value)); byte(UInt8(truncatingIfNeeded: value >> 8))
            } else {
                int32(value)
            }
        }
    }

    mutating func test(_ rm: HostOperand, _ reg: UInt8, size: Int) {
        instruction([size == 1 ? 0x84 : 0x85], size: size, reg: reg, rm)
    }

    /// Group 2 (0 ROL, 1 ROR, 4 SHL, 5 SHR, 7 SAR) by an immediate count.
    mutating func shiftImmediate(_ op: UInt8, _ rm: HostOperand, _ count: UInt8, size: Int) {
        instruction([size == 1 ? 0xC0 : 0xC1], size: size, reg: op, rm)
        byte(count)
    }

    /// Group 2 by CL.
    mutating func shiftByCL(_ op: UInt8, _ rm: HostOperand, size: Int) {
        instruction([size == 1 ? 0xD2 : 0xD3], size: size, reg: op, rm)
    }

    /// Group 3/5 unary operations: 0 INC, 1 DEC (FE/FF), 2 NOT, 3 NEG (F6/F7).
    mutating func unary(_ op: UInt8, _ rm: HostOperand, size: Int) {
        let opcode: UInt8 = op < 2 ? (size == 1 ? 0xFE : 0xFF) : (size == 1 ? 0xF6 : 0xF7)
        instruction([opcode], size: size, reg: op, rm)
    }

    mutating func imul(_ dst: UInt8, _ src: HostOperand, size: Int) {
        instruction([0x0F, 0xAF], size: size, reg: dst, src)
    }

    mutating func cmov(_ cc: UInt8, _ dst: UInt8, _ src: HostOperand, size: Int) {
        instruction([0x0F, 0x40 | cc], size: size, reg: dst, src)
    }

    mutating func setcc(_ cc: UInt8, _ dst: UInt8) {
        instruction([0x0F, 0x90 | cc], size: 1, reg: 0, .register(dst))
    }

    // MARK: SSE

    /// MOVDQU xmm, m128 / m128, xmm (no alignment needed).
    mutating func loadXMM(_ x: UInt8, _ m: HostMemory) {
        instruction([0x0F, 0x6F], size: 4, reg: x, .memory(m), prefix: 0xF3)
    }

    mutating func storeXMM(_ m: HostMemory, _ x: UInt8) {
        instruction([0x0F, 0x7F], size: 4, reg: x, .memory(m), prefix: 0xF3)
    }

    // MARK: flags

    /// AH = SF:ZF:0:AF:0:PF:1:CF; AL = OF (the saved-flags format of BlockTranslator).
    mutating func saveFlags(to m: HostMemory) {
        byte(0x9F)                                   // lahf
        bytes.append(contentsOf: [0x0F, 0x90, 0xC0]) // seto al
        store(m, HostReg.rax, size: 2)
    }

    /// The reverse of `saveFlags`: ADD AL, 7Fh overflows exactly when AL = 1, then SAHF.
    mutating func restoreFlags(from m: HostMemory) {
        instruction([0x8B], size: 2, reg: HostReg.rax, .memory(m))
        bytes.append(contentsOf: [0x04, 0x7F])       // add al, 0x7f
        byte(0x9E)                                   // sahf
    }

    // MARK: control

    /// Jcc rel32 to a label filled in later.
    mutating func jcc(_ cc: UInt8) -> HostLabelUse {
        bytes.append(contentsOf: [0x0F, 0x80 | cc])
        let use = HostLabelUse(patchOffset: offset)
        int32(0)
        return use
    }

    /// Jcc rel32 to an absolute address, for code that will run at `origin`.
    mutating func jccAbsolute(_ cc: UInt8, target: UInt64, origin: UInt64) {
        bytes.append(contentsOf: [0x0F, 0x80 | cc])
        int32(Int32(truncatingIfNeeded: Int64(bitPattern: target &- (origin &+ UInt64(offset) &+ 4))))
    }

    /// Points `use` at the current offset.
    mutating func bind(_ use: HostLabelUse) {
        let rel = Int32(offset - (use.patchOffset + 4))
        let u = UInt32(bitPattern: rel)
        for k in 0..<4 { bytes[use.patchOffset + k] = UInt8(truncatingIfNeeded: u >> UInt32(k * 8)) }
    }

    mutating func push(_ r: UInt8) {
        if r >= 8 { byte(0x41) }
        byte(0x50 | (r & 7))
    }

    mutating func pop(_ r: UInt8) {
        if r >= 8 { byte(0x41) }
        byte(0x58 | (r & 7))
    }

    mutating func jmpRegister(_ r: UInt8) {
        instruction([0xFF], size: 4, reg: 4, .register(r))
    }

    mutating func ret() { byte(0xC3) }
}

/// Condition codes in the low nibble of Jcc/SETcc/CMOVcc.
enum HostCondition {
    static let ae: UInt8 = 3, ne: UInt8 = 5, a: UInt8 = 7, l: UInt8 = 0xC
}
