import MachineCore

/// How a guest asked to stop (SCHEDOP_shutdown), for the machine to act on.
public enum XenGuestShutdown: Equatable, Sendable {
    case powerOff
    case reboot
    /// SHUTDOWN_crash, or SHUTDOWN_watchdog (Xen treats an expired watchdog as a crash unless
    /// the toolstack says otherwise); the string names which.
    case crash(String)
}

/// Where a due event-channel upcall goes (facts §2.4).
public enum XenUpcallRoute: Equatable, Sendable {
    /// The per-vCPU vector of HVMOP_set_evtchn_upcall_vector: a fixed, edge-triggered interrupt
    /// through the local APIC, which the guest EOIs.
    case localAPIC(vector: UInt8)
    /// HVM_PARAM_CALLBACK_IRQ of type vector: injected directly, like an ExtINT, whenever the
    /// vCPU's evtchn_upcall_pending is set and it takes interrupts; no EOI (KVM api.rst,
    /// KVM_XEN_ATTR_TYPE_UPCALL_VECTOR).
    case callbackVector(UInt8)
}

/// The hypervisor half of the Xen interface for one HVM/PVH domU (issue 15): it answers the
/// guest's hypercalls on the vCPU's thread and owns the domain's event channels and grant
/// table. The VMM is both Xen and domain 0, so the machine connects the hooks below to its
/// own devices (serial backend, local APIC, stop requests).
///
/// Every guest value is checked as Xen 4.17 checks it; what swiftpc does not implement answers
/// -ENOSYS and is counted per (hypercall, sub-operation) for `--stats`.
public final class XenHypervisor: HypercallHandler, @unchecked Sendable {
    public let version: XenInterfaceVersion
    public let memory: GuestMemory
    public let eventChannels: EventChannelTable
    public let grantTable: GrantTable
    public let domainID: UInt16
    public let vcpuCount: Int
    /// The byte sequence a hypercall page uses to enter the hypervisor: VMCALL on an Intel CPU
    /// model, VMMCALL on an AMD one (as Xen's vmx/svm_init_hypercall_page).
    public let hypercallInstruction: HypercallRegisters.Instruction

    // Hooks, set once by the machine before the guest runs. None is called with a lock of the
    // hypervisor or of the tables held.
    /// SCHEDOP_shutdown.
    public var onShutdown: (@Sendable (XenGuestShutdown) -> Void)?
    /// CONSOLEIO_write: bytes for the hypervisor's console.
    public var onConsoleWrite: (@Sendable ([UInt8]) -> Void)?
    /// An upcall is due for a vCPU (any thread; the receiver must not block on the vCPU).
    public var onUpcall: (@Sendable (UInt32, XenUpcallRoute) -> Void)?
    /// Whether a device claims guest-physical `address` (the board's MMIO): a grant frame may
    /// not be backed there, where it would hide the device.
    public var isDeviceAddress: (@Sendable (UInt64) -> Bool)?

    let lock = Lock()
    // Guarded by `lock`.
    var params: [UInt64]
    var upcallVectors: [UInt8?]
    var calls: [XenHypercallKey: Int] = [:]
    var unimplemented: [XenHypercallKey: Int] = [:]
    var refusedForPrivilege = 0

    public init(memory: GuestMemory, version: XenInterfaceVersion = .default, domainID: UInt16 = 1, vcpuCount: Int = 1,
                hypercallInstruction: HypercallRegisters.Instruction = .vmcall) {
        self.memory = memory
        self.version = version
        self.domainID = domainID
        self.vcpuCount = vcpuCount
        self.hypercallInstruction = hypercallInstruction
        eventChannels = EventChannelTable(memory: memory, domainID: domainID, vcpuCount: vcpuCount)
        grantTable = GrantTable(memory: memory, domainID: domainID)
        params = Array(repeating: 0, count: Int(XenHVMABI.paramCount))
        upcallVectors = Array(repeating: nil, count: vcpuCount)
        eventChannels.upcallHandler = { [weak self] vcpu in self?.upcallDue(vcpu: vcpu) }
    }

    // MARK: HypercallHandler

    public func hypercall(_ registers: inout HypercallRegisters, context: HypercallContext) -> HypercallOutcome {
        let args = XenHypercallArguments(registers)
        let key = XenHypercallKey(args)
        let result: Int64
        if registers.cpl > 0 {
            // An HVM guest's user space may not call the hypervisor (Xen hvm_hypercall; QEMU).
            result = -XenErrno.EPERM.rawValue
            lock.withLock { refusedForPrivilege += 1 }
        } else {
            result = dispatch(args, buffer: XenGuestBuffer(memory: memory, context: context, longMode: args.longMode))
        }
        lock.withLock {
            calls[key, default: 0] += 1
            if result == -XenErrno.ENOSYS.rawValue { unimplemented[key, default: 0] += 1 }
        }
        let word = UInt64(bitPattern: result)
        registers.rax = args.longMode ? word : word & 0xFFFF_FFFF
        if registers.cpl == 0 { recheckCallback(vcpu: 0) }
        let blocks = registers.cpl == 0 && key == XenHypercallKey(number: XenHypercall.schedOp, command: XenSchedABI.block) && result == 0
        return blocks ? .handledThenBlock : .handled
    }

    /// Runs hypercall `args`; the value for RAX, negative for -errno.
    func dispatch(_ args: XenHypercallArguments, buffer: XenGuestBuffer) -> Int64 {
        switch args.number {
        case XenHypercall.xenVersion: return xenVersion(args, buffer)
        case XenHypercall.memoryOp: return memoryOp(args, buffer)
        case XenHypercall.hvmOp: return hvmOp(args, buffer)
        case XenHypercall.vcpuOp: return vcpuOp(args, buffer)
        case XenHypercall.schedOp: return schedOp(args, buffer)
        case XenHypercall.consoleIO: return consoleIO(args, buffer)
        case XenHypercall.eventChannelOp: return eventChannelOp(args, buffer)
        case XenHypercall.grantTableOp: return grantTableOp(args, buffer)
        default: return -XenErrno.ENOSYS.rawValue
        }
    }

    /// True for a domid argument naming the caller.
    func isSelf(_ domid: UInt16) -> Bool { domid == EventChannelABI.domidSelf || domid == domainID }

    /// The error for a domid naming another domain: domain 0 exists but the guest may not act
    /// on it (Xen's XSM check); anything else names no domain.
    func otherDomainError(_ domid: UInt16) -> Int64 {
        -(domid == EventChannelABI.domidVMM ? XenErrno.EPERM : XenErrno.ESRCH).rawValue
    }

    /// Machine reset: the domain as freshly built (no shared_info, no bindings, no parameters
    /// the guest set). Parameters the VMM provides (store and console) stay.
    public func resetDomain() {
        eventChannels.resetDomain()
        // The grant frames' runtime pages go with the table; pages the machine backed for
        // itself (a board's special pages) stay.
        for address in grantTable.placedFrames where memory.isRuntimePage(address) { memory.removeRuntimePage(at: address) }
        grantTable.resetDomain()
        lock.withLock {
            params[Int(XenHVMABI.paramCallbackIRQ)] = 0
            upcallVectors = Array(repeating: nil, count: vcpuCount)
        }
    }
}

/// One kind of hypercall for the counters: the hypercall and, for multiplexed ones, the
/// sub-operation. The guest chooses both: numbers from `bucket` up (Xen has 64 hypercalls)
/// and sub-operations from `bucket` up count together, so that a guest cannot grow the
/// counters without bound (the device fuzzer's random calls found that).
struct XenHypercallKey: Hashable, Comparable {
    let number: UInt64
    let command: UInt64?

    static let bucket: UInt64 = 64

    init(number: UInt64, command: UInt64?) {
        self.number = min(number, Self.bucket)
        self.command = command.map { min($0, Self.bucket) }
    }

    init(_ args: XenHypercallArguments) {
        let command: UInt64?
        switch args.number {
        case XenHypercall.memoryOp: command = args.a1 & XenMemoryABI.commandMask
        case XenHypercall.xenVersion, XenHypercall.consoleIO, XenHypercall.grantTableOp, XenHypercall.vcpuOp,
             XenHypercall.schedOp, XenHypercall.eventChannelOp, XenHypercall.hvmOp, 7, 26, 30, 33:
            command = args.command
        default: command = nil
        }
        self.init(number: args.number, command: command)
    }

    var description: String {
        (number < Self.bucket ? XenHypercall.name(number) : "hypercall_\(Self.bucket)+")
            + (command.map { $0 < Self.bucket ? "(\($0))" : "(\(Self.bucket)+)" } ?? "")
    }

    static func < (a: Self, b: Self) -> Bool { (a.number, a.command ?? 0) < (b.number, b.command ?? 0) }
}
