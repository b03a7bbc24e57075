#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Pages of guest-physical address space backed while the machine runs. A hypervisor places
/// frames of its own in the guest's physical map (Xen's grant-table frames, which PVH Linux
/// puts in address space no RAM occupies: Linux `xen_alloc_unpopulated_pages`; Xen backs them
/// with its own heap pages, common/grant_table.c `gnttab_map_frame`). Each added page is a
/// region of its own, writable, that every engine maps (GuestMemoryObserver); removing it
/// unmaps it everywhere before its host memory goes.
///
/// Added and removed on the vCPU thread (inside a hypercall): the only thread that resolves
/// guest addresses outside RAM while the machine runs.
extension GuestMemory {
    /// Each runtime page is one 4-KiB frame.
    public static let runtimePageSize: UInt64 = 4096
    /// Most runtime pages at once: a guest that asks for more is refused (a grant table's
    /// frames, with room to spare; KVM has some 500 memory slots in all).
    public static let maximumRuntimePages = 128

    /// Runtime pages now backed.
    public var runtimePageCount: Int { runtimePages.count }

    /// Whether `address` starts a page added by `addRuntimePage`.
    public func isRuntimePage(_ address: UInt64) -> Bool { runtimePages[address] != nil }

    /// Backs the page at guest-physical `address` with zeroed host memory and tells every
    /// engine. Refused when `address` is not page-aligned, lies beyond `addressLimit`, overlaps
    /// RAM, ROM or another runtime page, or when `maximumRuntimePages` are in use.
    @discardableResult
    public func addRuntimePage(at address: UInt64, addressLimit: UInt64 = GuestMemory.maximumSize)
        throws(MachineError) -> UnsafeMutableRawPointer {
        let size = GuestMemory.runtimePageSize
        guard address % size == 0, address < addressLimit, addressLimit - address >= size else {
            throw .memory("runtime page at 0x\(String(address, radix: 16)) is misaligned or beyond 0x\(String(addressLimit, radix: 16))")
        }
        for r in regions where address < r.guestEnd && r.guestBase < address + size {
            throw .memory("runtime page at 0x\(String(address, radix: 16)) overlaps guest memory at 0x\(String(r.guestBase, radix: 16))")
        }
        guard runtimePages.count < GuestMemory.maximumRuntimePages else {
            throw .memory("more than \(GuestMemory.maximumRuntimePages) runtime pages")
        }
        let raw = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { throw .memory("cannot map a runtime page") }
        let region = MemoryRegion(guestBase: address, size: size, host: raw)
        runtimePages[address] = raw
        regions.append(region)
        regionAdded(region)
        return raw
    }

    /// Unbacks the runtime page at `address` (nothing happens for any other address): the
    /// engines forget it, then its host memory is unmapped.
    public func removeRuntimePage(at address: UInt64) {
        guard let host = runtimePages.removeValue(forKey: address),
              let index = regions.firstIndex(where: { $0.guestBase == address && $0.host == host }) else { return }
        let region = regions.remove(at: index)
        regionRemoved(region)
        munmap(host, Int(GuestMemory.runtimePageSize))
    }

    /// Unbacks every runtime page (a machine reset returns the board's memory map).
    public func removeAllRuntimePages() {
        for address in runtimePages.keys.sorted() { removeRuntimePage(at: address) }
    }
}
