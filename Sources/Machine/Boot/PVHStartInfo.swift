import MachineCore

/// Layouts of the PVH boot structures (xen/include/public/arch-x86/hvm/start_info.h).
public enum PVHStartInfo {
    /// hvm_start_info.magic: "xEn3" with the 0x80 bit set.
    public static let magic: UInt32 = 0x336E_C578
    /// Version 1 adds memmap_paddr and memmap_entries.
    public static let version: UInt32 = 1
    /// sizeof(struct hvm_start_info).
    public static let size = 56
    // struct hvm_start_info field offsets
    public static let magicOffset = 0, versionOffset = 4, flagsOffset = 8, nrModulesOffset = 12
    public static let modlistPaddrOffset = 16, cmdlinePaddrOffset = 24, rsdpPaddrOffset = 32
    public static let memmapPaddrOffset = 40, memmapEntriesOffset = 48, reservedOffset = 52
    /// sizeof(struct hvm_modlist_entry): u64 paddr, size, cmdline_paddr, reserved.
    public static let modlistEntrySize = 32
    /// sizeof(struct hvm_memmap_table_entry): u64 addr, u64 size, u32 type, u32 reserved.
    public static let memmapEntrySize = 24
}

/// The PVH boot configurator: writes hvm_start_info, its module list and its memory map for a
/// kernel loaded by `PVHLoader` (xen docs/misc/pvh.pandoc; Linux arch/x86/platform/pvh).
public enum PVHBootConfigurator {
    public static func write(commandLineAddress: UInt64, modules: [LoadedModule], memoryMap: E820Map,
                             rsdpAddress: UInt64, into memory: GuestMemory) throws(MachineError) {
        let info = BootLayout.bootInfo
        let entries = memoryMap.entries
        guard UInt64(entries.count * PVHStartInfo.memmapEntrySize) <= BootLayout.memoryMapSize,
              UInt64(modules.count * PVHStartInfo.modlistEntrySize) <= BootLayout.moduleListSize else {
            throw .badConfiguration("too many memory-map entries or modules for the PVH boot structures")
        }
        try memory.fill(info, count: PVHStartInfo.size)
        try memory.write32(info + UInt64(PVHStartInfo.magicOffset), PVHStartInfo.magic)
        try memory.write32(info + UInt64(PVHStartInfo.versionOffset), PVHStartInfo.version)
        try memory.write32(info + UInt64(PVHStartInfo.flagsOffset), 0)
        try memory.write32(info + UInt64(PVHStartInfo.nrModulesOffset), UInt32(modules.count))
        try memory.write64(info + UInt64(PVHStartInfo.modlistPaddrOffset), modules.isEmpty ? 0 : BootLayout.moduleList)
        try memory.write64(info + UInt64(PVHStartInfo.cmdlinePaddrOffset), commandLineAddress)
        try memory.write64(info + UInt64(PVHStartInfo.rsdpPaddrOffset), rsdpAddress)
        try memory.write64(info + UInt64(PVHStartInfo.memmapPaddrOffset), BootLayout.memoryMap)
        try memory.write32(info + UInt64(PVHStartInfo.memmapEntriesOffset), UInt32(entries.count))

        for (i, m) in modules.enumerated() {
            let e = BootLayout.moduleList + UInt64(i * PVHStartInfo.modlistEntrySize)
            try memory.write64(e, m.address)
            try memory.write64(e + 8, m.size)
            try memory.write64(e + 16, 0)  // no module command line
            try memory.write64(e + 24, 0)
        }
        for (i, m) in entries.enumerated() {
            let e = BootLayout.memoryMap + UInt64(i * PVHStartInfo.memmapEntrySize)
            try memory.write64(e, m.base)
            try memory.write64(e + 8, m.size)
            try memory.write32(e + 16, m.type.rawValue)  // the XEN_HVM_MEMMAP_TYPE_* values are e820's
            try memory.write32(e + 20, 0)
        }
    }
}
