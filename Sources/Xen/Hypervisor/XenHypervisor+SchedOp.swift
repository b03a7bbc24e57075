import MachineCore

/// sched_op (hypercall 29; public/sched.h, Xen common/sched/core.c `do_sched_op`).
extension XenHypervisor {
    func schedOp(_ args: XenHypercallArguments, _ buffer: XenGuestBuffer) -> Int64 {
        typealias ABI = XenSchedABI
        switch args.command {
        case ABI.yield:
            return 0
        case ABI.block:
            // Xen blocks the vCPU until an event is pending, with event delivery enabled. An
            // HVM guest halts with HLT instead; returning at once is a spurious wake-up, which
            // every caller of SCHEDOP_block must tolerate (it re-checks and blocks again).
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
