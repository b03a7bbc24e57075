#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MachineCore

/// Reading the files a user names (kernels, initrds, modules), with one-line errors.
/// POSIX calls rather than Foundation so the messages are the plain strerror text and large
/// modules can be read straight into guest RAM without an intermediate copy.
enum ImageFile {
    /// Opens `path` for reading and returns the descriptor and the file size.
    private static func openRegular(_ path: String) throws(MachineError) -> (fd: Int32, size: UInt64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .unreadableFile(path: path, reason: reason)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            let what = (st.st_mode & S_IFMT) == S_IFDIR ? "is a directory" : "is not a regular file"
            throw .unreadableFile(path: path, reason: what)
        }
        return (fd, UInt64(st.st_size))
    }

    /// Size in bytes of the regular file at `path`.
    static func size(_ path: String) throws(MachineError) -> UInt64 {
        let (fd, size) = try openRegular(path)
        close(fd)
        return size
    }

    /// The whole file. Used for kernels, whose headers are parsed before loading.
    static func contents(_ path: String, limit: UInt64 = 1 << 30) throws(MachineError) -> [UInt8] {
        let (fd, size) = try openRegular(path)
        defer { close(fd) }
        guard size <= limit else {
            throw .badImage(path: path, reason: "file is \(mebibytes(size)) MiB, more than a kernel image can be")
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let got = bytes.withUnsafeMutableBytes { readAll(fd, into: $0.baseAddress, count: Int(size)) }
        switch got {
        case .failure(let e): throw .unreadableFile(path: path, reason: e.reason)
        case .success(let n) where n != Int(size):
            throw .unreadableFile(path: path, reason: "file shrank while being read")
        default: return bytes
        }
    }

    /// Reads exactly `expectedSize` bytes of `path` into guest RAM at `address`.
    static func load(_ path: String, expectedSize: UInt64, into memory: GuestMemory, at address: UInt64) throws(MachineError) {
        let (fd, _) = try openRegular(path)
        defer { close(fd) }
        guard expectedSize > 0 else { return }
        let destination = try memory.checkedPointer(address, length: Int(expectedSize))
        switch readAll(fd, into: destination, count: Int(expectedSize)) {
        case .failure(let e): throw .unreadableFile(path: path, reason: e.reason)
        case .success(let n) where n != Int(expectedSize):
            throw .unreadableFile(path: path, reason: "file changed size while being read")
        default: return
        }
    }

    struct ReadFailure: Error { let reason: String }

    /// read(2) until `count` bytes or end of file; returns the byte count.
    private static func readAll(_ fd: Int32, into buffer: UnsafeMutableRawPointer?, count: Int) -> Result<Int, ReadFailure> {
        guard let buffer, count > 0 else { return .success(0) }
        var done = 0
        while done < count {
            let n = read(fd, buffer + done, min(count - done, 1 << 26))
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ReadFailure(reason: String(cString: strerror(errno))))
            }
            if n == 0 { break }
            done += n
        }
        return .success(done)
    }
}

/// Bounds-checked little-endian reads from an image's bytes; every accessor returns nil past
/// the end, so parsers turn short files into "truncated" errors instead of traps.
struct ByteView {
    let bytes: [UInt8]
    var count: Int { bytes.count }

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// True when `[offset, offset + length)` lies inside the bytes.
    func contains(_ offset: UInt64, _ length: UInt64) -> Bool {
        let (end, overflow) = offset.addingReportingOverflow(length)
        return !overflow && end <= UInt64(bytes.count)
    }

    func u8(_ o: Int) -> UInt8? { o >= 0 && o < bytes.count ? bytes[o] : nil }

    func u16(_ o: Int) -> UInt16? {
        guard o >= 0, o + 2 <= bytes.count else { return nil }
        return UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8
    }

    func u32(_ o: Int) -> UInt32? {
        guard o >= 0, o + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(bytes[o + i]) }
        return v
    }

    func u64(_ o: Int) -> UInt64? {
        guard let lo = u32(o), let hi = u32(o + 4) else { return nil }
        return UInt64(hi) << 32 | UInt64(lo)
    }
}

extension GuestMemory {
    /// Copies `bytes[range]` into guest RAM at `address`.
    func copy(_ bytes: [UInt8], range: Range<Int>, to address: UInt64) throws(MachineError) {
        guard !range.isEmpty else { return }
        let destination = try checkedPointer(address, length: range.count)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress {
                destination.copyMemory(from: base + range.lowerBound, byteCount: range.count)
            }
        }
    }

    /// Writes `string` followed by a NUL.
    func writeCString(_ string: String, at address: UInt64) throws(MachineError) {
        try write(Array(string.utf8) + [0], at: address)
    }
}
