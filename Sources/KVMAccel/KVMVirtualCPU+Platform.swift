import CKVM
import MachineCore

/// KVM's side of the platform contract (docs/ARCHITECTURE.md, "Platform contract"): what it
/// maps onto KVM's own mechanisms, and what it cannot carry out.
///
/// - Interrupts come from the in-kernel irqchip, so `VCPUPlatform.interruptController` and
///   `msrs` are not consulted; NMIs go through KVM_NMI.
/// - Shadow-RAM write protection (`GuestMemory.setWriteProtectedLowPages`, the PAM write
///   enables): the VM maps the protected pages of the first MiB as KVM_MEM_READONLY slots and
///   the run loop drops the MMIO exits of writes to them (KVMVirtualMachine+MemoryAttributes).
///   Needs KVM_CAP_READONLY_MEM; without it the pages stay writable and this is not claimed.
/// - A20: not honoured. KVM has no A20M# input: guest-physical addresses reach the memory
///   slots unmasked. Building the wrap out of slots would take an alias of the even MiB
///   below for every odd MiB of the address space (some two thousand slots for 4 GiB, all
///   re-made at each gate change, the RAM slots above 1 MiB cut to pieces). QEMU's A20 mask
///   likewise reaches only its TCG translation, and under KVM the gate has no effect; a
///   guest that relies on the wrap (DOS HIMEM's test, old real-mode code) needs the
///   interpreter. `--stats` lists it among what the engine does not model.
/// - FERR#: the x87 runs on the host CPU, which reports an unmasked exception with CR0.NE
///   clear to KVM itself; nothing reaches userspace to drive the line.
/// - Hypercalls: VMCALL/VMMCALL reach userspace only through KVM_XEN_HVM_CONFIG's intercept
///   (KVM_CAP_XEN_HVM); without it KVM answers them itself.
/// - Device writes need nothing: no decoded code is cached outside the CPU.
extension KVMVirtualCPU {
    public var platformSupport: PlatformSupport {
        vm.supportsLowMemoryWriteProtect ? [.lowMemoryWriteProtect] : []
    }

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
        EngineStatistics(lines: ["KVM exits: \(exitCount) (port I/O \(ioExitCount), MMIO \(mmioExitCount)); writes dropped by shadow-RAM write protection: \(protectedRAMWriteCount)"])
    }
}
