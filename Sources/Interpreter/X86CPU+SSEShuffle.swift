import MachineCore
import X86Decoder

/// Shuffles, blends, alignment, sign/zero extension and PTEST (SDM Vol. 2, PSHUFD, SHUFPS,
/// PALIGNR, PBLENDVB, BLENDPS, PMOVSX, PMOVZX, PTEST).
extension X86CPU {
    /// 0F 70: PSHUFW (mm), PSHUFD, PSHUFHW, PSHUFLW.
    func simdShuffleImmediate(_ d: InstructionRef, _ pfx: UInt8) throws(CPUException) {
        let imm = Int(d.immediate & 0xFF)
        if pfx == SIMDPrefix.none {
            try mmxCheck()
            let s = try mmxSource(d)
            mmxTransition()
            var r: UInt64 = 0
            for i in 0..<4 { r |= ((s >> UInt64(((imm >> (2 * i)) & 3) * 16)) & 0xFFFF) << UInt64(i * 16) }
            setMMX(d.reg, r)
            return
        }
        try sseCheck()
        let s = try sseSource(d)
        switch pfx {
        case SIMDPrefix.p66:
            let x = u32(s)
            var r = SIMD4<UInt32>()
            for i in 0..<4 { r[i] = x[(imm >> (2 * i)) & 3] }
            setXMM(d.reg, v128(r))
        default:
            // F3: PSHUFHW shuffles the high four words, F2: PSHUFLW the low four.
            let x = u16(s)
            var r = x
            let base = pfx == SIMDPrefix.pF3 ? 4 : 0
            for i in 0..<4 { r[base + i] = x[base + ((imm >> (2 * i)) & 3)] }
            setXMM(d.reg, v128(r))
        }
    }

    /// SHUFPS: two lanes from the destination, two from the source; SHUFPD likewise.
    func shufps(_ d: InstructionRef, double: Bool) throws(CPUException) {
        try sseCheck()
        let b = try sseSource(d)
        let a = xmm(d.reg)
        let imm = Int(d.immediate & 0xFF)
        if double {
            setXMM(d.reg, V128(a[imm & 1], b[(imm >> 1) & 1]))
        } else {
            let x = u32(a), y = u32(b)
            setXMM(d.reg, v128(SIMD4<UInt32>(x[imm & 3], x[(imm >> 2) & 3], y[(imm >> 4) & 3], y[(imm >> 6) & 3])))
        }
    }

    /// PALIGNR: (destination:source) shifted right by imm8 bytes, the low half kept.
    func palignr(_ d: InstructionRef, mmx isMMX: Bool) throws(CPUException) {
        let count = Int(d.immediate & 0xFF)
        if isMMX {
            try mmxCheck()
            let s = try mmxSource(d)
            mmxTransition()
            let a = mmx(d.reg)
            // 16-byte concatenation a:s, shifted right by count bytes.
            let r: UInt64
            switch count {
            case 0: r = s
            case 1..<8: r = (s >> UInt64(count * 8)) | (a << UInt64(64 - count * 8))
            case 8: r = a
            case 9..<16: r = a >> UInt64((count - 8) * 8)
            default: r = 0
            }
            setMMX(d.reg, r)
            return
        }
        try sseCheck()
        let s = u8(try sseSource(d)), a = u8(xmm(d.reg))
        var r = SIMD16<UInt8>()
        for i in 0..<16 {
            let k = i + count
            if k < 16 { r[i] = s[k] } else if k < 32 { r[i] = a[k - 16] }
        }
        setXMM(d.reg, v128(r))
    }

    /// BLENDPS/BLENDPD/PBLENDW with an immediate mask.
    func blendImmediate(_ d: InstructionRef, _ op: UInt8) throws(CPUException) {
        try sseCheck()
        let b = try sseSource(d)
        let a = xmm(d.reg)
        let imm = Int(d.immediate & 0xFF)
        switch op {
        case 0x0C:
            var x = u32(a); let y = u32(b)
            for i in 0..<4 where imm & (1 << i) != 0 { x[i] = y[i] }
            setXMM(d.reg, v128(x))
        case 0x0D:
            setXMM(d.reg, V128(imm & 1 != 0 ? b[0] : a[0], imm & 2 != 0 ? b[1] : a[1]))
        default:
            var x = u16(a); let y = u16(b)
            for i in 0..<8 where imm & (1 << i) != 0 { x[i] = y[i] }
            setXMM(d.reg, v128(x))
        }
    }

    /// SSE4.1 operations of the 0F38 map (66 prefix).
    func sse41Op38(_ d: InstructionRef, _ op: UInt8) throws(CPUException) {
        try sseCheck()
        switch op {
        case 0x10, 0x14, 0x15: // PBLENDVB, BLENDVPS, BLENDVPD: mask = sign bits of XMM0
            let b = try sseSource(d)
            let a = xmm(d.reg), m = xmm(0)
            var r = V128(0, 0)
            switch op {
            case 0x10:
                var x = u8(a); let y = u8(b), k = u8(m)
                for i in 0..<16 where k[i] & 0x80 != 0 { x[i] = y[i] }
                r = v128(x)
            case 0x14:
                var x = u32(a); let y = u32(b), k = u32(m)
                for i in 0..<4 where k[i] & 0x8000_0000 != 0 { x[i] = y[i] }
                r = v128(x)
            default:
                r = V128(m[0] >> 63 != 0 ? b[0] : a[0], m[1] >> 63 != 0 ? b[1] : a[1])
            }
            setXMM(d.reg, r)
        case 0x17: // PTEST: ZF = (a AND b) = 0, CF = (NOT a AND b) = 0; OF SF AF PF cleared
            let b = try sseSource(d)
            let a = xmm(d.reg)
            let and = a & b, andn = ~a & b
            var f: UInt64 = 0
            if and[0] | and[1] == 0 { f |= RFLAGS.zf }
            if andn[0] | andn[1] == 0 { f |= RFLAGS.cf }
            setFlags(f, mask: arithmeticFlagsMask)
        case 0x20...0x25, 0x30...0x35:
            try extendMove(d, op)
        case 0x2A: // MOVNTDQA
            setXMM(d.reg, try readMemory128(d, aligned: true))
        default:
            let b = try sseSource(d)
            setXMM(d.reg, sse41IntOp(op, xmm(d.reg), b))
        }
    }

    /// PMOVSX*/PMOVZX*: the low elements of the source, sign- or zero-extended.
    func extendMove(_ d: InstructionRef, _ op: UInt8) throws(CPUException) {
        let signed = op < 0x30
        let kind = op & 0xF
        // Source bytes read from memory: BW/WD/DQ 8, BD/WQ 4, BQ 2.
        let bytes = kind == 1 || kind == 4 ? 4 : (kind == 2 ? 2 : 8)
        let s = try sseSourceLow(d, bytes)
        let r: V128
        switch kind {
        case 0: // BW
            let x = u8(s).lowHalf
            r = signed ? v128(SIMD8<Int16>(truncatingIfNeeded: SIMD8<Int8>(truncatingIfNeeded: x)))
                       : v128(SIMD8<UInt16>(truncatingIfNeeded: x))
        case 1: // BD
            let x = u8(s).lowHalf.lowHalf
            r = signed ? v128(SIMD4<Int32>(truncatingIfNeeded: SIMD4<Int8>(truncatingIfNeeded: x)))
                       : v128(SIMD4<UInt32>(truncatingIfNeeded: x))
        case 2: // BQ
            let x = u8(s).lowHalf.lowHalf.lowHalf
            r = signed ? v128(SIMD2<Int64>(truncatingIfNeeded: SIMD2<Int8>(truncatingIfNeeded: x)))
                       : v128(SIMD2<UInt64>(truncatingIfNeeded: x))
        case 3: // WD
            let x = u16(s).lowHalf
            r = signed ? v128(SIMD4<Int32>(truncatingIfNeeded: SIMD4<Int16>(truncatingIfNeeded: x)))
                       : v128(SIMD4<UInt32>(truncatingIfNeeded: x))
        case 4: // WQ
            let x = u16(s).lowHalf.lowHalf
            r = signed ? v128(SIMD2<Int64>(truncatingIfNeeded: SIMD2<Int16>(truncatingIfNeeded: x)))
                       : v128(SIMD2<UInt64>(truncatingIfNeeded: x))
        default: // DQ
            let x = u32(s).lowHalf
            r = signed ? v128(SIMD2<Int64>(truncatingIfNeeded: SIMD2<Int32>(truncatingIfNeeded: x)))
                       : v128(SIMD2<UInt64>(truncatingIfNeeded: x))
        }
        setXMM(d.reg, r)
    }
}
