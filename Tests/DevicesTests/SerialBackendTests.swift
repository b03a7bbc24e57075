import XCTest
import MachineCore
@testable import Devices

final class SerialBackendTests: XCTestCase {
    func testBufferBackend() {
        let b = BufferSerialBackend()
        b.write(0x41)
        XCTAssertEqual(b.outputString, "A")
        b.queueInput([1, 2])
        XCTAssertEqual(b.readAvailableInput(), [1, 2])
        XCTAssertEqual(b.readAvailableInput(), [])
        XCTAssertNil(b.inputFD)
    }

    func testFileBackendWritesFile() throws {
        let path = NSTemporaryDirectory() + "swiftpc-serial-\(getpid()).txt"
        defer { unlink(path) }
        do {
            let b = try FileSerialBackend(path: path)
            for byte in "log".utf8 { b.write(byte) }
            XCTAssertEqual(b.readAvailableInput(), [])
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "log")
    }

    func testFileBackendBadPathIsTypedError() {
        XCTAssertThrowsError(try FileSerialBackend(path: "/nonexistent-dir/x/y")) { error in
            guard case MachineError.unreadableFile = error else { return XCTFail("\(error)") }
        }
    }

    func testStdioEscapeFilter() {
        let b = StdioSerialBackend(interceptEscape: true)
        var quits = 0
        b.onQuitRequest = { quits += 1 }
        XCTAssertEqual(b.filterEscapes([0x61, 0x01, 0x01, 0x62]), [0x61, 0x01, 0x62])
        XCTAssertEqual(quits, 0)
        XCTAssertEqual(b.filterEscapes([0x01]), [])
        XCTAssertEqual(b.filterEscapes([UInt8(ascii: "x"), 0x63]), [0x63])
        XCTAssertEqual(quits, 1)
        XCTAssertEqual(b.filterEscapes([0x01, 0x63]), [0x01, 0x63])
    }

    func testStdioRestoreWithoutRawModeIsHarmless() {
        let b = StdioSerialBackend()
        b.restore()
        b.restore()
        XCTAssertEqual(b.inputFD, 0)
    }
}

final class StdioSerialBackendTerminalTests: XCTestCase {
    /// The pty functions are hidden from Swift's Glibc module (they need _XOPEN_SOURCE);
    /// look them up in the C library instead.
    func libc<T>(_ name: String, as: T.Type) throws -> T {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else {
            throw XCTSkip("\(name) not found")
        }
        return unsafeBitCast(symbol, to: T.self)
    }

    func testRawModeOnAPseudoTerminalAndRestore() throws {
        let openpt = try libc("posix_openpt", as: (@convention(c) (Int32) -> Int32).self)
        let grantpt = try libc("grantpt", as: (@convention(c) (Int32) -> Int32).self)
        let unlockpt = try libc("unlockpt", as: (@convention(c) (Int32) -> Int32).self)
        let ptsname = try libc("ptsname", as: (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
        let master = openpt(O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw XCTSkip("no pseudo-terminals here") }
        defer { close(master) }
        XCTAssertEqual(grantpt(master), 0)
        XCTAssertEqual(unlockpt(master), 0)
        guard let name = ptsname(master) else { throw XCTSkip("ptsname failed") }
        let slave = open(String(cString: name), O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(slave, 0)
        defer { close(slave) }

        let backend = StdioSerialBackend(input: slave, output: slave)
        XCTAssertTrue(backend.stdinIsTerminal)
        var quits = 0
        backend.onQuitRequest = { quits += 1 }
        var before = termios()
        tcgetattr(slave, &before)
        XCTAssertNotEqual(before.c_lflag & tcflag_t(ICANON), 0)

        backend.enterRawMode()
        XCTAssertTrue(backend.isRaw)
        var raw = termios()
        tcgetattr(slave, &raw)
        XCTAssertEqual(raw.c_lflag & tcflag_t(ICANON | ECHO | ISIG), 0)

        // Keys typed on the terminal, with Ctrl-A x in the middle.
        let typed: [UInt8] = [0x61, 0x01, 0x78, 0x03]
        _ = typed.withUnsafeBytes { Glibc.write(master, $0.baseAddress, typed.count) }
        var input: [UInt8] = []
        for _ in 0..<200 where input.count < 2 {
            input += backend.readAvailableInput()
            if input.count < 2 { usleep(1000) }
        }
        XCTAssertEqual(input, [0x61, 0x03], "Ctrl-C reaches the guest in raw mode")
        XCTAssertEqual(quits, 1)

        backend.write(0x4F)
        var out = [UInt8](repeating: 0, count: 8)
        let n = out.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, 8) }
        XCTAssertEqual(Array(out.prefix(max(n, 0))), [0x4F])

        backend.restore()
        XCTAssertFalse(backend.isRaw)
        var after = termios()
        tcgetattr(slave, &after)
        XCTAssertEqual(after.c_lflag, before.c_lflag)
        XCTAssertEqual(after.c_iflag, before.c_iflag)
    }
}

extension StdioSerialBackendTerminalTests {
    /// A child process puts a pseudo-terminal in raw mode and dies of SIGTERM: the handler
    /// must restore the terminal before the signal's default action ends the process.
    func testTerminalRestoredWhenKilledBySignal() throws {
        let openpt = try libc("posix_openpt", as: (@convention(c) (Int32) -> Int32).self)
        let grantpt = try libc("grantpt", as: (@convention(c) (Int32) -> Int32).self)
        let unlockpt = try libc("unlockpt", as: (@convention(c) (Int32) -> Int32).self)
        let ptsname = try libc("ptsname", as: (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
        let master = openpt(O_RDWR | O_NOCTTY)
        guard master >= 0, grantpt(master) == 0, unlockpt(master) == 0, let name = ptsname(master) else {
            throw XCTSkip("no pseudo-terminals here")
        }
        defer { close(master) }
        let slave = open(String(cString: name), O_RDWR | O_NOCTTY)
        defer { close(slave) }
        var before = termios()
        tcgetattr(slave, &before)
        let backend = StdioSerialBackend(input: slave, output: slave)
        fflush(nil)
        let pid = fork()
        if pid == 0 {
            backend.enterRawMode()
            var raw = termios()
            tcgetattr(slave, &raw)
            if raw.c_lflag & tcflag_t(ICANON) != 0 { _exit(3) }
            raise(SIGTERM)
            _exit(4)
        }
        XCTAssertGreaterThan(pid, 0)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        XCTAssertEqual(status & 0x7F, SIGTERM, "child died of SIGTERM (status \(status))")
        var after = termios()
        tcgetattr(slave, &after)
        XCTAssertEqual(after.c_lflag, before.c_lflag)
    }
}
