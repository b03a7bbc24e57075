import MachineCore

/// sched_op (hypercall 29; public/sched.h, Xen common/sched/core.c `do_sched_op`).
extension XenHypervisor {
    func schedOp(_ args: XenHypercallArguments, _ buffer: XenGuestBuffer) -> Int64 {
        typealias ABI = XenSchedABI
        switch args.command {
        case ABI.yield:
            return 0
        case ABI.block:
            // Xen (common/sched/core.c, SCHEDOP_block → vcpu_block_enable_events): event
            // delivery on (evtchn_upcall_mask cleared), then the vCPU sleeps until an event or
            // an interrupt is due for it; `hypercall` turns the 0 into a block for the engine.
            if let info = eventChannels.vcpuInfoAddress(vcpu: 0),
               let mask = memory.ramPointer(info + VCPUInfoLayout.upcallMaskOffset, length: 1) {
                mask.storeBytes(of: 0, as: UInt8.self)
                memory.noteDeviceWrite(physical: info + VCPUInfoLayout.upcallMaskOffset, length: 1)
            }
            return 0
        case ABI.shutdown:
            guard let address = buffer.structure(at: args.a2, size: ABI.shutdownSize, write: false),
                  let arg = GuestArgument(memory: memory, address: address, size: ABI.shutdownSize) else {
                return -XenErrno.EFAULT.rawValue
            }
            let request: XenGuestShutdown
            switch arg.u32(0) {
            case ABI.reasonPoweroff: request = .powerOff
            case ABI.reasonReboot: request = .reboot
            case ABI.reasonCrash: request = .crash("crash")
            case ABI.reasonWatchdog: request = .crash("watchdog")
            case ABI.reasonSuspend, ABI.reasonSoftReset: return -XenErrno.ENOSYS.rawValue
            default: return -XenErrno.EINVAL.rawValue
            }
            onShutdown?(request)
            return 0
        default:
            return -XenErrno.ENOSYS.rawValue
        }
    }
}
