/// What a board offers a vCPU besides memory and the buses: its interrupt controller, its
/// MSRs, the FERR# line and the hypercall hook (docs/ARCHITECTURE.md, "Platform contract").
///
/// The machine makes one per vCPU and hands it to every engine it builds for that vCPU; the
/// board fills it in once its devices exist. Engines read it when they need it and never
/// learn which devices stand behind it; a board never learns which engine runs the vCPU.
public final class VCPUPlatform: @unchecked Sendable {
    /// INTR and the INTA cycle from a userspace interrupt controller, or nil when the engine
    /// has its own (KVM's in-kernel irqchip).
    public var interruptController: (any InterruptController)?
    /// MSRs that belong to the platform rather than the core (the local APIC's).
    public var msrs: (any PlatformMSRs)?
    /// FERR#, driven by the x87 while an unmasked exception is pending with CR0.NE clear
    /// (SDM Vol. 1 §8.7, "Handling x87 FPU Exceptions in Software"); a PC routes it to IRQ13.
    public var ferr: IRQLine?
    /// VMCALL and VMMCALL (the Xen interface, issue 15); nil: they raise #UD.
    public var hypercalls: (any HypercallHandler)?

    public init() {}
}

/// A userspace interrupt controller as the CPU sees it (the 8259's INTR output and INTA
/// cycle, or a local APIC that passes them on). Called with the machine lock held.
public protocol InterruptController: AnyObject {
    /// The INTR line is asserted.
    var interruptRequested: Bool { get }
    /// The INTA cycle: the vector of the highest-priority pending request.
    func acknowledgeInterrupt() -> UInt8
}

/// Model-specific registers that belong to the platform rather than the core: the local
/// APIC's (IA32_APIC_BASE, IA32_TSC_DEADLINE, the x2APIC range). Called without the machine
/// lock (the platform takes it).
public protocol PlatformMSRs: AnyObject {
    /// The value of MSR `index`, or nil when the platform has no such register in its current
    /// state (the CPU raises #GP).
    func readMSR(_ index: UInt32) -> UInt64?
    /// Writes MSR `index`; false when the register does not exist or the value is invalid
    /// (the CPU raises #GP).
    func writeMSR(_ index: UInt32, _ value: UInt64) -> Bool
    /// Whether MSR `index` is one of the platform's (in any state): a #GP from it is then the
    /// register's own rule, not an unknown MSR.
    func ownsMSR(_ index: UInt32) -> Bool
}

/// The registers of a hypercall as the guest left them at VMCALL/VMMCALL. Xen's and KVM's
/// 64-bit ABIs pass the number in RAX and arguments in RDI, RSI, RDX, R10, R8; their 32-bit
/// ABIs in EBX, ECX, EDX, ESI, EDI. The handler writes results back (RAX).
public struct HypercallRegisters: Equatable, Sendable {
    public enum Instruction: Sendable { case vmcall, vmmcall }
    public var instruction: Instruction
    /// The current privilege level: hypervisors refuse most calls from CPL > 0.
    public var cpl: Int
    /// 64-bit mode (as opposed to 32-bit protected or compatibility mode).
    public var longMode: Bool
    public var rax: UInt64, rbx: UInt64, rcx: UInt64, rdx: UInt64, rsi: UInt64, rdi: UInt64
    public var r8: UInt64, r9: UInt64, r10: UInt64

    public init(instruction: Instruction, cpl: Int, longMode: Bool, rax: UInt64 = 0, rbx: UInt64 = 0, rcx: UInt64 = 0,
                rdx: UInt64 = 0, rsi: UInt64 = 0, rdi: UInt64 = 0, r8: UInt64 = 0, r9: UInt64 = 0, r10: UInt64 = 0) {
        self.instruction = instruction; self.cpl = cpl; self.longMode = longMode
        self.rax = rax; self.rbx = rbx; self.rcx = rcx; self.rdx = rdx; self.rsi = rsi; self.rdi = rdi
        self.r8 = r8; self.r9 = r9; self.r10 = r10
    }
}

/// What a hypercall handler may ask of the vCPU that made the call: hypercall arguments are
/// guest-linear addresses, translated through the guest's page tables.
public protocol HypercallContext: AnyObject {
    /// The guest-physical address of `linear` for a data access, or nil when it is not mapped
    /// (the handler answers -EFAULT, as a hypervisor's copy-from-guest does).
    func physicalAddress(ofLinear linear: UInt64, write: Bool) -> UInt64?
}

/// What a hypercall did.
public enum HypercallOutcome: Equatable, Sendable {
    /// Handled: the registers were updated and the guest continues after the instruction.
    case handled
    /// Handled, and the vCPU then sleeps as in HLT until an interrupt is requested of it (by
    /// the platform's interrupt controller, whatever RFLAGS.IF says) or an NMI arrives: Xen's
    /// SCHEDOP_block. It wakes after the instruction; an interrupt it could not take stays
    /// pending.
    case handledThenBlock
    /// Not a hypercall the platform answers: the instruction raises #UD, as on a CPU
    /// without the hypervisor.
    case undefinedInstruction
}

/// The platform's hypercall hook: VMCALL/VMMCALL exits on either engine end here, on the
/// vCPU's thread, without the machine lock (the handler takes it).
public protocol HypercallHandler: AnyObject {
    func hypercall(_ registers: inout HypercallRegisters, context: HypercallContext) -> HypercallOutcome
}
