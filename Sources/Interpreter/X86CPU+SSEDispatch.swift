import MachineCore
import X86Decoder

/// Mandatory-prefix classes of the SIMD opcode maps (SDM Vol. 2D Table A-3 columns).
enum SIMDPrefix {
    static let none: UInt8 = 0, p66: UInt8 = 2, pF3: UInt8 = 3, pF2: UInt8 = 4
}

/// Dispatch of the legacy-encoded SIMD instructions: MMX, SSE-SSE4.2 in the 0F, 0F38 and 0F3A
/// maps (SDM Vol. 2D Appendix A, Tables ). One switch on the opcode byte, then the
/// form's mandatory prefix (none/NP = MMX or packed single, 66, F3, F2).
extension X86CPU {
    /// The form's mandatory prefix class: SIMDPrefix.none for no prefix and NP.
    @inline(__always) func simdPrefix(_ d: InstructionRef) -> UInt8 {
        let p = formTable[Int(d.form)].mandatoryPrefix
        return p <= 1 ? SIMDPrefix.none : p
    }

    /// 0F map SIMD opcodes (called from executeTwoByte).
    func executeSIMD0F(_ d: InstructionRef) throws(CPUException) {
        let op = d.opcode
        let pfx = simdPrefix(d)
        switch op {
        case 0x10...0x13, 0x16, 0x17, 0x28, 0x29, 0x2B, 0x50, 0x6E, 0x6F, 0x7E, 0x7F, 0xC3, 0xD6, 0xD7, 0xE7, 0xF0, 0xF7:
            try simdMove(d, op, pfx)
        case 0x14, 0x15:
            // UNPCKLPS/UNPCKHPS are PUNPCKLDQ/PUNPCKHDQ, the PD forms PUNPCKLQDQ/PUNPCKHQDQ.
            let intOp: UInt8 = pfx == SIMDPrefix.p66 ? (op == 0x14 ? 0x6C : 0x6D) : (op == 0x14 ? 0x62 : 0x6A)
            try simdIntBinary(d, intOp, mmx: false)
        case 0x54, 0x55, 0x56, 0x57:
            // ANDPS/ANDNPS/ORPS/XORPS (and PD) are bitwise: PAND, PANDN, POR, PXOR.
            let intOp: UInt8 = op == 0x54 ? 0xDB : (op == 0x55 ? 0xDF : (op == 0x56 ? 0xEB : 0xEF))
            try simdIntBinary(d, intOp, mmx: false)
        case 0x60...0x6D, 0x74...0x76, 0xD1...0xD5, 0xD8...0xDF, 0xE0...0xE5, 0xE8...0xEF, 0xF1...0xF6, 0xF8...0xFE:
            try simdIntBinary(d, op, mmx: pfx == SIMDPrefix.none)
        case 0x70: try simdShuffleImmediate(d, pfx)
        case 0x71, 0x72, 0x73: try simdShiftImmediate(d, op, mmx: pfx == SIMDPrefix.none)
        case 0x77: try emms()
        case 0x2A, 0x2C, 0x2D, 0x5A, 0x5B, 0xE6: try simdConvert(d, op, pfx)
        case 0x2E, 0x2F: try simdCompareFlags(d, double: pfx == SIMDPrefix.p66, signaling: op == 0x2F)
        case 0x51...0x53, 0x58...0x5F, 0x7C, 0x7D, 0xD0: try simdFloatArithmetic(d, op, pfx)
        case 0xC2: try simdFloatCompare(d, pfx)
        case 0xC4: try pinsrw(d, mmx: pfx == SIMDPrefix.none)
        case 0xC5: try pextrw(d, mmx: pfx == SIMDPrefix.none)
        case 0xC6: try shufps(d, double: pfx == SIMDPrefix.p66)
        default: throw unimplementedInstruction(d)
        }
    }

    /// 0F38 map (SSSE3, SSE4.1, SSE4.2, CRC32).
    func executeSIMD0F38(_ d: InstructionRef) throws(CPUException) {
        let op = d.opcode
        let pfx = simdPrefix(d)
        switch op {
        case 0x00...0x0B, 0x1C...0x1E:
            if pfx == SIMDPrefix.none {
                try mmxSSSE3(d, op)
            } else {
                try sseCheck()
                let b = try sseSource(d)
                setXMM(d.reg, ssse3Op(op, xmm(d.reg), b))
            }
        case 0xF0...0xF1 where pfx == SIMDPrefix.pF2:
            try crc32(d)
        case 0x10, 0x14, 0x15, 0x17, 0x20...0x25, 0x28...0x2B, 0x30...0x35, 0x37...0x41:
            try sse41Op38(d, op)
        default: throw unimplementedInstruction(d)
        }
    }

    /// 0F3A map (SSSE3 PALIGNR, SSE4.1, SSE4.2 string compares).
    func executeSIMD0F3A(_ d: InstructionRef) throws(CPUException) {
        let op = d.opcode
        let pfx = simdPrefix(d)
        switch op {
        case 0x0F: try palignr(d, mmx: pfx == SIMDPrefix.none)
        case 0x08...0x0B: try simdRound(d, op)
        case 0x0C, 0x0D, 0x0E: try blendImmediate(d, op)
        case 0x14...0x17: try simdExtract(d, op)
        case 0x20...0x22: try simdInsert(d, op)
        case 0x40, 0x41: try dotProduct(d, double: op == 0x41)
        case 0x42: try mpsadbw(d)
        case 0x60...0x63: try stringCompare(d, op)
        default: throw unimplementedInstruction(d)
        }
    }

    // MARK: integer operation wrappers

    /// A packed-integer binary operation of the 0F map on mm or xmm registers.
    func simdIntBinary(_ d: InstructionRef, _ op: UInt8, mmx isMMX: Bool) throws(CPUException) {
        if isMMX {
            try mmxCheck()
            let b = try mmxSource(d)
            mmxTransition()
            setMMX(d.reg, mmxIntOp(op, mmx(d.reg), b))
        } else {
            try sseCheck()
            let b = try sseSource(d)
            setXMM(d.reg, packedIntOp(op, xmm(d.reg), b))
        }
    }
}
