import MachineCore

/// The rounding and exception context of one x87 operation: what the control word says and
/// what the operation raised.
struct X87Env {
    /// FCW exception masks (bit set = masked).
    let masks: UInt16
    /// Rounding control (X87Rounding).
    let rc: UInt16
    /// Exception flags raised (FSW bit positions).
    var flags: UInt16 = 0
    /// The significand was incremented in magnitude when rounding (reported in C1).
    var roundedUp = false

    init(fcw: UInt16) {
        masks = fcw & FCW.masks
        rc = (fcw >> FCW.rcShift) & 3
    }

    @inline(__always) func masked(_ flag: UInt16) -> Bool { masks & flag != 0 }
    /// An unmasked exception was raised: a memory destination is not written, a register
    /// destination only for OE/UE/PE (SDM Vol. 1 §4.9.2, §8.5).
    @inline(__always) var unmaskedRaised: Bool { flags & ~masks & FCW.masks != 0 }

    /// An unmasked DE stops the operation: the lower-priority OE, UE and PE that computing the
    /// result raised anyway are dropped (SDM Vol. 1 §4.9.2 priorities).
    @inline(__always) mutating func applyDenormalStop() {
        if flags & ~masks & FSW.de != 0 { flags &= ~(FSW.oe | FSW.ue | FSW.pe) }
    }
}

/// A destination format for rounding: significand precision, largest normal biased exponent,
/// and the exponent bias adjustment an unmasked overflow or underflow applies to a register
/// result (SDM Vol. 1 §4.9.1.4-5: ±24576 for double extended; 0 = memory, nothing stored).
struct X87Format {
    let precision: Int
    let maxExp: Int32
    let bias: Int32
    let wrap: Int32

    static let extended = X87Format(precision: 64, maxExp: 0x7FFE, bias: 16383, wrap: 0x6000)
    static let extendedDouble = X87Format(precision: 53, maxExp: 0x7FFE, bias: 16383, wrap: 0x6000)
    static let extendedSingle = X87Format(precision: 24, maxExp: 0x7FFE, bias: 16383, wrap: 0x6000)
    static let double = X87Format(precision: 53, maxExp: 2046, bias: 1023, wrap: 0)
    static let single = X87Format(precision: 24, maxExp: 254, bias: 127, wrap: 0)

    /// The register format with the control word's precision control (SDM Vol. 1 §8.1.5.2);
    /// the reserved setting 01 behaves as 64 bits here.
    static func registers(pc: UInt16) -> X87Format {
        switch pc & 3 {
        case 0: return extendedSingle
        case 2: return extendedDouble
        default: return extended
        }
    }
}

/// Software double-extended arithmetic on the 80-bit register format: exact results rounded
/// once to the precision and rounding mode of the control word, with the x87 exception flags
/// and the C1 round-up indication. Integer arithmetic only, so it is exact and independent
/// of the host's floating-point environment.
enum X87Math {
    static let bias: Int32 = 16383
    /// Biased exponent of a normalized significand whose value is an integer of 64 bits.
    static let integerExponent: Int32 = 16383 + 63

    // MARK: helpers

    /// Shifts the 128-bit value hi:lo right by `n`, ORing every bit shifted out into bit 0.
    @inline(__always)
    static func shiftRightJam(_ hi: UInt64, _ lo: UInt64, _ n: Int32) -> (UInt64, UInt64) {
        if n <= 0 { return (hi, lo) }
        if n < 64 {
            let lost: UInt64 = lo &<< UInt64(64 - n) != 0 ? 1 : 0
            return (hi &>> UInt64(n), (hi &<< UInt64(64 - n)) | (lo &>> UInt64(n)) | lost)
        }
        if n == 64 { return (0, hi | (lo != 0 ? 1 : 0)) }
        if n < 128 {
            let lost: UInt64 = ((hi &<< UInt64(128 - n)) | lo) != 0 ? 1 : 0
            return (0, (hi &>> UInt64(n - 64)) | lost)
        }
        return (0, (hi | lo) != 0 ? 1 : 0)
    }

    /// (hi:lo) / d for a normalized divisor d (bit 63 set) and hi < d: quotient and remainder.
    /// The host's 64-bit-precision division gives the quotient to within one; an exact
    /// 128-bit multiply corrects it (cheaper than the generic 128-bit division routine).
    @inline(__always)
    static func divide128(_ hi: UInt64, _ lo: UInt64, by d: UInt64) -> (UInt64, UInt64) {
        let n = UInt128(hi) << 64 | UInt128(lo)
        let estimate = (Float80(hi) * 0x1p64 + Float80(lo)) / Float80(d)
        // The integer part straight from the bit pattern (a Float80 → UInt64 conversion would
        // switch the host's rounding mode twice).
        let bits = X87Register(estimate)
        let shift = integerExponent - bits.exponentField
        var q = shift < 0 ? UInt64.max : bits.significand >> UInt64(min(shift, 63))
        var product = UInt128(q) * UInt128(d)
        while product > n {
            q -= 1
            product -= UInt128(d)
        }
        var r = n - product
        while r >= UInt128(d) {
            q += 1
            r -= UInt128(d)
        }
        return (q, UInt64(r))
    }

    /// Exponent and normalized significand of a finite non-zero value; denormals get an
    /// exponent below 1.
    @inline(__always)
    static func unpack(_ a: X87Register) -> (Int32, UInt64) {
        let e = a.exponentField
        if e != 0 { return (e, a.significand) }
        let lz = a.significand.leadingZeroBitCount
        return (1 - Int32(lz), a.significand << UInt64(lz))
    }

    /// Whether to increment when `roundBits` (a binary fraction of one unit in the last place,
    /// most significant bit = one half) are discarded (SDM Vol. 1 §4.8.4).
    @inline(__always)
    static func roundIncrement(_ rc: UInt16, _ negative: Bool, _ odd: Bool, _ roundBits: UInt64) -> Bool {
        switch rc {
        case X87Rounding.nearest:
            return roundBits > (1 << 63) || (roundBits == (1 << 63) && odd)
        case X87Rounding.down: return negative
        case X87Rounding.up: return !negative
        default: return false
        }
    }

    /// Rounds sig:ext to the top `p` bits of `sig`. Returns the rounded significand (at the
    /// 64-bit position), whether it carried out of the top bit (the result is then 1 << 63),
    /// whether it was inexact and whether it was incremented.
    @inline(__always)
    static func roundSignificand(_ sig: UInt64, _ ext: UInt64, _ p: Int, _ negative: Bool, _ rc: UInt16)
        -> (sig: UInt64, carry: Bool, inexact: Bool, up: Bool) {
        if p >= 64 {
            if ext == 0 { return (sig, false, false, false) }
            if !roundIncrement(rc, negative, sig & 1 != 0, ext) { return (sig, false, true, false) }
            let (n, o) = sig.addingReportingOverflow(1)
            return o ? (1 << 63, true, true, true) : (n, false, true, true)
        }
        let shift = UInt64(64 - p)
        let base = sig &>> shift
        let roundBits = (sig &<< UInt64(p)) | (ext != 0 ? 1 : 0)
        if roundBits == 0 { return (sig, false, false, false) }
        if !roundIncrement(rc, negative, base & 1 != 0, roundBits) { return (base &<< shift, false, true, false) }
        let n = base &+ 1
        if n &>> UInt64(p) != 0 { return (1 << 63, true, true, true) }
        return (n &<< shift, false, true, true)
    }

    /// Rounds the exact value (-1)^sign × sig:ext × 2^(exp - bias - 63) (sig normalized, exp
    /// in the destination's bias, possibly out of range) into `format`, raising OE, UE and
    /// PE with the masked or unmasked responses of SDM Vol. 1 §4.9.1.4-6. Tininess is
    /// detected after rounding. The result is in register layout (exponent field, 64-bit
    /// significand with the J bit) for any format; callers pack memory formats.
    static func roundPack(_ negative: Bool, _ exp: Int32, _ sig: UInt64, _ ext: UInt64,
                          _ format: X87Format, _ env: inout X87Env) -> X87Register {
        let s: UInt16 = negative ? 0x8000 : 0
        let p = format.precision
        if exp >= 1 {
            let r = roundSignificand(sig, ext, p, negative, env.rc)
            let e = r.carry ? exp + 1 : exp
            if r.inexact { env.flags |= FSW.pe }
            env.roundedUp = r.up
            if e > format.maxExp {
                env.flags |= FSW.oe
                // Unmasked: the exponent wrapped by the bias adjustment, unless even that is out
                // of range (FSCALE), which gets the masked response.
                if !env.masked(FSW.oe) {
                    if format.wrap == 0 {
                        // Memory destination: nothing stored, OE alone reported.
                        env.flags &= ~FSW.pe
                        env.roundedUp = false
                        return X87Register()
                    }
                    if e - format.wrap <= format.maxExp {
                        return X87Register(significand: r.sig, signExponent: s | UInt16(truncatingIfNeeded: (e - format.wrap) & 0x7FFF))
                    }
                    // Beyond the reach of the bias adjustment (FSCALE): infinity whatever RC
                    // says (as the hardware does).
                    env.flags |= FSW.pe
                    env.roundedUp = true
                    return .infinity(negative)
                }
                env.flags |= FSW.pe
                let toInfinity = env.rc == X87Rounding.nearest
                    || (env.rc == X87Rounding.down && negative) || (env.rc == X87Rounding.up && !negative)
                env.roundedUp = toInfinity
                if toInfinity {
                    return X87Register(significand: 1 << 63, signExponent: s | UInt16(format.maxExp + 1))
                }
                return X87Register(significand: ~0 << UInt64(64 - p), signExponent: s | UInt16(format.maxExp))
            }
            return X87Register(significand: r.sig, signExponent: s | UInt16(e))
        }
        // Below the normal range before rounding: tiny unless rounding at unbounded exponent
        // reaches the smallest normal.
        let unbounded = roundSignificand(sig, ext, p, negative, env.rc)
        if exp == 0 && unbounded.carry {
            env.flags |= FSW.pe
            env.roundedUp = true
            return X87Register(significand: 1 << 63, signExponent: s | 1)
        }
        if !env.masked(FSW.ue) {
            env.flags |= FSW.ue
            let e = (unbounded.carry ? exp + 1 : exp) + format.wrap
            if format.wrap == 0 { return X87Register() }  // memory destination: not stored
            if e >= 1 {
                if unbounded.inexact { env.flags |= FSW.pe }
                env.roundedUp = unbounded.up
                return X87Register(significand: unbounded.sig, signExponent: s | UInt16(truncatingIfNeeded: e & 0x7FFF))
            }
            // Beyond the reach of the bias adjustment (FSCALE): a signed zero.
            env.flags |= FSW.pe
            env.roundedUp = false
            return .zero(negative)
        }
        let (dh, dl) = shiftRightJam(sig, ext, 1 - exp)
        let r = roundSignificand(dh, dl, p, negative, env.rc)
        if r.inexact { env.flags |= FSW.ue | FSW.pe }
        env.roundedUp = r.up
        return X87Register(significand: r.sig, signExponent: s | (r.sig & (1 << 63) != 0 ? 1 : 0))
    }

    // MARK: special operands

    /// NaN propagation for two operands (SDM Vol. 1 Table 4-7): a QNaN beats an SNaN, else the
    /// larger significand wins, quieted; IE for any SNaN.
    static func propagateNaN(_ a: X87Register, _ b: X87Register, _ env: inout X87Env) -> X87Register {
        if a.isSignalingNaN || b.isSignalingNaN { env.flags |= FSW.ie }
        if !a.isNaN { return b.quieted }
        if !b.isNaN { return a.quieted }
        if a.isSignalingNaN != b.isSignalingNaN { return a.isSignalingNaN ? b : a }
        let ma = a.significand & ~X87Register.quietBit, mb = b.significand & ~X87Register.quietBit
        if ma != mb { return (ma > mb ? a : b).quieted }
        return (a.sign && !b.sign ? b : a).quieted  // equal significands: the positive one
    }

    static func propagateNaN(_ a: X87Register, _ env: inout X87Env) -> X87Register {
        if a.isSignalingNaN { env.flags |= FSW.ie }
        return a.quieted
    }

    /// The invalid-operation result: IE and the QNaN indefinite.
    @inline(__always)
    static func invalid(_ env: inout X87Env) -> X87Register {
        env.flags |= FSW.ie
        return .indefinite
    }

    /// Handles unsupported and NaN operands of a two-operand operation; nil when neither is.
    @inline(__always)
    static func specialOperands(_ a: X87Register, _ b: X87Register, _ env: inout X87Env) -> X87Register? {
        if a.isUnsupported || b.isUnsupported { return invalid(&env) }
        if a.isNaN || b.isNaN { return propagateNaN(a, b, &env) }
        return nil
    }

    /// DE for a denormal operand; true when DE is unmasked, which stops the operation before
    /// any other exception of lower priority (SDM Vol. 1 §8.5.2, §4.9.2).
    @inline(__always)
    static func denormalStops(_ a: X87Register, _ b: X87Register, _ env: inout X87Env) -> Bool {
        guard a.isDenormal || b.isDenormal else { return false }
        env.flags |= FSW.de
        return !env.masked(FSW.de)
    }

    // MARK: arithmetic (SDM Vol. 2A FADD, FSUB, FMUL, FDIV, FSQRT)

    /// a + b (b already negated for a subtraction, after NaN checks).
    static func add(_ a: X87Register, _ b: X87Register, _ format: X87Format, _ env: inout X87Env) -> X87Register {
        if a.isSpecial || b.isSpecial {
            if let r = specialOperands(a, b, &env) { return r }
            if a.isInfinity && b.isInfinity {
                return a.sign == b.sign ? a : invalid(&env)
            }
            if denormalStops(a, b, &env) { return a }
            return a.isInfinity ? a : b
        }
        if denormalStops(a, b, &env) { return a }
        if a.isZero && b.isZero {
            if a.sign == b.sign { return a }
            return .zero(env.rc == X87Rounding.down)
        }
        if b.isZero { let (e, s) = unpack(a); return roundPack(a.sign, e, s, 0, format, &env) }
        if a.isZero { let (e, s) = unpack(b); return roundPack(b.sign, e, s, 0, format, &env) }
        var (ea, sa) = unpack(a)
        var (eb, sb) = unpack(b)
        if a.sign == b.sign {
            if ea < eb { swap(&ea, &eb); swap(&sa, &sb) }
            let (bh, bl) = shiftRightJam(sb, 0, ea - eb)
            var (sum, carry) = sa.addingReportingOverflow(bh)
            var ext = bl
            var e = ea
            if carry {
                ext = (sum << 63) | (ext >> 1) | (ext & 1)
                sum = (sum >> 1) | (1 << 63)
                e += 1
                carry = false
            }
            return roundPack(a.sign, e, sum, ext, format, &env)
        }
        // Opposite signs: subtract the smaller magnitude from the larger.
        var negative = a.sign
        if ea < eb || (ea == eb && sa < sb) {
            swap(&ea, &eb); swap(&sa, &sb)
            negative = b.sign
        }
        if ea == eb && sa == sb { return .zero(env.rc == X87Rounding.down) }
        let (bh, bl) = shiftRightJam(sb, 0, ea - eb)
        let lo = 0 &- bl
        var hi = sa &- bh &- (bl != 0 ? 1 : 0)
        var ext = lo
        var e = ea
        if hi == 0 {
            hi = ext; ext = 0; e -= 64
        }
        let lz = hi.leadingZeroBitCount
        if lz > 0 {
            hi = (hi << UInt64(lz)) | (ext >> UInt64(64 - lz))
            ext <<= UInt64(lz)
            e -= Int32(lz)
        }
        return roundPack(negative, e, hi, ext, format, &env)
    }

    static func multiply(_ a: X87Register, _ b: X87Register, _ format: X87Format, _ env: inout X87Env) -> X87Register {
        let negative = a.sign != b.sign
        if a.isSpecial || b.isSpecial {
            if let r = specialOperands(a, b, &env) { return r }
            if a.isZero || b.isZero { return invalid(&env) }  // 0 × ∞
            if denormalStops(a, b, &env) { return a }
            return .infinity(negative)
        }
        if denormalStops(a, b, &env) { return a }
        if a.isZero || b.isZero { return .zero(negative) }
        let (ea, sa) = unpack(a)
        let (eb, sb) = unpack(b)
        var (hi, lo) = sa.multipliedFullWidth(by: sb)
        var e = ea + eb - bias + 1
        if hi & (1 << 63) == 0 {
            hi = (hi << 1) | (lo >> 63)
            lo <<= 1
            e -= 1
        }
        return roundPack(negative, e, hi, lo, format, &env)
    }

    /// a / b; ZE with a signed infinity for a finite non-zero dividend over zero.
    static func divide(_ a: X87Register, _ b: X87Register, _ format: X87Format, _ env: inout X87Env) -> X87Register {
        let negative = a.sign != b.sign
        if a.isSpecial || b.isSpecial {
            if let r = specialOperands(a, b, &env) { return r }
            if a.isInfinity && b.isInfinity { return invalid(&env) }
            if denormalStops(a, b, &env) { return a }
            return a.isInfinity ? .infinity(negative) : .zero(negative)
        }
        if b.isZero {
            if a.isZero { return invalid(&env) }
            env.flags |= FSW.ze
            return .infinity(negative)
        }
        if denormalStops(a, b, &env) { return a }
        if a.isZero { return .zero(negative) }
        let (ea, sa) = unpack(a)
        let (eb, sb) = unpack(b)
        let q: UInt64, r: UInt64, e: Int32
        if sa >= sb {
            (q, r) = divide128(sa >> 1, sa << 63, by: sb)
            e = ea - eb + bias
        } else {
            (q, r) = divide128(sa, 0, by: sb)
            e = ea - eb + bias - 1
        }
        // Only where the remainder lies against half a divisor matters for rounding: zero,
        // below, exactly at, or above one half (no second division needed).
        let ext: UInt64
        if r == 0 {
            ext = 0
        } else if r >= (sb >> 1) + (sb & 1) {
            // 2r ≥ sb (r ≥ ⌈sb/2⌉): at half only when 2r == sb exactly.
            ext = (r << 1 == sb && r >> 63 == 0) ? 1 << 63 : (1 << 63) | 1
        } else {
            ext = 1
        }
        return roundPack(negative, e, q, ext, format, &env)
    }

    static func squareRoot(_ a: X87Register, _ format: X87Format, _ env: inout X87Env) -> X87Register {
        if a.isUnsupported { return invalid(&env) }
        if a.isNaN { return propagateNaN(a, &env) }
        if a.isZero { return a }
        if a.sign { return invalid(&env) }
        if a.isInfinity { return a }
        if denormalStops(a, a, &env) { return a }
        let (ea, sa) = unpack(a)
        let unbiased = ea - bias
        // An even power of two outside the root: N = sa × 2^63 or sa × 2^64 (SDM-free algebra).
        let n: UInt128 = unbiased & 1 == 0 ? UInt128(sa) << 63 : UInt128(sa) << 64
        var root = UInt64(clamping: UInt128((Float80(n)).squareRoot()))
        while UInt128(root) * UInt128(root) > n { root -= 1 }
        while root < UInt64.max && UInt128(root + 1) * UInt128(root + 1) <= n { root += 1 }
        let rem = n - UInt128(root) * UInt128(root)
        // The discarded fraction: exactly zero, or above/below one half (never exactly half).
        let ext: UInt64 = rem == 0 ? 0 : (rem > UInt128(root) ? 0x8000_0000_0000_0001 : 0x7FFF_FFFF_FFFF_FFFF)
        return roundPack(false, (unbiased >> 1) + bias, root, ext, format, &env)
    }

    // MARK: comparison

    /// Orders two non-NaN, supported values: -1 less, 0 equal, 1 greater.
    static func compareOrdered(_ a: X87Register, _ b: X87Register) -> Int {
        if a.isZero && b.isZero { return 0 }
        if a.sign != b.sign { return a.sign ? -1 : 1 }
        let ka = magnitudeKey(a), kb = magnitudeKey(b)
        if ka == kb { return 0 }
        return (ka < kb) != a.sign ? -1 : 1
    }

    /// A key that orders magnitudes (pseudo-denormals and denormals normalized).
    @inline(__always)
    static func magnitudeKey(_ a: X87Register) -> (Int32, UInt64) {
        if a.isZero { return (Int32.min, 0) }
        if a.exponentField == 0x7FFF { return (Int32.max, a.significand) }
        return unpack(a)
    }

    // MARK: integers

    static func fromInteger(_ v: Int64) -> X87Register {
        if v == 0 { return .zero(false) }
        let m = v.magnitude
        let lz = m.leadingZeroBitCount
        return X87Register(significand: m << UInt64(lz),
                           signExponent: (v < 0 ? 0x8000 : 0) | UInt16(integerExponent - Int32(lz)))
    }

    /// Rounds a finite value to an integer magnitude (by `rc`, or toward zero when
    /// `truncate`), reporting PE and the round-up. Returns nil when it does not fit 64 bits.
    static func integerMagnitude(_ a: X87Register, truncate: Bool, _ env: inout X87Env) -> UInt64? {
        if a.isZero { return 0 }
        let (e, s) = unpack(a)
        if e > integerExponent { return nil }
        let (ip, frac) = shiftRightJam(s, 0, integerExponent - e)
        if frac == 0 { env.roundedUp = false; return ip }
        env.flags |= FSW.pe
        let up = !truncate && roundIncrement(env.rc, a.sign, ip & 1 != 0, frac)
        env.roundedUp = up
        if !up { return ip }
        return ip == UInt64.max ? nil : ip + 1
    }

    /// FIST/FISTP/FISTTP conversion to a signed integer of `bits` bits; nil = invalid (IE
    /// raised; the masked response is the integer indefinite, SDM Vol. 1 §4.8.3.7).
    static func toInteger(_ a: X87Register, bits: Int, truncate: Bool, _ env: inout X87Env) -> Int64? {
        if a.isSpecial { env.flags |= FSW.ie; return nil }
        // No DE for a denormal source (FIST lists no #D; the hardware agrees).
        var local = env
        guard let m = integerMagnitude(a, truncate: truncate, &local) else { env.flags |= FSW.ie; return nil }
        let limit = UInt64(1) << UInt64(bits - 1)
        if a.sign ? m > limit : m >= limit { env.flags |= FSW.ie; return nil }
        env = local
        return a.sign ? Int64(bitPattern: 0 &- m) : Int64(bitPattern: m)
    }

    /// FRNDINT: rounds to an integral value by the rounding control.
    static func roundToIntegral(_ a: X87Register, _ env: inout X87Env) -> X87Register {
        if a.isUnsupported { return invalid(&env) }
        if a.isNaN { return propagateNaN(a, &env) }
        if a.isInfinity || a.isZero { return a }
        if denormalStops(a, a, &env) { return a }
        let (e, _) = unpack(a)
        if e >= integerExponent { return a }
        guard let m = integerMagnitude(a, truncate: false, &env) else { return a }
        if m == 0 { return .zero(a.sign) }
        let lz = m.leadingZeroBitCount
        return X87Register(significand: m << UInt64(lz), signExponent: (a.sign ? 0x8000 : 0) | UInt16(integerExponent - Int32(lz)))
    }

    // MARK: memory real formats (SDM Vol. 1 §4.2.2)

    /// A single- or double-precision bit pattern widened exactly (NaNs keep their kind).
    /// `fraction` is 23 or 52 bits; returns the value and whether it was denormal.
    static func widen(_ bits: UInt64, fraction: Int, exponentBits: Int) -> (X87Register, Bool) {
        let negative = bits >> UInt64(fraction + exponentBits) & 1 != 0
        let s: UInt16 = negative ? 0x8000 : 0
        let maxE = (UInt64(1) << UInt64(exponentBits)) - 1
        let e = (bits >> UInt64(fraction)) & maxE
        let f = bits & ((UInt64(1) << UInt64(fraction)) - 1)
        let shift = UInt64(63 - fraction)
        let formatBias = Int32(maxE >> 1)
        if e == maxE {
            return (X87Register(significand: (1 << 63) | (f << shift), signExponent: s | 0x7FFF), false)
        }
        if e == 0 {
            if f == 0 { return (.zero(negative), false) }
            let sig = f << shift
            let lz = sig.leadingZeroBitCount
            let exp = 1 - formatBias + bias - Int32(lz)
            return (X87Register(significand: sig << UInt64(lz), signExponent: s | UInt16(exp)), true)
        }
        return (X87Register(significand: (1 << 63) | (f << shift), signExponent: s | UInt16(Int32(e) - formatBias + bias)), false)
    }

    /// Narrows a register value for FST/FSTP m32/m64; nil when an unmasked exception
    /// suppresses the store.
    static func narrow(_ a: X87Register, _ format: X87Format, fraction: Int, exponentBits: Int, _ env: inout X87Env) -> UInt64? {
        let signBit: UInt64 = a.sign ? 1 << UInt64(fraction + exponentBits) : 0
        let maxE = (UInt64(1) << UInt64(exponentBits)) - 1
        let shift = UInt64(63 - fraction)
        if a.isUnsupported {
            env.flags |= FSW.ie
            if !env.masked(FSW.ie) { return nil }
            return (1 << UInt64(fraction + exponentBits)) | (maxE << UInt64(fraction)) | (UInt64(1) << UInt64(fraction - 1))
        }
        if a.isNaN {
            if a.isSignalingNaN {
                env.flags |= FSW.ie
                if !env.masked(FSW.ie) { return nil }
            }
            let payload = (a.significand & ~(1 << 63)) >> shift
            return signBit | (maxE << UInt64(fraction)) | payload | (UInt64(1) << UInt64(fraction - 1))
        }
        if a.isInfinity { return signBit | (maxE << UInt64(fraction)) }
        if a.isZero { return signBit }
        // No DE here: a denormal source just underflows (FST lists no #D; the hardware agrees).
        let (e, s) = unpack(a)
        let r = roundPack(a.sign, e - bias + format.bias, s, 0, format, &env)
        if env.flags & ~env.masks & (FSW.oe | FSW.ue) != 0 { return nil }
        let fracBits = (r.significand >> shift) & ((UInt64(1) << UInt64(fraction)) - 1)
        return signBit | (UInt64(r.exponentField) << UInt64(fraction)) | fracBits
    }
}
