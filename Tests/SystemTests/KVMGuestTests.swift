import Foundation
import XCTest

/// The project's small guests under KVM, through the `swiftpc run` command line.
final class KVMGuestTests: XCTestCase {
    override func setUpWithError() throws { try SwiftPCProcess.requireKVM() }

    func testRealModeGuestPrintsOverTheUARTAndPowersOff() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--bios", try SwiftPCProcess.guest("hello-realmode")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "Hello from real mode\r\nrep outsb works\r\n")
    }

    func testLongModeGuestPrintsOverTheUART() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--kernel", try SwiftPCProcess.guest("hello-longmode")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "multiboot entry in 32-bit protected mode\r\nHello from long mode\r\n")
    }

    func testMultibootGuestReadsCommandLineAndModuleAndExitsWithChosenStatus() throws {
        let module = try SwiftPCProcess.temporaryFile("module.txt", contents: Data("payload-from-module".utf8))
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--kernel", try SwiftPCProcess.guest("multiboot-args"),
                                        "--initrd", module, "--append", "quiet exit=21 tail"])
        XCTAssertEqual(r.status, (21 << 1) | 1, r.stderr)
        XCTAssertTrue(r.stdout.contains("cmdline: quiet exit=21 tail\r\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("module: payload-from-module\r\n"), r.stdout)
    }

    func testTimerInterruptsFromThePITThroughThePIC() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--bios", try SwiftPCProcess.guest("pit-pic")])
        XCTAssertEqual(r.status, (0x10 << 1) | 1, r.stderr)
        XCTAssertTrue(r.stdout.contains("timer interrupts counted: 0x14"), r.stdout)
        // 20 ticks at 100 Hz take 0.2 s of guest time.
        XCTAssertGreaterThan(r.seconds, 0.15)
    }

    func testRTCGuestReadsHostTime() throws {
        let before = Date()
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--bios", try SwiftPCProcess.guest("rtc")])
        XCTAssertEqual(r.status, 0, r.stderr)
        guard let line = r.stdout.split(separator: "\r\n").first(where: { $0.hasPrefix("RTC ") }) else {
            return XCTFail("no RTC line in \(r.stdout)")
        }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        guard let guestTime = formatter.date(from: String(line.dropFirst(4))) else {
            return XCTFail("cannot parse \(line)")
        }
        XCTAssertLessThan(abs(guestTime.timeIntervalSince(before)), 60, "guest \(line), host \(before)")
    }

    func testDemoKernelGreetsAndPowersOff() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "-m", "128M", "--kernel", try SwiftPCProcess.guest("demo"),
                                        "--append", "hello"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("swiftpc demo kernel: hello, world!\r\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("memory: 128 MiB"), r.stdout)
        XCTAssertTrue(r.stdout.contains("command line: hello\r\n"), r.stdout)
    }
}

/// How `swiftpc run` ends for shutdowns, resets and where the console goes.
final class KVMMachineEventTests: XCTestCase {
    override func setUpWithError() throws { try SwiftPCProcess.requireKVM() }

    func testTripleFaultExitsWithStatus4AndARegisterDump() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--kernel", try SwiftPCProcess.guest("triple-fault")])
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertEqual(r.stdout, "about to triple fault\r\n")
        XCTAssertTrue(r.stderr.contains("triple fault"), r.stderr)
        XCTAssertTrue(r.stderr.contains("RIP="), r.stderr)
        XCTAssertTrue(r.stderr.contains("IDT=     0000000000000000 00000000"), r.stderr)
    }

    func testGuestResetRestartsTheMachineAndCMOSSurvives() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--bios", try SwiftPCProcess.guest("reset")])
        XCTAssertEqual(r.status, (2 << 1) | 1, r.stderr)
        XCTAssertEqual(r.stdout, "boot, resets so far: 00\r\nboot, resets so far: 01\r\nboot, resets so far: 02\r\n")
    }

    func testNoRebootTurnsAResetIntoStatus8() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--no-reboot", "--bios", try SwiftPCProcess.guest("reset")])
        XCTAssertEqual(r.status, 8, r.stderr)
        XCTAssertEqual(r.stdout, "boot, resets so far: 00\r\n")
    }

    func testSerialToAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-serial-\(getpid()).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--serial", "file:\(path)",
                                        "--bios", try SwiftPCProcess.guest("hello-realmode")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "Hello from real mode\r\nrep outsb works\r\n")
    }

    func testSerialNoneDiscardsOutput() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--serial", "none", "--bios", try SwiftPCProcess.guest("hello-realmode")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    func testSIGTERMStopsTheMachineWithStatus143() throws {
        // A guest halted with interrupts off runs until something outside stops it.
        let process = Process()
        process.executableURL = SwiftPCProcess.binary
        process.arguments = ["run", "--accel", "kvm", "--serial", "none", "--bios", try SwiftPCProcess.guest("halt-forever")]
        try process.run()
        usleep(300_000)
        XCTAssertTrue(process.isRunning)
        process.terminate()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGTERM)
    }
}
