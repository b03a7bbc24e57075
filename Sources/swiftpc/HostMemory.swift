#if canImport(Glibc)
import Glibc
#endif
import MachineCore

/// The host's physical memory, against which `-m` is checked: guest RAM is mapped without a
/// reservation, so a guest that touches more than the host has would push the host into
/// swap or the OOM killer. `--allow-overcommit` lifts the check.
enum HostMemory {
    /// Bytes of physical memory (sysconf _SC_PHYS_PAGES), or nil when the host does not say.
    static var physicalBytes: UInt64? {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return nil }
        return UInt64(pages) * UInt64(pageSize)
    }

    /// Refuses `size` bytes of guest RAM (given as `text` by the user) above the host's memory.
    static func check(size: UInt64, text: String) throws(MachineError) {
        guard let host = physicalBytes, size > host else { return }
        throw .badConfiguration("memory size \(text) is more than this host's physical memory (\(host >> 20) MiB); "
                                + "use --allow-overcommit to run it anyway")
    }
}
