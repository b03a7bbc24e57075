import Foundation
import XCTest

/// xvda through Linux's xen-blkfront: Debian's kernel as a Xen PVH domU with `--disk
/// PATH,if=xen` (release binary, interpreter), the same checks as the IDE disk's in
/// FirmwareBootTests, plus a read-only disk and a large file's digest.
final class XenBlockGuestTests: GuestProcessTestCase {
    func xenDiskArguments(_ disk: String, mode: String) -> [String] {
        ["run", "--machine", "pvh", "--xen", "--accel", "interp", "-m", "256M", "--stats", "--kernel", LinuxGuestTests.kernel,
         "--initrd", LinuxGuestTests.initrd, "--append", "console=hvc0 quiet swiftpc.disktest=\(mode)", "--disk", disk]
    }

    func requireGuest(tools: [String]) throws {
        try require([LinuxGuestTests.kernel, LinuxGuestTests.initrd], tools: tools)
    }

    static let numbers = (1...5000).map(String.init).joined(separator: "\n") + "\n"

    func testAFileTheGuestWritesOnXvdaIsOnTheHostImageAfterPoweroff() throws {
        try requireGuest(tools: ["mkfs.fat", "mtype"])
        let image = try makeFATImage(in: try temporaryDirectory())
        let r = try runWatched(xenDiskArguments("\(image),if=xen", mode: "write"), until: nil, seconds: 0, then: nil, timeout: 600)
        let context = "console tail:\n\(r.serial.suffix(3000))\nstderr:\n\(r.stderr)"
        XCTAssertEqual(r.status, 0, context)
        XCTAssertTrue(r.serial.contains("SWIFTPC-DISK-MOUNTED /dev/xvda"), context)
        XCTAssertTrue(r.serial.contains("SWIFTPC-DISK-WRITTEN"), context)
        XCTAssertEqual(try readFAT(image, "hello.txt"), "written by the swiftpc guest\n")
        XCTAssertEqual(try readFAT(image, "numbers.txt"), Self.numbers)
        let line = r.stderr.split(separator: "\n").first { $0.hasPrefix("xvda (xen vbd 51712)") } ?? ""
        XCTAssertTrue(line.contains(" 0 errors"), r.stderr)
        XCTAssertFalse(line.contains(" 0 writes"), r.stderr)
    }

    func testWhatTheGuestSyncedOnXvdaSurvivesSIGKILL() throws {
        try requireGuest(tools: ["mkfs.fat", "mtype"])
        let image = try makeFATImage(in: try temporaryDirectory())
        let r = try runWatched(xenDiskArguments("\(image),if=xen", mode: "kill"), until: "SWIFTPC-DISK-SYNCED", seconds: 0,
                               then: SIGKILL, timeout: 600)
        XCTAssertTrue(r.sawMarker, "console tail:\n\(r.serial.suffix(3000))\nstderr:\n\(r.stderr)")
        XCTAssertTrue(r.terminatedBySignal)
        XCTAssertEqual(try readFAT(image, "hello.txt"), "written by the swiftpc guest\n")
        XCTAssertEqual(try readFAT(image, "numbers.txt"), Self.numbers)
    }

    /// A read-only xvda: Linux sees it read-only, writes through the file system and to the raw
    /// device fail in the guest, and the image is unchanged.
    func testAReadOnlyXvdaRefusesWritesInTheGuest() throws {
        try requireGuest(tools: ["mkfs.fat"])
        let image = try makeFATImage(in: try temporaryDirectory())
        let before = try Data(contentsOf: URL(fileURLWithPath: image))
        let r = try runWatched(xenDiskArguments("\(image),readonly,if=xen", mode: "readonly"), until: nil, seconds: 0, then: nil, timeout: 600)
        let context = "console tail:\n\(r.serial.suffix(3000))\nstderr:\n\(r.stderr)"
        XCTAssertEqual(r.status, 0, context)
        XCTAssertTrue(r.serial.contains("SWIFTPC-DISK-MOUNTED /dev/xvda"), context)
        XCTAssertTrue(r.serial.contains("SWIFTPC-DISK-RO-FILE refused"), context)
        XCTAssertTrue(r.serial.contains("SWIFTPC-DISK-RO-RAW refused"), context)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: image)), before, "the image is unchanged")
        XCTAssertTrue(r.stderr.contains("xvda (xen vbd 51712, read-only)"), r.stderr)
    }

    /// md5 of a 24 MiB file read through xvda (indirect requests) matches the host's.
    func testALargeFileReadThroughXvdaHasTheHostsDigest() throws {
        try requireGuest(tools: ["mkfs.fat", "mcopy"])
        let dir = try temporaryDirectory()
        let image = try makeFATImage(in: dir, kibibytes: 32768)
        let random = try XCTUnwrap(FileHandle(forReadingAtPath: "/dev/urandom"))
        let bytes = random.readData(ofLength: 24 << 20)
        XCTAssertEqual(bytes.count, 24 << 20)
        let big = dir.appendingPathComponent("big.bin")
        try bytes.write(to: big)
        let mcopy = Process()
        mcopy.executableURL = URL(fileURLWithPath: Self.which("mcopy")!)
        mcopy.arguments = ["-i", image, big.path, "::big.bin"]
        mcopy.environment = ["MTOOLS_SKIP_CHECK": "1"]
        try mcopy.run()
        mcopy.waitUntilExit()
        XCTAssertEqual(mcopy.terminationStatus, 0, "mcopy")
        let r = try runWatched(xenDiskArguments("\(image),readonly,if=xen", mode: "md5"), until: nil, seconds: 0, then: nil, timeout: 300)
        let context = "console tail:\n\(r.serial.suffix(3000))\nstderr:\n\(r.stderr)"
        XCTAssertEqual(r.status, 0, context)
        let guest = LinuxGuestTests.checks(r.serial)["diskmd5"]?.split(separator: " ").first.map(String.init)
        XCTAssertEqual(guest, try LinuxGuestTests.hostDigest(file: big.path), context)
    }
}
