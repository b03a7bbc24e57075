import Foundation
import Interpreter
import MachineCore
import X86Decoder

/// Runs the SingleStepTests real-mode data set on the interpreter (issue "Interpreter",
/// "SingleStepTests"). Tests that do not apply to a 386+/x86-64 CPU are skipped by rule, with
/// the reason from the data set's README; individual known differences come from a file.
public final class SingleStepRunner {
    public struct FileResult {
        public var file: String
        public var passed = 0
        public var failed = 0
        public var skipped = 0
        public var failures: [String] = []
    }

    public struct Report {
        public var files: [FileResult] = []
        public var skipReasons: [String: Int] = [:]
        public var passed: Int { files.reduce(0) { $0 + $1.passed } }
        public var failed: Int { files.reduce(0) { $0 + $1.failed } }
        public var skipped: Int { files.reduce(0) { $0 + $1.skipped } }
        /// Passed / (passed + failed): the share of applicable tests that pass.
        public var passRate: Double { passed + failed == 0 ? 1 : Double(passed) / Double(passed + failed) }
    }

    /// Known differences: a test hash or a file name (e.g. `D8`) per line, then the reason.
    public struct KnownDifferences {
        public var byHash: [String: String] = [:]
        public var byFile: [String: String] = [:]
        public init() {}
        public init(path: String) throws {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            for raw in text.split(separator: "\n") {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                let reason = parts.count > 1 ? parts[1] : "listed in the known-differences file"
                if parts[0].count == 40 { byHash[parts[0]] = reason } else { byFile[parts[0]] = reason }
            }
        }
    }

    let memory: GuestMemory
    let cpu: X86CPU
    let decoder16 = X86Decoder(bitness: 16)!
    /// Per-file flag masks from opcodes.json (1 = defined flag to compare).
    var flagMasks: [String: UInt16] = [:]

    public init() throws {
        memory = try GuestMemory(size: 2 << 20)
        cpu = X86CPU(memory: memory, portBus: PortIOBus(), mmioBus: MMIOBus(), lock: Lock())
    }

    public func run(directory: String, filter: String? = nil, known: KnownDifferences = KnownDifferences(),
                    limitPerFile: Int? = nil, progress: ((FileResult) -> Void)? = nil) throws -> Report {
        loadMasks(directory)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".jsonl.gz") }.sorted()
        guard !names.isEmpty else { throw ConformanceError("\(directory): no *.jsonl.gz SingleStepTests files") }
        var report = Report()
        for name in names {
            let file = String(name.dropLast(".jsonl.gz".count))
            if let filter, !file.hasPrefix(filter) { continue }
            var result = FileResult(file: file)
            var tests = try SingleStepFile.load(directory + "/" + name)
            if let limitPerFile, tests.count > limitPerFile { tests = Array(tests.prefix(limitPerFile)) }
            for test in tests {
                if let reason = known.byHash[test.hash] ?? known.byFile[file] ?? notApplicable(test, file: file) {
                    result.skipped += 1
                    report.skipReasons[reason, default: 0] += 1
                    continue
                }
                switch runOne(test, mask: flagMasks[file] ?? 0xFFFF) {
                case .pass: result.passed += 1
                case let .skip(reason):
                    result.skipped += 1
                    report.skipReasons[reason, default: 0] += 1
                case let .fail(why):
                    result.failed += 1
                    if result.failures.count < 5 { result.failures.append("\(test.hash) \(test.name): \(why)") }
                }
            }
            progress?(result)
            report.files.append(result)
        }
        return report
    }

    func loadMasks(_ directory: String) {
        guard let data = FileManager.default.contents(atPath: directory + "/opcodes.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let files = json["files"] as? [String: Any] else { return }
        for (file, entry) in files {
            if let e = entry as? [String: Any], let mask = e["flags-mask"] as? Int { flagMasks[file] = UInt16(mask) }
        }
    }

    /// Rules from the data set's README for tests that a 386+/x86-64 CPU answers differently
    /// by design. Returns the reason, or nil when the test applies.
    func notApplicable(_ test: SingleStepTest, file: String) -> String? {
        if test.bytes.count - 1 > 10 { return "longer than 10 bytes: the 286 faults, a 386+ allows 15" }
        if file == "D8" { return "x87 escape: the 286 test rig had no FPU" }
        let d = decoder16.decode(test.bytes)
        if (file == "8C" || file == "8E"), d.isValid, (d.modrm >> 3) & 7 == 4 || (d.modrm >> 3) & 7 == 5 {
            return "MOV to/from FS/GS: segment registers 4 and 5 exist on 386+"
        }
        // LOCK: decode without the F0 prefix bytes; a form that is not a lockable
        // read-modify-write of memory raises #UD with LOCK on a 386+.
        var prefixEnd = 0
        let prefixBytes: Set<UInt8> = [0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF2, 0xF3]
        while prefixEnd < test.bytes.count && prefixBytes.contains(test.bytes[prefixEnd]) { prefixEnd += 1 }
        if test.bytes[..<prefixEnd].contains(0xF0) {
            let unlocked = test.bytes[..<prefixEnd].filter { $0 != 0xF0 } + test.bytes[prefixEnd...]
            let u = decoder16.decode(Array(unlocked))
            if !u.isValid { return nil }
            let info = ISATables.shared.forms[Int(u.form)]
            if !u.hasMemory || info.attributes & FormAttributes.lock == 0 {
                return "LOCK on a non-lockable form: #UD on 386+"
            }
        }
        return nil
    }

    enum Outcome { case pass, fail(String), skip(String) }

    static let wordStringNames = ["movsw", "cmpsw", "stosw", "lodsw", "scasw", "insw", "outsw"]

    func runOne(_ test: SingleStepTest, mask: UInt16) -> Outcome {
        for (address, value) in test.initial.ram { cpu.pokePhysical(UInt64(address), value) }
        defer {
            for (address, _) in test.initial.ram { cpu.pokePhysical(UInt64(address), 0) }
            for (address, _) in test.final.ram { cpu.pokePhysical(UInt64(address), 0) }
        }
        var state = CPUState()
        let r = test.initial.regs
        state.rax = UInt64(r["ax"] ?? 0); state.rbx = UInt64(r["bx"] ?? 0)
        state.rcx = UInt64(r["cx"] ?? 0); state.rdx = UInt64(r["dx"] ?? 0)
        state.rsp = UInt64(r["sp"] ?? 0); state.rbp = UInt64(r["bp"] ?? 0)
        state.rsi = UInt64(r["si"] ?? 0); state.rdi = UInt64(r["di"] ?? 0)
        state.rip = UInt64(r["ip"] ?? 0)
        state.rflags = UInt64((r["flags"] ?? 2) & 0x0FFF) | 2
        state.cs = .realMode(r["cs"] ?? 0, code: true)
        state.ss = .realMode(r["ss"] ?? 0)
        state.ds = .realMode(r["ds"] ?? 0)
        state.es = .realMode(r["es"] ?? 0)
        state.cr0 = CR0.et
        cpu.setState(state)
        cpu.lastDeliveredVector = nil
        var steps = 0
        // REP string I/O ends a step per element; CX is below 128 in this data.
        var firstVector: UInt8?
        while !cpu.isHalted && steps < 300 {
            cpu.runSlice(1)
            steps += 1
            if firstVector == nil { firstVector = cpu.lastDeliveredVector }
        }
        if let expected = test.exceptionVector, expected == 13, firstVector == 12 {
            return .skip("segment limit on SS: #GP on the 286, #SS on 386+")
        }
        if test.exceptionVector == nil || test.exceptionVector == 13, let v = cpu.lastDeliveredVector, v == 12 || v == 13,
           SingleStepRunner.wordStringNames.contains(where: { test.name.contains($0) }),
           ["si", "di"].contains(where: { test.initial.regs[$0] == 0xFFFF }) {
            return .skip("word string access at offset FFFF: the 286 wraps or steps SI/DI before faulting, a 386+ faults first")
        }
        if !cpu.isHalted { return .fail("did not reach the HLT after \(steps) steps") }
        let s = cpu.getState()
        let actual: [String: UInt16] = [
            "ax": UInt16(truncatingIfNeeded: s.rax), "bx": UInt16(truncatingIfNeeded: s.rbx),
            "cx": UInt16(truncatingIfNeeded: s.rcx), "dx": UInt16(truncatingIfNeeded: s.rdx),
            "sp": UInt16(truncatingIfNeeded: s.rsp), "bp": UInt16(truncatingIfNeeded: s.rbp),
            "si": UInt16(truncatingIfNeeded: s.rsi), "di": UInt16(truncatingIfNeeded: s.rdi),
            "ip": UInt16(truncatingIfNeeded: s.rip), "cs": s.cs.selector, "ss": s.ss.selector,
            "ds": s.ds.selector, "es": s.es.selector, "flags": UInt16(truncatingIfNeeded: s.rflags),
        ]
        var problems: [String] = []
        for name in SingleStepTest.registerNames {
            var want = test.expected(name), got = actual[name] ?? 0
            if name == "flags" { want &= 0x0FFF & mask; got &= 0x0FFF & mask }
            if want != got { problems.append("\(name) \(hex(got)) != \(hex(want))") }
        }
        // The FLAGS image of an interrupt frame is at SS:SP+4 after the pushes. (The data's
        // flag_address is one byte low in tests that start with an odd SP, so it is not used.)
        let frameFlags: UInt32? = test.exceptionVector == nil ? nil
            : (UInt32(test.expected("ss")) << 4) &+ UInt32((test.expected("sp") &+ 4) & 0xFFFF)
        var finalAddresses = Set<UInt32>()
        for (address, value) in test.final.ram {
            finalAddresses.insert(address)
            var want = value, got = (try? memory.read8(UInt64(address))) ?? 0
            if let flagAddress = frameFlags {
                if address == flagAddress { want &= UInt8(mask & 0xFF); got &= UInt8(mask & 0xFF) }
                if address == flagAddress + 1 { want &= UInt8((mask >> 8) & 0x0F); got &= UInt8((mask >> 8) & 0x0F) }
            }
            if want != got { problems.append("[\(hex(address))] \(hex(got)) != \(hex(want))") }
        }
        for (address, value) in test.initial.ram where !finalAddresses.contains(address) {
            let got = (try? memory.read8(UInt64(address))) ?? 0
            if got != value { problems.append("[\(hex(address))] changed to \(hex(got)), expected \(hex(value)) unchanged") }
        }
        if !problems.isEmpty, let v = cpu.lastDeliveredVector { problems.append("(delivered vector \(v))") }
        return problems.isEmpty ? .pass : .fail(problems.joined(separator: ", "))
    }

    func hex<T: BinaryInteger>(_ v: T) -> String { "0x" + String(v, radix: 16) }
}
