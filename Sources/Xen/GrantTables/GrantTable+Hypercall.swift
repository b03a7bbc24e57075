import MachineCore

/// HYPERVISOR_grant_table_op (hypercall 20) as a domU without mapping rights uses it: the table's
/// size and version. Mapping, copying and transfer are a grantee's operations, which only the
/// VMM's backends perform here (in process, through `acquire`).
extension GrantTable {
    /// Runs operation `command` on `count` structures at guest-physical `argument`. Returns nil
    /// on success or the error whose negation goes to RAX (a per-structure status such as
    /// GNTTABOP_query_size's is written into the structure, with RAX 0, as Xen does).
    /// query_size / set_version / get_version take exactly one structure (-EINVAL otherwise);
    /// a structure outside guest memory is -EFAULT; version 2 is -ENOSYS ("behave as before
    /// set_version was introduced"), other versions -EINVAL, and the answer's version field is
    /// always 1; other operations are -ENOSYS.
    public func hypercall(command: UInt64, argument: UInt64, count: UInt64) -> XenErrno? {
        let op = UInt64(UInt32(truncatingIfNeeded: command))
        typealias ABI = GrantTableABI
        switch op {
        case ABI.opQuerySize:
            guard count == 1 else { return .EINVAL }
            guard let arg = GuestArgument(memory: memory, address: argument, size: ABI.querySizeSize) else { return .EFAULT }
            let dom = arg.u16(ABI.querySizeDom)
            let fields: [(UInt64, [UInt8])]
            if dom == EventChannelABI.domidSelf || dom == domainID {
                let frames = UInt32(frameCount)
                fields = [(ABI.querySizeFrames, frames.guestBytes), (ABI.querySizeMaxFrames, UInt32(maxFrames).guestBytes),
                          (ABI.querySizeStatus, GrantStatus.okay.rawValue.guestBytes)]
            } else {
                // Domain 0 exists but the guest may not ask about it; other ids name no domain.
                let status: GrantStatus = dom == EventChannelABI.domidVMM ? .permissionDenied : .badDomain
                fields = [(ABI.querySizeStatus, status.rawValue.guestBytes)]
            }
            return arg.write(fields) ? nil : .EFAULT
        case ABI.opSetVersion:
            guard count == 1 else { return .EINVAL }
            guard let arg = GuestArgument(memory: memory, address: argument, size: ABI.setVersionSize) else { return .EFAULT }
            let requested = arg.u32(0)
            let result: XenErrno? = requested == 1 ? nil : requested == 2 ? .ENOSYS : .EINVAL
            return arg.write([(0, UInt32(1).guestBytes)]) ? result : .EFAULT
        case ABI.opGetVersion:
            guard count == 1 else { return .EINVAL }
            guard let arg = GuestArgument(memory: memory, address: argument, size: ABI.getVersionSize) else { return .EFAULT }
            let dom = arg.u16(ABI.getVersionDom)
            guard dom == EventChannelABI.domidSelf || dom == domainID else {
                return dom == EventChannelABI.domidVMM ? .EPERM : .ESRCH
            }
            return arg.write([(ABI.getVersionVersion, UInt32(1).guestBytes)]) ? nil : .EFAULT
        default:
            return .ENOSYS
        }
    }

    /// Bytes of one argument structure of operation `command` that `hypercall` reads, nil for
    /// operations it answers -ENOSYS without reading (the hypercall layer sizes its
    /// linear-to-physical translation with it).
    public static func argumentSize(_ command: UInt64) -> Int? {
        switch command {
        case GrantTableABI.opQuerySize: return GrantTableABI.querySizeSize
        case GrantTableABI.opSetVersion: return GrantTableABI.setVersionSize
        case GrantTableABI.opGetVersion: return GrantTableABI.getVersionSize
        default: return nil
        }
    }
}
