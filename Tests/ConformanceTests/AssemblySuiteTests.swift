import Conformance
import Foundation
import Interpreter
import KVMAccel
import MachineCore
import XCTest

/// The assembly conformance suite (Tests/conformance/*.asm) as XCTests: every test passes on
/// the interpreter and, where /dev/kvm works, on KVM (the host CPU checks the expectations);
/// a deliberately broken interpreter makes the suite fail, naming the instruction.
final class AssemblySuiteTests: XCTestCase {
    static let suiteDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("conformance").path

    /// Assembled once for all tests of the class.
    nonisolated(unsafe) static var shared: AssemblySuiteRunner?

    func runner() throws -> AssemblySuiteRunner {
        if let r = Self.shared { return r }
        let r = AssemblySuiteRunner(directory: Self.suiteDirectory)
        try r.build()
        Self.shared = r
        return r
    }

    static func kvmEngine() throws -> AssemblySuiteEngine {
        let system: KVMSystem
        do { system = try KVMSystem() } catch {
            throw XCTSkip("KVM run of the conformance suite skipped: /dev/kvm not usable: \(error)")
        }
        let pvm = FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm")
        return AssemblySuiteEngine(name: "kvm", missing: pvm ? AssemblySuiteRequirement.kvmPVMMissing : []) { memory, ports, control in
            let vm = try KVMVirtualMachine(system: system, memory: memory)
            return try KVMVirtualCPU(vm: vm, id: 0, portIO: ports, mmio: MMIOBus(), lock: Lock(), control: control)
        }
    }

    func check(_ engine: AssemblySuiteEngine) throws {
        let start = Date()
        let report = AssemblySuiteReport(results: try runner().run(on: engine))
        print(report.table)
        for line in report.skipLines { print(line) }
        print("\(engine.name): \(report.summaryLine) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        XCTAssertEqual(report.failed, 0, report.failureLines.joined(separator: "\n"))
        XCTAssertGreaterThanOrEqual(report.results.count, 300, "the suite has at least 300 named tests")
        XCTAssertGreaterThanOrEqual(report.passed, 300)
        // Every skip names its reason.
        for r in report.results where r.status == .skipped { XCTAssertNotNil(r.skipReason, r.qualifiedName) }
        // The group files all contributed.
        let groups = Set(report.results.map(\.group))
        for g in ["alu", "shift", "muldiv", "bcd", "string", "control", "stack", "bit", "cmpxchg", "x87", "sse",
                  "seg", "paging", "exceptions", "interrupts", "syscall", "cpuid-msr", "paging32", "task", "v86", "seg32"] {
            XCTAssertTrue(groups.contains(g), "group \(g) missing")
        }
    }

    func testSuitePassesOnTheInterpreter() throws {
        try check(.interpreter())
    }

    /// The suite with 64-bit code translated on first sight: the translated blocks give the
    /// same results, and most 64-bit test code really ran translated.
    func testSuitePassesOnTranslatedCode() throws {
        var cpus: [X86CPU] = []
        try check(.translated { cpus.append($0) })
        let translated = cpus.reduce(UInt64(0)) { $0 + $1.translatedInstructions }
        print("translated: \(translated) instructions ran as translated code on \(cpus.count) CPUs")
        XCTAssertGreaterThan(translated, 5_000)
    }

    func testSuitePassesOnKVM() throws {
        try check(try Self.kvmEngine())
    }

    /// The suite's self-test: an interpreter whose ADD r/m, reg returns the inverted carry
    /// fails the ADD tests of those forms, with messages naming them, and nothing else.
    func testABrokenInterpreterFailsTheSuiteNamingTheInstruction() throws {
        let r = try runner()
        let report = AssemblySuiteReport(results: try r.run(on: .interpreter(defect: .addCarryFlip), filter: "alu/"))
        let failing = Set(report.results.filter { $0.status == .failed }.map(\.test))
        XCTAssertGreaterThan(report.failed, 0)
        XCTAssertTrue(failing.contains("add_rm32_r32_2"), "the carry-out case of ADD r/m32, r32 fails")
        XCTAssertTrue(failing.allSatisfy { $0.hasPrefix("add_") }, "only ADD tests fail: \(failing.sorted())")
        XCTAssertTrue(report.failureLines.contains { $0.hasPrefix("FAIL interp alu/add_rm64_r64_") && $0.contains("expected") },
                      report.failureLines.joined(separator: "\n"))
        XCTAssertFalse(failing.contains { $0.hasPrefix("add_rm8_") }, "ADD r/m8 (opcode 00) is not the broken form")
    }

    /// A guest that never finishes is stopped by the watchdog and every test is reported as
    /// not run, with the reason.
    func testReportsAHangingGuest() throws {
        let r = AssemblySuiteRunner(directory: Self.suiteDirectory)
        try r.load()
        r.timeoutSeconds = 0.3
        guard var alu = r.binaries.first(where: { $0.group == "alu" }) else { return XCTFail("no alu binary") }
        let entry = Int(alu.entry - AssemblySuiteBinary.loadAddress)
        alu.image[entry] = 0xEB         // jmp $
        alu.image[entry + 1] = 0xFE
        let results = try r.run(alu, on: .interpreter())
        XCTAssertEqual(results.count, alu.tests.count)
        XCTAssertTrue(results.allSatisfy { $0.status == .failed && $0.failures == ["did not run (timed out after 0.3 s)"] },
                      "\(results.first?.failures ?? [])")
    }

    func testFilterSelectsByGroupAndTest() {
        XCTAssertTrue(AssemblySuiteRunner.matches("alu/add_rm8_r8_1", "alu/"))
        XCTAssertTrue(AssemblySuiteRunner.matches("alu/add_rm8_r8_1", "alu/add_*"))
        XCTAssertFalse(AssemblySuiteRunner.matches("shift/shl_rm8_cl_1", "alu/*"))
        XCTAssertTrue(AssemblySuiteRunner.matches("x", nil))
    }
}
