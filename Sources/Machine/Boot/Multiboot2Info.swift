import MachineCore

/// The Multiboot2 boot information (Multiboot2 Specification 2.0 §3.6): u32 total_size,
/// u32 reserved, then tags, each 8-byte aligned, each u32 type and u32 size first, closed by
/// an end tag. The loader hands it over in one piece, EBX pointing to it.
public enum Multiboot2Info {
    /// Value in EAX at entry (§3.3).
    public static let bootloaderMagic: UInt32 = 0x36D7_6289

    // Boot information tag types.
    public static let tagEnd: UInt32 = 0, tagCommandLine: UInt32 = 1, tagLoaderName: UInt32 = 2
    public static let tagModule: UInt32 = 3, tagBasicMemory: UInt32 = 4, tagMemoryMap: UInt32 = 6
    public static let tagACPIOld: UInt32 = 14, tagACPINew: UInt32 = 15
    /// The tags swiftpc supplies, which a kernel may require in an information request.
    /// (No framebuffer tag: the machine offers no graphics mode to a multiboot kernel.)
    static let provided: Set<UInt32> = [tagEnd, tagCommandLine, tagLoaderName, tagModule, tagBasicMemory, tagMemoryMap,
                                        tagACPIOld, tagACPINew]

    /// mmap entries: u64 base_addr, u64 length, u32 type, u32 reserved; entry_version 0.
    public static let mmapEntrySize: UInt32 = 24
    public static let mmapEntryVersion: UInt32 = 0
    /// The ACPI RSDP signature, and the revision from which it is the 2.0+ (XSDT) form.
    static let rsdpSignature = Array("RSD PTR ".utf8)
    static let rsdpV1Size = 20, rsdpRevisionOffset = 15, rsdpLengthOffset = 20, rsdpV2MinimumSize = 36

    /// A module for the information: where it is and its string.
    public struct Module {
        public var loaded: LoadedModule
        public var string: String
    }

    /// The whole structure, and the offset of the command line string in it.
    public static func build(commandLine: [UInt8], modules: [Module], memoryMap: E820Map,
                             rsdp: [UInt8]?) -> (bytes: [UInt8], commandLineOffset: Int) {
        var b = [UInt8](repeating: 0, count: 8)
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func tag(_ type: UInt32, _ body: [UInt8]) {
            b += u32(type) + u32(UInt32(8 + body.count)) + body
            b += [UInt8](repeating: 0, count: Int(alignUp(UInt64(b.count), 8)) - b.count)
        }
        let commandLineOffset = b.count + 8
        tag(tagCommandLine, commandLine)
        tag(tagLoaderName, Array(BootLayout.loaderName.utf8) + [0])
        for m in modules {
            tag(tagModule, u32(UInt32(m.loaded.address)) + u32(UInt32(m.loaded.address + m.loaded.size))
                + Array(m.string.utf8) + [0])
        }
        tag(tagBasicMemory, u32(memoryMap.lowerMemoryKiB) + u32(memoryMap.upperMemoryKiB))
        var mmap = u32(mmapEntrySize) + u32(mmapEntryVersion)
        for e in memoryMap.entries { mmap += u64(e.base) + u64(e.size) + u32(e.type.rawValue) + u32(0) }
        tag(tagMemoryMap, mmap)
        if let rsdp {
            tag(rsdp.count > rsdpV1Size ? tagACPINew : tagACPIOld, rsdp)
        }
        tag(tagEnd, [])
        let total = u32(UInt32(b.count))
        b.replaceSubrange(0..<4, with: total)
        return (b, commandLineOffset)
    }

    /// A copy of the RSDP at `address` as the ACPI tags hold it: the 20-byte 1.0 structure, or
    /// the whole 2.0+ one (its length field) from revision 2 on; nil when there is none there.
    static func rsdp(at address: UInt64, in memory: GuestMemory) -> [UInt8]? {
        guard address != 0, let head = try? memory.read(address, count: rsdpV1Size),
              Array(head[0..<8]) == rsdpSignature else { return nil }
        guard head[rsdpRevisionOffset] >= 2, let full = try? memory.read(address, count: rsdpV2MinimumSize) else {
            return head
        }
        let length = Int(ByteView(full).u32(rsdpLengthOffset) ?? 0)
        guard length >= rsdpV2MinimumSize, length <= 0x1000, let all = try? memory.read(address, count: length) else {
            return head
        }
        return all
    }
}
