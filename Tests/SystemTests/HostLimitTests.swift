import Foundation
import XCTest

/// Options that would hurt the host or lose output are refused before the guest starts, with
/// one line on stderr and status 2.
final class HostLimitTests: XCTestCase {
    func testMemoryAboveTheHostsPhysicalMemoryIsRefusedUnlessAllowed() throws {
        let hello = try SwiftPCProcess.guest("hello-realmode")
        let host = UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let gib = (host >> 30) * 2 + 2
        guard gib <= 1024 else { throw XCTSkip("the host has more than 511 GiB: nothing above it is accepted anyway") }
        let r = try SwiftPCProcess.run(["run", "--accel", "interp", "-m", "\(gib)G", "--bios", hello], timeout: 30)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("memory size \(gib)G"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--allow-overcommit"), r.stderr)
        XCTAssertEqual(r.stdout, "", "the guest never ran")
        // The override maps it without a reservation; the guest touches little of it.
        let allowed = try SwiftPCProcess.run(["run", "--accel", "interp", "-m", "\(gib)G", "--allow-overcommit",
                                              "--bios", hello], timeout: 60)
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        XCTAssertTrue(allowed.stdout.hasPrefix("Hello from real mode"), allowed.stdout)
    }

    func testUnwritableOutputPathsAreRefusedBeforeTheGuestRuns() throws {
        let hello = try SwiftPCProcess.guest("hello-realmode")
        let bad = "/nonexistent-swiftpc-dir/out"
        for (option, value) in [("--vga-dump-text", bad), ("--vga-dump", bad), ("--firmware-log", bad),
                                ("--serial", "file:" + bad)] {
            let r = try SwiftPCProcess.run(["run", "--accel", "interp", option, value, "--bios", hello], timeout: 30)
            XCTAssertEqual(r.status, 2, "\(option): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(option) && r.stderr.contains(bad), r.stderr)
            XCTAssertEqual(r.stdout, "", "\(option): the guest never ran")
        }
        // A directory is no file either; an existing writable file is accepted.
        let existing = try SwiftPCProcess.temporaryFile("keep.txt", contents: Data("old".utf8))
        let r = try SwiftPCProcess.run(["run", "--accel", "interp", "--vga-dump-text", "/tmp", "--bios", hello], timeout: 30)
        XCTAssertEqual(r.status, 2, r.stderr)
        let ok = try SwiftPCProcess.run(["run", "--accel", "interp", "--firmware-log", existing, "--bios", hello], timeout: 30)
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }
}
