import MachineCore

/// Model-specific registers that belong to the platform rather than the core: the local
/// APIC's (IA32_APIC_BASE, IA32_TSC_DEADLINE, the x2APIC range). The machine connects them,
/// since the interpreter knows no devices; called without the machine lock (the platform
/// takes it).
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
