#if canImport(Glibc)
import Glibc
#endif

/// Executable host memory for translated blocks: one mapping, filled from the front and
/// emptied as a whole (the block translator starts again when it is full).
final class HostCodeBuffer {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    private(set) var used = 0

    /// Nil when the host refuses writable and executable memory (then the JIT stays off).
    init?(capacity: Int) {
        let p = mmap(nil, capacity, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { return nil }
        base = p
        self.capacity = capacity
    }

    deinit { munmap(base, capacity) }

    /// Copies `code` in (16-byte aligned) and returns where it went.
    func append(_ code: [UInt8]) -> UnsafeMutableRawPointer? {
        let start = (used + 15) & ~15
        guard start + code.count <= capacity else { return nil }
        code.withUnsafeBytes { (base + start).copyMemory(from: $0.baseAddress!, byteCount: code.count) }
        used = start + code.count
        return base + start
    }

    /// Forgets everything after the first `keep` bytes (the entry and exit stubs).
    func reset(keeping keep: Int) { used = keep }
}
