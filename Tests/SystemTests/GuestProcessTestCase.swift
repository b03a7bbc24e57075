import Foundation
import XCTest

/// What system tests that run swiftpc on a real guest share: skipping (or failing, in CI)
/// when an image or tool is missing, a scratch folder per test, a run watched until a marker,
/// and FAT images the guest writes and the host reads back.
class GuestProcessTestCase: XCTestCase {
    static let release = LinuxGuestTests.release

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
        if process.isRunning, let signal { kill(process.processIdentifier, signal) }
        // Left to finish: still within `timeout`.
        while process.isRunning && Date().timeIntervalSince(start) < timeout { usleep(100_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            XCTFail("swiftpc \(arguments.joined(separator: " ")) timed out after \(timeout) s")
        }
        process.waitUntilExit()
        return Watched(status: process.terminationStatus, serial: serialText(),
                       stderr: (try? String(contentsOf: errors, encoding: .utf8)) ?? "", sawMarker: saw,
                       terminatedBySignal: process.terminationReason == .uncaughtSignal)
    }

    /// A FAT file system (16 MiB unless told) in a fresh image file (no partition table: Linux mounts
    /// /dev/sda directly).
    func makeFATImage(in dir: URL, kibibytes: Int = 16384) throws -> String {
        let path = dir.appendingPathComponent("data.img").path
        let mkfs = Process()
        mkfs.executableURL = URL(fileURLWithPath: Self.which("mkfs.fat")!)
        mkfs.arguments = ["-C", "-F", kibibytes > 65536 ? "32" : "16", "-n", "SWPCDATA", path, String(kibibytes)]
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

}
