import MachineCore

/// Grant-table frames in the guest's physical map (XENMEM_add_to_physmap with
/// XENMAPSPACE_grant_table). Xen's frames are its own heap pages, mapped wherever the guest
/// asks (Xen common/grant_table.c `gnttab_map_frame`, arch/x86/mm.c `xenmem_add_to_physmap_one`);
/// PVH Linux asks for addresses no RAM occupies (`xen_alloc_unpopulated_pages`), and PVHVM
/// Linux for the platform device's memory BAR. Where the address is not memory already, a
/// runtime page backs it; a frame that moves leaves its old runtime page behind, unbacked.
extension XenHypervisor {
    /// Highest guest-physical address + 1 a frame may occupy: the CPU model's MAXPHYADDR (40
    /// bits, CPUID 0x80000008).
    static let physicalAddressLimit: UInt64 = 1 << 40

    func placeGrantFrame(index: UInt64, at target: UInt64) -> XenErrno? {
        let previous = index < UInt64(grantTable.maxFrames) ? grantTable.frameAddress(index: Int(index)) : nil
        var backedNow = false
        // A runtime page that holds no grant frame is one the machine backed for itself (a
        // board's special pages, which a backend holds on to): never taken over, so no frame
        // moving off it or domain reset can unback it.
        if memory.isRuntimePage(target), !grantTable.hasFrame(at: target) { return .EINVAL }
        if memory.pointer(target, length: Int(GrantTableABI.frameSize)) == nil {
            // Nothing to back for a request the table refuses anyway; never over a device.
            guard index & GrantTableABI.statusFrameIndexFlag == 0, index < UInt64(grantTable.maxFrames),
                  isDeviceAddress?(target) != true else { return .EINVAL }
            do { try memory.addRuntimePage(at: target, addressLimit: Self.physicalAddressLimit) } catch {
                return target % GrantTableABI.frameSize != 0 || target >= Self.physicalAddressLimit ? .EINVAL : .ENOMEM
            }
            backedNow = true
        }
        if let error = grantTable.placeFrame(index: index, at: target) {
            if backedNow { memory.removeRuntimePage(at: target) }
            return error
        }
        if let previous, previous != target, memory.isRuntimePage(previous), !grantTable.hasFrame(at: previous) {
            memory.removeRuntimePage(at: previous)
        }
        return nil
    }
}
