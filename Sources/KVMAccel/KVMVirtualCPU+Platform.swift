import CKVM
import MachineCore

/// KVM's side of the platform contract (docs/ARCHITECTURE.md, "Platform contract"): what it
/// maps onto KVM's own mechanisms, and what it cannot carry out.
///
/// - Interrupts come from the in-kernel irqchip, so `VCPUPlatform.interruptController` and
///   `msrs` are not consulted; NMIs go through KVM_NMI.
/// - A20: KVM has no A20 gate (x86 KVM always runs with A20 open, as QEMU leaves it under KVM).
/// - FERR#: the x87 runs on the host CPU, which reports an unmasked exception with CR0.NE
///   clear to KVM itself; nothing reaches userspace to drive the line.
/// - Hypercalls: VMCALL/VMMCALL reach userspace only through KVM_XEN_HVM_CONFIG's intercept
///   (KVM_CAP_XEN_HVM); without it KVM answers them itself.
/// - Device writes need nothing: no decoded code is cached outside the CPU.
extension KVMVirtualCPU {
    public var platformSupport: PlatformSupport { [] }

    public func raiseNMI() { injectNMI() }

    /// The in-kernel irqchip sees its own inputs; nothing to do.
    public func interruptInputChanged() {}

    /// IA32_TSC through KVM_GET_MSRS (on the vCPU's thread, or while it is not running).
    public func readTimeStampCounter() -> UInt64 {
        guard let list = ckvm_msrs_alloc(1) else { return 0 }
        defer { ckvm_free(list) }
        ckvm_msrs_entry(list, 0).pointee.index = MSR.tsc
        guard let done = try? KVMIoctl.call(fd, CKVM_GET_MSRS, raw: list, "KVM_GET_MSRS"), done == 1 else { return 0 }
        return ckvm_msrs_entry(list, 0).pointee.data
    }

    public var statistics: EngineStatistics {
        EngineStatistics(lines: ["KVM exits: \(exitCount) (port I/O \(ioExitCount), MMIO \(mmioExitCount))"])
    }
}
