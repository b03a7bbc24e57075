#if canImport(Glibc)
import Glibc
#endif
import MachineCore

/// A raw disk image file (or block device) behind an emulated drive.
///
/// Writable images are opened read-write and locked exclusively; read-only images are opened
/// read-only and locked shared, so two swiftpc processes never write one image at once and a
/// reader never sees an image another process is writing. The locks are `flock(2)` locks on the
/// open file description: they also keep one process from opening the image twice, and they go
/// away when the process dies.
///
/// Data moves with `pread`/`pwrite` straight from the guest's request; `flush` is `fsync`, so
/// what the guest saw flushed survives the process being killed. The file is never truncated or
/// extended: writes past its end fail, reads past its end (a partial last sector) read zeros.
public final class DiskImage {
    /// The path as the user gave it (used in messages).
    public let path: String
    /// True when the image was opened read-only.
    public let readOnly: Bool
    /// Size of the image in bytes, fixed at open.
    public let size: UInt64
    private let fd: Int32

    /// Opens `path`. Throws a `MachineError` with one clear line for a missing, unreadable,
    /// empty or locked image, or a directory.
    public init(path: String, readOnly: Bool) throws(MachineError) {
        self.path = path
        self.readOnly = readOnly
        let fd = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
        guard fd >= 0 else {
            let err = errno
            switch err {
            case ENOENT: throw .unreadableFile(path: path, reason: "no such file")
            case EISDIR: throw .unreadableFile(path: path, reason: "is a directory")
            case EACCES, EROFS, EPERM:
                let reason = DiskImage.message(err)
                throw .unreadableFile(path: path, reason: readOnly ? reason : "cannot open for writing (\(reason)); open it read-only")
            default: throw .unreadableFile(path: path, reason: DiskImage.message(err))
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let err = errno
            close(fd)
            throw .unreadableFile(path: path, reason: DiskImage.message(err))
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG || kind == S_IFBLK else {
            close(fd)
            throw .unreadableFile(path: path, reason: kind == S_IFDIR ? "is a directory" : "not a regular file or block device")
        }
        // A block device reports size 0 in st_size; seeking to the end works for both kinds.
        let end = lseek(fd, 0, SEEK_END)
        guard end > 0 else {
            close(fd)
            throw .badImage(path: path, reason: end == 0 ? "image is empty (0 bytes)" : "cannot determine the size")
        }
        guard flock(fd, (readOnly ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            let err = errno
            close(fd)
            if err == EWOULDBLOCK {
                throw .badImage(path: path, reason: "in use by another process (locked)")
            }
            throw .badImage(path: path, reason: "cannot lock: \(DiskImage.message(err))")
        }
        self.fd = fd
        self.size = UInt64(end)
    }

    deinit { close(fd) }

    /// Reads `buffer.count` bytes at `offset`. Bytes past the end of the image read as zero.
    /// Returns false when the host read failed.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Bool {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return true }
        var done = 0
        while done < buffer.count {
            let position = offset &+ UInt64(done)
            if position >= size { break }
            let want = Int(min(UInt64(buffer.count - done), size - position))
            let n = pread(fd, base + done, want, off_t(position))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { break }
            done += n
        }
        if done < buffer.count { (base + done).initializeMemory(as: UInt8.self, repeating: 0, count: buffer.count - done) }
        return true
    }

    /// Writes `buffer` at `offset`. Returns false for a read-only image, a range past the end of
    /// the image (which is never extended) or a failed host write.
    public func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) -> Bool {
        guard !readOnly else { return false }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return true }
        guard offset <= size, UInt64(buffer.count) <= size - offset else { return false }
        var done = 0
        while done < buffer.count {
            let n = pwrite(fd, base + done, buffer.count - done, off_t(offset &+ UInt64(done)))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { return false }
            done += n
        }
        return true
    }

    /// Makes every completed write durable (`fsync`). Returns false when the host failed.
    /// A read-only image has nothing to flush.
    public func flush() -> Bool {
        if readOnly { return true }
        while fsync(fd) != 0 {
            if errno != EINTR { return false }
        }
        return true
    }

    private static func message(_ err: Int32) -> String { String(cString: strerror(err)) }
}
