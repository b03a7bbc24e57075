import Foundation
import XCTest

/// Unmodified PC guests booted the way a real PC boots them: SeaBIOS from roms/, a bootloader
/// from an IDE disk or an ATAPI CD, then the operating system — on the interpreter, with the
/// release binary. The images come from scripts/build-boot-images.sh (run by setup.sh);
/// without them the tests skip, except in CI.
final class FirmwareBootTests: XCTestCase {
    static let images = SwiftPCProcess.repoRoot.appendingPathComponent("guest-images")
    static let release = LinuxGuestTests.release

    static func image(_ name: String) -> String { images.appendingPathComponent(name).path }

    func require(_ paths: [String], tools: [String] = []) throws {
        for path in paths + [Self.release] where !FileManager.default.fileExists(atPath: path) {
            let why = "\(path) is missing: run scripts/setup.sh (it builds the boot images and the release binary)"
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail(why) }
            throw XCTSkip(why)
        }
        for tool in tools where Self.which(tool) == nil {
            let why = "\(tool) is not installed: run scripts/setup.sh"
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail(why) }
            throw XCTSkip(why)
        }
    }

    static func which(_ tool: String) -> String? {
        ["/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"].map { $0 + tool }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-fw-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A swiftpc run whose serial output goes to a file, watched until `marker` appears (or
    /// `seconds` pass, when `marker` is nil); then the process gets `signal`, or is left to
    /// finish when `signal` is nil. Returns the exit status, the serial output and stderr.
    struct Watched {
        var status: Int32
        var serial: String
        var stderr: String
        var sawMarker: Bool
        var terminatedBySignal: Bool
    }

    func runWatched(_ arguments: [String], until marker: String?, seconds: Double, then signal: Int32?,
                    timeout: Double = 300) throws -> Watched {
        let dir = try temporaryDirectory()
        let serial = dir.appendingPathComponent("serial.log")
        let errors = dir.appendingPathComponent("stderr.log")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.release)
        process.arguments = arguments + ["--serial", "file:\(serial.path)"]
        process.currentDirectoryURL = SwiftPCProcess.repoRoot
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let start = Date()
        var saw = false
        func serialText() -> String { (try? String(contentsOf: serial, encoding: .utf8)) ?? "" }
        while process.isRunning {
            let elapsed = Date().timeIntervalSince(start)
            if let marker, serialText().contains(marker) { saw = true; break }
            if marker == nil, elapsed >= seconds { break }
            if elapsed >= timeout { break }
            usleep(100_000)
        }
        if process.isRunning {
            if let signal { kill(process.processIdentifier, signal) } else if Date().timeIntervalSince(start) >= timeout {
                kill(process.processIdentifier, SIGKILL)
                XCTFail("swiftpc \(arguments.joined(separator: " ")) timed out after \(timeout) s")
            }
        }
        process.waitUntilExit()
        return Watched(status: process.terminationStatus, serial: serialText(),
                       stderr: (try? String(contentsOf: errors, encoding: .utf8)) ?? "", sawMarker: saw,
                       terminatedBySignal: process.terminationReason == .uncaughtSignal)
    }

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

    /// A FAT file system of 16 MiB in a fresh image file (no partition table: Linux mounts
    /// /dev/sda directly).
    func makeFATImage(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("data.img").path
        let mkfs = Process()
        mkfs.executableURL = URL(fileURLWithPath: Self.which("mkfs.fat")!)
        mkfs.arguments = ["-C", "-F", "16", "-n", "SWPCDATA", path, "16384"]
        mkfs.standardOutput = FileHandle.nullDevice
        try mkfs.run()
        mkfs.waitUntilExit()
        XCTAssertEqual(mkfs.terminationStatus, 0, "mkfs.fat")
        return path
    }

    /// A file of the FAT image, read on the host with mtools.
    func readFAT(_ image: String, _ name: String) throws -> String? {
        let mtype = Process()
        mtype.executableURL = URL(fileURLWithPath: Self.which("mtype")!)
        mtype.arguments = ["-i", image, "::\(name)"]
        mtype.environment = ["MTOOLS_SKIP_CHECK": "1"]
        let out = Pipe()
        mtype.standardOutput = out
        mtype.standardError = FileHandle.nullDevice
        try mtype.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        mtype.waitUntilExit()
        return mtype.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }

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
