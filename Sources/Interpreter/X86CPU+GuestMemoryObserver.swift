import MachineCore

/// The interpreter's side of the memory half of the platform contract: what devices and the
/// board change in guest memory behind the CPU (docs/ARCHITECTURE.md, "Platform contract").
extension X86CPU: GuestMemoryObserver {
    /// A device wrote guest RAM directly (DMA): instructions decoded from those pages are
    /// dropped, as a CPU write to them would drop them. The run loop's tag check then
    /// refetches even the instruction after the one that started the transfer.
    public func guestMemoryWritten(physical address: UInt64, length: Int) {
        guard length > 0 else { return }
        var page = address >> 12
        let last = (address &+ UInt64(length) &- 1) >> 12
        while page <= last {
            if codeCache.isCodePage(page) { codeCache.invalidate(page: page) }
            page += 1
        }
    }

    /// The A20 gate or the write-protected low pages changed: the software TLB's entries were
    /// made under the old state (translation applies the A20 mask, a write entry is never
    /// made for a protected page), so they are flushed.
    public func guestMemoryAttributesChanged(_ memory: GuestMemory) {
        let mask = memory.a20Mask, protected = memory.writeProtectedLowPages
        guard mask != a20Mask || protected != writeProtectedLowPages else { return }
        a20Mask = mask
        writeProtectedLowPages = protected
        tlb.flushAll()
    }

    /// A page was backed at run time: translations made while it was unbacked sent its
    /// accesses to the MMIO bus without a TLB entry, so only the TLB is flushed, to be sure.
    public func guestMemoryRegionAdded(_ region: MemoryRegion) {
        tlb.flushAll()
    }

    /// A runtime page goes away: no TLB entry may keep its host address, and what was decoded
    /// from it is stale.
    public func guestMemoryRegionRemoved(_ region: MemoryRegion) {
        tlb.flushAll()
        guestMemoryWritten(physical: region.guestBase, length: Int(region.size))
    }
}
