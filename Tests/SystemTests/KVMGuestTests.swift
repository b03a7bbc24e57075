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
