import Glibc
import MachineCore
import XCTest
@testable import Interpreter

/// X87Math against the host's x87 (Float80 arithmetic under fesetround), on random operands.
final class X87SoftFloatTests: XCTestCase {
    static let modes: [(UInt16, Int32)] = [(0, 0), (1, 0x400), (2, 0x800), (3, 0xC00)]

    /// A random finite value with an exponent in `exponents` (biased), sometimes denormal or zero.
    func randomValue<G: RandomNumberGenerator>(_ g: inout G, exponents: ClosedRange<Int32>) -> X87Register {
        let sign: UInt16 = Bool.random(using: &g) ? 0x8000 : 0
        switch Int.random(in: 0..<20, using: &g) {
        case 0: return X87Register(significand: 0, signExponent: sign)
        case 1: return X87Register(significand: UInt64.random(in: 1...(1 << 63 - 1), using: &g), signExponent: sign)
        default:
            // Short significands now and then, so that exact results occur too.
            var s = UInt64.random(in: 0...UInt64.max, using: &g) | (1 << 63)
            if Bool.random(using: &g) { s &= ~0 << UInt64(Int.random(in: 1...60, using: &g)) }
            return X87Register(significand: s, signExponent: sign | UInt16(Int32.random(in: exponents, using: &g)))
        }
    }

    /// Host result and its exception flags (FE_* are the FSW bit positions on x86).
    func host(_ mode: Int32, _ f: () -> Float80) -> (Float80, UInt16) {
        feclearexcept(0x3D)
        fesetround(mode)
        let r = f()
        let flags = UInt16(fetestexcept(0x3D))
        fesetround(0)
        return (r, flags)
    }

    func check(_ name: String, exponents: ClosedRange<Int32>, count: Int = 3000,
               soft: (X87Register, X87Register, inout X87Env) -> X87Register,
               hostOp: @escaping (Float80, Float80) -> Float80) {
        var g = SystemRandomNumberGenerator()
        for (rc, mode) in Self.modes {
            for _ in 0..<count {
                let a = randomValue(&g, exponents: exponents), b = randomValue(&g, exponents: exponents)
                var env = X87Env(fcw: 0x037F | (rc << 10))
                let r = soft(a, b, &env)
                let x = a.float80, y = b.float80
                let (h, flags) = host(mode) { hostOp(x, y) }
                let expected = X87Register(h)
                if h.isNaN {
                    XCTAssertTrue(r.isNaN, "\(name) \(a) \(b)")
                } else {
                    XCTAssertEqual(r, expected, "\(name) rc \(rc): \(a) \(b)")
                }
                // PE, UE, OE, ZE, IE as the host raised them (DE is reported differently
                // by the host's SSE side, so it is left out).
                XCTAssertEqual(env.flags & 0x3D, flags & 0x3D, "\(name) flags rc \(rc): \(a) \(b)")
                if r != expected { return }
            }
        }
    }

    func testAddSubtractMatchHost() {
        check("add", exponents: 16300...16460, soft: { X87Math.add($0, $1, .extended, &$2) }, hostOp: { $0 + $1 })
        check("sub", exponents: 16370...16400, soft: { a, b, env in X87Math.add(a, b.negated, .extended, &env) }, hostOp: { $0 - $1 })
    }

    func testMultiplyDivideMatchHostIncludingUnderAndOverflow() {
        check("mul", exponents: 1...32766, soft: { X87Math.multiply($0, $1, .extended, &$2) }, hostOp: { $0 * $1 })
        check("div", exponents: 1...32766, soft: { X87Math.divide($0, $1, .extended, &$2) }, hostOp: { $0 / $1 })
        check("mul-tiny", exponents: 8000...8400, soft: { X87Math.multiply($0, $1, .extended, &$2) }, hostOp: { $0 * $1 })
    }

    func testSquareRootMatchesHost() {
        check("sqrt", exponents: 1...32766, soft: { a, _, env in X87Math.squareRoot(a, .extended, &env) },
              hostOp: { a, _ in a.squareRoot() })
    }

    func testDoublePrecisionControlMatchesDoubleArithmetic() {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let x = Double(bitPattern: UInt64.random(in: 0x3000_0000_0000_0000...0x4FFF_FFFF_FFFF_FFFF, using: &g))
            let y = Double(bitPattern: UInt64.random(in: 0x3000_0000_0000_0000...0x4FFF_FFFF_FFFF_FFFF, using: &g))
            var env = X87Env(fcw: 0x027F)
            XCTAssertEqual(X87Math.add(X87Register(Float80(x)), X87Register(Float80(y)), .extendedDouble, &env), X87Register(Float80(x + y)))
            XCTAssertEqual(X87Math.divide(X87Register(Float80(x)), X87Register(Float80(y)), .extendedDouble, &env), X87Register(Float80(x / y)))
            let f = Float(bitPattern: UInt32.random(in: 0x3000_0000...0x4FFF_FFFF, using: &g))
            let h = Float(bitPattern: UInt32.random(in: 0x3000_0000...0x4FFF_FFFF, using: &g))
            XCTAssertEqual(X87Math.multiply(X87Register(Float80(f)), X87Register(Float80(h)), .extendedSingle, &env), X87Register(Float80(f * h)))
        }
    }

    func testMemoryFormatsWidenAndNarrowLikeTheHost() {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let d = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &g))
            let (w, _) = X87Math.widen(d.bitPattern, fraction: 52, exponentBits: 11)
            if !d.isNaN { XCTAssertEqual(w, X87Register(Float80(d))) }
            let v = randomValue(&g, exponents: 15000...17800)
            var env = X87Env(fcw: 0x037F)
            let narrowed = X87Math.narrow(v, .double, fraction: 52, exponentBits: 11, &env)
            XCTAssertEqual(narrowed, Double(v.float80).bitPattern, "\(v)")
            var env32 = X87Env(fcw: 0x037F)
            let single = X87Math.narrow(v, .single, fraction: 23, exponentBits: 8, &env32)
            XCTAssertEqual(single.map { UInt64($0) }, UInt64(Float(v.float80).bitPattern), "\(v)")
        }
    }

    func testDivide128MatchesFullWidthDivision() {
        var g = SystemRandomNumberGenerator()
        var cases: [(UInt64, UInt64, UInt64)] = [(UInt64.max - 1, UInt64.max, UInt64.max), (1 << 63 - 1, UInt64.max, 1 << 63), (0, 0, 1 << 63)]
        for _ in 0..<20000 {
            let d = UInt64.random(in: 0...UInt64.max, using: &g) | (1 << 63)
            let hi = UInt64.random(in: 0..<d, using: &g)
            cases.append((hi, UInt64.random(in: 0...UInt64.max, using: &g), d))
            cases.append((d - 1, UInt64.max, d))
        }
        for (hi, lo, d) in cases {
            let (q, r) = X87Math.divide128(hi, lo, by: d)
            let expected = d.dividingFullWidth((hi, lo))
            XCTAssertEqual(q, expected.quotient, "\(hi):\(lo) / \(d)")
            XCTAssertEqual(r, expected.remainder)
        }
    }

    func testUnmaskedOverflowWrapsTheExponent() {
        var env = X87Env(fcw: 0x0377)  // OM clear
        let big = X87Register(significand: 1 << 63, signExponent: 0x7FFE)
        let r = X87Math.multiply(big, big, .extended, &env)
        XCTAssertEqual(env.flags & FSW.oe, FSW.oe)
        XCTAssertEqual(r, X87Register(significand: 1 << 63, signExponent: UInt16(0x7FFE + 0x7FFE - 16383 - 0x6000)))
    }

    func testIntegerConversionIndefiniteAndRounding() {
        var env = X87Env(fcw: 0x037F)
        XCTAssertNil(X87Math.toInteger(X87Register(Float80(40000)), bits: 16, truncate: false, &env))
        XCTAssertEqual(env.flags & FSW.ie, FSW.ie)
        var up = X87Env(fcw: 0x0B7F)
        XCTAssertEqual(X87Math.toInteger(X87Register(Float80(2.1)), bits: 32, truncate: false, &up), 3)
        XCTAssertTrue(up.roundedUp)
        var neg = X87Env(fcw: 0x037F)
        XCTAssertEqual(X87Math.toInteger(X87Register(Float80(-32768)), bits: 16, truncate: false, &neg), -32768)
        XCTAssertEqual(neg.flags, 0)
    }
}
