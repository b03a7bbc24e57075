/// Ports, register indices and bits of the IBM VGA. Facts from the IBM VGA Technical
/// Reference (Personal System/2 Hardware Interface Technical Reference, "Video Subsystem"),
/// cross-checked with FreeVGA's register pages. The device claims 0x3B0-0x3DF; port offsets
/// below are relative to 0x3B0.
public enum VGAPort {
    public static let base: UInt16 = 0x3B0
    public static let count = 0x30

    /// CRTC address/data when misc output bit 0 is clear (monochrome emulation).
    public static let crtcIndexMono: UInt16 = 0x3B4 - base
    public static let crtcDataMono: UInt16 = 0x3B5 - base
    /// Input status 1 (read) / feature control (write), monochrome addressing.
    public static let status1Mono: UInt16 = 0x3BA - base
    /// Attribute address and data (write; a flip-flop alternates between the two).
    public static let attrAddressData: UInt16 = 0x3C0 - base
    /// Attribute data (read).
    public static let attrDataRead: UInt16 = 0x3C1 - base
    /// Misc output (write) / input status 0 (read).
    public static let miscWrite: UInt16 = 0x3C2 - base
    /// Video subsystem enable (ignored: the adapter is always enabled).
    public static let subsystemEnable: UInt16 = 0x3C3 - base
    public static let seqIndex: UInt16 = 0x3C4 - base
    public static let seqData: UInt16 = 0x3C5 - base
    /// DAC pixel mask (ANDed with every pixel value before the palette lookup).
    public static let dacPixelMask: UInt16 = 0x3C6 - base
    /// DAC read index (write) / DAC state (read).
    public static let dacReadIndex: UInt16 = 0x3C7 - base
    /// DAC write index (read back on read).
    public static let dacWriteIndex: UInt16 = 0x3C8 - base
    /// DAC data: three 6-bit components (red, green, blue) per entry.
    public static let dacData: UInt16 = 0x3C9 - base
    /// Feature control (read).
    public static let featureRead: UInt16 = 0x3CA - base
    /// Misc output (read).
    public static let miscRead: UInt16 = 0x3CC - base
    public static let gcIndex: UInt16 = 0x3CE - base
    public static let gcData: UInt16 = 0x3CF - base
    /// CRTC address/data when misc output bit 0 is set (colour emulation).
    public static let crtcIndexColor: UInt16 = 0x3D4 - base
    public static let crtcDataColor: UInt16 = 0x3D5 - base
    /// Input status 1 (read) / feature control (write), colour addressing.
    public static let status1Color: UInt16 = 0x3DA - base
}

/// Misc output register (write 0x3C2, read 0x3CC).
public enum VGAMisc {
    /// I/OAS: CRTC and input status 1 at 0x3Dx (set) or 0x3Bx (clear).
    public static let ioAddressSelect: UInt8 = 0x01
    /// RAM enable: the CPU can reach display memory.
    public static let ramEnable: UInt8 = 0x02
    /// Odd/even page select (bit 0 of the plane offset in odd/even mode).
    public static let oddEvenPage: UInt8 = 0x20
}

/// Input status registers.
public enum VGAStatus {
    /// Status 1 bit 0: display disabled (in horizontal or vertical retrace).
    public static let displayDisabled: UInt8 = 0x01
    /// Status 1 bit 3: vertical retrace in progress.
    public static let verticalRetrace: UInt8 = 0x08
    /// Status 0 bit 4: switch sense (a colour monitor is attached).
    public static let switchSense: UInt8 = 0x10
}

/// Sequencer registers (index at 0x3C4).
public enum VGASeq {
    public static let count = 5
    public static let reset = 0x00
    public static let clockingMode = 0x01
    public static let mapMask = 0x02
    public static let characterMapSelect = 0x03
    public static let memoryMode = 0x04

    /// Clocking mode bit 0: 8-dot character clocks (clear: 9-dot).
    public static let clock8Dot: UInt8 = 0x01
    /// Clocking mode bit 3: the dot clock is divided by two (320/360-pixel modes).
    public static let clockHalfDot: UInt8 = 0x08
    /// Clocking mode bit 5: screen off.
    public static let clockScreenOff: UInt8 = 0x20
    /// Memory mode bit 1: more than 64 KiB of memory is present.
    public static let memExtended: UInt8 = 0x02
    /// Memory mode bit 2: odd/even host addressing disabled (set = sequential).
    public static let memOddEvenDisable: UInt8 = 0x04
    /// Memory mode bit 3: chain 4 (the low two address bits select the plane).
    public static let memChain4: UInt8 = 0x08
}

/// Graphics controller registers (index at 0x3CE).
public enum VGAGC {
    public static let count = 9
    public static let setReset = 0x00
    public static let enableSetReset = 0x01
    public static let colorCompare = 0x02
    /// Bits 2:0 rotate count, bits 4:3 logical function.
    public static let dataRotate = 0x03
    public static let readMapSelect = 0x04
    public static let mode = 0x05
    public static let misc = 0x06
    public static let colorDontCare = 0x07
    public static let bitMask = 0x08

    /// Data rotate bits 4:3: replace, AND, OR, XOR with the latches.
    public static let functionShift: UInt8 = 3
    /// Mode bits 1:0: write mode 0-3.
    public static let modeWriteMask: UInt8 = 0x03
    /// Mode bit 3: read mode 1 (colour compare).
    public static let modeReadCompare: UInt8 = 0x08
    /// Mode bit 4: host odd/even addressing for reads.
    public static let modeHostOddEven: UInt8 = 0x10
    /// Mode bit 5: shift register interleave (CGA 4-colour modes).
    public static let modeShiftInterleave: UInt8 = 0x20
    /// Mode bit 6: 256-colour shift mode.
    public static let mode256Color: UInt8 = 0x40
    /// Misc bit 0: graphics mode (character generator off).
    public static let miscGraphics: UInt8 = 0x01
    /// Misc bits 3:2: memory map select (0: A0000 128K, 1: A0000 64K, 2: B0000 32K, 3: B8000 32K).
    public static let miscMapShift: UInt8 = 2
}

/// CRT controller registers (index at 0x3B4/0x3D4).
public enum VGACRTC {
    public static let count = 0x19
    public static let horizontalDisplayEnd = 0x01
    /// Overflow: bit 1 = vertical display end bit 8, bit 6 = bit 9; bit 4 = line compare bit 8.
    public static let overflow = 0x07
    /// Bits 4:0 maximum scan line, bit 7 scan doubling.
    public static let maximumScanLine = 0x09
    /// Bits 4:0 cursor start line, bit 5 cursor off.
    public static let cursorStart = 0x0A
    public static let cursorEnd = 0x0B
    public static let startAddressHigh = 0x0C
    public static let startAddressLow = 0x0D
    public static let cursorLocationHigh = 0x0E
    public static let cursorLocationLow = 0x0F
    /// Bit 7: CR00-CR07 write protect.
    public static let verticalRetraceEnd = 0x11
    public static let verticalDisplayEnd = 0x12
    /// Words (byte mode: x2 address units) between two character rows.
    public static let offset = 0x13
    /// Bit 6: doubleword addressing.
    public static let underlineLocation = 0x14
    /// Bit 0: MA13 from the address counter (clear: row scan bit 0, CGA banks); bit 1 same
    /// for MA14 and row scan bit 1; bit 6: byte mode (clear: word mode).
    public static let modeControl = 0x17
    public static let lineCompare = 0x18

    public static let maxScanMask: UInt8 = 0x1F
    public static let scanDoubling: UInt8 = 0x80
    public static let cursorDisable: UInt8 = 0x20
    public static let protectCR0to7: UInt8 = 0x80
    public static let doublewordMode: UInt8 = 0x40
    public static let modeMap13: UInt8 = 0x01
    public static let modeMap14: UInt8 = 0x02
    public static let modeByte: UInt8 = 0x40
}

/// Attribute controller registers (index written to 0x3C0).
public enum VGAAttr {
    public static let count = 0x15
    /// Palette registers 0x00-0x0F.
    public static let paletteCount = 16
    public static let modeControl = 0x10
    public static let overscan = 0x11
    public static let colorPlaneEnable = 0x12
    public static let horizontalPanning = 0x13
    public static let colorSelect = 0x14

    /// Address register bits 4:0: index; bit 5: palette address source (set = display on).
    public static let indexMask: UInt8 = 0x1F
    public static let paletteAddressSource: UInt8 = 0x20
    /// Mode control bit 0: graphics.
    public static let modeGraphics: UInt8 = 0x01
    /// Mode control bit 2: line graphics (column 9 repeats column 8 for characters C0-DF).
    public static let modeLineGraphics: UInt8 = 0x04
    /// Mode control bit 3: attribute bit 7 blinks (clear: it selects bright backgrounds).
    public static let modeBlink: UInt8 = 0x08
    /// Mode control bit 6: 8-bit colour (256-colour modes).
    public static let mode8BitColor: UInt8 = 0x40
    /// Mode control bit 7: palette bits 5:4 come from colour select bits 1:0.
    public static let modeP54Select: UInt8 = 0x80
}
