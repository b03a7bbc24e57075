import Foundation
import XCTest

/// Bad input gets one clear line on stderr and exit status 2 (docs/ARCHITECTURE.md, "Exit status").
final class BadInputTests: XCTestCase {
    private func assertOneLineError(_ arguments: [String], mentions needle: String,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try SwiftPCProcess.run(arguments, timeout: 30)
        XCTAssertEqual(r.status, 2, "status for \(arguments): stderr=\(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one line, got: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(needle), "'\(needle)' not in: \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error"), file: file, line: line)
    }

    func testInvalidJITSetting() throws {
        let kernel = try SwiftPCProcess.guest("demo")
        try assertOneLineError(["run", "--jit", "maybe", "--kernel", kernel], mentions: "--jit")
        try assertOneLineError(["bench", "--jit", "maybe"], mentions: "--jit")
    }

    func testMissingKernel() throws {
        try assertOneLineError(["run", "--kernel", "/nonexistent/vmlinuz"], mentions: "/nonexistent/vmlinuz")
    }

    func testUnreadableKernel() throws {
        let path = try SwiftPCProcess.temporaryFile("unreadable", contents: Data([1, 2, 3]))
        chmod(path, 0)
        defer { chmod(path, 0o644) }
        // root can read anything; then the file is simply not a kernel, still status 2.
        try assertOneLineError(["run", "--kernel", path], mentions: path)
    }

    func testFileThatIsNoKernel() throws {
        let path = try SwiftPCProcess.temporaryFile("garbage.bin", contents: Data((0..<20000).map { UInt8($0 % 251) }))
        try assertOneLineError(["run", "--kernel", path], mentions: "garbage.bin")
    }

    func testMalformedMultibootHeader() throws {
        // Magic present, checksum wrong.
        var bytes = [UInt8](repeating: 0, count: 8192)
        let words: [UInt32] = [0x1BAD_B002, 0x0001_0000, 0x1234_5678]
        for (i, w) in words.enumerated() { for b in 0..<4 { bytes[i * 4 + b] = UInt8((w >> (8 * UInt32(b))) & 0xFF) } }
        let path = try SwiftPCProcess.temporaryFile("badmb.bin", contents: Data(bytes))
        try assertOneLineError(["run", "--kernel", path], mentions: "multiboot")
    }

    func testInitrdTooBigForMemory() throws {
        let kernel = try SwiftPCProcess.guest("multiboot-args")
        let big = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-big-initrd-\(getpid())")
        FileManager.default.createFile(atPath: big.path, contents: nil)
        let h = try FileHandle(forWritingTo: big)
        try h.truncate(atOffset: 96 << 20)  // sparse: 96 MiB
        try h.close()
        defer { try? FileManager.default.removeItem(at: big) }
        let r = try SwiftPCProcess.run(["run", "-m", "64M", "--kernel", kernel, "--initrd", big.path], timeout: 30)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("fit") || r.stderr.contains("too big") || r.stderr.contains("large"), r.stderr)
    }

    func testInvalidMemorySizes() throws {
        let kernel = try SwiftPCProcess.guest("demo")
        for bad in ["0", "12Q", "-5M", "1M", "abc", "2000T"] {
            try assertOneLineError(["run", "--memory=\(bad)", "--kernel", kernel], mentions: "memory size")
        }
    }

    func testUnknownOptionAndBadAccel() throws {
        try assertOneLineError(["run", "--frobnicate"], mentions: "frobnicate")
        try assertOneLineError(["run", "--accel", "warp", "--kernel", "x"], mentions: "accel")
    }

    /// `--machine`: an unknown board, and what the pvh board does not have, each get one line.
    func testUnknownMachineAndWhatThePVHBoardLacks() throws {
        let kernel = try SwiftPCProcess.guest("demo")
        try assertOneLineError(["run", "--machine", "q35", "--kernel", kernel], mentions: "invalid --machine 'q35': use pc or pvh")
        let disk = try SwiftPCProcess.temporaryFile("pvh-disk", contents: Data(count: 512))
        try assertOneLineError(["run", "--machine", "pvh", "--kernel", kernel, "--disk", disk], mentions: "--machine pvh has no IDE")
        try assertOneLineError(["run", "--machine", "pvh", "--kernel", kernel, "--cdrom", disk], mentions: "--machine pvh has no IDE")
        try assertOneLineError(["run", "--machine", "pvh"], mentions: "--machine pvh boots --kernel FILE only")
        try assertOneLineError(["run", "--machine", "pvh", "--bios", disk], mentions: "--machine pvh boots --kernel FILE only")
        try assertOneLineError(["run", "--machine", "pvh", "--kernel", kernel, "--display", "sdl"], mentions: "no display")
        try assertOneLineError(["run", "--machine", "pvh", "--kernel", kernel, "--vga-dump", "/tmp/x.png"], mentions: "no display")
    }

    func testAutoFallsBackToTheInterpreterWithoutKVM() throws {
        setenv("SWIFTPC_KVM_DEVICE", "/nonexistent/kvm", 1)
        defer { unsetenv("SWIFTPC_KVM_DEVICE") }
        let r = try SwiftPCProcess.run(["run", "--stats", "--bios", try SwiftPCProcess.guest("hello-realmode")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "Hello from real mode\r\nrep outsb works\r\n")
        XCTAssertTrue(r.stderr.contains("engine: interp"), r.stderr)
    }

    func testKVMRequestedWithoutUsableKVM() throws {
        let kernel = try SwiftPCProcess.guest("demo")
        // SWIFTPC_KVM_DEVICE points the KVM engine at another device node (here: none).
        setenv("SWIFTPC_KVM_DEVICE", "/nonexistent/kvm", 1)
        defer { unsetenv("SWIFTPC_KVM_DEVICE") }
        try assertOneLineError(["run", "--accel", "kvm", "--kernel", kernel], mentions: "kvm")
    }
}
