// The vCPU run loop: KVM_RUN and the dispatch of its exits (api.rst §5, "The kvm_run structure").
import CKVM
import MachineCore
#if canImport(Glibc)
import Glibc
#endif

extension KVMVirtualCPU {
    /// Runs the guest on the calling thread until the machine needs to act: a stop request
    /// (from `MachineControl` or `requestStop()`), a triple fault, or a HLT nothing can end.
    /// Port and MMIO exits are served from the buses under the machine lock and never return.
    /// When it returns `.stopRequested` the last I/O instruction is complete, so `getState()`
    /// sees a consistent state (api.rst: I/O completes only when KVM_RUN is re-entered).
    public func run() throws(MachineError) -> VCPUExit {
        if userspaceHalted && !vm.hasIRQChip && !nmiRequest.load(ordering: .sequentiallyConsistent) {
            // Without an in-kernel irqchip nothing can inject an interrupt: the HLT is final.
            return .haltedForever
        }
        try vm.trackCPUWritesIfObserved()
        try beginRun()
        defer {
            endRun()
            // What the guest wrote meanwhile, for an engine that will run it next.
            if vm.tracksCPUWrites { lock.withLock { vm.reportCPUWrites() } }
        }
        if control.isStopRequested { ckvm_run_set_immediate_exit(kvmRun, 1) }
        while true {
            if nmiRequest.load(ordering: .relaxed) { try issueRequestedNMI() }
            let r = ckvm_run(fd)
            if r < 0 {
                if r == -EINTR || r == -EAGAIN {
                    // A kick (immediate_exit or the signal) or some other signal.
                    if takeStopRequest() || control.isStopRequested {
                        ckvm_run_set_immediate_exit(kvmRun, 0)
                        return .stopRequested
                    }
                    continue
                }
                throw .engineFailure("KVM_RUN failed on vCPU \(id): \(errnoText(-r))")
            }
            exitCount &+= 1
            let reason = ckvm_run_exit_reason(kvmRun)
            switch reason {
            case UInt32(KVM_EXIT_IO):
                ioExitCount &+= 1
                try dispatchPortIO()
            case UInt32(KVM_EXIT_MMIO):
                mmioExitCount &+= 1
                dispatchMMIO()
            case UInt32(KVM_EXIT_INTR):
                // A signal arrived while in the guest; handled as EINTR above on most kernels.
                break
            case UInt32(KVM_EXIT_HLT):
                // Only without the in-kernel irqchip (api.rst: with it, HLT waits in the kernel).
                if !vm.hasIRQChip {
                    userspaceHalted = true
                    return .haltedForever
                }
            case UInt32(KVM_EXIT_SHUTDOWN):
                return .shutdown("triple fault")
            case UInt32(KVM_EXIT_SYSTEM_EVENT):
                switch Int32(ckvm_run_system_event_type(kvmRun)) {
                case KVM_SYSTEM_EVENT_SHUTDOWN: return .shutdown("system event: shutdown")
                case KVM_SYSTEM_EVENT_RESET: control.requestStop(.reset)
                default: throw failure(reason: reason)
                }
            case UInt32(KVM_EXIT_IRQ_WINDOW_OPEN):
                break
            default:
                // KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_FAIL_ENTRY, KVM_EXIT_UNKNOWN, KVM_EXIT_EXCEPTION,
                // KVM_EXIT_DEBUG and anything we never enabled.
                throw failure(reason: reason)
            }
            // A device (or another thread) asked the machine to stop: re-enter once with
            // immediate_exit so the kernel completes the instruction and returns EINTR.
            if control.isStopRequested { ckvm_run_set_immediate_exit(kvmRun, 1) }
        }
    }

    /// KVM_EXIT_IO: `count` accesses of `size` bytes (more than one for INS/OUTS with REP),
    /// data in the kvm_run page at data_offset.
    @inline(__always)
    func dispatchPortIO() throws(MachineError) {
        let size = Int(ckvm_run_io_size(kvmRun))
        let count = Int(ckvm_run_io_count(kvmRun))
        let port = ckvm_run_io_port(kvmRun)
        let offset = Int(truncatingIfNeeded: ckvm_run_io_data_offset(kvmRun))
        guard size == 1 || size == 2 || size == 4, offset >= 0, count >= 0,
              offset <= mmapSize, count <= (mmapSize - offset) / size else {
            throw .engineFailure("KVM_EXIT_IO with a bad layout: port 0x\(String(port, radix: 16)) size \(size) count \(count) data_offset \(offset)")
        }
        let data = runBytes + offset
        lock.lock()
        defer { lock.unlock() }
        if ckvm_run_io_direction(kvmRun) == UInt8(KVM_EXIT_IO_OUT) {
            for i in 0..<count {
                let p = data + i * size
                let value: UInt32
                switch size {
                case 1: value = UInt32(p.load(as: UInt8.self))
                case 2: value = UInt32(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
                default: value = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
                }
                portIO.write(port: port, size: size, value: value)
            }
        } else {
            for i in 0..<count {
                let p = data + i * size
                let value = portIO.read(port: port, size: size)
                switch size {
                case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
                case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian, as: UInt16.self)
                default: p.storeBytes(of: value.littleEndian, as: UInt32.self)
                }
            }
        }
    }

    /// KVM_EXIT_MMIO: one access of `len` (1...8) bytes; reads fill mmio.data. Writes to RAM
    /// that the VM maps read-only for write protection exit here too, and are dropped.
    @inline(__always)
    func dispatchMMIO() {
        let address = ckvm_run_mmio_phys_addr(kvmRun)
        let length = min(Int(ckvm_run_mmio_len(kvmRun)), 8)
        guard length > 0 else { return }
        let data = ckvm_run_mmio_data(kvmRun)
        lock.lock()
        defer { lock.unlock() }
        if ckvm_run_mmio_is_write(kvmRun) != 0 {
            // A write to shadow RAM whose write enable is clear: the chipset sends it to the
            // ROM side, where it is lost (82441FX §3.2.18), not to a device.
            if vm.isWriteProtectedRAM(address) {
                protectedRAMWriteCount &+= 1
                return
            }
            var value: UInt64 = 0
            for i in 0..<length { value |= UInt64(data[i]) << (8 * UInt64(i)) }
            mmio.write(address: address, size: length, value: value)
        } else {
            let value = mmio.read(address: address, size: length)
            for i in 0..<length { data[i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
    }
}
