import MachineCore

/// memory_op (hypercall 12; public/memory.h): XENMEM_add_to_physmap for the two pages that are
/// the hypervisor's own, shared_info and grant-table frames (Xen arch/x86/mm.c
/// `xenmem_add_to_physmap_one`). The guest's RAM is fixed: no ballooning, no populate.
extension XenHypervisor {
    func memoryOp(_ args: XenHypercallArguments, _ buffer: XenGuestBuffer) -> Int64 {
        guard args.a1 & XenMemoryABI.commandMask == XenMemoryABI.addToPhysmap else { return -XenErrno.ENOSYS.rawValue }
        // A continuation in the upper bits is Xen's own bookkeeping; a guest never sets it here.
        guard args.a1 >> 6 == 0 else { return -XenErrno.EINVAL.rawValue }
        let size = args.longMode ? XenMemoryABI.addToPhysmapSize64 : XenMemoryABI.addToPhysmapSize32
        guard let address = buffer.structure(at: args.a2, size: size, write: false),
              let arg = GuestArgument(memory: memory, address: address, size: size) else { return -XenErrno.EFAULT.rawValue }
        let domid = arg.u16(XenMemoryABI.addToPhysmapDomid)
        let space = arg.u32(XenMemoryABI.addToPhysmapSpace)
        // idx and gpfn are unsigned longs: 8 bytes each from offset 8 on x86_64, 4 on x86_32.
        let index = args.longMode ? arg.u64(8) : UInt64(arg.u32(8))
        let frame = args.longMode ? arg.u64(16) : UInt64(arg.u32(12))
        guard isSelf(domid) else { return otherDomainError(domid) }
        guard frame < (1 << 52) else { return -XenErrno.EINVAL.rawValue }
        let target = frame << 12
        let error: XenErrno?
        switch space {
        case XenMemoryABI.spaceSharedInfo:
            error = index == 0 ? eventChannels.placeSharedInfo(at: target) : .EINVAL
        case XenMemoryABI.spaceGrantTable:
            error = placeGrantFrame(index: index, at: target)
        default:
            // XENMAPSPACE_gmfn and the rest move the guest's own frames: not implemented.
            error = .ENOSYS
        }
        return error.map { -$0.rawValue } ?? 0
    }
}
