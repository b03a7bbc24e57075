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
/// strings for a kernel loaded by `MultibootLoader`, each where `area` finds room.
public enum MultibootBootConfigurator {
    public struct Module {
        public var loaded: LoadedModule
        /// The module's string (its path).
        public var string: String
    }

    /// Writes everything and returns the information structure's address.
    @discardableResult
    static func write(commandLineAddress: UInt64, modules: [Module], memoryMap: E820Map, textFramebuffer: Bool,
                      area: inout BootRegionAllocator, into memory: GuestMemory) throws(MachineError) -> UInt64 {
        let limit = MultibootLoader.structureLimit(memoryMap)
        func place(_ bytes: [UInt8], _ what: String, alignment: UInt64 = 8) throws(MachineError) -> UInt32 {
            UInt32(try area.place(bytes, alignment: alignment, floor: BIOSDataArea.end, limit: limit, what: what,
                                  into: memory))
        }
        var block = [UInt8](repeating: 0, count: MultibootInfo.size)
        func put32(_ offset: Int, _ v: UInt32) { for i in 0..<4 { block[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        func put64(_ offset: Int, _ v: UInt64) { for i in 0..<8 { block[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }

        var flags = MultibootInfo.flagMemory | MultibootInfo.flagCommandLine | MultibootInfo.flagModules
            | MultibootInfo.flagMemoryMap | MultibootInfo.flagLoaderName
        put32(MultibootInfo.memLowerOffset, memoryMap.lowerMemoryKiB)
        put32(MultibootInfo.memUpperOffset, memoryMap.upperMemoryKiB)
        put32(MultibootInfo.cmdlineOffset, UInt32(commandLineAddress))
        put32(MultibootInfo.bootLoaderNameOffset, try place(Array(BootLayout.loaderName.utf8) + [0], "boot loader name", alignment: 1))

        // Module entries: mod_start, mod_end, string, reserved.
        var list = [UInt8]()
        for m in modules {
            let string = try place(Array(m.string.utf8) + [0], "module string", alignment: 1)
            for v in [UInt32(m.loaded.address), UInt32(m.loaded.address + m.loaded.size), string, 0] {
                list += withUnsafeBytes(of: v.littleEndian, Array.init)
            }
        }
        put32(MultibootInfo.modsCountOffset, UInt32(modules.count))
        put32(MultibootInfo.modsAddrOffset, list.isEmpty ? 0 : try place(list, "module list"))

        // Memory map: size-prefixed entries.
        var mmap = [UInt8]()
        for e in memoryMap.entries {
            mmap += withUnsafeBytes(of: MultibootInfo.mmapEntrySizeField.littleEndian, Array.init)
            mmap += withUnsafeBytes(of: e.base.littleEndian, Array.init)
            mmap += withUnsafeBytes(of: e.size.littleEndian, Array.init)
            mmap += withUnsafeBytes(of: e.type.rawValue.littleEndian, Array.init)
        }
        put32(MultibootInfo.mmapLengthOffset, UInt32(mmap.count))
        put32(MultibootInfo.mmapAddrOffset, try place(mmap, "memory map"))

        if textFramebuffer {
            flags |= MultibootInfo.flagFramebuffer
            put64(MultibootInfo.framebufferAddrOffset, MultibootInfo.textBuffer)
            put32(MultibootInfo.framebufferPitchOffset, MultibootInfo.textColumns * 2)
            put32(MultibootInfo.framebufferWidthOffset, MultibootInfo.textColumns)
            put32(MultibootInfo.framebufferHeightOffset, MultibootInfo.textRows)
            block[MultibootInfo.framebufferBppOffset] = 16
            block[MultibootInfo.framebufferTypeOffset] = MultibootInfo.framebufferTypeEGAText
        }
        put32(MultibootInfo.flagsOffset, flags)
        return UInt64(try place(block, "multiboot information"))
    }
}
