import ArgumentParser
import Conformance
import Foundation
import MachineCore
#if canImport(Glibc)
import Glibc
#endif

/// `swiftpc conformance`: the instruction conformance suite. Its last line is
/// `N passed, N failed, N skipped` (DESIGN.md, "Command line").
struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run the instruction conformance suite.",
        discussion: """
            --singlestep DIR runs every *.jsonl.gz SingleStepTests file in DIR on the interpreter, \
            skipping tests that do not apply to a 386+ CPU (with the reason) and the tests listed in \
            the known-differences file.
            """)

    @Option(help: "Engine: interp, kvm or both.")
    var accel: String = "interp"

    @Option(help: "Run only files or tests whose name starts with PATTERN.")
    var filter: String?

    @Option(help: "Directory of SingleStepTests *.jsonl.gz files.")
    var singlestep: String?

    @Option(help: "Known-differences file for --singlestep.")
    var knownDifferences: String = "Tests/conformance/singlestep-known-differences.txt"

    @Option(help: "Run at most N tests per file.")
    var limit: Int?

    @Option(help: "Also write the report as JSON to FILE.")
    var json: String?

    @Flag(help: "Print every file's result, not only failing ones.")
    var verbose = false

    func run() throws {
        guard let directory = singlestep else {
            fail("give --singlestep DIR (the assembly suite is not built yet)")
        }
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
            let object: [String: Any] = ["passed": report.passed, "failed": report.failed, "skipped": report.skipped,
                                         "skipReasons": report.skipReasons, "files": files]
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) {
                FileManager.default.createFile(atPath: json, contents: data)
            }
        }
        print("\(report.passed) passed, \(report.failed) failed, \(report.skipped) skipped")
        if report.failed > 0 { Glibc.exit(1) }
    }

    func fail(_ message: String) -> Never {
        FileHandleStderr.write("swiftpc: conformance: \(message)\n")
        Glibc.exit(ExitStatus.badArguments)
    }
}
