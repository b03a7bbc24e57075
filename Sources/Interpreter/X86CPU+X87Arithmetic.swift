import MachineCore
import X86Decoder

/// x87 arithmetic, comparison and the D9 E0-FF group except the transcendentals
/// (SDM Vol. 2A, the F* instruction pages; Vol. 1 §8.3).
extension X86CPU {
    /// The comparison flavours: FCOM/FCOMI signal IE for any NaN, FUCOM/FUCOMI only for SNaNs.
    enum X87CompareKind { case ordered, unordered }

    // MARK: basic arithmetic

    /// The binary operation by ModRM reg field: 0 add, 1 multiply, 4 subtract (a - b),
    /// 5 reverse subtract (b - a), 6 divide (a / b), 7 reverse divide (b / a).
    /// Precision control applies (SDM Vol. 1 §8.1.5.2).
    @inline(__always)
    func x87Binary(_ kind: Int, _ a: X87Register, _ b: X87Register, _ env: inout X87Env) -> X87Register {
        let format = X87Format.registers(pc: x87.fcw >> FCW.pcShift)
        switch kind {
        case 0: return X87Math.add(a, b, format, &env)
        case 1: return X87Math.multiply(a, b, format, &env)
        case 4: return x87Subtract(a, b, format, &env)
        case 5: return x87Subtract(b, a, format, &env)
        case 6: return X87Math.divide(a, b, format, &env)
        default: return X87Math.divide(b, a, format, &env)
        }
    }

    @inline(__always)
    func x87Subtract(_ a: X87Register, _ b: X87Register, _ format: X87Format, _ env: inout X87Env) -> X87Register {
        if (a.isSpecial || b.isSpecial), let r = X87Math.specialOperands(a, b, &env) { return r }
        return X87Math.add(a, b.negated, format, &env)
    }

    /// Writes an arithmetic result unless an unmasked IE, DE or ZE suppresses it (unmasked
    /// OE/UE/PE still deliver the, possibly exponent-wrapped, result: SDM Vol. 1 §4.9.2).
    @inline(__always)
    func x87Deliver(_ r: X87Register, to i: Int, _ env: X87Env, pop: Bool) {
        var env = env
        env.applyDenormalStop()
        x87Raise(env.flags)
        if env.flags & ~env.masks & (FSW.ie | FSW.de | FSW.ze) != 0 { return }
        setST(i, r)
        setC1(env.roundedUp)
        if pop { x87Pop() }
    }

    /// D8/DC/DA/DE with a memory operand: ST(0) op m, or the comparisons.
    func x87ArithmeticMemory(_ r: Int, _ source: (X87Register, Bool)) throws(CPUException) {
        var env = X87Env(fcw: x87.fcw)
        // A denormal single/double operand is DE (it widens to a normal extended value),
        // unless ST(0) is a NaN or unsupported, which take precedence, or FDIVR divides it by
        // a zero ST(0): divide-by-zero outranks denormal (SDM Vol. 1 §8.7, and the host CPU
        // reports ZE alone — found by the random differential runner).
        let dividesByZero = r == 7 && !stIsEmpty(0) && st(0).isZero
        if source.1 && !stIsEmpty(0) && !st(0).isNaN && !st(0).isUnsupported && !dividesByZero {
            env.flags |= FSW.de
            if !env.masked(FSW.de) && r != 2 && r != 3 { x87Raise(env.flags); return }
        }
        if r == 2 || r == 3 {
            x87CompareWith(source.0, kind: .ordered, pops: r == 3 ? 1 : 0, eflags: false, env: env)
            return
        }
        if stIsEmpty(0) {
            if x87StackUnderflow() { setST(0, .indefinite) }
            return
        }
        let result = x87Binary(r, st(0), source.0, &env)
        x87Deliver(result, to: 0, env, pop: false)
    }

    /// D8/DC/DE register forms: ST(destination) = ST(destination) op ST(source) with the
    /// operation numbered as seen from the destination.
    func x87ArithmeticRegister(_ kind: Int, destination: Int, source: Int, pop: Bool) {
        if stIsEmpty(0) || stIsEmpty(destination == 0 ? source : destination) {
            if x87StackUnderflow() {
                setST(destination, .indefinite)
                if pop { x87Pop() }
            }
            return
        }
        var env = X87Env(fcw: x87.fcw)
        let result = x87Binary(kind, st(destination), st(source), &env)
        x87Deliver(result, to: destination, env, pop: pop)
    }

    // MARK: comparisons (SDM Vol. 2A FCOM, FUCOM, FCOMI, FTST)

    /// Compares two values: -1, 0, 1, or nil when unordered; raises IE and DE as the kind says.
    func x87Compare(_ a: X87Register, _ b: X87Register, _ kind: X87CompareKind, _ env: inout X87Env) -> Int? {
        if a.isUnsupported || b.isUnsupported { env.flags |= FSW.ie; return nil }
        if a.isNaN || b.isNaN {
            if kind == .ordered || a.isSignalingNaN || b.isSignalingNaN { env.flags |= FSW.ie }
            return nil
        }
        if a.isDenormal || b.isDenormal { env.flags |= FSW.de }
        return X87Math.compareOrdered(a, b)
    }

    /// Sets C3/C2/C0 (or ZF/PF/CF with OF, SF, AF cleared for the FCOMI forms) from a result.
    func x87SetCompareResult(_ order: Int?, eflags: Bool) {
        if eflags {
            let f: UInt64
            switch order ?? 2 {
            case 2: f = RFLAGS.zf | RFLAGS.pf | RFLAGS.cf
            case -1: f = RFLAGS.cf
            case 0: f = RFLAGS.zf
            default: f = 0
            }
            setFlags(f, mask: RFLAGS.zf | RFLAGS.pf | RFLAGS.cf | RFLAGS.of | RFLAGS.sf | RFLAGS.af)
            setC1(false)
        } else {
            let c: UInt16
            switch order ?? 2 {
            case 2: c = FSW.c3 | FSW.c2 | FSW.c0
            case -1: c = FSW.c0
            case 0: c = FSW.c3
            default: c = 0
            }
            setConditionCodes(c, mask: FSW.conditionCodes)
        }
    }

    /// ST(0) compared with ST(i), popping `pops` times.
    func x87CompareRegisters(_ i: Int, kind: X87CompareKind, pops: Int, eflags: Bool) {
        if stIsEmpty(0) || stIsEmpty(i) {
            if x87StackUnderflow() {
                x87SetCompareResult(nil, eflags: eflags)
                for _ in 0..<pops { x87Pop() }
            }
            return
        }
        var env = X87Env(fcw: x87.fcw)
        let order = x87Compare(st(0), st(i), kind, &env)
        x87FinishCompare(order, env, pops: pops, eflags: eflags)
    }

    /// ST(0) compared with a memory operand (FCOM/FCOMP m, FICOM/FICOMP m).
    func x87CompareWith(_ b: X87Register, kind: X87CompareKind, pops: Int, eflags: Bool, env: X87Env) {
        if stIsEmpty(0) {
            if x87StackUnderflow() {
                x87SetCompareResult(nil, eflags: eflags)
                for _ in 0..<pops { x87Pop() }
            }
            return
        }
        var env = env
        let order = x87Compare(st(0), b, kind, &env)
        x87FinishCompare(order, env, pops: pops, eflags: eflags)
    }

    /// An unmasked IE leaves the condition codes (or EFLAGS) and the stack as they were (SDM
    /// Vol. 2A FCOM "Flags not set if unmasked invalid-arithmetic-operand exception").
    func x87FinishCompare(_ order: Int?, _ env: X87Env, pops: Int, eflags: Bool) {
        x87Raise(env.flags)
        if env.flags & ~env.masks & FSW.ie != 0 { return }
        x87SetCompareResult(order, eflags: eflags)
        if !eflags { setC1(false) }
        // An unmasked DE still reports the comparison but ends the instruction before the pops.
        if env.flags & ~env.masks & FSW.de != 0 { return }
        for _ in 0..<pops { x87Pop() }
    }

    // MARK: D9 E0-FF

    func x87Miscellaneous(_ d: InstructionRef, _ modrm: UInt8) throws(CPUException) {
        switch modrm {
        case 0xE0, 0xE1: // FCHS, FABS: sign only, any operand
            guard !stIsEmpty(0) else { if x87StackUnderflow() { setST(0, .indefinite) }; return }
            let a = st(0)
            setST(0, modrm == 0xE0 ? a.negated : X87Register(significand: a.significand, signExponent: a.signExponent & 0x7FFF))
            setC1(false)
        case 0xE4: // FTST
            guard !stIsEmpty(0) else {
                if x87StackUnderflow() { x87SetCompareResult(nil, eflags: false) }
                return
            }
            x87CompareWith(.zero(false), kind: .ordered, pops: 0, eflags: false, env: X87Env(fcw: x87.fcw))
        case 0xE5: x87Examine()
        case 0xE8...0xEE: x87LoadConstant(modrm)
        case 0xF0, 0xF1, 0xF2, 0xF3, 0xF9, 0xFB, 0xFE, 0xFF: try x87Transcendental(d, modrm)
        case 0xF4: x87Extract()
        case 0xF5: x87PartialRemainder(ieee: true)
        case 0xF6: setX87Top(x87Top &- 1); setC1(false)  // FDECSTP
        case 0xF7: setX87Top(x87Top &+ 1); setC1(false)  // FINCSTP
        case 0xF8: x87PartialRemainder(ieee: false)
        case 0xFA: x87Unary { a, env in X87Math.squareRoot(a, X87Format.registers(pc: self.x87.fcw >> FCW.pcShift), &env) }
        case 0xFC: x87Unary { a, env in X87Math.roundToIntegral(a, &env) }
        case 0xFD: x87Scale()
        default: throw unimplementedInstruction(d)
        }
    }

    /// ST(0) = f(ST(0)).
    @inline(__always)
    func x87Unary(_ f: (X87Register, inout X87Env) -> X87Register) {
        guard !stIsEmpty(0) else { if x87StackUnderflow() { setST(0, .indefinite) }; return }
        var env = X87Env(fcw: x87.fcw)
        let r = f(st(0), &env)
        x87Deliver(r, to: 0, env, pop: false)
    }

    /// FXAM: C1 = sign; C3 C2 C0 = class (SDM Vol. 2A FXAM, "FXAM Results"): unsupported 000,
    /// NaN 001, normal 010, infinity 011, zero 100, empty 101, denormal 110.
    func x87Examine() {
        let a = st(0)
        var c: UInt16
        if stIsEmpty(0) { c = FSW.c3 | FSW.c0 }
        else if a.isUnsupported { c = 0 }
        else if a.isNaN { c = FSW.c0 }
        else if a.isInfinity { c = FSW.c2 | FSW.c0 }
        else if a.isZero { c = FSW.c3 }
        else if a.isDenormal { c = FSW.c3 | FSW.c2 }
        else { c = FSW.c2 }
        if a.sign { c |= FSW.c1 }
        setConditionCodes(c, mask: FSW.conditionCodes)
    }

    /// FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ. The irrational constants are held
    /// to more than 64 bits and rounded by RC (SDM Vol. 1 §8.3.9): these are their
    /// round-to-nearest significands and the direction the rounding went.
    func x87LoadConstant(_ modrm: UInt8) {
        if !stIsEmpty(7) { x87StackOverflow(); return }
        var v: X87Register
        // nearestRoundedUp: the nearest value is above the exact one (directed rounding
        // toward zero or down takes one unit off), else below (rounding up adds one).
        var nearestRoundedUp = false
        var irrational = true
        switch modrm {
        case 0xE8: v = X87Register(significand: 1 << 63, signExponent: 0x3FFF); irrational = false
        case 0xE9: v = X87Register(significand: 0xD49A_784B_CD1B_8AFE, signExponent: 0x4000)       // log2(10)
        case 0xEA: v = X87Register(significand: 0xB8AA_3B29_5C17_F0BC, signExponent: 0x3FFF); nearestRoundedUp = true // log2(e)
        case 0xEB: v = X87Register(significand: 0xC90F_DAA2_2168_C235, signExponent: 0x4000); nearestRoundedUp = true // pi
        case 0xEC: v = X87Register(significand: 0x9A20_9A84_FBCF_F799, signExponent: 0x3FFD); nearestRoundedUp = true // log10(2)
        case 0xED: v = X87Register(significand: 0xB172_17F7_D1CF_79AC, signExponent: 0x3FFE); nearestRoundedUp = true // ln(2)
        default: v = .zero(false); irrational = false
        }
        if irrational {
            let rc = (x87.fcw >> FCW.rcShift) & 3
            if nearestRoundedUp && (rc == X87Rounding.down || rc == X87Rounding.towardZero) {
                v.significand -= 1
            } else if !nearestRoundedUp && rc == X87Rounding.up {
                v.significand += 1
            }
        }
        setC1(false)
        x87PushValue(v)
    }

    // MARK: FSCALE, FXTRACT, FPREM, FPREM1

    /// FSCALE: ST(0) × 2^trunc(ST(1)) (SDM Vol. 2A FSCALE, "FSCALE Results").
    func x87Scale() {
        guard !stIsEmpty(0), !stIsEmpty(1) else { if x87StackUnderflow() { setST(0, .indefinite) }; return }
        let a = st(0), b = st(1)
        var env = X87Env(fcw: x87.fcw)
        let r: X87Register
        if let s = (a.isSpecial || b.isSpecial) ? X87Math.specialOperands(a, b, &env) : nil {
            r = s
        } else if b.isInfinity {
            if a.isDenormal { env.flags |= FSW.de }
            if !b.sign { r = a.isZero ? X87Math.invalid(&env) : .infinity(a.sign) }
            else { r = a.isInfinity ? X87Math.invalid(&env) : .zero(a.sign) }
        } else if a.isInfinity || a.isZero {
            if b.isDenormal { env.flags |= FSW.de }
            r = a
        } else {
            if a.isDenormal || b.isDenormal { env.flags |= FSW.de }
            var n: Int32 = 0
            if !b.isZero {
                let (eb, sb) = X87Math.unpack(b)
                if eb - X87Math.bias >= 17 { n = 1 << 17 }
                else if eb >= X87Math.bias { n = Int32(sb >> UInt64(X87Math.integerExponent - eb)) }
                if b.sign { n = -n }
            }
            let (ea, sa) = X87Math.unpack(a)
            r = X87Math.roundPack(a.sign, ea + n, sa, 0, .extended, &env)
        }
        x87Deliver(r, to: 0, env, pop: false)
    }

    /// FXTRACT: ST(0) = significand (exponent 0), then the unbiased exponent pushed under it.
    func x87Extract() {
        guard !stIsEmpty(0) else {
            if x87StackUnderflow() { setST(0, .indefinite); x87Push(.indefinite) }
            return
        }
        if !stIsEmpty(7) {
            // Masked stack overflow: both results are the indefinite QNaN — ST(0) (the
            // exponent's place) is replaced and one more is pushed, as the host CPU does
            // (found by the random differential runner).
            if invalidMasked { setST(0, .indefinite) }
            x87StackOverflow()
            return
        }
        let a = st(0)
        var env = X87Env(fcw: x87.fcw)
        var exponent: X87Register, significand: X87Register
        if a.isUnsupported || a.isNaN {
            let n = a.isUnsupported ? X87Math.invalid(&env) : X87Math.propagateNaN(a, &env)
            exponent = n; significand = n
        } else if a.isInfinity {
            exponent = .infinity(false); significand = a
        } else if a.isZero {
            env.flags |= FSW.ze
            exponent = .infinity(true); significand = a
        } else {
            if a.isDenormal { env.flags |= FSW.de }
            let (e, s) = X87Math.unpack(a)
            exponent = X87Math.fromInteger(Int64(e - X87Math.bias))
            significand = X87Register(significand: s, signExponent: (a.sign ? 0x8000 : 0) | 0x3FFF)
        }
        env.applyDenormalStop()
        x87Raise(env.flags)
        if env.flags & ~env.masks & (FSW.ie | FSW.de | FSW.ze) != 0 { return }
        setST(0, exponent)
        x87PushValue(significand)
        setC1(false)
    }

    /// FPREM (truncating quotient) and FPREM1 (IEEE, nearest quotient). A partial remainder
    /// when the exponents differ by 64 or more reduces by a multiple 2^(D-N) with N between 32
    /// and 63 and sets C2 (SDM Vol. 2A FPREM). Quotient bits Q2, Q1, Q0 go to C0, C3, C1.
    func x87PartialRemainder(ieee: Bool) {
        guard !stIsEmpty(0), !stIsEmpty(1) else { if x87StackUnderflow() { setST(0, .indefinite) }; return }
        let a = st(0), b = st(1)
        var env = X87Env(fcw: x87.fcw)
        var quotient: UInt64 = 0
        var partial = false
        let r: X87Register
        if let s = (a.isSpecial || b.isSpecial) ? X87Math.specialOperands(a, b, &env) : nil {
            r = s
        } else if a.isInfinity || b.isZero {
            r = X87Math.invalid(&env)  // takes priority over DE
        } else if a.isZero || b.isInfinity {
            if a.isDenormal || b.isDenormal { env.flags |= FSW.de }
            // The dividend, as a result: a denormal underflows again (wrapped when UE is
            // unmasked), a pseudo-denormal comes back in canonical form.
            if a.isDenormal {
                let (e, sig) = X87Math.unpack(a)
                r = X87Math.roundPack(a.sign, e, sig, 0, .extended, &env)
            } else {
                r = a
            }
        } else {
            if a.isDenormal || b.isDenormal { env.flags |= FSW.de }
            let (ea, sa) = X87Math.unpack(a)
            let (eb, sb) = X87Math.unpack(b)
            var d = ea - eb
            var negative = a.sign
            var rem: UInt64
            var remExp = eb
            if d >= 64 {
                partial = true
                d = 32 + d % 32
                remExp = ea - d
            }
            if d < 0 {
                rem = sa; remExp = ea
                if ieee && d == -1 && sa > sb {
                    // |a| > |b|/2 with ea = eb - 1: the remainder is b - a = (2 sb - sa) at a's
                    // scale, which is below sb and so fits 64 bits; its sign flips.
                    rem = UInt64((UInt128(sb) << 1) - UInt128(sa))
                    negative = !negative
                    quotient = 1
                }
            } else {
                let (q, rr) = sb.dividingFullWidth(d == 0 ? (0, sa) : (sa >> UInt64(64 - d), sa << UInt64(d)))
                quotient = q
                rem = rr
                if ieee && !partial {
                    let twice = UInt128(rr) << 1
                    if twice > UInt128(sb) || (twice == UInt128(sb) && q & 1 != 0) {
                        rem = sb - rr
                        quotient = q &+ 1
                        negative = !negative
                    }
                }
            }
            if rem == 0 {
                r = .zero(a.sign)
            } else {
                let lz = rem.leadingZeroBitCount
                r = X87Math.roundPack(negative, remExp - Int32(lz), rem << UInt64(lz), 0, .extended, &env)
            }
        }
        env.applyDenormalStop()
        x87Raise(env.flags)
        if env.flags & ~env.masks & (FSW.ie | FSW.de) != 0 { return }
        setST(0, r)
        if partial {
            setConditionCodes(FSW.c2, mask: FSW.c2)
        } else {
            var c: UInt16 = 0
            if quotient & 4 != 0 { c |= FSW.c0 }
            if quotient & 2 != 0 { c |= FSW.c3 }
            if quotient & 1 != 0 { c |= FSW.c1 }
            setConditionCodes(c, mask: FSW.conditionCodes)
        }
    }
}
