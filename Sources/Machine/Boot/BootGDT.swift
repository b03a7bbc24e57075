import MachineCore

/// The small GDT the loaders install before entering the kernel (SDM Vol. 3A §3.4.5,
/// "Segment Descriptors"). The kernel loads its own GDT early; this one only has to describe
/// the flat segments the boot protocols promise:
///
///     0x00  null
///     0x08  null (unused, keeps the Linux __BOOT_CS/__BOOT_DS numbering)
///     0x10  code: 64-bit (L=1) for the Linux 64-bit protocol, 32-bit (D=1) otherwise
///     0x18  data: flat 4 GiB read/write
///     0x20  TSS (busy, base 0, limit 0x67) — VMX entry needs a usable TR, PVH asks for one;
///           in long mode the descriptor is 16 bytes, its upper half (0x28) is zero
public enum BootGDT {
    public static let codeSelector: UInt16 = 0x10
    public static let dataSelector: UInt16 = 0x18
    public static let tssSelector: UInt16 = 0x20
    /// Six 8-byte slots.
    public static let entryCount = 6
    public static var limit: UInt16 { UInt16(entryCount * 8 - 1) }

    // Access byte (descriptor bits 40..47).
    /// P: segment present.
    static let present: UInt8 = 0x80
    /// S: code or data (not a system segment).
    static let codeOrData: UInt8 = 0x10
    /// Type 0xB: execute/read code, accessed.
    static let typeCode: UInt8 = 0xB
    /// Type 0x3: read/write data, accessed.
    static let typeData: UInt8 = 0x3
    /// Type 0xB for a system descriptor: busy 32/64-bit TSS.
    static let typeBusyTSS: UInt8 = 0xB

    // Flags nibble (descriptor bits 52..55).
    /// G: limit counted in 4 KiB pages.
    static let granularity: UInt8 = 0x8
    /// D/B: 32-bit default operand size / big stack.
    static let defaultBig: UInt8 = 0x4
    /// L: 64-bit code segment.
    static let longCode: UInt8 = 0x2

    /// Architectural limit of a TSS with no I/O bitmap (SDM Vol. 3A §7.2.1).
    public static let tssLimit: UInt32 = 0x67

    /// Encodes one 8-byte segment descriptor (SDM Vol. 3A Figure 3-8). `limit` is the raw
    /// 20-bit field.
    public static func descriptor(base: UInt32, limit: UInt32, access: UInt8, flags: UInt8) -> UInt64 {
        var d = UInt64(limit & 0xFFFF)
        d |= UInt64(base & 0xFF_FFFF) << 16
        d |= UInt64(access) << 40
        d |= UInt64((limit >> 16) & 0xF) << 48
        d |= UInt64(flags & 0xF) << 52
        d |= UInt64(base >> 24) << 56
        return d
    }

    /// The descriptors, in slot order, for a 64-bit (`longMode`) or 32-bit code segment.
    public static func descriptors(longMode: Bool) -> [UInt64] {
        let code = descriptor(base: 0, limit: 0xF_FFFF, access: present | codeOrData | typeCode,
                              flags: longMode ? granularity | longCode : granularity | defaultBig)
        let data = descriptor(base: 0, limit: 0xF_FFFF, access: present | codeOrData | typeData,
                              flags: granularity | defaultBig)
        let tss = descriptor(base: 0, limit: tssLimit, access: present | typeBusyTSS, flags: 0)
        return [0, 0, code, data, tss, 0]
    }

    /// Writes the table at `address` (by default `BootLayout.gdt`).
    public static func write(into memory: GuestMemory, longMode: Bool, at address: UInt64 = BootLayout.gdt) throws(MachineError) {
        for (i, d) in descriptors(longMode: longMode).enumerated() {
            try memory.write64(address + UInt64(i * 8), d)
        }
    }

    /// The table's size in bytes.
    public static var size: UInt64 { UInt64(entryCount * 8) }
}
