/// Why an engine's `run()` returned to the machine.
public enum VCPUExit: Equatable, Sendable {
    /// The machine asked the vCPU to stop (see `MachineControl`), or `requestStop()` was called.
    case stopRequested
    /// HLT with interrupts disabled and nothing that could wake the vCPU: it will never run again.
    case haltedForever
    /// The CPU shut down (triple fault); the string names the fault chain.
    case shutdown(String)
}

/// What both engines (the interpreter and KVM) provide, so a machine can run a vCPU on
/// either and move it between them without knowing which it has (docs/ARCHITECTURE.md,
/// "Platform contract"). An engine is built on the machine's memory, buses, lock, control and
/// the vCPU's `VCPUPlatform`; one that caches what it derived from guest memory (the
/// interpreter) registers itself with the memory as a `GuestMemoryObserver`.
public protocol VCPUEngine: AnyObject {
    /// Short name for messages ("kvm", "interp").
    var engineName: String { get }
    /// Loads the complete architectural state.
    func setState(_ state: CPUState) throws(MachineError)
    /// Reads the complete architectural state.
    func getState() throws(MachineError) -> CPUState
    /// Runs guest code on the calling thread until something needs the machine.
    func run() throws(MachineError) -> VCPUExit
    /// Asks a running `run()` on another thread to return soon with `.stopRequested`. Thread-safe.
    func requestStop()

    // MARK: the vCPU's input lines

    /// Raises the NMI input (LINT1 wired for NMI, or an NMI IPI). Thread-safe; the NMI is
    /// taken at the next instruction boundary where it is not blocked, and wakes a HLT.
    func raiseNMI()
    /// The userspace interrupt controller's output may have changed during the current
    /// instruction (an IPI to self): look at INTR after it rather than at the end of a run
    /// slice. Called on the vCPU's thread.
    func interruptInputChanged()
    /// The time-stamp counter now (a userspace local APIC's TSC-deadline timer reads it).
    func readTimeStampCounter() -> UInt64

    // MARK: what the engine maps of the contract

    /// Which parts of the platform contract this engine honours; the machine reports the rest.
    var platformSupport: PlatformSupport { get }
    /// Counters for `--stats` and `swiftpc bench`.
    var statistics: EngineStatistics { get }
}

/// The parts of the platform contract an engine may or may not carry out.
public struct PlatformSupport: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `GuestMemory.setA20(enabled:)` masks address bit 20.
    public static let a20Gate = PlatformSupport(rawValue: 1 << 0)
    /// `GuestMemory.setWriteProtectedLowPages` drops CPU writes to those pages.
    public static let lowMemoryWriteProtect = PlatformSupport(rawValue: 1 << 1)
    /// `VCPUPlatform.ferr` is driven.
    public static let ferrLine = PlatformSupport(rawValue: 1 << 2)
    /// VMCALL/VMMCALL reach `VCPUPlatform.hypercalls`.
    public static let hypercallExit = PlatformSupport(rawValue: 1 << 3)
    /// The vCPU takes interrupts from `VCPUPlatform.interruptController` (else from its own irqchip).
    public static let userspaceInterruptController = PlatformSupport(rawValue: 1 << 4)
    /// A compressed kernel is better unpacked on the host than by its own decompressor
    /// (the interpreter runs the decompressor ~30 s; hardware runs it in milliseconds).
    public static let prefersHostUnpackedKernel = PlatformSupport(rawValue: 1 << 5)

    /// Names for `--stats`.
    public var names: [String] {
        [(Self.a20Gate, "A20 gate"), (.lowMemoryWriteProtect, "shadow-RAM write protection"), (.ferrLine, "FERR#"),
         (.hypercallExit, "hypercall exits"), (.userspaceInterruptController, "userspace interrupt controller")]
            .filter { contains($0.0) }.map { $0.1 }
    }
}

/// An engine's counters.
public struct EngineStatistics: Sendable {
    /// Guest instructions retired, when the engine counts them (KVM does not).
    public var instructionsRetired: UInt64?
    /// Further lines for `--stats`, one fact each.
    public var lines: [String]

    public init(instructionsRetired: UInt64? = nil, lines: [String] = []) {
        self.instructionsRetired = instructionsRetired
        self.lines = lines
    }
}
