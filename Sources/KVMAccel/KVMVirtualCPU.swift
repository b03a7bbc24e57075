// The vCPU level of the KVM fd tree (api.rst §4, "vcpu ioctls"): creation, the shared kvm_run
// page and CPUID. The run loop, the state conversions and the failure reports are in their
// own files as extensions.
import CKVM
import MachineCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One KVM vCPU, conforming to the engine protocol both engines share. `run()` must be called
/// from one thread at a time; `requestStop()` may be called from any thread.
public final class KVMVirtualCPU: VCPUEngine, @unchecked Sendable {
    public let engineName = "kvm"
    public let vm: KVMVirtualMachine
    /// vCPU id given to KVM_CREATE_VCPU, which is also the initial APIC ID.
    public let id: Int
    public let model: CPUModel
    /// The CPUID table given to KVM_SET_CPUID2.
    public let cpuidTable: [KVMCPUIDEntry]

    let fd: Int32
    let kvmRun: UnsafeMutablePointer<kvm_run>
    let runBytes: UnsafeMutableRawPointer
    let mmapSize: Int

    let portIO: PortIOBus
    let mmio: MMIOBus
    /// The machine's big device lock, held around every bus dispatch.
    let lock: Lock
    let control: MachineControl

    // What this kernel and this vCPU's CPUID allow the state conversions to use.
    /// Size of the XSAVE buffer (4096, or KVM_CAP_XSAVE2's answer); nil: use KVM_GET/SET_FPU.
    let xsaveSize: Int?
    /// Offset of the AVX component in the XSAVE buffer, when AVX is enabled in CPUID.
    let avxOffset: Int?
    let supportedXCR0: UInt64
    let hasXCRs: Bool
    let hasDebugRegisters: Bool
    let hasVCPUEvents: Bool
    let hasMPState: Bool
    /// MSRs carried by get/setState, limited to those in KVM_GET_MSR_INDEX_LIST.
    let stateMSRs: [UInt32]

    /// Without an in-kernel irqchip HLT exits to userspace; this records that the vCPU halted.
    var userspaceHalted = false

    // Kicking (see KVMKick.swift).
    let kickLock = Lock()
    var runningThread: UInt?
    /// `requestStop()` was called (kvm_run.immediate_exit alone does not say who set it).
    let stopRequestFlag = Atomic<Bool>(false)
    /// `injectNMI()` was called; the run loop issues KVM_NMI on the vCPU thread (KVMVirtualCPU+NMI.swift).
    let nmiRequest = Atomic<Bool>(false)

    /// Exit counters, for diagnostics and benchmarks.
    public internal(set) var exitCount: UInt64 = 0
    public internal(set) var ioExitCount: UInt64 = 0
    public internal(set) var mmioExitCount: UInt64 = 0
    /// Guest writes dropped because they hit write-protected shadow RAM (a read-only slot).
    public internal(set) var protectedRAMWriteCount: UInt64 = 0
    /// The board's platform hooks (KVMVirtualCPU+Platform.swift says which KVM can honour).
    public let platform: VCPUPlatform

    /// Creates vCPU `id` of `vm` and gives it the CPUID of `model` filtered against what KVM
    /// supports (`KVMCPUIDPolicy`). The vCPU starts in KVM's reset state; load the loader's
    /// state with `setState`. Port and MMIO exits are dispatched to `portIO` and `mmio` with
    /// `lock` held; `control` is checked after every exit.
    public init(vm: KVMVirtualMachine, id: Int, model: CPUModel = .swiftpc, logicalCount: Int = 1,
                portIO: PortIOBus, mmio: MMIOBus, lock: Lock, control: MachineControl,
                platform: VCPUPlatform = VCPUPlatform(),
                cpuidOptions: KVMCPUIDPolicy.Options? = nil) throws(MachineError) {
        guard id >= 0, id < 1024, logicalCount >= 1, logicalCount <= 1024 else {
            throw .badConfiguration("vCPU id \(id) of \(logicalCount) is out of range")
        }
        let system = vm.system
        self.vm = vm
        self.id = id
        self.model = model
        self.portIO = portIO
        self.mmio = mmio
        self.lock = lock
        self.control = control
        self.platform = platform

        let duplicate = vm.vcpuLock.withLock { () -> Bool in
            if vm.vcpuIDs.contains(id) { return true }
            vm.vcpuIDs.insert(id)
            return false
        }
        if duplicate { throw .badConfiguration("vCPU \(id) exists already") }

        let vcpu = ckvm_ioctl_int(vm.fd, CKVM_CREATE_VCPU, UInt(id))
        guard vcpu >= 0 else {
            _ = vm.vcpuLock.withLock { vm.vcpuIDs.remove(id) }
            throw .engineFailure("KVM_CREATE_VCPU \(id) failed: \(errnoText(-vcpu))")
        }
        fd = vcpu
        mmapSize = system.vcpuMmapSize
        let mapped = mmap(nil, mmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0)
        guard let mapped, mapped != MAP_FAILED else {
            let e = errno
            close(vcpu)
            _ = vm.vcpuLock.withLock { vm.vcpuIDs.remove(id) }
            throw .engineFailure("mmap of the kvm_run area of vCPU \(id) failed: \(errnoText(e))")
        }
        runBytes = mapped
        kvmRun = mapped.bindMemory(to: kvm_run.self, capacity: 1)

        // CPUID first: the XSAVE size, XCR0 and several MSRs depend on it.
        var options = cpuidOptions ?? KVMCPUIDPolicy.Options()
        if cpuidOptions == nil { options.tscDeadlineTimerAvailable = vm.hasIRQChip && system.has(.tscDeadlineTimer) }
        let host: [KVMCPUIDEntry]
        let table: [KVMCPUIDEntry]
        do {
            host = try system.supportedCPUID()
            table = KVMCPUIDPolicy.build(host: host, model: model, apicID: UInt32(id), logicalCount: UInt32(logicalCount), options: options)
            try KVMVirtualCPU.setCPUID(fd: vcpu, table)
        } catch {
            munmap(mapped, system.vcpuMmapSize)
            close(vcpu)
            _ = vm.vcpuLock.withLock { vm.vcpuIDs.remove(id) }
            throw error
        }
        cpuidTable = table
        supportedXCR0 = KVMCPUIDPolicy.supportedXCR0(table)
        if system.has(.xsave) {
            let size2 = system.checkExtension(.xsave2)
            xsaveSize = max(size2, MemoryLayout<kvm_xsave>.size)
        } else {
            xsaveSize = nil
        }
        if xsaveSize != nil, supportedXCR0 & 0b100 != 0 {
            // Standard-format offset of component 2, as the host's leaf 0xD.2 EBX says.
            let d2 = host.first { $0.function == 0xD && $0.index == 2 }
            avxOffset = Int(d2?.ebx ?? UInt32(XSaveLayout.defaultAVXOffset))
        } else {
            avxOffset = nil
        }
        hasXCRs = system.has(.xcrs)
        hasDebugRegisters = system.has(.debugRegisters)
        hasVCPUEvents = system.has(.vcpuEvents)
        hasMPState = system.has(.mpState)
        let supported = (try? system.supportedMSRs()) ?? []
        stateMSRs = KVMVirtualCPU.stateMSRNumbers.filter { supported.contains($0) }
        try KVMKick.prepare()
        // Slots re-made for the chipset's write protection: a failure leaves the guest's low
        // memory in an unknown state, so the machine stops.
        if vm.onMemoryAttributeFailure == nil {
            vm.onMemoryAttributeFailure = { [control] error in control.requestStop(.engineFailure("\(error)")) }
        }
    }

    deinit {
        munmap(runBytes, mmapSize)
        close(fd)
        _ = vm.vcpuLock.withLock { vm.vcpuIDs.remove(id) }
    }

    static func setCPUID(fd: Int32, _ table: [KVMCPUIDEntry]) throws(MachineError) {
        guard let raw = ckvm_cpuid2_alloc(UInt32(table.count)) else { throw .engineFailure("out of memory for the CPUID table") }
        defer { ckvm_free(raw) }
        for (i, e) in table.enumerated() { ckvm_cpuid2_entry(raw, UInt32(i)).pointee = e.raw }
        try KVMIoctl.call(fd, CKVM_SET_CPUID2, raw: raw, "KVM_SET_CPUID2")
    }

    /// The CPUID table as KVM holds it now (KVM_GET_CPUID2), with the bits KVM maintains at
    /// run time (OSXSAVE, APIC, XSAVE sizes) as they currently are.
    public func currentCPUID() throws(MachineError) -> [KVMCPUIDEntry] {
        var capacity = UInt32(max(cpuidTable.count, 64))
        while capacity <= 4096 {
            guard let raw = ckvm_cpuid2_alloc(capacity) else { throw .engineFailure("out of memory for the CPUID table") }
            defer { ckvm_free(raw) }
            let r = ckvm_ioctl_ptr(fd, CKVM_GET_CPUID2, raw)
            if r == -E2BIG { capacity *= 2; continue }
            if r < 0 { throw .engineFailure("KVM_GET_CPUID2 failed: \(errnoText(-r))") }
            return (0..<raw.pointee.nent).map { KVMCPUIDEntry(ckvm_cpuid2_entry(raw, $0).pointee) }
        }
        throw .engineFailure("KVM_GET_CPUID2: table larger than 4096 entries")
    }

    /// This vCPU's TSC frequency in kHz (KVM_GET_TSC_KHZ), or nil when the kernel cannot say.
    public var tscKHz: UInt32? {
        guard vm.system.has(.getTSCKHz) else { return nil }
        let r = ckvm_ioctl_int(fd, CKVM_GET_TSC_KHZ, 0)
        return r > 0 ? UInt32(r) : nil
    }
}
