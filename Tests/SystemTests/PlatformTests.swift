import Foundation
import XCTest

/// Platform behaviour seen from small guests: fw_cfg on direct boots, the 0xCF9 reset
/// register, ACPI sleep types the machine does not offer; the engine choice; the help text.
enum PlatformScenarios {
    /// A --kernel boot finds the same fw_cfg content a firmware boot gets (issue 13, item 14).
    static func firmwareConfigOnAKernelBoot(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "-m", "96M", "--kernel", try SwiftPCProcess.guest("fwcfg"),
                                        "--append", "fw_cfg test line"])
        XCTAssertEqual(r.status, (1 << 1) | 1, "debug-exit with the CPU count, 1: " + r.stdout + r.stderr)
        let lines = r.stdout.components(separatedBy: "\r\n")
        XCTAssertEqual(Array(lines.prefix(4)), ["signature: QEMU", "cpus: 1", "ram: 96 MiB", "cmdline: fw_cfg test line"])
        // etc/e820: the RAM entries of the map the loaders use, 20 bytes each (below and above 1 MiB).
        XCTAssertEqual(lines.dropFirst(4).first, "etc/e820 bytes: 40", r.stdout)
    }

    /// Linux's reboot=pci sequence at 0xCF9 resets the machine; the byte register leaves
    /// CONFIG_ADDRESS at 0xCF8 working (item 19).
    static func resetControlRegisterResets(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--bios", try SwiftPCProcess.guest("reset-cf9")])
        XCTAssertEqual(r.status, (2 << 1) | 1, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, "boot, resets so far: 00\r\npci config intact\r\nboot, resets so far: 01\r\n"
                       + "pci config intact\r\nboot, resets so far: 02\r\n")
    }

    static func resetControlRegisterUnderNoReboot(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--no-reboot", "--bios", try SwiftPCProcess.guest("reset-cf9")])
        XCTAssertEqual(r.status, 8, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, "boot, resets so far: 00\r\npci config intact\r\n")
    }

    /// S3 is refused by an immediate wake, S4 powers off; nothing hangs (item 13).
    static func sleepStatesNotOfferedDoNotHang(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--kernel", try SwiftPCProcess.guest("acpi-sleep")], timeout: 30)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, "S3 requested\r\nwoke at once (WAK_STS)\r\nS4 requested\r\n")
    }
}

final class InterpreterPlatformTests: XCTestCase {
    let accel = "interp"
    func testFirmwareConfigOnAKernelBoot() throws { try PlatformScenarios.firmwareConfigOnAKernelBoot(accel) }
    func testResetControlRegisterResets() throws { try PlatformScenarios.resetControlRegisterResets(accel) }
    func testResetControlRegisterUnderNoReboot() throws { try PlatformScenarios.resetControlRegisterUnderNoReboot(accel) }
    func testSleepStatesNotOfferedDoNotHang() throws { try PlatformScenarios.sleepStatesNotOfferedDoNotHang(accel) }
}

final class KVMPlatformTests: XCTestCase {
    override func setUpWithError() throws { try SwiftPCProcess.requireKVM() }
    let accel = "kvm"
    func testFirmwareConfigOnAKernelBoot() throws { try PlatformScenarios.firmwareConfigOnAKernelBoot(accel) }
    func testResetControlRegisterResets() throws { try PlatformScenarios.resetControlRegisterResets(accel) }
    func testSleepStatesNotOfferedDoNotHang() throws { try PlatformScenarios.sleepStatesNotOfferedDoNotHang(accel) }
}

/// `--accel auto` measures KVM before choosing it (item 20).
final class EngineChoiceTests: XCTestCase {
    func run(_ extra: [String]) throws -> SwiftPCProcess.Result {
        try SwiftPCProcess.run(["run", "--stats"] + extra + ["--bios", try SwiftPCProcess.guest("hello-realmode")])
    }

    /// On a host whose KVM is kvm_pvm (guest ring 0 in software) auto takes the interpreter,
    /// and says why on stderr and in --stats; on a hardware KVM it takes KVM.
    func testAutoMeasuresKVMBeforeChoosingIt() throws {
        try SwiftPCProcess.requireKVM()
        let r = try run(["--accel", "auto"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "Hello from real mode\r\nrep outsb works\r\n")
        guard let choice = r.stderr.split(separator: "\n").first(where: { $0.hasPrefix("engine choice: ") }) else {
            return XCTFail("--stats names no engine choice: \(r.stderr)")
        }
        XCTAssertTrue(choice.contains("MIPS (measured in"), String(choice))
        if FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") {
            XCTAssertTrue(r.stderr.contains("engine: interp"), r.stderr)
            XCTAssertTrue(choice.contains("auto chose the interpreter") && choice.contains("kvm_pvm"), String(choice))
            XCTAssertTrue(r.stderr.hasPrefix("swiftpc: auto chose the interpreter: KVM ran kernel-mode code at "), r.stderr)
        } else {
            XCTAssertTrue(r.stderr.contains("engine: kvm"), r.stderr)
            XCTAssertTrue(choice.contains("auto chose KVM"), String(choice))
        }
    }

    /// --accel kvm keeps KVM; on a slow KVM it warns once.
    func testAccelKVMWarnsWhenKVMIsSlow() throws {
        try SwiftPCProcess.requireKVM()
        let r = try run(["--accel", "kvm"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("engine: kvm"), r.stderr)
        let warnings = r.stderr.components(separatedBy: "swiftpc: warning: ").count - 1
        XCTAssertEqual(warnings, FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") ? 1 : 0, r.stderr)
    }

    func testAutoWithoutKVMSaysSo() throws {
        let r = try SwiftPCProcess.run(["run", "--stats", "--bios", try SwiftPCProcess.guest("hello-realmode")],
                                       environment: ["SWIFTPC_KVM_DEVICE": "/nonexistent/kvm"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("engine: interp"), r.stderr)
        XCTAssertTrue(r.stderr.contains("engine choice: auto chose the interpreter: no usable KVM (/nonexistent/kvm: "), r.stderr)
    }

    func testInterpIsChosenByTheUser() throws {
        let r = try run(["--accel", "interp"])
        XCTAssertTrue(r.stderr.contains("engine choice: --accel interp"), r.stderr)
        XCTAssertFalse(r.stderr.hasPrefix("swiftpc:"), r.stderr)
    }
}

/// The debug-exit port's four addresses are documented where users look (item 21).
final class HelpTextTests: XCTestCase {
    func testRunHelpNamesTheDebugExitPorts() throws {
        let r = try SwiftPCProcess.run(["run", "--help"])
        let text = r.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        XCTAssertTrue(text.contains("debug-exit port (0xf4-0xf7, QEMU's isa-debug-exit with iosize=4"), r.stdout)
    }
}
