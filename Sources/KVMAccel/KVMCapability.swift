import CKVM

/// A KVM capability number for `checkExtension` (api.rst §6 and §8). Modules other than
/// KVMAccel do not see <linux/kvm.h>, so the ones swiftpc asks about are named here.
public struct KVMCapability: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public let name: String

    public init(_ rawValue: Int32, name: String) { self.rawValue = rawValue; self.name = name }

    public var description: String { name }

    /// In-kernel PIC, IOAPIC and local APICs (KVM_CREATE_IRQCHIP).
    public static let irqchip = KVMCapability(KVM_CAP_IRQCHIP, name: "KVM_CAP_IRQCHIP")
    /// KVM_SET_GSI_ROUTING.
    public static let irqRouting = KVMCapability(KVM_CAP_IRQ_ROUTING, name: "KVM_CAP_IRQ_ROUTING")
    /// KVM_SET_USER_MEMORY_REGION.
    public static let userMemory = KVMCapability(KVM_CAP_USER_MEMORY, name: "KVM_CAP_USER_MEMORY")
    /// KVM_SET_TSS_ADDR (needed on Intel hosts to run real mode through vm86).
    public static let setTSSAddress = KVMCapability(KVM_CAP_SET_TSS_ADDR, name: "KVM_CAP_SET_TSS_ADDR")
    /// KVM_SET_IDENTITY_MAP_ADDR (the EPT identity map of Intel hosts without unrestricted guest).
    public static let setIdentityMapAddress = KVMCapability(KVM_CAP_SET_IDENTITY_MAP_ADDR, name: "KVM_CAP_SET_IDENTITY_MAP_ADDR")
    /// Maximum number of memory slots per VM.
    public static let memorySlots = KVMCapability(KVM_CAP_NR_MEMSLOTS, name: "KVM_CAP_NR_MEMSLOTS")
    /// KVM_GET/SET_MP_STATE.
    public static let mpState = KVMCapability(KVM_CAP_MP_STATE, name: "KVM_CAP_MP_STATE")
    /// KVM_CREATE_PIT2 (in-kernel i8254).
    public static let pit2 = KVMCapability(KVM_CAP_PIT2, name: "KVM_CAP_PIT2")
    /// KVM_GET/SET_VCPU_EVENTS.
    public static let vcpuEvents = KVMCapability(KVM_CAP_VCPU_EVENTS, name: "KVM_CAP_VCPU_EVENTS")
    /// KVM_GET/SET_DEBUGREGS.
    public static let debugRegisters = KVMCapability(KVM_CAP_DEBUGREGS, name: "KVM_CAP_DEBUGREGS")
    /// KVM_GET/SET_XSAVE.
    public static let xsave = KVMCapability(KVM_CAP_XSAVE, name: "KVM_CAP_XSAVE")
    /// KVM_GET_XSAVE2; the value is the size of the buffer it needs.
    public static let xsave2 = KVMCapability(KVM_CAP_XSAVE2, name: "KVM_CAP_XSAVE2")
    /// KVM_GET/SET_XCRS.
    public static let xcrs = KVMCapability(KVM_CAP_XCRS, name: "KVM_CAP_XCRS")
    /// Xen hypercall interception and Xen event-channel acceleration (KVM_XEN_HVM_CONFIG).
    public static let xenHVM = KVMCapability(KVM_CAP_XEN_HVM, name: "KVM_CAP_XEN_HVM")
    /// KVM_GET_TSC_KHZ on a vCPU.
    public static let getTSCKHz = KVMCapability(KVM_CAP_GET_TSC_KHZ, name: "KVM_CAP_GET_TSC_KHZ")
    /// KVM_GET/SET_TSC_KHZ on a VM.
    public static let vmTSCControl = KVMCapability(KVM_CAP_VM_TSC_CONTROL, name: "KVM_CAP_VM_TSC_CONTROL")
    /// The in-kernel local APIC offers the TSC-deadline timer (CPUID.1:ECX[24] may be set).
    public static let tscDeadlineTimer = KVMCapability(KVM_CAP_TSC_DEADLINE_TIMER, name: "KVM_CAP_TSC_DEADLINE_TIMER")
    /// KVM_MEM_READONLY memory slots (writes exit as KVM_EXIT_MMIO).
    public static let readOnlyMemory = KVMCapability(KVM_CAP_READONLY_MEM, name: "KVM_CAP_READONLY_MEM")
    /// kvm_run.immediate_exit.
    public static let immediateExit = KVMCapability(KVM_CAP_IMMEDIATE_EXIT, name: "KVM_CAP_IMMEDIATE_EXIT")
    /// KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2.
    public static let extendedCPUID = KVMCapability(KVM_CAP_EXT_CPUID, name: "KVM_CAP_EXT_CPUID")
}
