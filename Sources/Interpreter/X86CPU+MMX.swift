import MachineCore
import X86Decoder

/// MMX: the eight 64-bit MM registers aliased to the x87 significands (SDM Vol. 1 §9.5),
/// the x87/MMX transitions, the availability checks, and the MMX forms whose result is not
/// simply the low half of the 128-bit operation (X86CPU+SSEInteger.swift computes the rest).
extension X86CPU {
    /// MMX instructions: #UD when CR0.EM = 1, #NM when CR0.TS = 1, then a pending unmasked x87
    /// exception is reported (#MF) (SDM Vol. 3A §12.5 and the MMX "Protected Mode Exceptions").
    @inline(__always) func mmxCheck() throws(CPUException) {
        if cr0 & CR0.em != 0 { throw .invalidOpcode }
        if cr0 & CR0.ts != 0 { throw CPUException(CPUException.Vector.deviceNotAvailable) }
        if x87.fsw & FSW.es != 0 { try x87PendingException() }
    }

    // MARK: MMX registers (aliases of the x87 significands, SDM Vol. 1 §9.5)

    /// MMi is the significand of physical x87 register Ri.
    @inline(__always) func mmx(_ r: UInt8) -> UInt64 { x87Regs[Int(r & 7)].significand }

    /// Writing MMi sets its exponent and sign bits to ones (SDM Vol. 1 §9.5.1), which the tag
    /// word reports as special.
    @inline(__always) func setMMX(_ r: UInt8, _ v: UInt64) {
        let p = Int(r & 7)
        x87Regs[p] = X87Register(significand: v, signExponent: 0xFFFF)
        setPhysicalTag(p, X87Tag.special)
    }

    /// Every MMX instruction but EMMS sets TOP to 0 and marks all registers valid (SDM Vol. 1
    /// §9.5.1, Table 9-3). The tags stay exact (content-derived) as the x87 code keeps them.
    @inline(__always) func mmxTransition() {
        let anyEmpty = x87.ftw & (x87.ftw >> 1) & 0x5555 != 0
        if anyEmpty || x87.fsw & FSW.topMask != 0 {
            setX87Top(0)
            x87.ftw = 0
            x87RecomputeTags()
        }
    }

    /// EMMS: all x87 registers empty.
    func emms() throws(CPUException) {
        try mmxCheck()
        x87.ftw = 0xFFFF
    }

    /// The mm/m64 source operand (`Qq`); REX.B does not select MMX registers.
    @inline(__always)
    func mmxSource(_ d: InstructionRef) throws(CPUException) -> UInt64 {
        if !d.hasMemory { return mmx(d.rm) }
        return try readMemoryOperand(d, 8)
    }

    /// The 64-bit MMX form of a 0F-map operation, in terms of the 128-bit one: most work per
    /// lane, so the low half of the 128-bit result is the answer; packs and the high unpacks
    /// take their halves from a rearranged 128-bit operation.
    func mmxIntOp(_ op: UInt8, _ a: UInt64, _ b: UInt64) -> UInt64 {
        switch op {
        case 0x63, 0x67, 0x6B:
            // PACKSSWB/PACKUSWB/PACKSSDW: the low 8 bytes of packing (a, b) as one source.
            return packedIntOp(op, V128(a, b), V128(0, 0))[0]
        case 0x68, 0x69, 0x6A:
            // PUNPCKH*: the upper half of the low unpack of the 64-bit operands.
            return packedIntOp(op &- 8, V128(a, 0), V128(b, 0))[1]
        default:
            return packedIntOp(op, V128(a, 0), V128(b, 0))[0]
        }
    }

    /// SSSE3 forms on MMX registers (NP 0F 38 00-1E).
    func mmxSSSE3(_ d: InstructionRef, _ op: UInt8) throws(CPUException) {
        try mmxCheck()
        let b = try mmxSource(d)
        mmxTransition()
        let a = mmx(d.reg)
        let r: UInt64
        switch op {
        case 0x00: // PSHUFB: the index uses bits 2:0 (SDM Vol. 2B PSHUFB, 64-bit form)
            var x: UInt64 = 0
            for i in 0..<8 {
                let sel = (b >> UInt64(i * 8)) & 0xFF
                if sel & 0x80 == 0 { x |= ((a >> ((sel & 7) * 8)) & 0xFF) << UInt64(i * 8) }
            }
            r = x
        case 0x01...0x03, 0x05...0x07:
            // Horizontal add/sub: pairs of a, then pairs of b, as the low half of (a:b).
            r = ssse3Op(op, V128(a, b), V128(0, 0))[0]
        default:
            r = ssse3Op(op, V128(a, 0), V128(b, 0))[0]
        }
        setMMX(d.reg, r)
    }

    /// MOVD/MOVQ/PMOVMSKB/MOVNTQ/MASKMOVQ on MMX registers.
    func mmxMove(_ d: InstructionRef, _ op: UInt8) throws(CPUException) {
        try mmxCheck()
        switch op {
        case 0x6E:
            let v = try readRM(d, opBytes(d) == 8 ? 8 : 4)
            mmxTransition()
            setMMX(d.reg, v)
        case 0x6F:
            let v = try mmxSource(d)
            mmxTransition()
            setMMX(d.reg, v)
        case 0x7E:
            let size = opBytes(d) == 8 ? 8 : 4
            try writeRM(d, size, mmx(d.reg) & sizeMask(size))
            mmxTransition()
        case 0x7F, 0xE7:
            if d.hasMemory { try writeMemoryOperand(d, 8, mmx(d.reg)) } else { setMMX(d.rm, mmx(d.reg)) }
            mmxTransition()
        case 0xD7:
            mmxTransition()
            setReg(d.reg, opBytes(d) == 8 ? 8 : 4, byteSignMask(V128(mmx(d.rm), 0)))
        default: // 0xF7 MASKMOVQ
            try maskedStore(d, V128(mmx(d.reg), 0), mask: V128(mmx(d.rm), 0), bytes: 8)
            mmxTransition()
        }
    }
}
