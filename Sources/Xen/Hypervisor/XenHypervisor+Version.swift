import MachineCore

/// xen_version (hypercall 17; public/version.h, Xen common/kernel.c `do_xen_version`).
extension XenHypervisor {
    /// XENFEAT submap 0: only what swiftpc implements (facts §0.4). Not offered:
    /// hvm_safe_pvclock (Xen timers, pvclock and runstate areas, which Linux then requires) and
    /// hvm_pirqs (PHYSDEVOP and PIRQ event channels).
    public static let features: UInt32 = XenFeature.writablePageTables | XenFeature.writableDescriptorTables
        | XenFeature.autoTranslatedPhysmap | XenFeature.supervisorModeKernel | XenFeature.hvmCallbackVector

    /// XENVER_extraversion: the part after "major.minor" that Linux prints ("Xen version 4.17.0").
    static let extraVersion = ".0-swiftpc"
    /// XENVER_capabilities: the guest kinds this hypervisor runs (HVM/PVH only: no classic PV).
    static let capabilities = "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"
    /// XENVER_changeset.
    static let changeset = "swiftpc"

    func xenVersion(_ args: XenHypercallArguments, _ buffer: XenGuestBuffer) -> Int64 {
        typealias ABI = XenVersionABI
        func putString(_ text: String, size: Int) -> Int64 {
            // The fixed-size array, NUL-padded (and truncated, always leaving the NUL).
            var bytes = Array(text.utf8.prefix(size - 1))
            bytes += Array(repeating: 0, count: size - bytes.count)
            return buffer.write(bytes, at: args.a2) ? 0 : -XenErrno.EFAULT.rawValue
        }
        switch args.command {
        case ABI.version:
            return Int64(version.packed)
        case ABI.extraVersion:
            return putString(Self.extraVersion, size: ABI.extraVersionSize)
        case ABI.capabilities:
            return putString(Self.capabilities, size: ABI.capabilitiesSize)
        case ABI.changeset:
            return putString(Self.changeset, size: ABI.changesetSize)
        case ABI.getFeatures:
            guard let address = buffer.structure(at: args.a2, size: ABI.featureInfoSize, write: true),
                  let arg = GuestArgument(memory: memory, address: address, size: ABI.featureInfoSize) else {
                return -XenErrno.EFAULT.rawValue
            }
            let submap = arg.u32(0)
            guard submap < ABI.featureSubmapCount else { return -XenErrno.EINVAL.rawValue }
            return arg.write([(ABI.featureInfoSubmap, Self.features.guestBytes)]) ? 0 : -XenErrno.EFAULT.rawValue
        case ABI.pageSize:
            return 4096
        default:
            return -XenErrno.ENOSYS.rawValue
        }
    }
}
