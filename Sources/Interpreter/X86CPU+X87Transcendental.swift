#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MachineCore
import X86Decoder

/// x87 transcendental instructions (SDM Vol. 2A F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN,
/// FCOS, FSINCOS).
///
/// Accuracy: F2XM1, FYL2X and FYL2XP1 carry about 128 bits through the computation
/// (X87DoubleExtended.swift) and round once, so they are within one ulp of the exact value as
/// the SDM documents (Vol. 1 §8.3.10), subnormal operands and results included; outside their
/// documented domains (|x| > 1 for F2XM1) the host C library's functions answer. The
/// trigonometric functions come from the host C library's long double functions on the same
/// 80-bit format (glibc's sinl/cosl/tanl/atan2l, accurate to about one unit in the last place,
/// with an exact argument reduction). Real FSIN/FCOS/FPTAN reduce with a 66-bit π, so near
/// multiples of π/2 the hardware is off by up to about |x|·2^-64 where this is closer to the
/// true value (the differential tests allow for that). Results are rounded to nearest
/// whatever RC says; PE is set for every inexact result, UE for a tiny one, and C1 is cleared
/// (the direction of the rounding is not known).
extension X86CPU {
    func x87Transcendental(_ d: InstructionRef, _ modrm: UInt8) throws(CPUException) {
        switch modrm {
        case 0xF0: // F2XM1
            x87HostUnary { x in
                if x.isInfinite { return x < 0 ? -1 : x }
                return abs(x) <= 1 ? X87ExtendedMath.exp2MinusOne(x) : expm1l(x * 0.693147180559945309417232121458176568)
            }
        case 0xFE: x87Trigonometric(push: nil) { x in (sinl(x), nil) }
        case 0xFF: x87Trigonometric(push: nil) { x in (cosl(x), nil) }
        case 0xFB: x87Trigonometric(push: true) { x in (sinl(x), cosl(x)) }   // FSINCOS: ST(0) = cos, ST(1) = sin
        case 0xF2: x87Trigonometric(push: false) { x in (tanl(x), 1) }         // FPTAN: tan, then push 1.0
        case 0xF1: // FYL2X: ST(1) = ST(1) × log2(ST(0)), pop
            x87HostBinary(zeroDivide: { x, y in x == 0 && y.isFinite && y != 0 }, exactZero: { x, y in x == 1 || y == 0 }) { x, y in
                x > 0 && x.isFinite && y.isFinite ? X87ExtendedMath.yLog2X(x, y) : y * log2l(x)
            }
        case 0xF9: // FYL2XP1: ST(1) = ST(1) × log2(ST(0) + 1), pop
            x87HostBinary(zeroDivide: { x, y in x == -1 && y.isFinite && y != 0 }, exactZero: { x, y in x == 0 || y == 0 }) { x, y in
                x > -1 && x.isFinite && y.isFinite ? X87ExtendedMath.yLog2XPlus1(x, y)
                    : y * (log1pl(x) * 1.44269504088896340735992468100189214)
            }
        case 0xF3: // FPATAN: ST(1) = arctan(ST(1) / ST(0)), pop
            x87HostBinary(zeroDivide: { _, _ in false }, exactZero: { _, y in y == 0 }) { x, y in atan2l(y, x) }
        default: throw unimplementedInstruction(d)
        }
    }

    /// Classifies a host result: a NaN from non-NaN operands is an invalid operation (the
    /// QNaN indefinite), a tiny result (zero included, when the exact value is not) underflows,
    /// and anything else is inexact.
    func x87HostResult(_ r: Float80, exact: Bool, _ env: inout X87Env) -> X87Register {
        if r.isNaN { return X87Math.invalid(&env) }
        var v = X87Register(r)
        if !exact && r.isFinite {
            env.flags |= FSW.pe
            if v.exponentField == 0 { env.flags |= FSW.ue }
        }
        if v.isZero { v = .zero(r.sign == .minus) }
        return v
    }

    /// ST(0) = f(ST(0)).
    func x87HostUnary(_ f: (Float80) -> Float80) {
        guard !stIsEmpty(0) else { if x87StackUnderflow() { setST(0, .indefinite) }; return }
        let a = st(0)
        var env = X87Env(fcw: x87.fcw)
        let r: X87Register
        if a.isUnsupported { r = X87Math.invalid(&env) }
        else if a.isNaN { r = X87Math.propagateNaN(a, &env) }
        else {
            if a.isDenormal { env.flags |= FSW.de }
            r = a.isZero ? a : x87HostResult(f(a.float80), exact: a.isInfinity, &env)
        }
        x87Deliver(r, to: 0, env, pop: false)
    }

    /// ST(1) = f(ST(0), ST(1)), then pop. `exactZero`: the operands whose exact result is 0
    /// (a zero from any others underflowed: UE and PE, as on hardware).
    func x87HostBinary(zeroDivide: (Float80, Float80) -> Bool, exactZero: (Float80, Float80) -> Bool,
                       _ f: (Float80, Float80) -> Float80) {
        guard !stIsEmpty(0), !stIsEmpty(1) else {
            if x87StackUnderflow() { setST(1, .indefinite); x87Pop() }
            return
        }
        let a = st(0), b = st(1)
        var env = X87Env(fcw: x87.fcw)
        let r: X87Register
        if let s = (a.isSpecial || b.isSpecial) ? X87Math.specialOperands(a, b, &env) : nil {
            r = s
        } else {
            if a.isDenormal || b.isDenormal { env.flags |= FSW.de }
            let x = a.float80, y = b.float80
            if zeroDivide(x, y) { env.flags |= FSW.ze }
            let v = f(x, y)
            r = x87HostResult(v, exact: v.isInfinite || (v == 0 && exactZero(x, y)), &env)
        }
        x87Deliver(r, to: 1, env, pop: true)
    }

    /// FSIN, FCOS, FSINCOS, FPTAN. |x| ≥ 2^63 is out of range: C2 = 1 and the stack is left
    /// alone. `push` nil: one result in ST(0); true/false: the second result of `f` is
    /// pushed (FSINCOS pushes cos above sin; FPTAN pushes 1.0 above tan).
    func x87Trigonometric(push: Bool?, _ f: (Float80) -> (Float80, Float80?)) {
        guard !stIsEmpty(0) else {
            if x87StackUnderflow() {
                setST(0, .indefinite)
                if push != nil { x87Push(.indefinite) }
            }
            return
        }
        if push != nil && !stIsEmpty(7) { x87StackOverflow(); return }
        let a = st(0)
        var env = X87Env(fcw: x87.fcw)
        var first: X87Register, second: X87Register? = nil
        if a.isUnsupported || a.isInfinity {
            first = X87Math.invalid(&env); second = first
        } else if a.isNaN {
            first = X87Math.propagateNaN(a, &env); second = first
        } else {
            if a.isDenormal { env.flags |= FSW.de }
            if !a.isZero && X87Math.unpack(a).0 >= X87Math.bias + 63 {
                setConditionCodes(FSW.c2, mask: FSW.c2)  // operand out of range, unchanged
                x87Raise(env.flags)
                return
            }
            let x = a.float80
            let (u, v) = f(x)
            first = x87HostResult(u, exact: a.isZero, &env)
            if let v { second = x87HostResult(v, exact: v == 1 || a.isZero, &env) }
        }
        env.applyDenormalStop()
        x87Raise(env.flags)
        if env.flags & ~env.masks & (FSW.ie | FSW.de) != 0 { return }
        setConditionCodes(0, mask: FSW.c2)
        setC1(false)
        setST(0, first)
        if push != nil, let s = second { x87PushValue(s) }
    }
}
