#if canImport(Glibc)
import Glibc
#endif
import MachineCore

/// Where a UART's bytes go and where its input comes from.
public protocol SerialBackend: AnyObject {
    /// Sends one byte the guest transmitted.
    func write(_ byte: UInt8)
    /// A descriptor the machine may poll for input readiness, or nil when there is no input.
    var inputFD: Int32? { get }
    /// Whatever input is available now, without blocking (empty when none).
    func readAvailableInput() -> [UInt8]
}

/// Discards output and never has input.
public final class NullSerialBackend: SerialBackend {
    public init() {}
    public func write(_ byte: UInt8) {}
    public var inputFD: Int32? { nil }
    public func readAvailableInput() -> [UInt8] { [] }
}

/// Captures output in memory and feeds queued input: for tests.
public final class BufferSerialBackend: SerialBackend {
    public private(set) var output: [UInt8] = []
    private var pendingInput: [UInt8] = []

    public init() {}

    public func write(_ byte: UInt8) { output.append(byte) }
    public var inputFD: Int32? { nil }

    public func readAvailableInput() -> [UInt8] {
        defer { pendingInput.removeAll() }
        return pendingInput
    }

    /// Queues bytes for the next `readAvailableInput()`.
    public func queueInput(_ bytes: [UInt8]) { pendingInput += bytes }

    /// The output so far decoded as UTF-8 (invalid sequences replaced).
    public var outputString: String { String(decoding: output, as: UTF8.self) }

    public func clearOutput() { output.removeAll() }
}

/// Appends output to a file; no input.
public final class FileSerialBackend: SerialBackend {
    private let fd: Int32

    /// Opens (creating or truncating) `path` for the serial output.
    public init(path: String) throws(MachineError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        self.fd = fd
    }

    deinit { close(fd) }

    public func write(_ byte: UInt8) { writeAll(fd: fd, [byte]) }
    public var inputFD: Int32? { nil }
    public func readAvailableInput() -> [UInt8] { [] }
}

/// Writes every byte of `bytes` to `fd`, retrying on EINTR and short writes; gives up on
/// any other error (a closed terminal must not stop the guest).
func writeAll(fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        guard var pointer = buffer.baseAddress else { return }
        var left = buffer.count
        while left > 0 {
            let n = Glibc.write(fd, pointer, left)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            left -= n
            pointer += n
        }
    }
}

/// Reads whatever `fd` has ready, without blocking: poll with a zero timeout, then one read.
/// Returns nil at end of file.
func readReady(fd: Int32, max: Int = 4096) -> [UInt8]? {
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let ready = poll(&pfd, 1, 0)
    guard ready > 0 else { return [] }
    var buffer = [UInt8](repeating: 0, count: max)
    let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, max) }
    if n == 0 { return nil }
    if n < 0 { return errno == EINTR || errno == EAGAIN ? [] : nil }
    return Array(buffer[0..<n])
}
