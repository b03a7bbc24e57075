// KVM's side of the memory half of the platform contract (docs/ARCHITECTURE.md, "Platform
// contract"): the board's shadow-RAM write enables become read-only memory slots.
import MachineCore

/// A run of pages of the first MiB mapped as one slot, all of one protection.
struct LowRAMRun: Equatable {
    let guestBase: UInt64
    let size: UInt64
    let readOnly: Bool
}

extension KVMVirtualMachine: GuestMemoryObserver {
    /// The part of the address space `LowMemoryPageMask` covers: the first MiB.
    static let lowMemoryLimit: UInt64 = LowMemoryPageMask.pageCount << 12

    /// Device writes need nothing: KVM caches no decoded code outside the CPU, whose caches
    /// are coherent with DMA into guest RAM.
    public func guestMemoryWritten(physical address: UInt64, length: Int) {}

    /// The write-protected pages of the first MiB changed (a PAM write, which arrives on the
    /// vCPU thread during an I/O exit, or a machine reset): the slots there are re-made. A20
    /// changes are not honoured (KVMVirtualCPU+Platform.swift).
    public func guestMemoryAttributesChanged(_ memory: GuestMemory) {
        guard supportsLowMemoryWriteProtect, memory.writeProtectedLowPages != readOnlyLowPages else { return }
        do { try mapLowRAM(protecting: memory.writeProtectedLowPages) } catch {
            onMemoryAttributeFailure?(error)
        }
    }

    /// A page backed at run time (a Xen grant frame outside RAM) becomes a slot of its own.
    /// Called on the vCPU thread during an exit, outside KVM_RUN.
    public func guestMemoryRegionAdded(_ region: MemoryRegion) {
        do { runtimeSlots[region.guestBase] = try mapSlot(guestBase: region.guestBase, size: region.size, host: region.host) } catch {
            onMemoryAttributeFailure?(error)
        }
    }

    /// The runtime page's slot is deleted before its host memory is unmapped.
    public func guestMemoryRegionRemoved(_ region: MemoryRegion) {
        guard let slot = runtimeSlots.removeValue(forKey: region.guestBase) else { return }
        do { try unmapSlot(slot) } catch { onMemoryAttributeFailure?(error) }
    }

    /// Whether a guest write to `address` exits because the page is RAM mapped read-only for
    /// write protection: the chipset sends such writes nowhere, so the run loop drops them.
    @inline(__always)
    func isWriteProtectedRAM(_ address: UInt64) -> Bool {
        address < KVMVirtualMachine.lowMemoryLimit && readOnlyLowPages.contains(page: address >> 12)
    }

    /// Maps the RAM of the first MiB as runs of pages of equal protection, read-only where
    /// `mask` says. A slot's KVM_MEM_READONLY flag cannot be changed in place and a slot
    /// cannot be resized, so a run that changes is deleted (memory_size 0) and added anew;
    /// runs that stay as they were keep their slots, so the guest's mappings of the rest of
    /// its low memory survive. Called outside KVM_RUN: a vCPU running meanwhile could find
    /// the range unmapped between delete and add, and take its access for MMIO.
    func mapLowRAM(protecting mask: LowMemoryPageMask) throws(MachineError) {
        var wanted: [(run: LowRAMRun, host: UnsafeMutableRawPointer)] = []
        for piece in lowRAMPieces {
            var page = piece.guestBase >> 12
            let end = piece.guestEnd >> 12
            while page < end {
                let readOnly = mask.contains(page: page)
                var next = page + 1
                while next < end && mask.contains(page: next) == readOnly { next += 1 }
                let base = page << 12
                wanted.append((LowRAMRun(guestBase: base, size: (next - page) << 12, readOnly: readOnly),
                               piece.host + Int(base - piece.guestBase)))
                page = next
            }
        }
        for existing in lowRuns where !wanted.contains(where: { $0.run == existing.run }) {
            try unmapSlot(existing.slot)
            lowRuns.removeAll { $0.slot == existing.slot }
            if existing.run.readOnly { setReadOnly(existing.run, false) }
        }
        for (run, host) in wanted where !lowRuns.contains(where: { $0.run == run }) {
            let slot = try mapSlot(guestBase: run.guestBase, size: run.size, host: host, readOnly: run.readOnly)
            lowRuns.append((run, slot))
            if run.readOnly { setReadOnly(run, true) }
        }
    }

    private func setReadOnly(_ run: LowRAMRun, _ on: Bool) {
        readOnlyLowPages.set(range: run.guestBase..<(run.guestBase + run.size), on)
    }
}
