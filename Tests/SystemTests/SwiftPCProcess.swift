import Foundation
import XCTest

/// Runs the `swiftpc` binary built next to the test bundle, and assembles the project's
/// guests with nasm (through guests/Makefile) into guest-images/guests.
/// Holds what a reader thread collected; read only after the DispatchGroup wait.
final class DataBox: @unchecked Sendable { var data = Data() }

enum SwiftPCProcess {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("swiftpc")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var seconds: Double
    }

    /// Runs swiftpc with `arguments`; kills it after `timeout` seconds (and fails the test).
    /// `binary` overrides the swiftpc next to the test bundle (the release build, for Linux).
    /// `environment` adds to (or overrides) the test process's own environment.
    static func run(binary path: String? = nil, _ arguments: [String], timeout: Double = 60, stdin: Data? = nil,
                    environment: [String: String] = [:],
                    file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let process = Process()
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.executableURL = path.map { URL(fileURLWithPath: $0) } ?? binary
        process.arguments = arguments
        process.currentDirectoryURL = repoRoot
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let start = Date()
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
        // Drain the pipes while the process runs so that it never blocks on a full pipe.
        let outData = DataBox(), errData = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outData.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        while process.isRunning && Date().timeIntervalSince(start) < timeout { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            usleep(200_000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            XCTFail("swiftpc \(arguments.joined(separator: " ")) timed out after \(timeout) s", file: file, line: line)
        }
        process.waitUntilExit()
        group.wait()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData.data, as: UTF8.self),
                      stderr: String(decoding: errData.data, as: UTF8.self),
                      seconds: Date().timeIntervalSince(start))
    }

    /// Path of an assembled guest, building it first (make is a no-op when up to date).
    static func guest(_ name: String) throws -> String {
        let out = repoRoot.appendingPathComponent("guest-images/guests")
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/make")
        make.arguments = ["-s", "-C", repoRoot.appendingPathComponent("guests").path, "OUT=\(out.path)"]
        try make.run()
        make.waitUntilExit()
        guard make.terminationStatus == 0 else {
            throw XCTSkip("cannot assemble the test guests (is nasm installed? run scripts/setup.sh)")
        }
        return out.appendingPathComponent("\(name).bin").path
    }

    /// Skips the calling test, with the reason, when /dev/kvm cannot be opened read-write.
    static func requireKVM() throws {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            throw XCTSkip("needs /dev/kvm, which is not available: \(String(cString: strerror(errno)))")
        }
        close(fd)
    }

    static func temporaryFile(_ name: String, contents: Data) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try contents.write(to: url)
        return url.path
    }
}
