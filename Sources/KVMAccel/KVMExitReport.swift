// One-line reports for exits the machine cannot continue from (internal errors, failed
// VM entries, unknown exits): the exit, its details, CS:RIP, the linear address and the
// instruction bytes there.
import CKVM
import MachineCore

extension KVMVirtualCPU {
    static func exitName(_ reason: UInt32) -> String {
        switch Int32(bitPattern: reason) {
        case KVM_EXIT_UNKNOWN: return "KVM_EXIT_UNKNOWN"
        case KVM_EXIT_EXCEPTION: return "KVM_EXIT_EXCEPTION"
        case KVM_EXIT_IO: return "KVM_EXIT_IO"
        case KVM_EXIT_HYPERCALL: return "KVM_EXIT_HYPERCALL"
        case KVM_EXIT_DEBUG: return "KVM_EXIT_DEBUG"
        case KVM_EXIT_HLT: return "KVM_EXIT_HLT"
        case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO"
        case KVM_EXIT_IRQ_WINDOW_OPEN: return "KVM_EXIT_IRQ_WINDOW_OPEN"
        case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN"
        case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY"
        case KVM_EXIT_INTR: return "KVM_EXIT_INTR"
        case KVM_EXIT_SET_TPR: return "KVM_EXIT_SET_TPR"
        case KVM_EXIT_TPR_ACCESS: return "KVM_EXIT_TPR_ACCESS"
        case KVM_EXIT_NMI: return "KVM_EXIT_NMI"
        case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR"
        case KVM_EXIT_SYSTEM_EVENT: return "KVM_EXIT_SYSTEM_EVENT"
        case KVM_EXIT_IOAPIC_EOI: return "KVM_EXIT_IOAPIC_EOI"
        case KVM_EXIT_HYPERV: return "KVM_EXIT_HYPERV"
        case KVM_EXIT_X86_RDMSR: return "KVM_EXIT_X86_RDMSR"
        case KVM_EXIT_X86_WRMSR: return "KVM_EXIT_X86_WRMSR"
        case KVM_EXIT_DIRTY_RING_FULL: return "KVM_EXIT_DIRTY_RING_FULL"
        case KVM_EXIT_X86_BUS_LOCK: return "KVM_EXIT_X86_BUS_LOCK"
        case KVM_EXIT_NOTIFY: return "KVM_EXIT_NOTIFY"
        default: return "exit reason \(reason)"
        }
    }

    static func internalErrorName(_ suberror: UInt32) -> String {
        switch Int32(bitPattern: suberror) {
        case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure"
        case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception"
        case KVM_INTERNAL_ERROR_DELIVERY_EV: return "exit while delivering an event"
        case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected hardware exit"
        default: return "suberror \(suberror)"
        }
    }

    static func hex(_ v: UInt64, _ width: Int = 0) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// The engine-failure error for an exit the run loop cannot handle.
    func failure(reason: UInt32) -> MachineError {
        var what = KVMVirtualCPU.exitName(reason)
        switch Int32(bitPattern: reason) {
        case KVM_EXIT_INTERNAL_ERROR:
            let sub = ckvm_run_internal_suberror(kvmRun)
            let n = min(ckvm_run_internal_ndata(kvmRun), 16)
            let data = (0..<n).map { "0x" + KVMVirtualCPU.hex(ckvm_run_internal_data(kvmRun, $0)) }
            what += " (suberror \(sub): \(KVMVirtualCPU.internalErrorName(sub))"
            what += data.isEmpty ? ")" : "; data \(data.joined(separator: " ")))"
        case KVM_EXIT_FAIL_ENTRY:
            what += " (hardware entry failure reason 0x\(KVMVirtualCPU.hex(ckvm_run_fail_entry_reason(kvmRun))) on host CPU \(ckvm_run_fail_entry_cpu(kvmRun)))"
        case KVM_EXIT_UNKNOWN:
            what += " (hardware exit reason 0x\(KVMVirtualCPU.hex(ckvm_run_hw_exit_reason(kvmRun))))"
        case KVM_EXIT_EXCEPTION:
            what += " (exception \(ckvm_run_exception_nr(kvmRun)), error code 0x\(KVMVirtualCPU.hex(UInt64(ckvm_run_exception_error_code(kvmRun)))))"
        case KVM_EXIT_SYSTEM_EVENT:
            what += " (type \(ckvm_run_system_event_type(kvmRun)))"
        default:
            break
        }
        return .engineFailure("kvm: vCPU \(id): \(what) at \(locationDescription())")
    }

    /// "CS:RIP 0008:0000000000100000 (linear 0x100000), bytes 0f 0b 90 ..." or a note
    /// saying why the registers or bytes could not be read.
    func locationDescription() -> String {
        var regs = kvm_regs()
        var sregs = kvm_sregs()
        do {
            try KVMIoctl.call(fd, CKVM_GET_REGS, &regs, "KVM_GET_REGS")
            try KVMIoctl.call(fd, CKVM_GET_SREGS, &sregs, "KVM_GET_SREGS")
        } catch {
            return "an unknown RIP (\(error))"
        }
        let longCode = sregs.efer & EFER.lma != 0 && sregs.cs.l != 0
        let linear = longCode ? regs.rip : (sregs.cs.base &+ regs.rip) & 0xFFFF_FFFF
        var text = "CS:RIP \(KVMVirtualCPU.hex(UInt64(sregs.cs.selector), 4)):\(KVMVirtualCPU.hex(regs.rip, 16)) (linear 0x\(KVMVirtualCPU.hex(linear)))"
        let bytes = instructionBytes(linear: linear, paging: sregs.cr0 & CR0.pg != 0, count: 15)
        if bytes.isEmpty {
            text += ", instruction bytes unreadable"
        } else {
            text += ", bytes " + bytes.map { KVMVirtualCPU.hex(UInt64($0), 2) }.joined(separator: " ")
        }
        return text
    }

    /// Up to `count` bytes of guest code at a linear address, translated page by page with
    /// KVM_TRANSLATE when paging is on; stops at the first byte that is not RAM.
    func instructionBytes(linear: UInt64, paging: Bool, count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var address = linear
        while out.count < count {
            let inPage = Int(4096 - (address & 0xFFF))
            let chunk = min(inPage, count - out.count)
            guard let physical = paging ? translate(address) : address,
                  let bytes = try? vm.memory.read(physical, count: chunk) else { break }
            out += bytes
            address &+= UInt64(chunk)
        }
        return out
    }

    /// Guest-physical address of a linear address under the vCPU's current paging (KVM_TRANSLATE).
    public func translate(_ linear: UInt64) -> UInt64? {
        var t = kvm_translation()
        t.linear_address = linear
        guard (try? KVMIoctl.call(fd, CKVM_TRANSLATE, &t, "KVM_TRANSLATE")) != nil, t.valid != 0 else { return nil }
        return t.physical_address
    }
}
