import MachineCore
import X86Decoder

/// CVT* conversions between integers, single and double precision (SDM Vol. 2A CVTPD2DQ to
/// CVTTSS2SI; Vol. 1 §11.5.2.1 for the integer indefinite).
extension X86CPU {
    func simdConvert(_ d: InstructionRef, _ op: UInt8, _ pfx: UInt8) throws(CPUException) {
        let P = SIMDPrefix.self
        let R = xmmPointer(XMMFile.result), B = xmmPointer(XMMFile.source)
        switch (op, pfx) {
        case (0x2A, P.none), (0x2A, P.p66): // CVTPI2PS / CVTPI2PD: mm/m64 source
            try sseCheck()
            let s: UInt64
            if d.hasMemory {
                s = try readMemoryOperand(d, 8)
            } else {
                try mmxCheck()
                mmxTransition()
                s = mmx(d.rm)
            }
            B.storeBytes(of: V128(s, 0), as: V128.self)
            R.storeBytes(of: xmm(d.reg), as: V128.self)
            let double = pfx == P.p66
            let flags = withGuestMXCSR {
                for i in 0..<2 {
                    let v = B.load(fromByteOffset: i * 4, as: Int32.self)
                    if double {
                        R.storeBytes(of: Double(v), toByteOffset: i * 8, as: Double.self)
                    } else {
                        R.storeBytes(of: Float(v), toByteOffset: i * 4, as: Float.self)
                    }
                }
            }
            try simdFloatFlags(flags)
            setXMM(d.reg, R.load(as: V128.self))
        case (0x2A, _): // CVTSI2SS / CVTSI2SD: r/m32 or r/m64
            try sseCheck()
            let wide = opBytes(d) == 8
            let v = try readRM(d, wide ? 8 : 4)
            B.storeBytes(of: wide ? Int64(bitPattern: v) : Int64(Int32(truncatingIfNeeded: v)), as: Int64.self)
            R.storeBytes(of: xmm(d.reg), as: V128.self)
            let double = pfx == P.pF2
            let flags = withGuestMXCSR {
                let x = B.load(as: Int64.self)
                if double { R.storeBytes(of: Double(x), as: Double.self) } else { R.storeBytes(of: Float(x), as: Float.self) }
            }
            try simdFloatFlags(flags)
            setXMM(d.reg, R.load(as: V128.self))
        case (0x2C, P.none), (0x2D, P.none), (0x2C, P.p66), (0x2D, P.p66): // CVT(T)PS2PI / CVT(T)PD2PI
            try sseCheck()
            try mmxCheck()
            let double = pfx == P.p66
            let s = double ? try sseSource(d) : try sseSourceLow(d, 8)
            var flags: UInt32 = 0
            let lane0 = floatToInteger(double ? s[0] : s[0] & 0xFFFF_FFFF, double, wide: false, truncate: op == 0x2C, &flags)
            let lane1 = floatToInteger(double ? s[1] : s[0] >> 32, double, wide: false, truncate: op == 0x2C, &flags)
            try simdFloatFlags(flags)
            mmxTransition()
            setMMX(d.reg, lane0 | lane1 << 32)
        case (0x2C, _), (0x2D, _): // CVT(T)SS2SI / CVT(T)SD2SI
            try sseCheck()
            let double = pfx == P.pF2
            let s = try sseSourceLow(d, double ? 8 : 4)
            let wide = opBytes(d) == 8
            var flags: UInt32 = 0
            let v = floatToInteger(double ? s[0] : s[0] & 0xFFFF_FFFF, double, wide: wide, truncate: op == 0x2C, &flags)
            try simdFloatFlags(flags)
            setReg(d.reg, wide ? 8 : 4, v)
        case (0x5A, _):
            try sseCheck()
            // NP CVTPS2PD (m64 source), 66 CVTPD2PS, F3 CVTSS2SD, F2 CVTSD2SS.
            let s: V128
            switch pfx {
            case P.none: s = try sseSourceLow(d, 8)
            case P.p66: s = try sseSource(d)
            case P.pF3: s = try sseSourceLow(d, 4)
            default: s = try sseSourceLow(d, 8)
            }
            B.storeBytes(of: s, as: V128.self)
            R.storeBytes(of: pfx == P.none || pfx == P.p66 ? V128(0, 0) : xmm(d.reg), as: V128.self)
            let flags = withGuestMXCSR {
                switch pfx {
                case P.none:
                    for i in 0..<2 { R.storeBytes(of: Double(B.load(fromByteOffset: i * 4, as: Float.self)), toByteOffset: i * 8, as: Double.self) }
                case P.p66:
                    for i in 0..<2 { R.storeBytes(of: Float(B.load(fromByteOffset: i * 8, as: Double.self)), toByteOffset: i * 4, as: Float.self) }
                case P.pF3:
                    R.storeBytes(of: Double(B.load(as: Float.self)), as: Double.self)
                default:
                    R.storeBytes(of: Float(B.load(as: Double.self)), as: Float.self)
                }
            }
            try simdFloatFlags(flags)
            setXMM(d.reg, R.load(as: V128.self))
        case (0x5B, P.none): // CVTDQ2PS
            try sseCheck()
            B.storeBytes(of: try sseSource(d), as: V128.self)
            let flags = withGuestMXCSR {
                for i in 0..<4 { R.storeBytes(of: Float(B.load(fromByteOffset: i * 4, as: Int32.self)), toByteOffset: i * 4, as: Float.self) }
            }
            try simdFloatFlags(flags)
            setXMM(d.reg, R.load(as: V128.self))
        case (0x5B, _): // 66 CVTPS2DQ, F3 CVTTPS2DQ
            try sseCheck()
            let s = u32(try sseSource(d))
            var flags: UInt32 = 0
            var r = SIMD4<UInt32>()
            for i in 0..<4 {
                r[i] = UInt32(truncatingIfNeeded: floatToInteger(UInt64(s[i]), false, wide: false, truncate: pfx == P.pF3, &flags))
            }
            try simdFloatFlags(flags)
            setXMM(d.reg, v128(r))
        case (0xE6, P.pF3): // CVTDQ2PD: exact
            try sseCheck()
            let s = i32(try sseSourceLow(d, 8))
            setXMM(d.reg, V128(Double(s[0]).bitPattern, Double(s[1]).bitPattern))
        case (0xE6, _): // 66 CVTTPD2DQ, F2 CVTPD2DQ: upper half zeroed
            try sseCheck()
            let s = try sseSource(d)
            var flags: UInt32 = 0
            let lo = floatToInteger(s[0], true, wide: false, truncate: pfx == P.p66, &flags)
            let hi = floatToInteger(s[1], true, wide: false, truncate: pfx == P.p66, &flags)
            try simdFloatFlags(flags)
            setXMM(d.reg, V128(lo | hi << 32, 0))
        default:
            throw unimplementedInstruction(d)
        }
    }

    /// A float lane to a 32- or 64-bit integer, rounded by MXCSR.RC or truncated. NaNs and
    /// out-of-range values give the integer indefinite (the most negative value) and IE;
    /// inexact results PE. DAZ applies; conversions report no DE.
    func floatToInteger(_ bits: UInt64, _ double: Bool, wide: Bool, truncate: Bool, _ flags: inout UInt32) -> UInt64 {
        let x = denormalsAreZeros(bits, double, &flags, reportDenormal: false)
        let indefinite: UInt64 = wide ? 0x8000_0000_0000_0000 : 0x8000_0000
        if fpIsNaN(x, double) { flags |= MXCSR.ie; return indefinite }
        let v = fpValue(x, double)
        let r = v.rounded(truncate ? .towardZero : roundingRule((mxcsr & MXCSR.rcMask) >> MXCSR.rcShift))
        let result: UInt64
        if wide {
            guard r >= -9_223_372_036_854_775_808.0 && r < 9_223_372_036_854_775_808.0 else { flags |= MXCSR.ie; return indefinite }
            result = UInt64(bitPattern: Int64(r))
        } else {
            guard r >= -2_147_483_648.0 && r <= 2_147_483_647.0 else { flags |= MXCSR.ie; return indefinite }
            result = UInt64(UInt32(bitPattern: Int32(r)))
        }
        if r != v { flags |= MXCSR.pe }
        return result
    }
}
