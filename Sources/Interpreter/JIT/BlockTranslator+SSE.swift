import X86Decoder

/// The SSE forms whose results do not depend on MXCSR (integer, bitwise and moves, through
/// SSE4.2's PCMPISTRI and PTEST): the host runs the same instruction on XMM0/XMM1 loaded
/// from the guest's register file.
extension BlockTranslator {
    /// The guest XMM register's slot; rdi must hold the register file's address.
    private static func guestXMM(_ n: UInt8) -> HostMemory { HostMemory(base: HostReg.rdi, displacement: Int32(n & 15) * 16) }

    /// Host bytes of the form's opcode without its ModRM: escape bytes for map 1-3.
    private static func opcodeBytes(_ d: DecodedCodeCache.Entry) -> [UInt8] {
        switch d.map {
        case 2: return [0x0F, 0x38, d.opcode]
        case 3: return [0x0F, 0x3A, d.opcode]
        default: return [0x0F, d.opcode]
        }
    }

    /// Translates the SSE forms below; nil for anything else in maps 1-3 (so that the
    /// general-purpose 0F forms get their turn).
    mutating func translateSIMD(_ d: DecodedCodeCache.Entry, prefix: UInt8, rip: UInt64, next: UInt64) -> Outcome? {
        let op = d.opcode
        let p66 = prefix == SIMDPrefix.p66
        let hostPrefix: UInt8? = p66 ? 0x66 : (prefix == SIMDPrefix.pF3 ? 0xF3 : (prefix == SIMDPrefix.pF2 ? 0xF2 : nil))
        enum Kind { case binary(aligned: Bool, immediate: Bool, flags: Bool, count: Bool), load(aligned: Bool), store(aligned: Bool) }
        let kind: Kind
        switch (d.map, op) {
        case (1, 0x60...0x6D), (1, 0x74...0x76), (1, 0xD1...0xD5), (1, 0xD8...0xDF), (1, 0xE0...0xE5),
             (1, 0xE8...0xEF), (1, 0xF1...0xF6), (1, 0xF8...0xFE):
            guard p66 else { return nil }
            kind = .binary(aligned: true, immediate: false, flags: false, count: false)
        case (1, 0x54...0x57):
            guard p66 || prefix == SIMDPrefix.none else { return nil }
            kind = .binary(aligned: true, immediate: false, flags: false, count: false)
        case (1, 0x70):
            guard prefix != SIMDPrefix.none else { return nil }
            kind = .binary(aligned: true, immediate: true, flags: false, count: false)
        case (1, 0x6F):
            guard p66 || prefix == SIMDPrefix.pF3 else { return nil }
            kind = .load(aligned: p66)
        case (1, 0x7F):
            guard p66 || prefix == SIMDPrefix.pF3 else { return nil }
            kind = .store(aligned: p66)
        case (1, 0x28), (1, 0x10):
            guard p66 || prefix == SIMDPrefix.none else { return nil }
            kind = .load(aligned: op == 0x28)
        case (1, 0x29), (1, 0x11):
            guard p66 || prefix == SIMDPrefix.none else { return nil }
            kind = .store(aligned: op == 0x29)
        case (1, 0xD7):
            guard p66, !d.hasMemory else { return nil }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.rm))
            code.instruction([0x0F, 0xD7], size: 4, reg: HostReg.r8, .register(0), prefix: 0x66)
            storeRegister(d.reg, HostReg.r8, size: 4)
            return .translated
        case (1, 0x6E), (1, 0x7E), (1, 0xD6):
            return translateSIMDScalarMove(d, prefix: prefix, rip: rip, next: next)
        case (1, 0x71...0x73):
            guard p66, !d.hasMemory else { return nil }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.rm))
            code.instruction([0x0F, op], size: 4, reg: d.reg & 7, .register(0), prefix: 0x66)
            code.byte(UInt8(truncatingIfNeeded: d.immediate))
            code.storeXMM(Self.guestXMM(d.rm), 0)
            return .translated
        case (2, 0x00...0x0B), (2, 0x1C...0x1E), (2, 0x28), (2, 0x29), (2, 0x2B), (2, 0x37...0x40):
            guard p66 else { return nil }
            kind = .binary(aligned: true, immediate: false, flags: false, count: false)
        case (2, 0x17): // PTEST
            guard p66 else { return nil }
            kind = .binary(aligned: true, immediate: false, flags: true, count: false)
        case (3, 0x0E), (3, 0x0F): // PBLENDW, PALIGNR
            guard p66 else { return nil }
            kind = .binary(aligned: true, immediate: true, flags: false, count: false)
        case (3, 0x63): // PCMPISTRI: unaligned operands, ECX and flags
            guard p66 else { return nil }
            kind = .binary(aligned: false, immediate: true, flags: true, count: true)
        default:
            return nil
        }
        switch kind {
        case .binary(let aligned, let immediate, let flags, let count):
            if d.hasMemory && !memory(d, write: false, size: 16, rip: rip, next: next, aligned: aligned) { return .unsupported }
            if flags { willClobberFlags() }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.reg))
            code.loadXMM(1, d.hasMemory ? HostMemory(base: HostReg.r10) : Self.guestXMM(d.rm))
            code.instruction(Self.opcodeBytes(d), size: 4, reg: 0, .register(1), prefix: hostPrefix)
            if immediate { code.byte(UInt8(truncatingIfNeeded: d.immediate)) }
            if op != 0x17 && !count { code.storeXMM(Self.guestXMM(d.reg), 0) }
            if count { storeRegister(1, HostReg.rcx, size: 4) }
            if flags { wroteFlags() }
        case .load(let aligned):
            if d.hasMemory && !memory(d, write: false, size: 16, rip: rip, next: next, aligned: aligned) { return .unsupported }
            simdRegisters()
            code.loadXMM(0, d.hasMemory ? HostMemory(base: HostReg.r10) : Self.guestXMM(d.rm))
            code.storeXMM(Self.guestXMM(d.reg), 0)
        case .store(let aligned):
            if d.hasMemory && !memory(d, write: true, size: 16, rip: rip, next: next, aligned: aligned) { return .unsupported }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.reg))
            code.storeXMM(d.hasMemory ? HostMemory(base: HostReg.r10) : Self.guestXMM(d.rm), 0)
        }
        return .translated
    }

    /// rdi = the guest XMM register file.
    private mutating func simdRegisters() {
        code.load(HostReg.rdi, .memory(Self.context(JITContext.xmm)), size: 8)
    }

    /// MOVD/MOVQ between XMM and general registers or memory (66 0F 6E/7E), MOVQ xmm,
    /// xmm/m64 (F3 0F 7E) and MOVQ xmm/m64, xmm (66 0F D6).
    private mutating func translateSIMDScalarMove(_ d: DecodedCodeCache.Entry, prefix: UInt8, rip: UInt64, next: UInt64) -> Outcome? {
        let width = d.operandSize == 64 ? 8 : 4
        switch (d.opcode, prefix) {
        case (0x6E, SIMDPrefix.p66): // xmm <- r/m32/64, zero-extended
            if d.hasMemory && !memory(d, write: false, size: width, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r9, rm(d, width), size: width)
            simdRegisters()
            code.instruction([0x0F, 0x6E], size: 8, reg: 0, .register(HostReg.r9), prefix: 0x66)
            code.storeXMM(Self.guestXMM(d.reg), 0)
        case (0x7E, SIMDPrefix.p66): // r/m32/64 <- xmm
            if d.hasMemory && !memory(d, write: true, size: width, rip: rip, next: next) { return .unsupported }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.reg))
            code.instruction([0x0F, 0x7E], size: 8, reg: 0, .register(HostReg.r9), prefix: 0x66)
            storeRM(d, HostReg.r9, size: width)
        case (0x7E, SIMDPrefix.pF3): // xmm <- xmm/m64, upper half zeroed
            if d.hasMemory {
                if !memory(d, write: false, size: 8, rip: rip, next: next) { return .unsupported }
                code.load(HostReg.r9, .memory(HostMemory(base: HostReg.r10)), size: 8)
                simdRegisters()
                code.instruction([0x0F, 0x6E], size: 8, reg: 0, .register(HostReg.r9), prefix: 0x66)
            } else {
                simdRegisters()
                code.loadXMM(1, Self.guestXMM(d.rm))
                code.instruction([0x0F, 0x7E], size: 4, reg: 0, .register(1), prefix: 0xF3)
            }
            code.storeXMM(Self.guestXMM(d.reg), 0)
        case (0xD6, SIMDPrefix.p66): // xmm/m64 <- low quadword of xmm
            if d.hasMemory && !memory(d, write: true, size: 8, rip: rip, next: next) { return .unsupported }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.reg))
            if d.hasMemory {
                code.instruction([0x0F, 0x7E], size: 8, reg: 0, .register(HostReg.r9), prefix: 0x66)
                code.store(HostMemory(base: HostReg.r10), HostReg.r9, size: 8)
            } else {
                code.instruction([0x0F, 0x7E], size: 4, reg: 1, .register(0), prefix: 0xF3)
                code.storeXMM(Self.guestXMM(d.rm), 1)
            }
        default:
            return nil
        }
        return .translated
    }
}
