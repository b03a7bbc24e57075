import Foundation
import XCTest

/// `--jit on|off` on the interpreter, seen through `--stats`: the 64-bit benchmark guest
/// runs translated by default and wholly interpreted with `--jit off`, with the same result.
final class JITSwitchTests: XCTestCase {
    /// The number after `label` in `--stats` output (0 when absent).
    static func statistic(_ label: String, _ text: String) -> UInt64 {
        guard let range = text.range(of: label) else { return 0 }
        return UInt64(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    func testTranslationIsOnByDefaultAndOffWithJITOff() throws {
        let release = LinuxGuestTests.release
        guard FileManager.default.fileExists(atPath: release) else {
            throw XCTSkip("\(release) is missing: run scripts/setup.sh (it builds the release binary)")
        }
        let kernel = try SwiftPCProcess.guest("bench")
        let arguments = ["run", "--accel", "interp", "--stats", "--serial", "none", "--kernel", kernel, "--append", "sieve"]
        let on = try SwiftPCProcess.run(binary: release, arguments)
        let off = try SwiftPCProcess.run(binary: release, arguments + ["--jit", "off"])
        // The workload leaves through the debug-exit port with 0: status (0 << 1) | 1.
        XCTAssertEqual(on.status, 1, on.stderr)
        XCTAssertEqual(off.status, 1, off.stderr)
        let retired = Self.statistic("instructions retired: ", on.stderr)
        XCTAssertGreaterThan(Self.statistic("translated blocks: ", on.stderr), 0, on.stderr)
        XCTAssertGreaterThan(Self.statistic("instructions run as translated code: ", on.stderr), retired * 9 / 10, on.stderr)
        XCTAssertFalse(off.stderr.contains("translated"), "--jit off translates nothing\n\(off.stderr)")
        XCTAssertEqual(Self.statistic("instructions retired: ", off.stderr), retired, "the same program either way")
    }
}
