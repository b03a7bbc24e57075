import Foundation
import XCTest

/// A swiftpc run whose serial console is a pseudo-terminal the test reads and types into,
/// as a user at a terminal would.
final class PTYGuest {
    let process = Process()
    private let master: Int32
    private(set) var seen = ""

    init(binary: String, arguments: [String]) throws {
        var master: Int32 = -1, slave: Int32 = -1
        guard openpty(&master, &slave, nil, nil, nil) == 0 else {
            throw XCTSkip("openpty failed: \(String(cString: strerror(errno)))")
        }
        self.master = master
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let terminal = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        process.standardInput = terminal
        process.standardOutput = terminal
        process.standardError = terminal
        try process.run()
        try? terminal.close()
    }

    deinit {
        if process.isRunning { process.terminate() }
        close(master)
    }

    /// Reads the console until `text` has appeared or `timeout` seconds have passed.
    func waitFor(_ text: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var fds = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&fds, 1, 200) > 0 {
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { return seen.contains(text) }
                seen += String(decoding: buffer[0..<n], as: UTF8.self)
            }
            if seen.contains(text) { return true }
        }
        return false
    }

    func type(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count - 1) }
    }

    /// Waits up to `timeout` seconds for swiftpc to end; its status, or nil while it runs.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { _ = waitFor("\u{0}", timeout: 0.5) }
        return process.isRunning ? nil : process.terminationStatus
    }
}
