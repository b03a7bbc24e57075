import Foundation
import XCTest

/// scripts/setup.sh and scripts/test.sh must stop when a build fails, instead of going on
/// with the binaries of an earlier build. The scripts run in a scratch copy of the repository
/// layout, with a `swift` on PATH that fails the build in question and an old binary left
/// in place; nothing is really built.
final class ScriptTests: XCTestCase {
    private func scratchRepository(failing buildArgument: String) throws -> (root: URL, path: String) {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("swiftpc-scripts-\(getpid())-\(buildArgument.hash)")
        try? fm.removeItem(at: root)
        for dir in ["scripts", "guests", ".build/release", "bin"] {
            try fm.createDirectory(at: root.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
        for script in ["setup.sh", "test.sh"] {
            try fm.copyItem(at: SwiftPCProcess.repoRoot.appendingPathComponent("scripts/\(script)"),
                            to: root.appendingPathComponent("scripts/\(script)"))
        }
        // Nothing to assemble; the ROMs and Python module checks run as they are.
        try "all:\n\t@true\n".write(to: root.appendingPathComponent("guests/Makefile"), atomically: true, encoding: .utf8)
        let old = root.appendingPathComponent(".build/release/swiftpc")
        try "#!/bin/sh\nexit 0\n".write(to: old, atomically: true, encoding: .utf8)
        chmod(old.path, 0o755)
        let fake = root.appendingPathComponent("bin/swift")
        try """
            #!/bin/sh
            case "$*" in
            *"\(buildArgument)"*) echo "Sources/x.swift:1:1: error: deliberate compile error"; exit 1 ;;
            *) echo "Build complete!"; exit 0 ;;
            esac

            """.write(to: fake, atomically: true, encoding: .utf8)
        chmod(fake.path, 0o755)
        return (root, root.appendingPathComponent("bin").path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"))
    }

    private func runScript(_ name: String, in root: URL, path: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/\(name)").path]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = path
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func requireSetupPrerequisites() throws {
        // setup.sh installs missing Debian packages first; only run where they are present.
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/dpkg")
        check.arguments = ["-s", "nasm", "seabios", "python3", "make"]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        try check.run()
        check.waitUntilExit()
        if check.terminationStatus != 0 { throw XCTSkip("the packages setup.sh installs are missing (run scripts/setup.sh)") }
    }

    func testSetupStopsWhenTheReleaseBuildFails() throws {
        try requireSetupPrerequisites()
        let (root, path) = try scratchRepository(failing: "-c release")
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try runScript("setup.sh", in: root, path: path)
        XCTAssertNotEqual(r.status, 0, "setup.sh went on after a failed build:\n\(r.output)")
        XCTAssertTrue(r.output.contains("deliberate compile error"), r.output)
        XCTAssertFalse(r.output.contains("setup: done"), r.output)
    }

    func testTestScriptStopsWhenTheTestBuildFails() throws {
        try requireSetupPrerequisites()
        let (root, path) = try scratchRepository(failing: "--build-tests")
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try runScript("test.sh", in: root, path: path)
        XCTAssertTrue(r.output.contains("setup: done"), "setup passes here:\n\(r.output)")
        XCTAssertNotEqual(r.status, 0, "test.sh went on after a failed build:\n\(r.output)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent(".build/test-output.txt").path),
                       "the tests ran against the old build")
    }
}
