/// Every VGA and Bochs VBE register: a value the device mutates and the renderer reads as a
/// snapshot (taken under the machine lock, so the display thread never races the vCPU on it).
public struct VGAState: Equatable, Sendable {
    public var misc: UInt8 = 0
    public var featureControl: UInt8 = 0
    public var seqIndex: UInt8 = 0
    public var seq = [UInt8](repeating: 0, count: VGASeq.count)
    public var gcIndex: UInt8 = 0
    public var gc = [UInt8](repeating: 0, count: VGAGC.count)
    public var crtcIndex: UInt8 = 0
    public var crtc = [UInt8](repeating: 0, count: VGACRTC.count)
    /// Attribute address register (index and palette address source bit).
    public var attrAddress: UInt8 = 0
    /// The 0x3C0 flip-flop: false = next write is an address, true = data.
    public var attrFlipFlop = false
    public var attr = [UInt8](repeating: 0, count: VGAAttr.count)
    /// 256 entries of red, green, blue as written (6 bits used unless the VBE 8-bit DAC flag is set).
    public var dac = [UInt8](repeating: 0, count: 256 * 3)
    public var dacPixelMask: UInt8 = 0xFF
    public var dacWriteIndex: UInt8 = 0
    public var dacReadIndex: UInt8 = 0
    /// Position within the red/green/blue cycle of the current read or write.
    public var dacComponent = 0
    /// True after 0x3C7 (read mode), false after 0x3C8 (write mode): the DAC state register.
    public var dacReading = false
    public var vbe = BochsVBEState()
    /// The four plane latches (plane p in byte p): loaded by a planar read, used by write
    /// modes 1-3, so a write after a restore needs them.
    public var latches: UInt32 = 0

    public init() {}

    // MARK: Derived values the renderer and the memory window use

    public var colorAddressing: Bool { misc & VGAMisc.ioAddressSelect != 0 }
    public var graphicsMode: Bool { gc[VGAGC.misc] & VGAGC.miscGraphics != 0 }
    /// Memory map select (GC misc bits 3:2).
    public var memoryMap: Int { Int(gc[VGAGC.misc] >> VGAGC.miscMapShift) & 3 }
    public var displayEnabled: Bool {
        attrAddress & VGAAttr.paletteAddressSource != 0 && seq[VGASeq.clockingMode] & VGASeq.clockScreenOff == 0
    }

    /// Character clocks per line (CR01 + 1).
    public var displayedCharacterClocks: Int { Int(crtc[VGACRTC.horizontalDisplayEnd]) + 1 }
    /// Scan lines displayed (vertical display end + 1, with its overflow bits).
    public var displayedScanLines: Int {
        let o = crtc[VGACRTC.overflow]
        return (Int(crtc[VGACRTC.verticalDisplayEnd]) | Int(o >> 1 & 1) << 8 | Int(o >> 6 & 1) << 9) + 1
    }
    /// Scan lines per character row (CR09 bits 4:0 + 1).
    public var scanLinesPerRow: Int { Int(crtc[VGACRTC.maximumScanLine] & VGACRTC.maxScanMask) + 1 }
    public var scanDoubling: Bool { crtc[VGACRTC.maximumScanLine] & VGACRTC.scanDoubling != 0 }
    public var startAddress: Int { Int(crtc[VGACRTC.startAddressHigh]) << 8 | Int(crtc[VGACRTC.startAddressLow]) }
    public var cursorLocation: Int { Int(crtc[VGACRTC.cursorLocationHigh]) << 8 | Int(crtc[VGACRTC.cursorLocationLow]) }
    /// Address counter units between character rows (the offset register counts words).
    public var rowStride: Int { Int(crtc[VGACRTC.offset]) * 2 }
    /// Dots per character clock in text mode.
    public var characterWidth: Int { seq[VGASeq.clockingMode] & VGASeq.clock8Dot != 0 ? 8 : 9 }

    /// The RGB of DAC entry `index` as 0x00RRGGBB.
    @inline(__always)
    public func dacColor(_ index: Int) -> UInt32 {
        let i = (index & Int(dacPixelMask)) * 3
        if vbe.eightBitDAC {
            return UInt32(dac[i]) << 16 | UInt32(dac[i + 1]) << 8 | UInt32(dac[i + 2])
        }
        func widen(_ v: UInt8) -> UInt32 { let c = UInt32(v & 0x3F); return c << 2 | c >> 4 }
        return widen(dac[i]) << 16 | widen(dac[i + 1]) << 8 | widen(dac[i + 2])
    }

    /// The DAC index the attribute controller makes of a 4-bit pixel or text colour.
    @inline(__always)
    public func attributeColorIndex(_ value: Int) -> Int {
        let palette = Int(attr[value & 0x0F])
        let select = Int(attr[VGAAttr.colorSelect])
        var index: Int
        if attr[VGAAttr.modeControl] & VGAAttr.modeP54Select != 0 {
            index = palette & 0x0F | (select & 0x03) << 4
        } else {
            index = palette & 0x3F
        }
        return index | (select & 0x0C) << 4
    }
}
