import MachineCore

/// Offsets in the Linux zero page, struct boot_params (Documentation/arch/x86/zero-page.rst);
/// the setup header fields sit at their file offsets, listed in `SetupHeader`.
public enum ZeroPage {
    /// The structure's size: one page.
    public static let size = 0x1000
    /// u64 physical address of the ACPI RSDP (read from protocol 2.14 on).
    public static let acpiRsdpAddr = 0x070
    /// Upper 32 bits of ramdisk_image, ramdisk_size and cmd_line_ptr.
    public static let extRamdiskImage = 0x0C0
    public static let extRamdiskSize = 0x0C4
    public static let extCmdLinePtr = 0x0C8
    /// u8 number of entries in e820_table.
    public static let e820Entries = 0x1E8
    /// The first byte of the copied setup header.
    public static let setupHeader = 0x1F1
    /// Where the room for the setup header ends (edd_mbr_sig_buffer follows); a header that
    /// claims to be longer is cut here so it cannot overwrite the fields after it.
    public static let setupHeaderEnd = 0x290
    /// struct boot_e820_entry[128]: u64 addr, u64 size, u32 type (packed, 20 bytes).
    public static let e820Table = 0x2D0
    public static let e820EntrySize = 20

    /// vid_mode "normal" (80x25 text; the kernel does not switch modes).
    public static let vidModeNormal: UInt16 = 0xFFFF
    /// type_of_loader 0xFF: a boot loader without an assigned ID (boot.rst, type_of_loader).
    public static let loaderUndefined: UInt8 = 0xFF
    /// heap_end_ptr for a setup segment that ends at 64 KiB (0x10000 - 0x200); the kernel's
    /// real-mode code does not run under the 64-bit protocol, but the field is set as
    /// CAN_USE_HEAP promises.
    public static let heapEnd: UInt16 = 0xFE00
}

/// The Linux boot configurator: fills the zero page for a kernel loaded by `BzImageLoader`
/// (boot.rst, "64-bit BOOT PROTOCOL": the loader fills struct boot_params, including the
/// setup header copied from the image, and jumps to the 64-bit entry with RSI pointing to it).
public enum LinuxBootConfigurator {
    public struct Parameters {
        public var image: [UInt8]
        public var header: BzImageHeader
        public var loadAddress: UInt64
        public var commandLineAddress: UInt64
        public var initrd: LoadedModule?
        public var memoryMap: E820Map
        public var rsdpAddress: UInt64
    }

    /// Writes the zero page at `address`.
    public static func write(_ p: Parameters, into memory: GuestMemory, at address: UInt64) throws(MachineError) {
        try memory.fill(address, count: ZeroPage.size)
        // The setup header as the image has it, then the fields the loader owns.
        let headerRange = ZeroPage.setupHeader..<min(p.header.headerEnd, p.image.count, ZeroPage.setupHeaderEnd)
        try memory.copy(p.image, range: headerRange, to: address + UInt64(ZeroPage.setupHeader))

        func at(_ offset: Int) -> UInt64 { address + UInt64(offset) }
        try memory.write16(at(SetupHeader.vidMode), ZeroPage.vidModeNormal)
        try memory.write8(at(SetupHeader.typeOfLoader), ZeroPage.loaderUndefined)
        // KEEP_SEGMENTS only matters to the 32-bit entry, so it stays clear.
        let flags = (p.header.loadFlags | SetupHeader.canUseHeap) & ~SetupHeader.keepSegments
        try memory.write8(at(SetupHeader.loadFlags), flags)
        try memory.write16(at(SetupHeader.heapEndPtr), ZeroPage.heapEnd)
        try memory.write32(at(SetupHeader.code32Start), UInt32(truncatingIfNeeded: p.loadAddress))

        try memory.write32(at(SetupHeader.cmdLinePtr), UInt32(truncatingIfNeeded: p.commandLineAddress))
        try memory.write32(at(ZeroPage.extCmdLinePtr), UInt32(truncatingIfNeeded: p.commandLineAddress >> 32))

        let initrdAddress = p.initrd?.address ?? 0, initrdSize = p.initrd?.size ?? 0
        try memory.write32(at(SetupHeader.ramdiskImage), UInt32(truncatingIfNeeded: initrdAddress))
        try memory.write32(at(SetupHeader.ramdiskSize), UInt32(truncatingIfNeeded: initrdSize))
        try memory.write32(at(ZeroPage.extRamdiskImage), UInt32(truncatingIfNeeded: initrdAddress >> 32))
        try memory.write32(at(ZeroPage.extRamdiskSize), UInt32(truncatingIfNeeded: initrdSize >> 32))

        try memory.write64(at(ZeroPage.acpiRsdpAddr), p.rsdpAddress)

        let entries = p.memoryMap.entries
        guard entries.count <= E820Map.zeroPageCapacity else {
            throw .badConfiguration("memory map has \(entries.count) entries; the Linux zero page holds \(E820Map.zeroPageCapacity)")
        }
        try memory.write8(at(ZeroPage.e820Entries), UInt8(entries.count))
        for (i, e) in entries.enumerated() {
            let entry = at(ZeroPage.e820Table + i * ZeroPage.e820EntrySize)
            try memory.write64(entry, e.base)
            try memory.write64(entry + 8, e.size)
            try memory.write32(entry + 16, e.type.rawValue)
        }
    }
}
