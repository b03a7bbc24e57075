/// What a conformance test needs beyond user-mode execution (report.inc REQ_*), and why an
/// engine may lack it. The runner skips a test whose requirement the engine lacks, printing
/// the reason, and counts it as skipped.
public struct AssemblySuiteRequirement: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Privileged code: on kvm_pvm the host kernel emulates it (informational, never skipped).
    public static let cpl0 = Self(rawValue: 1 << 8)
    public static let paging32 = Self(rawValue: 1 << 9)
    public static let pae = Self(rawValue: 1 << 10)
    public static let taskSwitch = Self(rawValue: 1 << 11)
    public static let v86 = Self(rawValue: 1 << 12)
    public static let legacyProtectedMode = Self(rawValue: 1 << 13)
    public static let userInterrupts = Self(rawValue: 1 << 14)
    public static let userSegments = Self(rawValue: 1 << 15)
    public static let singleStep = Self(rawValue: 1 << 16)
    public static let debugRegisters = Self(rawValue: 1 << 17)
    public static let legacyOpcodes = Self(rawValue: 1 << 18)
    public static let mxcsrFault = Self(rawValue: 1 << 19)
    public static let cpl0Emulation = Self(rawValue: 1 << 20)
    public static let alignmentCheck = Self(rawValue: 1 << 21)
    public static let controlRegisterChecks = Self(rawValue: 1 << 22)
    public static let syscallTransitions = Self(rawValue: 1 << 23)

    /// What this host's software KVM (kvm_pvm: CPL 3 runs natively, CPL 0 is emulated by the
    /// host kernel) cannot do, with the reason printed for each skipped test.
    public static let kvmPVMMissing: [(AssemblySuiteRequirement, String)] = [
        (.paging32, "kvm_pvm cannot run 32-bit paging"),
        (.pae, "kvm_pvm cannot run PAE paging outside long mode"),
        (.taskSwitch, "kvm_pvm cannot do a hardware task switch"),
        (.v86, "kvm_pvm cannot run virtual-8086 mode"),
        (.legacyProtectedMode, "kvm_pvm runs long-mode guests only"),
        (.debugRegisters, "kvm_pvm has no guest debug-register breakpoints"),
        (.legacyOpcodes, "kvm_pvm raises #UD for DAA, AAA and AAS in compatibility mode"),
        (.mxcsrFault, "kvm_pvm delivers #UD, not #GP(0), for LDMXCSR with reserved bits set"),
        (.userInterrupts, "kvm_pvm delivers #UD for INT n and a fault for INT1 at CPL 3"),
        (.controlRegisterChecks, "kvm_pvm's CPL 0 emulation ignores a reserved CR4 bit instead of raising #GP(0)"),
        (.syscallTransitions, "kvm_pvm runs SYSCALL/SYSRET through its paravirtual entry, on the host's selectors"),
        (.cpl0Emulation, "kvm_pvm's CPL 0 emulator cannot execute x87/SSE, INT n or LAR/LSL/VERR/VERW (the run would stop)"),
    ]

    /// What the interpreter does not implement (an interpreter gap, reported, not hidden).
    public static let interpreterMissing: [(AssemblySuiteRequirement, String)] = [
        (.alignmentCheck, "the interpreter does not implement alignment checking (#AC)"),
    ]

    /// The first reason in `missing` that applies to a test needing `self`, or nil.
    public func skipReason(_ missing: [(AssemblySuiteRequirement, String)]) -> String? {
        missing.first { !self.intersection($0.0).isEmpty }?.1
    }
}
