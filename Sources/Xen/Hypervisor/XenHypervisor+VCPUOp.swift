import MachineCore

/// vcpu_op (hypercall 24; public/vcpu.h): VCPUOP_register_vcpu_info, which Linux needs (it
/// panics when it fails). The timer and runstate operations belong to hvm_safe_pvclock,
/// which is not offered, and answer -ENOSYS.
extension XenHypervisor {
    func vcpuOp(_ args: XenHypercallArguments, _ buffer: XenGuestBuffer) -> Int64 {
        guard args.command == XenVCPUABI.registerVCPUInfo else { return -XenErrno.ENOSYS.rawValue }
        // The vCPU id is an `unsigned int` (Xen: -ENOENT when no such vCPU exists).
        guard args.a2 <= UInt64(UInt32.max), Int(args.a2) < vcpuCount else { return -XenErrno.ENOENT.rawValue }
        let size = XenVCPUABI.registerVCPUInfoSize
        guard let address = buffer.structure(at: args.a3, size: size, write: false),
              let arg = GuestArgument(memory: memory, address: address, size: size) else { return -XenErrno.EFAULT.rawValue }
        let result = eventChannels.registerVCPUInfo(vcpu: UInt32(args.a2), frame: arg.u64(XenVCPUABI.registerMFN),
                                                    offset: arg.u32(XenVCPUABI.registerOffset))
        return result.error.map { -$0.rawValue } ?? 0
    }
}
