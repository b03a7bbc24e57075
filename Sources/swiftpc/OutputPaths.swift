#if canImport(Glibc)
import Glibc
#endif
import MachineCore

/// Files `swiftpc run` writes (--vga-dump, --vga-dump-text, --firmware-log, --serial
/// file:PATH) are checked before the guest starts, so that a bad path is one clear error
/// (status 2) instead of a message after the run, under the guest's exit status.
enum OutputPaths {
    /// Throws unless `path` can be opened for writing. An existing file is opened without
    /// truncation and left as it is; a new one is created and removed again. A FIFO is
    /// accepted as it is (opening it would wait for a reader).
    static func requireWritable(_ path: String, option: String) throws(MachineError) {
        func failure(_ code: Int32) -> MachineError {
            .badConfiguration("\(option) \(path): cannot write the file: \(String(cString: strerror(code)))")
        }
        var info = stat()
        if stat(path, &info) == 0 {
            let kind = info.st_mode & S_IFMT
            if kind == S_IFDIR { throw failure(EISDIR) }
            if kind == S_IFIFO { return }
            let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)
            guard fd >= 0 else { throw failure(errno) }
            close(fd)
            return
        }
        guard errno == ENOENT else { throw failure(errno) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(errno) }
        close(fd)
        unlink(path)
    }
}
