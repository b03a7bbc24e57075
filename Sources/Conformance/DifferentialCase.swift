import MachineCore
import X86Decoder

/// One differential test case: a stream and the machine state it starts from. Both engines
/// run it from the same memory image (`DifferentialGuest`) and the same registers.
public struct DifferentialCase: Sendable {
    public var seed: UInt64
    public var index: Int
    public var instructions: [DifferentialInstruction]
    /// RAX..R15 at the start (RSP and R14 are set by the layout).
    public var gpr: [UInt64]
    /// CF PF AF ZF SF DF OF at the start.
    public var statusFlags: UInt64
    /// Initial contents of the data and stack pages.
    public var dataPage: [UInt8]
    public var stackPage: [UInt8]
    /// 64 (64-bit mode) or 32 (compatibility mode).
    public var bitness: Int = 64
    /// XMM0..XMM15 and MXCSR at the start (SSE forms read and write them).
    public var xmm: [UInt128] = Array(repeating: 0, count: 16)
    public var mxcsr: UInt32 = 0x1F80
    /// The x87 state at the start (x87 forms read and write it): control and status words,
    /// the tag word (by physical register) and ST(0)..ST(7), as `FPUState` holds them.
    public var x87: X87Start?

    public struct X87Start: Sendable {
        public var fcw: UInt16
        public var fsw: UInt16
        public var ftw: UInt16
        public var st: [X87Register]
    }

    /// The code page's bytes: the stream, then the end marker, then UD2 so that running past
    /// the marker faults in both engines.
    public var code: [UInt8] {
        instructions.flatMap(\.bytes) + DifferentialGuest.endMarker + [0x0F, 0x0B]
    }

    public var initialState: CPUState {
        var s = DifferentialGuest.initialState(gpr: gpr, statusFlags: statusFlags, bitness: bitness)
        s.fpu.xmm = xmm
        s.fpu.mxcsr = mxcsr
        if let x87 {
            s.fpu.fcw = x87.fcw
            s.fpu.fsw = x87.fsw
            s.fpu.ftw = x87.ftw
            s.fpu.st = x87.st
        }
        return s
    }

    /// Status flags undefined at the end of the stream; the comparison masks them.
    public var undefinedFlags: UInt64 {
        instructions.reduce(0) { DifferentialGenerator.flagEffect($1.form).after($0) }
    }

    /// Status flags undefined before the instruction at `rip` (where a stream that faulted
    /// stopped in both engines); the whole stream's set when `rip` is not an instruction start.
    public func undefinedFlags(before rip: UInt64) -> UInt64 {
        var address = DifferentialGuest.codeAddress
        var u: UInt64 = 0
        for ins in instructions {
            if address == rip { return u }
            u = DifferentialGenerator.flagEffect(ins.form).after(u)
            address += UInt64(ins.bytes.count)
        }
        return u
    }

    /// Whether no instruction reads a flag an earlier one left undefined (a shrunk stream
    /// must keep this property, or it would differ by design).
    public var readsNoUndefinedFlag: Bool {
        var u: UInt64 = 0
        for ins in instructions {
            let effect = DifferentialGenerator.flagEffect(ins.form)
            if effect.read & u != 0 { return false }
            u = effect.after(u)
        }
        return true
    }

    /// A random case: `count` instructions, random registers, flags and page contents.
    public static func random(seed: UInt64, index: Int, count: Int, generator: DifferentialGenerator) -> DifferentialCase {
        var rng = DifferentialRandom(seed: seed ^ (UInt64(index) &* 0xD6E8_FEB8_6659_FD93))
        var gpr = (0..<16).map { _ in rng.interestingValue() }
        gpr[CPUState.GPR.rsp.rawValue] = DifferentialGuest.initialRSP
        gpr[generator.dataBaseRegister] = DifferentialGuest.dataBase
        let flags = rng.next() & DifferentialFlags.status
        var data = [UInt8](repeating: 0, count: DifferentialGuest.pageSize)
        var stack = [UInt8](repeating: 0, count: DifferentialGuest.pageSize)
        for i in stride(from: 0, to: data.count, by: 8) {
            let a = rng.interestingValue(), b = rng.next()
            for j in 0..<8 {
                data[i + j] = UInt8(truncatingIfNeeded: a >> (8 * UInt64(j)))
                stack[i + j] = UInt8(truncatingIfNeeded: b >> (8 * UInt64(j)))
            }
        }
        let stream = generator.stream(count: count, &rng)
        var c = DifferentialCase(seed: seed, index: index, instructions: stream, gpr: gpr, statusFlags: flags,
                                 dataPage: data, stackPage: stack, bitness: generator.bitness)
        if generator.includesSSE {
            c.xmm = (0..<16).map { _ in UInt128(rng.interestingFloatBits()) << 64 | UInt128(rng.interestingFloatBits()) }
            // All exceptions masked (an unmasked one would end the stream in both engines);
            // the rounding mode, DAZ and FTZ vary (SDM Vol. 1 §10.2.3).
            c.mxcsr = 0x1F80 | UInt32(rng.below(4)) << 13 | (rng.chance(20) ? 0x40 : 0) | (rng.chance(20) ? 0x8000 : 0)
        }
        if generator.includesX87 { c.x87 = randomX87(&rng) }
        return c
    }

    /// A random x87 state: all exceptions masked (an unmasked one would end the stream),
    /// precision and rounding control varied, TOP anywhere, and a stack of 0 to 8 values —
    /// ordinary numbers from `interestingFloatBits` widened exactly, raw 80-bit values with
    /// random significands (to exercise rounding), zeros, denormals, infinities and NaNs.
    static func randomX87(_ rng: inout DifferentialRandom) -> X87Start {
        let precision: [UInt16] = [0, 2, 3]  // single, double, extended (1 is reserved)
        let fcw: UInt16 = 0x0040 | 0x003F | precision[rng.below(3)] << 8 | UInt16(rng.below(4)) << 10
        let top = rng.below(8)
        let depth = rng.below(9)
        var st = [X87Register](repeating: X87Register(), count: 8)
        var ftw: UInt16 = 0xFFFF
        for i in 0..<8 {
            // ST(i) lives in physical register TOP + i; the contents of empty registers are
            // kept too (FXSAVE stores them).
            st[i] = randomX87Value(&rng)
            guard i < depth else { continue }
            let physical = (top + i) & 7
            ftw &= ~(3 << UInt16(2 * physical))
            ftw |= x87Tag(st[i]) << UInt16(2 * physical)
        }
        return X87Start(fcw: fcw, fsw: UInt16(top) << 11, ftw: ftw, st: st)
    }

    static func randomX87Value(_ rng: inout DifferentialRandom) -> X87Register {
        switch rng.below(10) {
        case 0..<5:
            let f = Float80(Double(bitPattern: rng.interestingFloatBits() & 0xFFFF_FFFF_FFFF_FFFF))
            return withUnsafeBytes(of: f) { raw in
                X87Register(significand: raw.loadUnaligned(as: UInt64.self), signExponent: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
            }
        case 5..<8:
            // A normal number with a full 64-bit significand near 1.0 (exponents -40...40).
            let exponent = UInt16(16383 - 40 + rng.below(81)) | (rng.chance(50) ? 0x8000 : 0)
            return X87Register(significand: rng.next() | 1 << 63, signExponent: exponent)
        case 8:
            // Zero or an 80-bit denormal (exponent 0, integer bit clear).
            return X87Register(significand: rng.chance(30) ? 0 : (rng.next() >> 1) >> UInt64(rng.below(60)),
                               signExponent: rng.chance(50) ? 0x8000 : 0)
        default:
            // Infinity, a quiet NaN or a signalling NaN.
            let kind = rng.below(3)
            let significand: UInt64 = kind == 0 ? 1 << 63 : kind == 1 ? 0xC000_0000_0000_0000 | rng.next() >> 2 : 0x8000_0000_0000_0001 | rng.next() >> 3
            return X87Register(significand: significand, signExponent: 0x7FFF | (rng.chance(50) ? 0x8000 : 0))
        }
    }

    /// The full tag of a register's contents (SDM Vol. 1 §8.1.7): 0 valid, 1 zero, 2 special.
    static func x87Tag(_ r: X87Register) -> UInt16 {
        let exponent = r.signExponent & 0x7FFF
        if exponent == 0 { return r.significand == 0 ? 1 : 2 }
        if exponent == 0x7FFF || r.significand >> 63 == 0 { return 2 }
        return 0
    }
}

/// What one engine did with a case.
public struct DifferentialOutcome: Equatable, Sendable {
    public enum End: Equatable, Sendable {
        /// The stream reached the end marker.
        case reachedEnd
        /// Something else: a triple fault (any exception, as the IDT is empty), an engine error.
        case stopped(String)
    }

    public var end: End
    public var gpr: [UInt64]
    public var rip: UInt64
    public var rflags: UInt64
    public var dataPage: [UInt8]
    public var stackPage: [UInt8]
    public var xmm: [UInt128]
    public var mxcsr: UInt32
    /// x87 control, status and tag words and R0..R7.
    public var fcw: UInt16
    public var fsw: UInt16
    public var ftw: UInt16
    public var st: [X87Register]

    public init(end: End, gpr: [UInt64], rip: UInt64, rflags: UInt64, dataPage: [UInt8], stackPage: [UInt8],
                xmm: [UInt128] = Array(repeating: 0, count: 16), mxcsr: UInt32 = 0x1F80, fpu: FPUState = FPUState()) {
        self.end = end; self.gpr = gpr; self.rip = rip; self.rflags = rflags
        self.dataPage = dataPage; self.stackPage = stackPage
        self.xmm = xmm; self.mxcsr = mxcsr
        fcw = fpu.fcw; fsw = fpu.fsw; ftw = fpu.ftw; st = fpu.st
    }
}

/// An engine the differential runner can drive: loads the case (memory and registers), runs
/// it to the end marker, and returns the outcome.
public protocol DifferentialEngine: AnyObject {
    var name: String { get }
    func run(_ c: DifferentialCase) throws -> DifferentialOutcome
}
