import MachineCore

/// Layout of the Multiboot (v1) boot information structure (Multiboot Specification 0.6.96
/// §3.3, "Boot information format").
public enum MultibootInfo {
    /// Value in EAX at entry, telling the kernel a multiboot loader started it (§3.2).
    public static let bootloaderMagic: UInt32 = 0x2BAD_B002
    /// Size of the structure up to and including the framebuffer fields.
    public static let size = 116

    // flags bits: which fields are valid
    public static let flagMemory: UInt32 = 1 << 0        // mem_lower, mem_upper
    public static let flagBootDevice: UInt32 = 1 << 1    // boot_device
    public static let flagCommandLine: UInt32 = 1 << 2   // cmdline
    public static let flagModules: UInt32 = 1 << 3       // mods_count, mods_addr
    public static let flagMemoryMap: UInt32 = 1 << 6     // mmap_length, mmap_addr
    public static let flagLoaderName: UInt32 = 1 << 9    // boot_loader_name
    public static let flagFramebuffer: UInt32 = 1 << 12  // framebuffer_*

    // field offsets
    public static let flagsOffset = 0, memLowerOffset = 4, memUpperOffset = 8, bootDeviceOffset = 12
    public static let cmdlineOffset = 16, modsCountOffset = 20, modsAddrOffset = 24
    public static let mmapLengthOffset = 44, mmapAddrOffset = 48, bootLoaderNameOffset = 64
    public static let framebufferAddrOffset = 88, framebufferPitchOffset = 96, framebufferWidthOffset = 100
    public static let framebufferHeightOffset = 104, framebufferBppOffset = 108, framebufferTypeOffset = 109

    /// One module entry: mod_start, mod_end, string, reserved.
    public static let moduleEntrySize = 16
    /// One mmap entry: u32 size (of the rest, 20), u64 base_addr, u64 length, u32 type.
    public static let mmapEntrySize = 24
    public static let mmapEntrySizeField: UInt32 = 20

    /// framebuffer_type 2: EGA-standard text mode, where width/height count characters.
    public static let framebufferTypeEGAText: UInt8 = 2
    /// The VGA text buffer the machine starts with: 80x25 cells of 2 bytes at 0xB8000.
    public static let textBuffer: UInt64 = 0xB_8000
    public static let textColumns: UInt32 = 80, textRows: UInt32 = 25
}

/// The multiboot configurator: writes the information structure, module list, memory map and
/// strings for a kernel loaded by `MultibootLoader`.
public enum MultibootBootConfigurator {
    public struct Module {
        public var loaded: LoadedModule
        /// The module's string (its path).
        public var string: String
    }

    /// Writes everything and returns the information structure's address.
    @discardableResult
    public static func write(commandLineAddress: UInt64, modules: [Module], memoryMap: E820Map,
                             textFramebuffer: Bool, into memory: GuestMemory) throws(MachineError) -> UInt64 {
        let info = BootLayout.bootInfo
        func at(_ offset: Int) -> UInt64 { info + UInt64(offset) }
        try memory.fill(info, count: MultibootInfo.size)

        var flags = MultibootInfo.flagMemory | MultibootInfo.flagCommandLine | MultibootInfo.flagModules
            | MultibootInfo.flagMemoryMap | MultibootInfo.flagLoaderName
        try memory.write32(at(MultibootInfo.memLowerOffset), memoryMap.lowerMemoryKiB)
        try memory.write32(at(MultibootInfo.memUpperOffset), memoryMap.upperMemoryKiB)
        try memory.write32(at(MultibootInfo.cmdlineOffset), UInt32(commandLineAddress))

        // Strings: the loader name first, then one per module.
        var stringCursor = BootLayout.strings
        func putString(_ s: String) throws(MachineError) -> UInt32 {
            let bytes = Array(s.utf8) + [0]
            guard stringCursor + UInt64(bytes.count) <= BootLayout.strings + BootLayout.stringsSize else {
                throw .badConfiguration("module names are too long for the multiboot string area (\(BootLayout.stringsSize) bytes)")
            }
            let address = stringCursor
            try memory.write(bytes, at: address)
            stringCursor += UInt64(bytes.count)
            return UInt32(address)
        }
        try memory.write32(at(MultibootInfo.bootLoaderNameOffset), try putString(BootLayout.loaderName))

        guard UInt64(modules.count * MultibootInfo.moduleEntrySize) <= BootLayout.moduleListSize else {
            throw .badConfiguration("too many multiboot modules (\(modules.count))")
        }
        try memory.write32(at(MultibootInfo.modsCountOffset), UInt32(modules.count))
        try memory.write32(at(MultibootInfo.modsAddrOffset), UInt32(BootLayout.moduleList))
        for (i, m) in modules.enumerated() {
            let e = BootLayout.moduleList + UInt64(i * MultibootInfo.moduleEntrySize)
            try memory.write32(e, UInt32(m.loaded.address))
            try memory.write32(e + 4, UInt32(m.loaded.address + m.loaded.size))
            try memory.write32(e + 8, try putString(m.string))
            try memory.write32(e + 12, 0)
        }

        let entries = memoryMap.entries
        guard UInt64(entries.count * MultibootInfo.mmapEntrySize) <= BootLayout.memoryMapSize else {
            throw .badConfiguration("memory map has too many entries (\(entries.count)) for the multiboot structures")
        }
        for (i, m) in entries.enumerated() {
            let e = BootLayout.memoryMap + UInt64(i * MultibootInfo.mmapEntrySize)
            try memory.write32(e, MultibootInfo.mmapEntrySizeField)
            try memory.write64(e + 4, m.base)
            try memory.write64(e + 12, m.size)
            try memory.write32(e + 20, m.type.rawValue)
        }
        try memory.write32(at(MultibootInfo.mmapLengthOffset), UInt32(entries.count * MultibootInfo.mmapEntrySize))
        try memory.write32(at(MultibootInfo.mmapAddrOffset), UInt32(BootLayout.memoryMap))

        if textFramebuffer {
            flags |= MultibootInfo.flagFramebuffer
            try memory.write64(at(MultibootInfo.framebufferAddrOffset), MultibootInfo.textBuffer)
            try memory.write32(at(MultibootInfo.framebufferPitchOffset), MultibootInfo.textColumns * 2)
            try memory.write32(at(MultibootInfo.framebufferWidthOffset), MultibootInfo.textColumns)
            try memory.write32(at(MultibootInfo.framebufferHeightOffset), MultibootInfo.textRows)
            try memory.write8(at(MultibootInfo.framebufferBppOffset), 16)
            try memory.write8(at(MultibootInfo.framebufferTypeOffset), MultibootInfo.framebufferTypeEGAText)
        }
        try memory.write32(at(MultibootInfo.flagsOffset), flags)
        return info
    }
}
