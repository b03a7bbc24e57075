import Foundation
import XCTest

/// Assembles test snippets with nasm (installed by scripts/setup.sh), so that multi-step
/// system tests read as assembly rather than hand-encoded bytes. Skips the calling test with
/// the reason when nasm is missing.
enum NASM {
    static let path = "/usr/bin/nasm"

    /// Flat binary of `source`; the caller puts `bits` and `org` directives in the source.
    static func assemble(_ source: String) throws -> [UInt8] {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("nasm is not installed (run scripts/setup.sh)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-nasm-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("t.asm"), output = dir.appendingPathComponent("t.bin")
        try source.write(to: input, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["-f", "bin", "-o", output.path, input.path]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard p.terminationStatus == 0 else {
            XCTFail("nasm failed: \(message)")
            return []
        }
        return Array(try Data(contentsOf: output))
    }
}
