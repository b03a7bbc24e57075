/// A value carried as the unevaluated sum `hi + lo` of two 80-bit numbers (|lo| at most half
/// an ulp of hi): about 128 significant bits from the host's own extended arithmetic, using
/// error-free sums and products (Knuth's TwoSum, Veltkamp's split and Dekker's product).
///
/// F2XM1, FYL2X and FYL2XP1 are specified to within one ulp of the exact result (SDM Vol. 1
/// §8.3.10). Computing them with one 64-bit rounding per step (the host C library's expm1l and
/// log1pl, then a multiplication) leaves them 1-2 ulp off on a fifth of the inputs; carrying
/// the intermediate values with this much more precision leaves one rounding, at the end.
struct DoubleExtended {
    var hi: Float80
    var lo: Float80

    init(_ hi: Float80, _ lo: Float80 = 0) {
        self.hi = hi
        self.lo = lo
    }

    /// ln 2 and log2(e), split into their first 64 significant bits and the next 64.
    static let ln2 = DoubleExtended(0x1.62e42fefa39ef358p-1, -0x1.b0e2633fe0684a86p-67)
    static let log2e = DoubleExtended(0x1.71547652b82fe178p0, -0x1.05e004be5b8b05dcp-65)

    /// a + b exactly.
    @inline(__always) static func sum(_ a: Float80, _ b: Float80) -> DoubleExtended {
        let s = a + b
        let bv = s - a
        return DoubleExtended(s, (a - (s - bv)) + (b - bv))
    }

    /// a + b exactly, for |a| ≥ |b| (or a = 0).
    @inline(__always) static func quickSum(_ a: Float80, _ b: Float80) -> DoubleExtended {
        let s = a + b
        return DoubleExtended(s, b - (s - a))
    }

    /// The 64-bit significand in two halves of 32 bits (Veltkamp: multiply by 2^32 + 1).
    @inline(__always) static func split(_ a: Float80) -> (Float80, Float80) {
        let c = a * 4_294_967_297
        let h = c - (c - a)
        return (h, a - h)
    }

    /// a × b exactly, when neither the product nor its error term leaves the normal range.
    @inline(__always) static func product(_ a: Float80, _ b: Float80) -> DoubleExtended {
        let p = a * b
        let (ah, al) = split(a), (bh, bl) = split(b)
        return DoubleExtended(p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
    }

    static func + (a: DoubleExtended, b: DoubleExtended) -> DoubleExtended {
        let s = sum(a.hi, b.hi), t = sum(a.lo, b.lo)
        let u = quickSum(s.hi, s.lo + t.hi)
        return quickSum(u.hi, u.lo + t.lo)
    }

    static prefix func - (a: DoubleExtended) -> DoubleExtended { DoubleExtended(-a.hi, -a.lo) }

    static func - (a: DoubleExtended, b: DoubleExtended) -> DoubleExtended { a + -b }

    static func * (a: DoubleExtended, b: DoubleExtended) -> DoubleExtended {
        let p = product(a.hi, b.hi)
        return quickSum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi))
    }

    static func * (a: DoubleExtended, b: Float80) -> DoubleExtended {
        let p = product(a.hi, b)
        return quickSum(p.hi, p.lo + a.lo * b)
    }

    static func / (a: DoubleExtended, b: DoubleExtended) -> DoubleExtended {
        // Three quotient digits, each from the exact remainder of the previous ones.
        let q1 = a.hi / b.hi
        let r1 = a - b * q1
        let q2 = r1.hi / b.hi
        let r2 = r1 - b * q2
        return quickSum(q1, q2) + DoubleExtended(r2.hi / b.hi)
    }

    /// Multiplies by 2^k (exact while both parts stay normal).
    func scaled(_ k: Int) -> DoubleExtended {
        DoubleExtended(Float80(sign: .plus, exponent: k, significand: hi), Float80(sign: .plus, exponent: k, significand: lo))
    }

    /// hi + lo rounded to nearest once.
    var rounded: Float80 { hi + lo }
}

/// The three logarithm and exponential functions of the x87, to within one ulp.
enum X87ExtendedMath {
    /// x = m · 2^e with m in [1, 2) (x positive and finite, subnormals included).
    static func decompose(_ x: Float80) -> (Float80, Int) {
        if x.isSubnormal {
            let n = x * 0x1p64
            return (n.significand, Int(n.exponent) - 64)
        }
        return (x.significand, Int(x.exponent))
    }

    /// log2(m) for m in [1/√2, √2], through ln m = 2·atanh(s) with s = (m - 1) / (m + 1):
    /// |s| ≤ 0.172, and 15 terms of the odd series leave an error below 2^-80.
    static func log2Reduced(_ m: Float80) -> DoubleExtended {
        let a = m - 1       // exact (Sterbenz)
        if a == 0 { return DoubleExtended(0) }
        let s = DoubleExtended(a) / DoubleExtended.sum(m, 1)
        let s2 = s.hi * s.hi
        // atanh(s)/s - 1 = s²/3 + s⁴/5 + ...: a small correction, plain 80-bit arithmetic.
        var c: Float80 = 0
        for k in stride(from: 15, through: 1, by: -1) { c = s2 * (1 / Float80(2 * k + 1) + c) }
        let ln = (s + s * c).scaled(1)
        return ln * DoubleExtended.log2e
    }

    /// log2(x) for x positive and finite.
    static func log2(_ x: Float80) -> DoubleExtended {
        var (m, e) = decompose(x)
        if m > 1.41421356237309504880 {
            m *= 0.5
            e += 1
        }
        return DoubleExtended(Float80(e)) + log2Reduced(m)
    }

    /// log2(1 + x) as a value times 2^exponent, for x > -1 and finite: tiny x keeps its
    /// significand apart from its exponent, so that a subnormal x loses nothing.
    static func log2OnePlus(_ x: Float80) -> (DoubleExtended, Int) {
        if x == 0 { return (DoubleExtended(x), 0) }
        if abs(x) < 0x1p-8 {
            // ln(1 + x) = x · (1 + c), c = -x/2 + x²/3 - ...; 12 terms leave less than 2^-90.
            var c: Float80 = 0
            for k in stride(from: 12, through: 1, by: -1) { c = -x * (1 / Float80(k + 1) + c) }
            let (m, e) = decompose(abs(x))
            let xs = x < 0 ? -m : m
            return (DoubleExtended.quickSum(xs, xs * c) * DoubleExtended.log2e, e)
        }
        // 1 + x exactly as hi + lo; log2(hi + lo) = log2(hi) + lo / (hi · ln 2) to within lo².
        let u = DoubleExtended.sum(1, x)
        return (log2(u.hi) + DoubleExtended((u.lo / u.hi) * DoubleExtended.log2e.hi), 0)
    }

    /// y · v · 2^k rounded once to the nearest 64-bit value, also when the result is
    /// subnormal or overflows (v.hi normal or zero, y finite).
    static func product(_ v: DoubleExtended, _ k: Int, _ y: Float80) -> Float80 {
        if v.hi == 0 || y == 0 { return v.hi * y }
        let ve = Int(v.hi.exponent)
        let (ym, ye) = decompose(abs(y))
        let p = v.scaled(-ve) * (y < 0 ? -ym : ym)      // in [1, 4) in magnitude
        return scale(p, k + ve + ye)
    }

    /// (hi + lo) · 2^k rounded once to the 64-bit format (|hi + lo| in [1, 4)).
    static func scale(_ p: DoubleExtended, _ k: Int) -> Float80 {
        if p.hi < 0 { return -scale(-p, k) }
        let r = p.rounded
        let e = Int(r.exponent) + k
        if e > Int(Float80.greatestFiniteMagnitude.exponent) { return .infinity }
        if e >= Int(Float80.leastNormalMagnitude.exponent) { return Float80(sign: .plus, exponent: k, significand: r) }
        // Subnormal: round the exact sum to a multiple of the smallest subnormal, ties to even.
        let quantum = Int(Float80.leastNonzeroMagnitude.exponent)
        let shift = k - quantum
        guard shift >= -2 else { return 0 }             // below half the smallest subnormal
        let u = p.scaled(shift)
        var n = u.hi.rounded(.down)
        // The sign of a rounded sum is the sign of the exact sum: compare with the halfway point.
        let above = ((u.hi - n) - 0.5) + u.lo
        if above > 0 || (above == 0 && n.truncatingRemainder(dividingBy: 2) != 0) { n += 1 }
        return Float80(sign: .plus, exponent: quantum, significand: n)
    }

    /// FYL2X: y · log2(x), for x positive and finite and y finite.
    static func yLog2X(_ x: Float80, _ y: Float80) -> Float80 {
        product(log2(x), 0, y)
    }

    /// FYL2XP1: y · log2(x + 1), for x > -1 and finite and y finite.
    static func yLog2XPlus1(_ x: Float80, _ y: Float80) -> Float80 {
        let (v, k) = log2OnePlus(x)
        return product(v, k, y)
    }

    /// F2XM1: 2^x - 1 for |x| ≤ 1 (x non-zero): e^t - 1 with t = x · ln 2, from t / 2^8 by
    /// eight doublings e' = e · (e + 2); a tiny x keeps its exponent apart.
    static func exp2MinusOne(_ x: Float80) -> Float80 {
        if abs(x) < 0x1p-16 {
            let (m, e) = decompose(abs(x))
            let t = DoubleExtended.ln2 * (x < 0 ? -m : m)        // t · 2^e = x · ln 2
            let tt = x * DoubleExtended.ln2.hi
            // (e^t - 1) / t = 1 + c, c = t/2! + t²/3! + ...
            var c: Float80 = 0
            for k in stride(from: 6, through: 1, by: -1) { c = tt / Float80(k + 1) * (1 + c) }
            return product(t + t * c, e, 1)
        }
        let t = (DoubleExtended.ln2 * x).scaled(-8)
        let tt = t.hi
        var c: Float80 = 0
        for k in stride(from: 10, through: 1, by: -1) { c = tt / Float80(k + 1) * (1 + c) }
        var e = t + t * c
        for _ in 0..<8 { e = e * (e + DoubleExtended(2)) }
        return e.rounded
    }
}
