// The vCPUs' writes to guest RAM, reported to the other engines that observe the memory
// (docs/ARCHITECTURE.md, "Platform contract"). To an interpreter that stands by while KVM
// runs the vCPU (`--migrate-every`), what the guest wrote under KVM was written behind its
// back, as DMA is: code it decoded from those pages before is stale.
import CKVM
import MachineCore

extension KVMVirtualMachine {
    /// Turns on write logging when an engine other than this VM observes the memory, so that
    /// a machine with KVM alone pays nothing for it. Called at the start of each `run()`.
    func trackCPUWritesIfObserved() throws(MachineError) {
        guard !tracksCPUWrites, memory.hasObservers(besides: self) else { return }
        try startTrackingCPUWrites()
    }

    /// Sets KVM_MEM_LOG_DIRTY_PAGES on every writable slot (api.rst, KVM_SET_USER_MEMORY_REGION:
    /// an existing slot's flags may be modified; KVM_GET_DIRTY_LOG then returns the pages
    /// written since the previous call). Slots made later get the flag from `mapSlot`.
    public func startTrackingCPUWrites() throws(MachineError) {
        tracksCPUWrites = true
        for (number, slot) in slots where !slot.readOnly && !slot.logsWrites {
            var region = kvm_userspace_memory_region()
            region.slot = number
            region.flags = UInt32(KVM_MEM_LOG_DIRTY_PAGES)
            region.guest_phys_addr = slot.guestBase
            region.memory_size = slot.size
            region.userspace_addr = UInt64(UInt(bitPattern: slot.host))
            try KVMIoctl.call(fd, CKVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION")
            slots[number]?.logsWrites = true
        }
    }

    /// Tells the memory's observers of every page the vCPUs wrote since the last call. Called
    /// when a vCPU's `run()` returns, before another engine can run the guest.
    public func reportCPUWrites() {
        for (number, slot) in slots where slot.logsWrites { reportWrites(slot: number, slot) }
    }

    /// KVM_GET_DIRTY_LOG for one slot (one bit per page, in 64-bit words, and the log is
    /// cleared), reported as runs of written pages. If the kernel refuses, the whole slot is
    /// reported: forgetting too much costs a re-decode, too little runs stale code.
    func reportWrites(slot number: UInt32, _ slot: Slot) {
        let pages = Int(slot.size >> 12)
        var bitmap = [UInt64](repeating: 0, count: (pages + 63) / 64)
        let r = bitmap.withUnsafeMutableBytes { buffer -> Int32 in
            var log = kvm_dirty_log()
            log.slot = number
            log.dirty_bitmap = buffer.baseAddress
            return withUnsafeMutablePointer(to: &log) { ckvm_ioctl_ptr(fd, CKVM_GET_DIRTY_LOG, $0) }
        }
        guard r >= 0 else {
            memory.noteDeviceWrite(physical: slot.guestBase, length: Int(slot.size))
            return
        }
        func written(_ page: Int) -> Bool { bitmap[page >> 6] >> UInt64(page & 63) & 1 != 0 }
        var page = 0
        while page < pages {
            if bitmap[page >> 6] == 0 { page = (page | 63) + 1; continue }
            guard written(page) else { page += 1; continue }
            var end = page + 1
            while end < pages && written(end) { end += 1 }
            memory.noteDeviceWrite(physical: slot.guestBase + UInt64(page) << 12, length: (end - page) << 12)
            page = end
        }
    }
}
