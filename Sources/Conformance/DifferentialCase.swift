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

    /// The code page's bytes: the stream, then the end marker, then UD2 so that running past
    /// the marker faults in both engines.
    public var code: [UInt8] {
        instructions.flatMap(\.bytes) + DifferentialGuest.endMarker + [0x0F, 0x0B]
    }

    public var initialState: CPUState {
        var s = DifferentialGuest.initialState(gpr: gpr, statusFlags: statusFlags, bitness: bitness)
        s.fpu.xmm = xmm
        s.fpu.mxcsr = mxcsr
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
        return c
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

    public init(end: End, gpr: [UInt64], rip: UInt64, rflags: UInt64, dataPage: [UInt8], stackPage: [UInt8],
                xmm: [UInt128] = Array(repeating: 0, count: 16), mxcsr: UInt32 = 0x1F80) {
        self.end = end; self.gpr = gpr; self.rip = rip; self.rflags = rflags
        self.dataPage = dataPage; self.stackPage = stackPage
        self.xmm = xmm; self.mxcsr = mxcsr
    }
}

/// An engine the differential runner can drive: loads the case (memory and registers), runs
/// it to the end marker, and returns the outcome.
public protocol DifferentialEngine: AnyObject {
    var name: String { get }
    func run(_ c: DifferentialCase) throws -> DifferentialOutcome
}
