import ArgumentParser
import Conformance
import Foundation
import Interpreter
import KVMAccel
import MachineCore
#if canImport(Glibc)
import Glibc
#endif

/// `swiftpc conformance`: the instruction conformance suite. Its last line is
/// `N passed, N failed, N skipped` (docs/ARCHITECTURE.md, "Command line"); the exit status is 1 when
/// anything failed.
struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run the instruction conformance suite.",
        discussion: """
            By default it assembles Tests/conformance/*.asm (nasm, through the suite's Makefile) and \
            runs every test on the chosen engines, printing a table per group, one FAIL line per \
            failed check and the skip reasons. --random N adds N random instruction streams run \
            under KVM (the host CPU as the oracle) and the interpreter, compared with undefined \
            flags masked; a mismatch is shrunk and printed with its seed, bytes and initial state. \
            --singlestep DIR runs every *.jsonl.gz SingleStepTests file in DIR on the interpreter \
            instead, honouring the known-differences file.
            """)

    @Option(help: "Engine: interp, kvm, both, or translated (the interpreter with 64-bit code translated to host code on first sight).")
    var accel: String = "interp"

    @Option(help: "Run only tests whose group/test name contains PATTERN (or matches it as a glob).")
    var filter: String?

    @Option(help: "The suite directory (Makefile and group files).")
    var suite: String = "Tests/conformance"

    @Option(help: "Also run N random differential streams per mode (KVM against the interpreter).")
    var random: Int = 0

    @Option(help: "Seed of the random streams.")
    var seed: UInt64 = 0x5EED_D1FF

    @Option(help: "Directory of SingleStepTests *.jsonl.gz files.")
    var singlestep: String?

    @Option(help: "Known-differences file for --singlestep.")
    var knownDifferences: String = "Tests/conformance/singlestep-known-differences.txt"

    @Option(help: "Run at most N tests per file (--singlestep).")
    var limit: Int?

    @Option(help: "Also write the report as JSON to FILE.")
    var json: String?

    @Option(help: ArgumentHelp("Run the interpreter with a deliberate defect (add-carry), to see the suite catch it.",
                               visibility: .hidden))
    var injectDefect: String?

    @Flag(help: "Print every test's result, not only failing ones.")
    var verbose = false

    func run() throws {
        if let directory = singlestep {
            runSingleStep(directory)
        }
        guard ["interp", "kvm", "both", "translated"].contains(accel) else { fail("--accel takes interp, kvm, both or translated") }
        var defect = InjectedDefect.none
        if let injectDefect {
            guard injectDefect == "add-carry" else { fail("--inject-defect takes add-carry") }
            defect = .addCarryFlip
        }
        var engines: [AssemblySuiteEngine] = []
        if accel == "translated" {
            engines.append(.translated())
        } else if accel != "kvm" {
            engines.append(.interpreter(defect: defect))
        }
        if accel == "kvm" || accel == "both" {
            do { engines.append(try Self.kvmEngine()) } catch { fail("--accel \(accel): KVM is not usable: \(error)") }
        }
        let runner = AssemblySuiteRunner(directory: suite)
        do { try runner.build() } catch { fail("\(error)") }
        var report = AssemblySuiteReport(results: [])
        for engine in engines {
            let start = Date()
            do {
                report.results += try runner.run(on: engine, filter: filter) { results in
                    for r in results where verbose || r.status == .failed {
                        print("\(r.status.rawValue.uppercased()) \(r.engine) \(r.qualifiedName)" + (r.skipReason.map { ": \($0)" } ?? ""))
                        for f in r.failures { print("  \(f)") }
                    }
                }
            } catch {
                fail("\(error)")
            }
            report.seconds[engine.name] = Date().timeIntervalSince(start)
        }
        if random > 0 {
            guard accel != "interp" else { fail("--random needs KVM as the oracle (--accel kvm or both)") }
            report.results += runRandom(defect: defect)
        }
        print(report.table)
        for line in report.skipLines { print(line) }
        for line in report.failureLines { print(line) }
        for (engine, s) in report.seconds.sorted(by: { $0.key < $1.key }) { print(String(format: "%@: %.1f s", engine, s)) }
        if let json { writeJSON(report.jsonObject, to: json) }
        print(report.summaryLine)
        if report.failed > 0 { Glibc.exit(1) }
    }

    /// KVM as a suite engine; on kvm_pvm the requirements it lacks are skipped with reasons.
    static func kvmEngine() throws -> AssemblySuiteEngine {
        let system = try KVMSystem()
        let pvm = FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm")
        return AssemblySuiteEngine(name: "kvm", missing: pvm ? AssemblySuiteRequirement.kvmPVMMissing : []) { memory, ports, control in
            let vm = try KVMVirtualMachine(system: system, memory: memory)
            return try KVMVirtualCPU(vm: vm, id: 0, portIO: ports, mmio: MMIOBus(), lock: Lock(), control: control)
        }
    }

    /// The random differential runner in 64-bit and compatibility mode; one result per stream.
    func runRandom(defect: InjectedDefect) -> [AssemblySuiteResult] {
        var results: [AssemblySuiteResult] = []
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let quirks = cpuinfo.contains("AuthenticAMD") ? DifferentialGenerator.amdRegisterQuirkForms : []
        for bitness in [64, 32] {
            let group = "random\(bitness)"
            guard AssemblySuiteRunner.matches(group + "/", filter) else { continue }
            do {
                let kvm = try DifferentialVCPUEngine(name: "kvm", make: try Self.kvmEngine().make)
                let interp = try DifferentialInterpreterEngine(defect: defect, blockTranslation: accel == "translated")
                let runner = DifferentialRunner(reference: kvm, subject: interp,
                                                generator: DifferentialGenerator(memoryOnlyForms: quirks, bitness: bitness, includeSSE: true, includeX87: true))
                let start = Date()
                let report = try runner.run(seed: seed, count: random)
                print(String(format: "%@: seed %llu, %d streams, %d instructions, %d mnemonics, %d stopped by a fault in both, %d mismatching, %.1f s",
                             group, seed, report.streams, report.instructions, report.mnemonics.count, report.bothStopped,
                             report.mismatchCount, Date().timeIntervalSince(start)))
                for m in report.mismatches { print(m.report + "\n") }
                let failing = Set(report.mismatchIndices)
                for i in 0..<report.streams {
                    let bad = failing.contains(i)
                    results.append(AssemblySuiteResult(engine: "kvm+\(interp.name)", group: group, test: "seed \(seed) stream \(i)",
                                                       status: bad ? .failed : .passed, checks: 1,
                                                       failures: bad ? ["the engines disagree (shrunk reproducer above)"] : []))
                }
            } catch {
                results.append(AssemblySuiteResult(engine: accel == "translated" ? "kvm+translated" : "kvm+interp", group: group, test: "setup", status: .failed, checks: 0,
                                                   failures: ["\(error)"]))
            }
        }
        return results
    }

    func runSingleStep(_ directory: String) -> Never {
        guard accel == "interp" else { fail("--singlestep runs on the interpreter only (--accel interp)") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            fail("\(directory): no such directory")
        }
        var known = SingleStepRunner.KnownDifferences()
        if FileManager.default.fileExists(atPath: knownDifferences) {
            do { known = try SingleStepRunner.KnownDifferences(path: knownDifferences) } catch {
                fail("cannot read \(knownDifferences): \(error)")
            }
        }
        let report: SingleStepRunner.Report
        do {
            report = try SingleStepRunner().run(directory: directory, filter: filter, known: known, limitPerFile: limit) { r in
                if r.failed > 0 || verbose {
                    print("\(r.file): \(r.passed) passed, \(r.failed) failed, \(r.skipped) skipped")
                    for f in r.failures { print("  FAIL \(f)") }
                }
            }
        } catch {
            fail("\(error)")
        }
        for (reason, count) in report.skipReasons.sorted(by: { $0.value > $1.value }) {
            print("skipped \(count): \(reason)")
        }
        print(String(format: "applicable tests passing: %.3f%%", report.passRate * 100))
        if let json {
            let files = report.files.map { ["file": $0.file, "passed": $0.passed, "failed": $0.failed, "skipped": $0.skipped] as [String: Any] }
            writeJSON(["passed": report.passed, "failed": report.failed, "skipped": report.skipped,
                       "skipReasons": report.skipReasons, "files": files], to: json)
        }
        print("\(report.passed) passed, \(report.failed) failed, \(report.skipped) skipped")
        Glibc.exit(report.failed > 0 ? 1 : 0)
    }

    func writeJSON(_ object: [String: Any], to path: String) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
              FileManager.default.createFile(atPath: path, contents: data) else {
            fail("cannot write the JSON report to \(path)")
        }
    }

    func fail(_ message: String) -> Never {
        FileHandleStderr.write("swiftpc: conformance: \(message)\n")
        Glibc.exit(ExitStatus.badArguments)
    }
}
