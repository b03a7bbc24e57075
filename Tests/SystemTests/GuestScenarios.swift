import Foundation
import XCTest

/// The project's small guests, run through `swiftpc run` on one engine. The KVM and the
/// interpreter test classes call the same scenarios, so both engines must give the same
/// output and exit status.
enum GuestScenarios {
    static func realModeGuestPrintsOverTheUART(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--bios", try SwiftPCProcess.guest("hello-realmode")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "Hello from real mode\r\nrep outsb works\r\n")
    }

    static func longModeGuestPrintsOverTheUART(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--kernel", try SwiftPCProcess.guest("hello-longmode")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "multiboot entry in 32-bit protected mode\r\nHello from long mode\r\n")
    }

    static func multibootGuestReadsCommandLineAndModule(_ accel: String) throws {
        let module = try SwiftPCProcess.temporaryFile("module.txt", contents: Data("payload-from-module".utf8))
        let kernel = try SwiftPCProcess.guest("multiboot-args")
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--kernel", kernel,
                                        "--initrd", module, "--append", "quiet exit=21 tail"])
        XCTAssertEqual(r.status, (21 << 1) | 1, r.stderr)
        // The kernel's path comes first, as GRUB and QEMU pass it.
        XCTAssertTrue(r.stdout.contains("cmdline: \(kernel) quiet exit=21 tail\r\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("module: payload-from-module\r\n"), r.stdout)
    }

    static func multiboot2GuestReadsItsBootInformation(_ accel: String) throws {
        let module = try SwiftPCProcess.temporaryFile("module2.txt", contents: Data("payload-from-module".utf8))
        let kernel = try SwiftPCProcess.guest("multiboot2-args")
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "-m", "64M", "--kernel", kernel,
                                        "--initrd", module, "--append", "quiet exit=22"])
        XCTAssertEqual(r.status, (22 << 1) | 1, "the boot magic was 0x36d76289 and the tags ended right\n\(r.stdout)\n\(r.stderr)")
        for line in ["cmdline: \(kernel) quiet exit=22", "loader: swiftpc", "module: payload-from-module",
                     // 639 KiB below the EBDA, 63 MiB above 1 MiB; four e820 entries.
                     "mem_lower: 639 mem_upper: 64512", "mmap: 4 entries, ram_kib: 65151", "acpi: RSD PTR ",
                     "total_size: ok"] {
            XCTAssertTrue(r.stdout.contains(line + "\r\n"), "'\(line)' missing from:\n\(r.stdout)")
        }
    }

    /// A 32-bit bzImage: entered through the 32-bit boot protocol, with the BIOS data area
    /// filled as firmware would.
    static func thirtyTwoBitBzImageGetsTheProtectedModeEntry(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--kernel", try SwiftPCProcess.guest("bzimage32"),
                                        "--append", "quiet exit=9"])
        XCTAssertEqual(r.status, (9 << 1) | 1, r.stdout + r.stderr)
        for line in ["bzImage32: cs=0010 ds=0018 es=0018 ss=0018", "ebx|ebp|edi=00000000 if=0 pg=0",
                     "zero page: 00007000 HdrS code32_start=00100000 e820=4", "cmdline: quiet exit=9",
                     "bda: ebda=9fc0 base_kib=639 com1=03f8"] {
            XCTAssertTrue(r.stdout.contains(line + "\r\n"), "'\(line)' missing from:\n\(r.stdout)")
        }
    }

    static func timerInterruptsFromThePITThroughThePIC(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--bios", try SwiftPCProcess.guest("pit-pic")])
        XCTAssertEqual(r.status, (0x10 << 1) | 1, r.stderr)
        XCTAssertTrue(r.stdout.contains("timer interrupts counted: 0x14"), r.stdout)
        // 20 ticks at 100 Hz take 0.2 s of guest time.
        XCTAssertGreaterThan(r.seconds, 0.15)
    }

    static func rtcGuestReadsHostTime(_ accel: String) throws {
        let before = Date()
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--bios", try SwiftPCProcess.guest("rtc")])
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

    static func demoKernelGreetsAndPowersOff(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "-m", "128M", "--kernel", try SwiftPCProcess.guest("demo"),
                                        "--append", "hello"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("swiftpc demo kernel: hello, world!\r\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("memory: 128 MiB"), r.stdout)
        XCTAssertTrue(r.stdout.contains("command line: hello\r\n"), r.stdout)
    }

    /// The pvh board (no PCI, VGA or IDE) boots multiboot and ELF kernels as the pc board
    /// does, on either engine.
    static func thePVHBoardBootsSmallKernels(_ accel: String) throws {
        let demo = try SwiftPCProcess.run(["run", "--machine", "pvh", "--accel", accel, "-m", "64M", "--stats",
                                           "--kernel", try SwiftPCProcess.guest("demo"), "--append", "pvh"])
        XCTAssertEqual(demo.status, 0, demo.stderr)
        XCTAssertTrue(demo.stdout.hasPrefix("swiftpc demo kernel: hello, world!\r\n"), demo.stdout)
        XCTAssertTrue(demo.stdout.contains("command line: pvh\r\n"), demo.stdout)
        XCTAssertTrue(demo.stderr.contains("machine: pvh; engine: \(accel)"), demo.stderr)
        let longMode = try SwiftPCProcess.run(["run", "--machine", "pvh", "--accel", accel, "--kernel",
                                               try SwiftPCProcess.guest("hello-longmode")])
        XCTAssertEqual(longMode.status, 0, longMode.stderr)
        XCTAssertEqual(longMode.stdout, "multiboot entry in 32-bit protected mode\r\nHello from long mode\r\n")
    }

    static func tripleFaultExitsWithStatus4AndARegisterDump(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--kernel", try SwiftPCProcess.guest("triple-fault")])
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertEqual(r.stdout, "about to triple fault\r\n")
        XCTAssertTrue(r.stderr.contains("triple fault"), r.stderr)
        XCTAssertTrue(r.stderr.contains("RIP=0000000000100037"), r.stderr)
        XCTAssertTrue(r.stderr.contains("IDT=     0000000000000000 00000000"), r.stderr)
    }

    static func guestResetRestartsTheMachineAndCMOSSurvives(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--bios", try SwiftPCProcess.guest("reset")])
        XCTAssertEqual(r.status, (2 << 1) | 1, r.stderr)
        XCTAssertEqual(r.stdout, "boot, resets so far: 00\r\nboot, resets so far: 01\r\nboot, resets so far: 02\r\n")
    }

    static func noRebootTurnsAResetIntoStatus8(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--no-reboot", "--bios", try SwiftPCProcess.guest("reset")])
        XCTAssertEqual(r.status, 8, r.stderr)
        XCTAssertEqual(r.stdout, "boot, resets so far: 00\r\n")
    }

    static func serialToAFile(_ accel: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-serial-\(getpid())-\(accel).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--serial", "file:\(path)",
                                        "--bios", try SwiftPCProcess.guest("hello-realmode")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "Hello from real mode\r\nrep outsb works\r\n")
    }

    static func sigtermStopsTheMachineWithStatus143(_ accel: String) throws {
        // A guest halted with interrupts off runs until something outside stops it.
        let process = Process()
        process.executableURL = SwiftPCProcess.binary
        process.arguments = ["run", "--accel", accel, "--serial", "none", "--bios", try SwiftPCProcess.guest("halt-forever")]
        try process.run()
        usleep(300_000)
        XCTAssertTrue(process.isRunning)
        process.terminate()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGTERM)
    }
}
