import MachineCore

/// The BIOS Data Area at 0x400 and the size byte of the Extended BIOS Data Area, as a PC BIOS
/// leaves them before it boots an OS (IBM PC/AT Technical Reference, "BIOS Data Area"; the
/// same layout as SeaBIOS's struct bios_data_area_s). A kernel booted directly never ran the
/// BIOS, yet kernels size conventional memory from these words: Linux (arch/x86/kernel/ebda.c)
/// reads the EBDA segment and the base memory size to reserve the top of low memory, Xen's
/// early boot places its trampoline below them. The loaders fill them as firmware would.
public enum BIOSDataArea {
    /// u16[4]: I/O base of COM1..COM4, 0 when absent.
    public static let comPorts: UInt64 = 0x400
    /// u16[3]: I/O base of LPT1..LPT3, 0 when absent.
    public static let lptPorts: UInt64 = 0x408
    /// u16: segment of the Extended BIOS Data Area.
    public static let ebdaSegment: UInt64 = 0x40E
    /// u16: the equipment word INT 11h returns.
    public static let equipment: UInt64 = 0x410
    /// u16: conventional memory below the EBDA, in KiB (what INT 12h returns).
    public static let baseMemoryKiB: UInt64 = 0x413
    /// Video state of the 80x25 colour text mode the machine starts in.
    public static let videoMode: UInt64 = 0x449, videoColumns: UInt64 = 0x44A, videoPageSize: UInt64 = 0x44C
    public static let videoPageStart: UInt64 = 0x44E, crtcPort: UInt64 = 0x463
    public static let videoRowsMinusOne: UInt64 = 0x484, characterHeight: UInt64 = 0x485
    /// First address past the BDA (the loaders' GDT starts here).
    public static let end: UInt64 = 0x500

    // Equipment word bits.
    /// Bit 1: a math coprocessor is installed.
    static let equipmentCoprocessor: UInt16 = 1 << 1
    /// Bits 4-5 = 10b: the initial video mode is 80x25 colour.
    static let equipmentVideo80x25Color: UInt16 = 0b10 << 4
    /// Bits 9-11: the number of serial ports.
    static let equipmentSerialShift: UInt16 = 9

    /// Text mode 3 (80x25, 16 colours) on a colour adapter, whose CRT controller is at 0x3D4.
    static let textMode: UInt8 = 3, textColumns: UInt16 = 80, textRows: UInt8 = 25
    static let textPageSize: UInt16 = 0x1000, colorCRTC: UInt16 = 0x3D4, textCharacterHeight: UInt16 = 16
    /// The PC's first serial port, the only one the machine has.
    public static let com1: UInt16 = 0x3F8

    /// Writes the BDA words for a machine whose conventional memory ends where `map`'s RAM at
    /// address 0 ends (the EBDA follows it) and which has the serial ports `serialPorts`.
    public static func write(into memory: GuestMemory, map: E820Map,
                             serialPorts: [UInt16] = [com1]) throws(MachineError) {
        try memory.fill(comPorts, count: Int(end - comPorts))
        for (i, port) in serialPorts.prefix(4).enumerated() {
            try memory.write16(comPorts + UInt64(i * 2), port)
        }
        let base = UInt64(map.lowerMemoryKiB) * 1024
        // The EBDA is the reserved KiB right above conventional memory; its first byte gives its
        // size in KiB.
        if base >= 0x1000, base < E820Map.legacyHoleBase {
            try memory.write16(ebdaSegment, UInt16(base >> 4))
            try memory.write8(base, UInt8((E820Map.legacyHoleBase - base) / 1024))
        }
        try memory.write16(baseMemoryKiB, UInt16(map.lowerMemoryKiB))
        let serialCount = UInt16(min(serialPorts.count, 4))
        try memory.write16(equipment, equipmentCoprocessor | equipmentVideo80x25Color | serialCount << equipmentSerialShift)
        try memory.write8(videoMode, textMode)
        try memory.write16(videoColumns, textColumns)
        try memory.write16(videoPageSize, textPageSize)
        try memory.write16(videoPageStart, 0)
        try memory.write16(crtcPort, colorCRTC)
        try memory.write8(videoRowsMinusOne, textRows - 1)
        try memory.write16(characterHeight, textCharacterHeight)
    }
}
