import MachineCore
import X86Decoder

/// Runs random streams on a reference engine (KVM: the host CPU) and a subject engine (the
/// interpreter), compares the outcomes, and shrinks every mismatch to a short reproducer.
public final class DifferentialRunner {
    public struct Mismatch {
        /// The shrunk case and its report.
        public var shrunk: DifferentialCase
        public var report: String
        public var originalLength: Int
    }

    public struct Report {
        public var streams = 0
        public var instructions = 0
        /// Streams where both engines stopped before the marker the same way (a fault both
        /// took); they still count as agreement.
        public var bothStopped = 0
        public var mismatches: [Mismatch] = []
        /// All mismatching streams (the list above is capped).
        public var mismatchCount = 0
        /// The stream index of every mismatch.
        public var mismatchIndices: [Int] = []
        /// Executed forms by mnemonic, for coverage.
        public var mnemonics: [String: Int] = [:]
    }

    let reference: DifferentialEngine
    let subject: DifferentialEngine
    public let generator: DifferentialGenerator
    public var maxReportedMismatches = 20

    public init(reference: DifferentialEngine, subject: DifferentialEngine, generator: DifferentialGenerator = DifferentialGenerator()) {
        self.reference = reference
        self.subject = subject
        self.generator = generator
    }

    /// Runs streams `first..<first+count` of `seed`, each of `length` instructions.
    public func run(seed: UInt64, first: Int = 0, count: Int, length: ClosedRange<Int> = 10...20) throws -> Report {
        var report = Report()
        let names = ISATables.shared.mnemonicNames
        for index in first..<(first + count) {
            var lrng = DifferentialRandom(seed: seed &+ UInt64(index))
            let n = length.lowerBound + lrng.below(length.count)
            let c = DifferentialCase.random(seed: seed, index: index, count: n, generator: generator)
            report.streams += 1
            report.instructions += c.instructions.count
            for ins in c.instructions { report.mnemonics[names[Int(ISATables.shared.forms[Int(ins.form)].mnemonic)], default: 0] += 1 }
            let (a, b) = try (reference.run(c), subject.run(c))
            let diffs = DifferentialRunner.differences(a, b, c)
            if diffs.isEmpty {
                if a.end != .reachedEnd { report.bothStopped += 1 }
                continue
            }
            report.mismatchCount += 1
            report.mismatchIndices.append(index)
            if report.mismatches.count < maxReportedMismatches {
                let small = try shrink(c)
                let (sa, sb) = try (reference.run(small), subject.run(small))
                report.mismatches.append(Mismatch(shrunk: small, report: describe(small, sa, sb), originalLength: c.instructions.count))
            }
        }
        return report
    }

    /// Differences between two outcomes, one line each; empty when they agree. Flags the
    /// stream leaves undefined are masked.
    public static func differences(_ a: DifferentialOutcome, _ b: DifferentialOutcome, _ c: DifferentialCase) -> [String] {
        var out: [String] = []
        if a.end != b.end { out.append("end: \(a.end) vs \(b.end)") }
        let names = ["RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"]
        // Compatibility mode: only the low halves are architectural (SDM Vol. 1 §3.4.1.1).
        let gprMask: UInt64 = c.bitness == 64 ? ~0 : 0xFFFF_FFFF
        for i in 0..<16 where a.gpr[i] & gprMask != b.gpr[i] & gprMask {
            out.append("\(names[i]): \(hex(a.gpr[i])) vs \(hex(b.gpr[i]))")
        }
        if a.rip != b.rip { out.append("RIP: \(hex(a.rip)) vs \(hex(b.rip))") }
        // RF and the bits above 21 are not results of the stream; neither is IOPL, which no
        // generated instruction changes and which kvm_pvm does not report back (it keeps the
        // guest's IOPL virtual: user code runs with the host's IOPL 0).
        // A stream both engines stopped at the same faulting instruction has the flags left
        // undefined before it.
        let undefined = a.end != .reachedEnd && a.rip == b.rip ? c.undefinedFlags(before: a.rip) : c.undefinedFlags
        let mask = ~undefined & 0x3F_FFFF & ~RFLAGS.rf & ~RFLAGS.iopl
        if a.rflags & mask != b.rflags & mask {
            out.append("RFLAGS: \(hex(a.rflags, 8)) vs \(hex(b.rflags, 8)) (differing \(flagNames(a.rflags & mask ^ b.rflags & mask)); masked undefined: \(flagNames(undefined)))")
        }
        // Compatibility mode reaches XMM0-7 only.
        for i in 0..<(c.bitness == 64 ? 16 : 8) where a.xmm[i] != b.xmm[i] {
            out.append("XMM\(i): \(hex128(a.xmm[i])) vs \(hex128(b.xmm[i]))")
        }
        if a.mxcsr != b.mxcsr { out.append("MXCSR: \(hex(UInt64(a.mxcsr), 8)) vs \(hex(UInt64(b.mxcsr), 8))") }
        if c.x87 != nil { out += x87Differences(a, b) }
        for (name, pa, pb, base) in [("data", a.dataPage, b.dataPage, DifferentialGuest.dataAddress),
                                     ("stack", a.stackPage, b.stackPage, DifferentialGuest.stackAddress)] where pa != pb {
            var shown = 0
            for i in 0..<min(pa.count, pb.count) where pa[i] != pb[i] {
                if shown < 8 { out.append("\(name) byte \(hex(base + UInt64(i), 5)): \(hex(UInt64(pa[i]), 2)) vs \(hex(UInt64(pb[i]), 2))") }
                shown += 1
            }
            if shown > 8 { out.append("\(name): \(shown - 8) more differing bytes") }
        }
        return out
    }

    /// x87 state: FCW; FSW without the condition codes; which registers are empty; and the
    /// contents of the others. C0, C2 and C3 are undefined after most arithmetic (SDM Vol. 1
    /// §8.1.3.1). C1 is masked too: where Intel documents it as cleared (FCOMI/FUCOMI and
    /// their popping forms, FCMOVcc) or undefined (FFREE), this project's AMD host keeps or
    /// clears it differently (measured with this runner), and the model follows Intel's manual.
    static func x87Differences(_ a: DifferentialOutcome, _ b: DifferentialOutcome) -> [String] {
        var out: [String] = []
        if a.fcw != b.fcw { out.append("FCW: \(hex(UInt64(a.fcw), 4)) vs \(hex(UInt64(b.fcw), 4))") }
        let conditionCodes: UInt16 = 0x4700
        if a.fsw & ~conditionCodes != b.fsw & ~conditionCodes {
            out.append("FSW: \(hex(UInt64(a.fsw), 4)) vs \(hex(UInt64(b.fsw), 4)) (C0-C3 masked)")
        }
        // `st` is in ST(i) order; the tag word is by physical register (TOP + i).
        let topA = Int(a.fsw >> 11) & 7, topB = Int(b.fsw >> 11) & 7
        for i in 0..<8 {
            let emptyA = a.ftw >> UInt16(2 * ((topA + i) & 7)) & 3 == 3
            let emptyB = b.ftw >> UInt16(2 * ((topB + i) & 7)) & 3 == 3
            if emptyA != emptyB {
                out.append("ST\(i): \(emptyA ? "empty" : "in use") vs \(emptyB ? "empty" : "in use")")
            } else if !emptyA && a.st[i] != b.st[i] {
                out.append("ST\(i): \(x87Hex(a.st[i])) vs \(x87Hex(b.st[i]))")
            }
        }
        return out
    }

    static func x87Hex(_ r: X87Register) -> String { hex(UInt64(r.signExponent), 4) + ":" + hex(r.significand) }

    /// Drops instructions one at a time (last first) while the mismatch persists and the
    /// shorter stream still reads no undefined flag.
    public func shrink(_ c: DifferentialCase) throws -> DifferentialCase {
        var current = c
        var progress = true
        while progress {
            progress = false
            var i = current.instructions.count - 1
            while i >= 0 {
                var candidate = current
                candidate.instructions.remove(at: i)
                if candidate.readsNoUndefinedFlag {
                    let (a, b) = try (reference.run(candidate), subject.run(candidate))
                    if !DifferentialRunner.differences(a, b, candidate).isEmpty {
                        current = candidate
                        progress = true
                    }
                }
                i -= 1
            }
        }
        return current
    }

    /// A reproducible report: seed, stream index, bytes with disassembly, initial state and
    /// the differences (reference first).
    public func describe(_ c: DifferentialCase, _ a: DifferentialOutcome, _ b: DifferentialOutcome) -> String {
        var lines: [String] = []
        lines.append("seed \(c.seed) stream \(c.index): \(reference.name) vs \(subject.name)")
        lines.append("code (\(c.instructions.count) instructions): " + c.instructions.map { $0.bytes.map { hex(UInt64($0), 2) }.joined() }.joined(separator: " "))
        let decoder = X86Decoder(bitness: c.bitness)!
        var address = DifferentialGuest.codeAddress
        for ins in c.instructions {
            let d = decoder.decode(ins.bytes)
            lines.append("  \(hex(address, 5))  \(ins.bytes.map { hex(UInt64($0), 2) }.joined(separator: " "))\t\(Disassembler.format(d, address: address))")
            address += UInt64(ins.bytes.count)
        }
        let names = ["RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"]
        lines.append("initial: " + (0..<16).map { "\(names[$0])=\(hex(c.gpr[$0]))" }.joined(separator: " "))
        lines.append("initial RFLAGS: \(hex(c.initialState.rflags, 8)) (\(DifferentialRunner.flagNames(c.statusFlags)))")
        if c.xmm.contains(where: { $0 != 0 }) || c.mxcsr != 0x1F80 {
            lines.append("initial MXCSR: \(hex(UInt64(c.mxcsr), 8)) " + (0..<16).map { "XMM\($0)=\(DifferentialRunner.hex128(c.xmm[$0]))" }.joined(separator: " "))
        }
        if let x = c.x87 {
            lines.append("initial FCW \(hex(UInt64(x.fcw), 4)) FSW \(hex(UInt64(x.fsw), 4)) FTW \(hex(UInt64(x.ftw), 4)) "
                         + (0..<8).map { "ST\($0)=\(DifferentialRunner.x87Hex(x.st[$0]))" }.joined(separator: " "))
        }
        lines.append(contentsOf: DifferentialRunner.differences(a, b, c).map { "  " + $0 })
        return lines.joined(separator: "\n")
    }

    static func hex(_ v: UInt64, _ width: Int = 16) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    func hex(_ v: UInt64, _ width: Int = 16) -> String { DifferentialRunner.hex(v, width) }

    static func hex128(_ v: UInt128) -> String { hex(UInt64(truncatingIfNeeded: v >> 64)) + "_" + hex(UInt64(truncatingIfNeeded: v)) }

    static func flagNames(_ f: UInt64) -> String {
        let names: [(UInt64, String)] = [(RFLAGS.cf, "CF"), (RFLAGS.pf, "PF"), (RFLAGS.af, "AF"), (RFLAGS.zf, "ZF"),
                                         (RFLAGS.sf, "SF"), (RFLAGS.tf, "TF"), (RFLAGS.if, "IF"), (RFLAGS.df, "DF"),
                                         (RFLAGS.of, "OF"), (RFLAGS.iopl, "IOPL"), (RFLAGS.nt, "NT"), (RFLAGS.rf, "RF"),
                                         (RFLAGS.ac, "AC"), (RFLAGS.id, "ID")]
        let set = names.filter { f & $0.0 != 0 }.map(\.1)
        return set.isEmpty ? "none" : set.joined(separator: " ")
    }
}
