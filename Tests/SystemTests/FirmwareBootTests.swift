import Foundation
import XCTest

/// Unmodified PC guests booted the way a real PC boots them: SeaBIOS from roms/, a bootloader
/// from an IDE disk or an ATAPI CD, then the operating system — on the interpreter, with the
/// release binary. The images come from scripts/build-boot-images.sh (run by setup.sh);
/// without them the tests skip, except in CI.
final class FirmwareBootTests: GuestProcessTestCase {
    static let images = SwiftPCProcess.repoRoot.appendingPathComponent("guest-images")

    static func image(_ name: String) -> String { images.appendingPathComponent(name).path }

    /// The `SWIFTPC-CHECK name value` lines the initramfs prints.
    static func checks(_ output: String) -> [String: String] { LinuxGuestTests.checks(output) }

    // MARK: SeaBIOS → SYSLINUX → Linux

    func testSeaBIOSBootsLinuxFromTheIDEDiskThroughSYSLINUX() throws {
        let disk = Self.image("boot-disk.img")
        try require([disk])
        let r = try runWatched(["run", "--accel", "interp", "-m", "256M", "--disk", "\(disk),readonly", "--stats"],
                               until: nil, seconds: 0, then: nil, timeout: 600)
        let context = "serial tail:\n\(r.serial.suffix(3000))\nstderr:\n\(r.stderr)"
        XCTAssertEqual(r.status, 0, "the guest powers off\n\(context)")
        XCTAssertTrue(r.serial.contains("SYSLINUX"), "SeaBIOS handed over to SYSLINUX\n\(context)")
        XCTAssertTrue(r.serial.contains("SWIFTPC-INIT-OK"), context)
        XCTAssertTrue(r.serial.contains("SWIFTPC-SELFTEST-DONE"), context)
        let checks = Self.checks(r.serial)
        XCTAssertEqual(checks["mounts"], "ok 2")
        let numbers = (1...20000).map(String.init).joined(separator: "\n") + "\n"
        XCTAssertEqual(checks["md5"], try LinuxGuestTests.hostDigest("md5sum", numbers))
        XCTAssertTrue(r.stderr.contains("unimplemented instructions (#UD raised): 0"), r.stderr)
    }

    // MARK: disks the guest writes

    func diskTestArguments(_ image: String, mode: String) -> [String] {
        ["run", "--accel", "interp", "-m", "256M", "--kernel", LinuxGuestTests.kernel, "--initrd", LinuxGuestTests.initrd,
         "--append", "console=ttyS0 quiet swiftpc.disktest=\(mode)", "--disk", image]
    }

    func testAFileTheGuestWritesIsOnTheHostImageAfterPoweroff() throws {
        try require([LinuxGuestTests.kernel, LinuxGuestTests.initrd], tools: ["mkfs.fat", "mtype"])
        let image = try makeFATImage(in: try temporaryDirectory())
        let r = try runWatched(diskTestArguments(image, mode: "write"), until: nil, seconds: 0, then: nil, timeout: 600)
        let context = "serial tail:\n\(r.serial.suffix(3000))\nstderr:\n\(r.stderr)"
        XCTAssertEqual(r.status, 0, context)
        XCTAssertTrue(r.serial.contains("SWIFTPC-DISK-WRITTEN"), context)
        XCTAssertEqual(try readFAT(image, "hello.txt"), "written by the swiftpc guest\n")
        XCTAssertEqual(try readFAT(image, "numbers.txt"), (1...5000).map(String.init).joined(separator: "\n") + "\n")
    }

    func testWhatTheGuestSyncedSurvivesSIGKILL() throws {
        try require([LinuxGuestTests.kernel, LinuxGuestTests.initrd], tools: ["mkfs.fat", "mtype"])
        let image = try makeFATImage(in: try temporaryDirectory())
        let r = try runWatched(diskTestArguments(image, mode: "kill"), until: "SWIFTPC-DISK-SYNCED", seconds: 0,
                               then: SIGKILL, timeout: 600)
        XCTAssertTrue(r.sawMarker, "serial tail:\n\(r.serial.suffix(3000))\nstderr:\n\(r.stderr)")
        XCTAssertTrue(r.terminatedBySignal)
        XCTAssertEqual(try readFAT(image, "hello.txt"), "written by the swiftpc guest\n")
        XCTAssertEqual(try readFAT(image, "numbers.txt"), (1...5000).map(String.init).joined(separator: "\n") + "\n")
    }

    func testASecondWriterOfOneImageIsRefused() throws {
        try require([LinuxGuestTests.kernel, LinuxGuestTests.initrd], tools: ["mkfs.fat"])
        let image = try makeFATImage(in: try temporaryDirectory())
        let first = Process()
        first.executableURL = URL(fileURLWithPath: Self.release)
        first.arguments = ["run", "--accel", "interp", "--serial", "none", "--kernel", LinuxGuestTests.kernel, "--disk", image]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer { if first.isRunning { first.terminate(); first.waitUntilExit() } }
        usleep(1_000_000)
        XCTAssertTrue(first.isRunning)
        let second = try SwiftPCProcess.run(binary: Self.release, ["run", "--accel", "interp", "--serial", "none",
                                                                   "--kernel", LinuxGuestTests.kernel, "--disk", image], timeout: 30)
        XCTAssertEqual(second.status, 2, second.stderr)
        XCTAssertTrue(second.stderr.contains("in use by another process"), second.stderr)
        XCTAssertEqual(second.stderr.split(separator: "\n").count, 1, "one clear line: \(second.stderr)")
        // A read-only user of the image is refused too while the writer runs.
        let reader = try SwiftPCProcess.run(binary: Self.release, ["run", "--accel", "interp", "--serial", "none",
                                                                   "--kernel", LinuxGuestTests.kernel, "--disk", "\(image),readonly"], timeout: 30)
        XCTAssertEqual(reader.status, 2, reader.stderr)
    }

    // MARK: the VGA screen

    /// The screen at the end of a run: the text-mode contents and whether the PNG dump is a
    /// valid, non-blank picture.
    func screen(after arguments: [String], until marker: String?, seconds: Double, signal: Int32?) throws
        -> (text: String, pngOK: Bool, run: Watched) {
        let dir = try temporaryDirectory()
        let png = dir.appendingPathComponent("screen.png").path, text = dir.appendingPathComponent("screen.txt").path
        let r = try runWatched(arguments + ["--vga-dump", png, "--vga-dump-text", text], until: marker, seconds: seconds,
                               then: signal, timeout: 600)
        let bytes = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: png))) ?? Data())
        // A PNG signature, and far more bytes than a single-colour screen of stored blocks
        // needs would not tell blank from drawn: check the pixels instead, via the IDAT's
        // stored (uncompressed) blocks — any two differing RGB triples mean something is drawn.
        var ok = bytes.count > 8 && Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if ok, let idat = find(bytes, Array("IDAT".utf8)) {
            let sample = bytes[(idat + 16)..<min(bytes.count, idat + 200_000)]
            ok = Set(sample).count > 2
        }
        return ((try? String(contentsOf: URL(fileURLWithPath: text), encoding: .utf8)) ?? "", ok, r)
    }

    func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<$0 + needle.count]) == needle }
    }

    func testLinuxOnTheVGAConsoleShowsTheMarkersOnScreen() throws {
        let disk = Self.image("boot-disk-vga.img")
        try require([disk])
        let s = try screen(after: ["run", "--accel", "interp", "-m", "256M", "--disk", "\(disk),readonly"],
                           until: nil, seconds: 0, signal: nil)
        let context = "screen:\n\(s.text)\nstderr:\n\(s.run.stderr)"
        XCTAssertEqual(s.run.status, 0, context)
        XCTAssertTrue(s.pngOK, "the PNG dump shows a drawn screen")
        XCTAssertTrue(s.text.contains("SWIFTPC-SELFTEST-DONE"), context)
        XCTAssertTrue(s.text.contains("SWIFTPC-CHECK md5 e071f707df7bbeee2a6a1eb48011ddd0"), context)
    }

    func testMemtestStartsAndDrawsItsScreen() throws {
        let disk = Self.image("memtest.img")
        try require([disk])
        let s = try screen(after: ["run", "--accel", "interp", "-m", "256M", "--disk", "\(disk),readonly"],
                           until: nil, seconds: 40, signal: SIGTERM)
        XCTAssertTrue(s.pngOK)
        XCTAssertTrue(s.text.contains("Memtest86+"), "screen:\n\(s.text)\nstderr:\n\(s.run.stderr)")
    }

    func testAGRUBRescueCDBootsToItsMenu() throws {
        let iso = Self.image("grub.iso")
        try require([iso])
        let s = try screen(after: ["run", "--accel", "interp", "-m", "256M", "--cdrom", iso],
                           until: nil, seconds: 40, signal: SIGTERM)
        XCTAssertTrue(s.pngOK)
        XCTAssertTrue(s.text.contains("GNU GRUB"), "screen:\n\(s.text)\nstderr:\n\(s.run.stderr)")
        XCTAssertTrue(s.text.contains("swiftpc GRUB test entry"), "screen:\n\(s.text)")
    }
}
