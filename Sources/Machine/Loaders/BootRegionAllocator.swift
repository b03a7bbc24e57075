import MachineCore

/// Hands out guest RAM for the structures and modules a multiboot loader passes to its
/// kernel. Multiboot kernels may be linked anywhere in RAM (some sit right above the BIOS
/// data area), so nothing is at a fixed address: every piece goes to the lowest free spot
/// that lies in one usable-RAM entry of the map and overlaps nothing handed out before, the
/// kernel's own ranges included.
struct BootRegionAllocator {
    let map: E820Map
    /// Ranges taken: the kernel, then whatever `allocate` returned.
    private(set) var used: [Range<UInt64>]

    init(map: E820Map, used: [Range<UInt64>]) {
        self.map = map
        self.used = used.filter { !$0.isEmpty }
    }

    /// The lowest `alignment`-aligned address `a >= floor` with `[a, a + size)` in usable RAM,
    /// ending at or below `limit` and overlapping no taken range; the range is then taken.
    mutating func allocate(_ size: UInt64, alignment: UInt64, floor: UInt64, limit: UInt64) -> UInt64? {
        let length = max(size, 1)
        // The lowest fit starts at the floor, at the start of a RAM entry or right after a
        // taken range: those are the only candidates.
        let starts = [floor] + map.entries.filter { $0.type == .ram }.map(\.base) + used.map(\.upperBound)
        let candidates = starts.map { alignUp(max($0, floor), alignment) }.filter { $0 >= floor }.sorted()
        for a in candidates {
            let (end, overflow) = a.addingReportingOverflow(length)
            guard !overflow, end <= limit, map.isUsableRAM(a, length: length),
                  !used.contains(where: { $0.overlaps(a..<end) }) else { continue }
            used.append(a..<end)
            return a
        }
        return nil
    }

    /// Writes `bytes` at a fresh allocation and returns its address; `what` names it in the error.
    mutating func place(_ bytes: [UInt8], alignment: UInt64, floor: UInt64, limit: UInt64, what: String,
                        into memory: GuestMemory) throws(MachineError) -> UInt64 {
        guard let address = allocate(UInt64(bytes.count), alignment: alignment, floor: floor, limit: limit) else {
            throw .memory("no room below \(hex(limit)) for the \(what) (\(bytes.count) bytes) outside the kernel and modules at \(describeUsed())")
        }
        try memory.write(bytes, at: address)
        return address
    }

    func describeUsed() -> String {
        used.sorted { $0.lowerBound < $1.lowerBound }.map { "\(hex($0.lowerBound))-\(hex($0.upperBound))" }
            .joined(separator: ", ")
    }
}
