import MachineCore

/// The entry point for direct kernel boot (`swiftpc run --kernel`): recognizes the image
/// (`KernelImage.detect`), loads it and its initrd or modules into guest RAM, writes the boot
/// structures of its protocol, and returns the boot vCPU's entry state. Knows nothing of the
/// engines: the caller loads `BootSetup.cpu` into whichever it runs.
public enum KernelLoader {
    /// Loads `kernel`.
    /// - Parameters:
    ///   - initrd: files to pass along. A Linux kernel (bzImage or PVH) gets them
    ///     concatenated as one initrd; a multiboot (v1 or 2) kernel gets one module per file.
    ///   - commandLine: the kernel command line.
    ///   - memoryMap: the map to describe to the kernel; defaults to `E820Map(memory:)`.
    ///     A board passes its own to reserve ranges for firmware tables.
    ///   - rsdpAddress: the ACPI RSDP, when the board builds ACPI tables (0: none given).
    public static func load(kernel: String, initrd: [String] = [], commandLine: String = "",
                            into memory: GuestMemory, memoryMap: E820Map? = nil,
                            rsdpAddress: UInt64 = 0) throws(MachineError) -> BootSetup {
        let image = try KernelImage.detect(path: kernel)
        return try load(image, initrd: initrd, commandLine: commandLine, into: memory, memoryMap: memoryMap,
                        rsdpAddress: rsdpAddress)
    }

    /// Loads `kernel` with the files of a comma-separated `--initrd` value ("a,b"; nil: none).
    public static func load(kernel: String, initrd: String?, commandLine: String = "",
                            into memory: GuestMemory, memoryMap: E820Map? = nil,
                            rsdpAddress: UInt64 = 0) throws(MachineError) -> BootSetup {
        try load(kernel: kernel, initrd: initrd.map(splitPaths) ?? [], commandLine: commandLine, into: memory,
                 memoryMap: memoryMap, rsdpAddress: rsdpAddress)
    }

    /// Loads an already detected image.
    public static func load(_ image: KernelImage, initrd: [String] = [], commandLine: String = "",
                            into memory: GuestMemory, memoryMap: E820Map? = nil,
                            rsdpAddress: UInt64 = 0) throws(MachineError) -> BootSetup {
        let map = memoryMap ?? E820Map(memory: memory)
        // What the BIOS would have left in low memory, before the image is loaded: a
        // multiboot image may legitimately sit right above the BDA.
        try BIOSDataArea.write(into: memory, map: map)
        switch image.format {
        case .bzImage(let header):
            return try BzImageLoader.load(image, header: header, initrd: initrd, commandLine: commandLine,
                                          into: memory, map: map, rsdpAddress: rsdpAddress)
        case .pvh(let elf, let entry):
            return try PVHLoader.load(image, elf: elf, entry: entry, initrd: initrd, commandLine: commandLine,
                                      into: memory, map: map, rsdpAddress: rsdpAddress)
        case .multiboot(let header, let elf):
            return try MultibootLoader.load(image, header: header, elf: elf, modules: initrd, commandLine: commandLine,
                                            into: memory, map: map)
        case .multiboot2(let header, let elf):
            return try Multiboot2Loader.load(image, header: header, elf: elf, modules: initrd, commandLine: commandLine,
                                             into: memory, map: map, rsdpAddress: rsdpAddress)
        }
    }

    /// Splits an `--initrd` value naming several files ("a,b,c") into paths; empty parts
    /// are dropped.
    public static func splitPaths(_ list: String) -> [String] {
        list.split(separator: ",", omittingEmptySubsequences: true).map(String.init)
    }
}
