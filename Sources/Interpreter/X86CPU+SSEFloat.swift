import Glibc
import MachineCore
import X86Decoder

/// The host's floating-point environment when the process started (x87 and MXCSR defaults);
/// restored after every guest SIMD floating-point operation.
let hostDefaultFloatEnvironment: fenv_t = {
    var e = fenv_t()
    fegetenv(&e)
    return e
}()

/// SSE/SSE2/SSE3/SSE4.1 floating-point arithmetic, compares and rounding (SDM Vol. 1 §10.4,
/// §11.4, §11.5; Vol. 2 per-instruction pages).
///
/// Add, subtract, multiply, divide, square root and the float/float and integer-to-float
/// conversions run on the host's own SSE unit (the interpreter's host is x86-64) under the
/// guest's MXCSR rounding control, FTZ and DAZ, with every exception masked and the flags
/// cleared; the flags the host raised are then the guest's. That gives bit-exact results,
/// NaN propagation (SDM Vol. 1 Table 4-7) and flags by construction. Operands and results
/// pass through the register file's memory between the environment switches, so the
/// compiler cannot move the arithmetic across the fesetenv/fegetenv calls.
/// Minimum/maximum, compares, float-to-integer conversions and ROUND* are computed here.
extension X86CPU {
    // MARK: host environment

    /// Runs `body` under the guest's rounding control, FTZ and DAZ with all exceptions masked
    /// and no flags set; returns the MXCSR exception flags the host raised meanwhile.
    @inline(__always)
    func withGuestMXCSR(rounding: UInt32? = nil, _ body: () -> Void) -> UInt32 {
        var env = hostDefaultFloatEnvironment
        var control = mxcsr & (MXCSR.rcMask | MXCSR.ftz | MXCSR.daz)
        if let rc = rounding { control = (control & ~MXCSR.rcMask) | (rc << MXCSR.rcShift) }
        env.__mxcsr = control | MXCSR.masks
        fesetenv(&env)
        body()
        var out = fenv_t()
        fegetenv(&out)
        var host = hostDefaultFloatEnvironment
        fesetenv(&host)
        return out.__mxcsr & MXCSR.flags
    }

    /// Records exception flags. An unmasked exception raises #XM (or #UD) and the destination
    /// is left alone; an unmasked pre-computation exception (IE, DE, ZE) reports only those
    /// (SDM Vol. 1 §11.5.2).
    @inline(__always)
    func simdFloatFlags(_ flags: UInt32) throws(CPUException) {
        if flags == 0 { return }
        let unmasked = flags & ~(mxcsr >> MXCSR.maskShift) & MXCSR.flags
        if unmasked == 0 { mxcsr |= flags; return }
        let pre = flags & (MXCSR.ie | MXCSR.de | MXCSR.ze)
        mxcsr |= pre & unmasked != 0 ? pre : flags
        throw simdFloatingPointException()
    }

    // MARK: arithmetic (0F 51-5F, 7C, 7D, D0)

    func simdFloatArithmetic(_ d: InstructionRef, _ op: UInt8, _ pfx: UInt8) throws(CPUException) {
        try sseCheck()
        let P = SIMDPrefix.self
        let horizontal = op == 0x7C || op == 0x7D || op == 0xD0
        let double = horizontal ? pfx == P.p66 : (pfx == P.p66 || pfx == P.pF2)
        let scalar = !horizontal && (pfx == P.pF3 || pfx == P.pF2)
        let count = scalar ? 1 : (double ? 2 : 4)
        let b = scalar ? try sseSourceLow(d, double ? 8 : 4) : try sseSource(d)
        let a = xmm(d.reg)
        let A = xmmPointer(XMMFile.temp), B = xmmPointer(XMMFile.source), R = xmmPointer(XMMFile.result)
        A.storeBytes(of: a, as: V128.self)
        B.storeBytes(of: b, as: V128.self)
        R.storeBytes(of: a, as: V128.self)
        var flags: UInt32 = 0
        switch op {
        case 0x5D, 0x5F:
            for i in 0..<count { minMax(i, double, isMax: op == 0x5F, &flags) }
        case 0x52, 0x53:
            approximate(count, reciprocalSqrt: op == 0x52)
        default:
            xmmPointer(XMMFile.extraFlags).storeBytes(of: 0, as: UInt32.self)
            flags = withGuestMXCSR {
                hostArithmetic(op, A, B, R, count, double: double)
            }
            flags |= xmmPointer(XMMFile.extraFlags).load(as: UInt32.self)
        }
        try simdFloatFlags(flags)
        setXMM(d.reg, R.load(as: V128.self))
    }

    /// The host arithmetic on lanes of A (destination) and B (source) into R. Every lane
    /// operation is one out-of-line kernel (HostFloatKernel), so the optimizer cannot fuse
    /// an add and a subtract into one instruction on a negated operand (LLVM may rewrite
    /// x - y as x + (-y), which changes the sign of a NaN result).
    @inline(__always)
    func hostArithmetic(_ op: UInt8, _ A: UnsafeMutableRawPointer, _ B: UnsafeMutableRawPointer,
                        _ R: UnsafeMutableRawPointer, _ count: Int, double: Bool) {
        let w = double ? 8 : 4
        let K = HostFloatKernel.self
        switch op {
        case 0x51:
            // NaNs and negative operands are answered here from the bit patterns (a float
            // compare would raise DE for a denormal, and an unoptimized build may lower
            // squareRoot() to the C library's sqrtf, whose error path raises flags of its own).
            for i in 0..<count {
                let x = laneBits(B, i, double)
                let negative = x & fpSignBit(double) != 0
                let zeroLike = x & ~fpSignBit(double) == 0 || (fpIsDenormal(x, double) && mxcsr & MXCSR.daz != 0)
                if fpIsNaN(x, double) {
                    setLaneBits(R, i, double, x | fpQuietBit(double))
                    if fpIsSNaN(x, double) { xmmPointer(XMMFile.extraFlags).storeBytes(of: MXCSR.ie, as: UInt32.self) }
                } else if negative && !zeroLike {
                    // The default NaN (QNaN indefinite) and IE alone (SDM Vol. 2B SQRTPS).
                    setLaneBits(R, i, double, double ? 0xFFF8_0000_0000_0000 : 0xFFC0_0000)
                    xmmPointer(XMMFile.extraFlags).storeBytes(of: MXCSR.ie, as: UInt32.self)
                } else {
                    K.run(K.sqrt, double, B + i &* w, B + i &* w, R + i &* w)
                }
            }
        case 0x58, 0x59, 0x5C, 0x5E:
            let k = op == 0x58 ? K.add : (op == 0x59 ? K.mul : (op == 0x5C ? K.sub : K.div))
            for i in 0..<count { K.run(k, double, A + i &* w, B + i &* w, R + i &* w) }
        case 0x7C, 0x7D: // HADD/HSUB: pairs of the destination, then pairs of the source
            let k = op == 0x7C ? K.add : K.sub
            let h = count / 2
            for i in 0..<h {
                K.run(k, double, A + 2 &* i &* w, A + (2 &* i &+ 1) &* w, R + i &* w)
                K.run(k, double, B + 2 &* i &* w, B + (2 &* i &+ 1) &* w, R + (h &+ i) &* w)
            }
        case 0xD0: // ADDSUB: even lanes subtract, odd lanes add
            for i in stride(from: 0, to: count, by: 2) {
                K.run(K.sub, double, A + i &* w, B + i &* w, R + i &* w)
                K.run(K.add, double, A + (i &+ 1) &* w, B + (i &+ 1) &* w, R + (i &+ 1) &* w)
            }
        default: break
        }
    }

    // MARK: lanes as bit patterns

    @inline(__always) func laneBits(_ p: UnsafeMutableRawPointer, _ i: Int, _ double: Bool) -> UInt64 {
        double ? p.load(fromByteOffset: i &* 8, as: UInt64.self) : UInt64(p.load(fromByteOffset: i &* 4, as: UInt32.self))
    }

    @inline(__always) func setLaneBits(_ p: UnsafeMutableRawPointer, _ i: Int, _ double: Bool, _ v: UInt64) {
        if double {
            p.storeBytes(of: v, toByteOffset: i &* 8, as: UInt64.self)
        } else {
            p.storeBytes(of: UInt32(truncatingIfNeeded: v), toByteOffset: i &* 4, as: UInt32.self)
        }
    }

    /// DAZ: a denormal operand reads as a zero of its sign. Otherwise a denormal operand
    /// raises DE in `flags` when `reportDenormal` is set.
    @inline(__always)
    func denormalsAreZeros(_ x: UInt64, _ double: Bool, _ flags: inout UInt32, reportDenormal: Bool = true) -> UInt64 {
        guard fpIsDenormal(x, double) else { return x }
        if mxcsr & MXCSR.daz != 0 { return x & fpSignBit(double) }
        if reportDenormal { flags |= MXCSR.de }
        return x
    }

    /// MINPS/MAXPS lane: the second operand when either is a NaN (IE) or both are zeros.
    func minMax(_ i: Int, _ double: Bool, isMax: Bool, _ flags: inout UInt32) {
        let A = xmmPointer(XMMFile.temp), B = xmmPointer(XMMFile.source), R = xmmPointer(XMMFile.result)
        var f: UInt32 = 0
        let x = denormalsAreZeros(laneBits(A, i, double), double, &f)
        let y = denormalsAreZeros(laneBits(B, i, double), double, &f)
        let result: UInt64
        if fpIsNaN(x, double) || fpIsNaN(y, double) {
            // A NaN operand outranks a denormal one (SDM Vol. 1 §4.9.2): IE only.
            f = MXCSR.ie
            result = y
        } else {
            let u = fpValue(x, double), v = fpValue(y, double)
            result = (isMax ? u > v : u < v) ? x : y
        }
        flags |= f
        setLaneBits(R, i, double, result)
    }

    /// RCPPS/RSQRTPS (single precision only): the exact value rounded, which is within the
    /// architectural relative error of 1.5 * 2^-12. Denormal inputs count as zeros and tiny
    /// results flush to zero, as the hardware tables do; no exceptions are raised.
    func approximate(_ count: Int, reciprocalSqrt: Bool) {
        let B = xmmPointer(XMMFile.source), R = xmmPointer(XMMFile.result)
        for i in 0..<count {
            var x = UInt32(truncatingIfNeeded: laneBits(B, i, false))
            if fpIsDenormal(UInt64(x), false) { x &= 0x8000_0000 }
            let v = Float(bitPattern: x)
            var r: Float
            if v.isNaN {
                r = Float(bitPattern: x | 0x0040_0000)
            } else if reciprocalSqrt {
                r = v < 0 ? Float(bitPattern: 0xFFC0_0000) : 1 / v.squareRoot()
            } else {
                r = 1 / v
            }
            if r.isSubnormal { r = r.sign == .minus ? -0.0 : 0.0 }
            setLaneBits(R, i, false, UInt64(r.bitPattern))
        }
    }

    // MARK: compares (0F C2, 0F 2E/2F)

    /// The CMPPS predicate (imm8 bits 2:0) on one lane pair; IE for SNaN operands, and for
    /// QNaN operands of the signaling predicates LT, LE, NLT, NLE (SDM Vol. 2A CMPPS, Table 3-1).
    func fpPredicate(_ a: UInt64, _ b: UInt64, _ double: Bool, _ predicate: Int, _ flags: inout UInt32) -> Bool {
        let unordered = fpIsNaN(a, double) || fpIsNaN(b, double)
        // A NaN operand outranks a denormal one (SDM Vol. 1 §4.9.2): no DE then.
        let x = denormalsAreZeros(a, double, &flags, reportDenormal: !unordered)
        let y = denormalsAreZeros(b, double, &flags, reportDenormal: !unordered)
        let signaling = predicate == 1 || predicate == 2 || predicate == 5 || predicate == 6
        if unordered && (signaling || fpIsSNaN(x, double) || fpIsSNaN(y, double)) { flags |= MXCSR.ie }
        let u = fpValue(x, double), v = fpValue(y, double)
        switch predicate {
        case 0: return !unordered && u == v
        case 1: return !unordered && u < v
        case 2: return !unordered && u <= v
        case 3: return unordered
        case 4: return unordered || u != v
        case 5: return unordered || !(u < v)
        case 6: return unordered || !(u <= v)
        default: return !unordered
        }
    }

    /// CMPPS/CMPPD/CMPSS/CMPSD: all-ones or all-zeros lanes.
    func simdFloatCompare(_ d: InstructionRef, _ pfx: UInt8) throws(CPUException) {
        try sseCheck()
        let P = SIMDPrefix.self
        let double = pfx == P.p66 || pfx == P.pF2
        let scalar = pfx == P.pF3 || pfx == P.pF2
        let count = scalar ? 1 : (double ? 2 : 4)
        let b = scalar ? try sseSourceLow(d, double ? 8 : 4) : try sseSource(d)
        let A = xmmPointer(XMMFile.temp), B = xmmPointer(XMMFile.source), R = xmmPointer(XMMFile.result)
        A.storeBytes(of: xmm(d.reg), as: V128.self)
        B.storeBytes(of: b, as: V128.self)
        R.storeBytes(of: xmm(d.reg), as: V128.self)
        var flags: UInt32 = 0
        let predicate = Int(d.immediate & 7)
        for i in 0..<count {
            let t = fpPredicate(laneBits(A, i, double), laneBits(B, i, double), double, predicate, &flags)
            setLaneBits(R, i, double, t ? ~0 : 0)
        }
        try simdFloatFlags(flags)
        setXMM(d.reg, R.load(as: V128.self))
    }

    /// COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF from the compare (unordered 111, less 001,
    /// equal 100, greater 000); OF, SF, AF cleared (SDM Vol. 2A COMISS).
    func simdCompareFlags(_ d: InstructionRef, double: Bool, signaling: Bool) throws(CPUException) {
        try sseCheck()
        let b = try sseSourceLow(d, double ? 8 : 4)
        let mask: UInt64 = double ? ~0 : 0xFFFF_FFFF
        var flags: UInt32 = 0
        let a = xmm(d.reg)[0] & mask, c = b[0] & mask
        let unordered = fpIsNaN(a, double) || fpIsNaN(c, double)
        let x = denormalsAreZeros(a, double, &flags, reportDenormal: !unordered)
        let y = denormalsAreZeros(c, double, &flags, reportDenormal: !unordered)
        var f: UInt64
        if fpIsNaN(x, double) || fpIsNaN(y, double) {
            if signaling || fpIsSNaN(x, double) || fpIsSNaN(y, double) { flags |= MXCSR.ie }
            f = RFLAGS.zf | RFLAGS.pf | RFLAGS.cf
        } else {
            let u = fpValue(x, double), v = fpValue(y, double)
            f = u < v ? RFLAGS.cf : (u == v ? RFLAGS.zf : 0)
        }
        try simdFloatFlags(flags)
        setFlags(f, mask: arithmeticFlagsMask)
    }

    // MARK: ROUNDPS/PD/SS/SD (66 0F 3A 08-0B)

    func simdRound(_ d: InstructionRef, _ op: UInt8) throws(CPUException) {
        try sseCheck()
        let double = op & 1 != 0
        let scalar = op >= 0x0A
        let count = scalar ? 1 : (double ? 2 : 4)
        let b = scalar ? try sseSourceLow(d, double ? 8 : 4) : try sseSource(d)
        let B = xmmPointer(XMMFile.source), R = xmmPointer(XMMFile.result)
        B.storeBytes(of: b, as: V128.self)
        R.storeBytes(of: scalar ? xmm(d.reg) : b, as: V128.self)
        let imm = UInt32(d.immediate & 0xF)
        let rc = imm & 4 != 0 ? (mxcsr & MXCSR.rcMask) >> MXCSR.rcShift : imm & 3
        let rule = roundingRule(rc)
        var flags: UInt32 = 0
        for i in 0..<count {
            let x = denormalsAreZeros(laneBits(B, i, double), double, &flags, reportDenormal: false)
            var r = x
            if fpIsNaN(x, double) {
                if fpIsSNaN(x, double) { flags |= MXCSR.ie }
                r = x | fpQuietBit(double)
            } else {
                let v = fpValue(x, double)
                let t = v.rounded(rule)
                if t != v && imm & 8 == 0 { flags |= MXCSR.pe }
                r = double ? t.bitPattern : UInt64(Float(t).bitPattern)
            }
            setLaneBits(R, i, double, r)
        }
        try simdFloatFlags(flags)
        setXMM(d.reg, R.load(as: V128.self))
    }

    /// The rounding rule of an RC value (SDM Vol. 1 Table 4-8).
    @inline(__always) func roundingRule(_ rc: UInt32) -> FloatingPointRoundingRule {
        switch rc & 3 {
        case 0: return .toNearestOrEven
        case 1: return .down
        case 2: return .up
        default: return .towardZero
        }
    }

    // MARK: DPPS / DPPD (66 0F 3A 40/41)

    /// Products of the lanes selected by imm8[7:4], summed pairwise ((0+1)+(2+3)), written to
    /// the lanes selected by imm8[3:0], all in the guest's rounding (SDM Vol. 2A DPPS).
    func dotProduct(_ d: InstructionRef, double: Bool) throws(CPUException) {
        try sseCheck()
        let b = try sseSource(d)
        let A = xmmPointer(XMMFile.temp), B = xmmPointer(XMMFile.source), R = xmmPointer(XMMFile.result)
        A.storeBytes(of: xmm(d.reg), as: V128.self)
        B.storeBytes(of: b, as: V128.self)
        let imm = Int(d.immediate & 0xFF)
        let count = double ? 2 : 4, w = double ? 8 : 4
        let P = xmmPointer(XMMFile.products), S = xmmPointer(XMMFile.sums)
        let K = HostFloatKernel.self
        let flags = withGuestMXCSR {
            for i in 0..<count {
                if imm & (16 << i) != 0 {
                    K.run(K.mul, double, A + i * w, B + i * w, P + i * w)
                } else {
                    setLaneBits(P, i, double, 0)
                }
            }
            K.run(K.add, double, P, P + w, S)
            if count == 4 {
                K.run(K.add, double, P + 2 * w, P + 3 * w, S + w)
                K.run(K.add, double, S, S + w, S)
            }
        }
        try simdFloatFlags(flags)
        let sum = laneBits(S, 0, double)
        for i in 0..<count { setLaneBits(R, i, double, imm & (1 << i) != 0 ? sum : 0) }
        setXMM(d.reg, R.load(as: V128.self))
    }
}

/// Single host floating-point operations, each out of line: memory in, memory out.
enum HostFloatKernel {
    static let add = 0, sub = 1, mul = 2, div = 3, sqrt = 4

    @inline(__always)
    static func run(_ k: Int, _ double: Bool, _ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        switch (k, double) {
        case (0, false): addF(a, b, r)
        case (1, false): subF(a, b, r)
        case (2, false): mulF(a, b, r)
        case (3, false): divF(a, b, r)
        case (4, false): sqrtF(b, r)
        case (0, true): addD(a, b, r)
        case (1, true): subD(a, b, r)
        case (2, true): mulD(a, b, r)
        case (3, true): divD(a, b, r)
        default: sqrtD(b, r)
        }
    }

    @inline(never) static func addF(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        r.storeBytes(of: a.load(as: Float.self) + b.load(as: Float.self), as: Float.self)
    }
    @inline(never) static func subF(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        r.storeBytes(of: a.load(as: Float.self) - b.load(as: Float.self), as: Float.self)
    }
    @inline(never) static func mulF(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        r.storeBytes(of: a.load(as: Float.self) * b.load(as: Float.self), as: Float.self)
    }
    @inline(never) static func divF(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        r.storeBytes(of: a.load(as: Float.self) / b.load(as: Float.self), as: Float.self)
    }
    @inline(never) static func sqrtF(_ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        r.storeBytes(of: b.load(as: Float.self).squareRoot(), as: Float.self)
    }
    @inline(never) static func addD(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        r.storeBytes(of: a.load(as: Double.self) + b.load(as: Double.self), as: Double.self)
    }
    @inline(never) static func subD(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        r.storeBytes(of: a.load(as: Double.self) - b.load(as: Double.self), as: Double.self)
    }
    @inline(never) static func mulD(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        r.storeBytes(of: a.load(as: Double.self) * b.load(as: Double.self), as: Double.self)
    }
    @inline(never) static func divD(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        r.storeBytes(of: a.load(as: Double.self) / b.load(as: Double.self), as: Double.self)
    }
    @inline(never) static func sqrtD(_ b: UnsafeMutableRawPointer, _ r: UnsafeMutableRawPointer) {
        r.storeBytes(of: b.load(as: Double.self).squareRoot(), as: Double.self)
    }
}

// MARK: IEEE bit-pattern helpers (single when `double` is false)

@inline(__always) func fpSignBit(_ double: Bool) -> UInt64 { double ? 1 << 63 : 1 << 31 }
@inline(__always) func fpQuietBit(_ double: Bool) -> UInt64 { double ? 1 << 51 : 1 << 22 }

@inline(__always) func fpIsNaN(_ x: UInt64, _ double: Bool) -> Bool {
    double ? x & 0x7FFF_FFFF_FFFF_FFFF > 0x7FF0_0000_0000_0000 : x & 0x7FFF_FFFF > 0x7F80_0000
}

@inline(__always) func fpIsSNaN(_ x: UInt64, _ double: Bool) -> Bool { fpIsNaN(x, double) && x & fpQuietBit(double) == 0 }

@inline(__always) func fpIsDenormal(_ x: UInt64, _ double: Bool) -> Bool {
    double ? x & 0x7FF0_0000_0000_0000 == 0 && x & 0x000F_FFFF_FFFF_FFFF != 0
           : x & 0x7F80_0000 == 0 && x & 0x007F_FFFF != 0
}

/// The lane's value as a Double (exact for single precision; not for NaNs).
@inline(__always) func fpValue(_ x: UInt64, _ double: Bool) -> Double {
    double ? Double(bitPattern: x) : Double(Float(bitPattern: UInt32(truncatingIfNeeded: x)))
}
