import MachineCore

/// A file loaded into guest RAM next to the kernel (an initrd or a multiboot module).
public struct LoadedModule: Equatable, Sendable {
    /// The file (for a Linux initrd made of several files: the files joined with ",").
    public var path: String
    public var address: UInt64
    public var size: UInt64
    public var range: Range<UInt64> { address..<(address + size) }
}

/// Everything a machine needs to start a loaded kernel: the vCPU state at the entry point
/// and a description of what was put where (for logs, tests and the board's own tables).
public struct BootSetup: Sendable {
    /// State of the boot vCPU at the kernel's entry point.
    public var cpu: CPUState
    public var kind: KernelKind
    /// Guest-physical memory the kernel occupies, including its bss (and, for a bzImage, the
    /// room init_size asks for).
    public var kernel: Range<UInt64>
    public var entryPoint: UInt64
    /// The zero page, hvm_start_info or multiboot information structure.
    public var bootInfoAddress: UInt64
    public var commandLineAddress: UInt64
    /// Initrd (Linux, PVH: at most one, the files concatenated) or multiboot modules.
    public var modules: [LoadedModule]
    /// The memory map handed to the kernel.
    public var memoryMap: E820Map
}
