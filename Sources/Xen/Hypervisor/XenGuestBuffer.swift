import MachineCore

/// Guest pointers of a hypercall: guest-linear addresses translated through the calling vCPU's
/// page tables (Xen's copy_from_guest / copy_to_guest on an HVM guest). An address that is not
/// mapped, or not backed by memory, is -EFAULT.
struct XenGuestBuffer {
    let memory: GuestMemory
    let context: HypercallContext
    let longMode: Bool

    static let pageSize: UInt64 = 4096

    /// The guest-physical address of a `size`-byte structure at `linear`, which must lie in
    /// contiguous guest-physical memory (a structure that straddles a page boundary onto a page
    /// mapped elsewhere is refused: the hypercall structures are at most a few dozen bytes and a
    /// kernel keeps them on its stack or in its direct map).
    func structure(at linear: UInt64, size: Int, write: Bool) -> UInt64? {
        guard size > 0 else { return nil }
        let start = wrap(linear), last = wrap(linear &+ UInt64(size - 1))
        guard last >= start, let first = context.physicalAddress(ofLinear: start, write: write) else { return nil }
        if start / Self.pageSize != last / Self.pageSize {
            guard let end = context.physicalAddress(ofLinear: last, write: write), end == first &+ UInt64(size - 1) else { return nil }
        }
        return memory.pointer(first, length: size) != nil ? first : nil
    }

    /// Reads `count` bytes at `linear`, page by page; nil when any byte is unmapped.
    func read(at linear: UInt64, count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var address = linear, left = count
        while left > 0 {
            let chunk = min(left, Int(Self.pageSize - wrap(address) % Self.pageSize))
            guard let physical = context.physicalAddress(ofLinear: wrap(address), write: false),
                  let p = memory.pointer(physical, length: chunk) else { return nil }
            out.append(contentsOf: UnsafeRawBufferPointer(start: p, count: chunk))
            address &+= UInt64(chunk); left -= chunk
        }
        return out
    }

    /// Writes `bytes` at `linear`, page by page, into RAM only; false when any page is unmapped
    /// or not RAM (what was written before the fault stays, as with Xen's copy_to_guest).
    func write(_ bytes: [UInt8], at linear: UInt64) -> Bool {
        var address = linear, done = 0
        while done < bytes.count {
            let chunk = min(bytes.count - done, Int(Self.pageSize - wrap(address) % Self.pageSize))
            guard let physical = context.physicalAddress(ofLinear: wrap(address), write: true),
                  let p = memory.ramPointer(physical, length: chunk) else { return false }
            bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress! + done, byteCount: chunk) }
            memory.noteDeviceWrite(physical: physical, length: chunk)
            address &+= UInt64(chunk); done += chunk
        }
        return true
    }

    /// Linear addresses wrap at 4 GiB outside 64-bit mode.
    private func wrap(_ address: UInt64) -> UInt64 { longMode ? address : address & 0xFFFF_FFFF }
}
