import Foundation
import XCTest
@testable import Machine

/// The benchmark guest inside the binary must be the assembled guests/bench.asm.
final class BenchWorkloadImageTests: XCTestCase {
    func testEmbeddedImageMatchesTheSource() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(getpid()).bin")
        defer { try? FileManager.default.removeItem(at: out) }
        let nasm = Process()
        nasm.executableURL = URL(fileURLWithPath: "/usr/bin/nasm")
        nasm.currentDirectoryURL = root.appendingPathComponent("guests")
        nasm.arguments = ["-f", "bin", "-I", "include/", "-o", out.path, "bench.asm"]
        do { try nasm.run() } catch { throw XCTSkip("nasm is not installed (run scripts/setup.sh)") }
        nasm.waitUntilExit()
        XCTAssertEqual(nasm.terminationStatus, 0)
        let assembled = [UInt8](try Data(contentsOf: out))
        XCTAssertEqual(assembled, benchWorkloadImage, "run scripts/gen-bench-image.py")
    }
}
