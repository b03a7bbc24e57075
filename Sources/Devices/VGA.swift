import MachineCore

/// An IBM VGA with the Bochs VBE extension and 16 MiB of video memory, as QEMU's "stdvga".
///
/// Video memory layout: VGA plane `p` at plane offset `o` is byte `o * 4 + p`, so the four
/// planes of one offset form one little-endian word (what the latches hold). Chain-4 host
/// address `a` is byte `a`, and odd/even host address `a` is plane `a & 1` at offset `a >> 1`:
/// the plane-select bits are dropped from the offset, as QEMU's VGA does, which keeps
/// 256-colour modes, VBE banks and the linear framebuffer one linear byte array.
///
/// Port I/O arrives at offsets from 0x3B0 (`VGAPort`); the Bochs DISPI ports, the 0xA0000
/// window, the linear framebuffer and the PCI MMIO register BAR go through small adapters
/// (`vbePorts`, `legacyWindow`, `linearFramebuffer`, `mmioRegisters`). Accesses come with the
/// machine lock held; `snapshot()` must be called with it held too.
public final class VGA: ByteRegisterDevice {
    /// 16 MiB of video memory, as QEMU's default stdvga.
    public static let defaultVRAMSize = 16 << 20
    /// The 256 KiB a standard VGA has: four 64 KiB planes.
    public static let planeSize = 64 << 10
    /// The legacy host window 0xA0000-0xBFFFF.
    public static let windowBase: UInt64 = 0xA0000
    public static let windowSize: UInt64 = 0x20000

    public var state = VGAState()
    /// Host memory of the video RAM (page aligned). The machine may map it into the guest.
    public let vram: UnsafeMutableRawPointer
    public let vramSize: Int
    /// The four plane latches, loaded by every read of the planar window (kept in `state`).
    var latches: UInt32 {
        get { state.latches }
        set { state.latches = newValue }
    }
    /// Counts input status 1 reads; drives the retrace bits.
    private var statusReads = 0

    public private(set) lazy var vbePorts = BochsVBEPorts(vga: self)
    public private(set) lazy var legacyWindow = VGALegacyWindow(vga: self)
    public private(set) lazy var linearFramebuffer = VGALinearFramebuffer(vga: self)
    public private(set) lazy var mmioRegisters = VGAMMIORegisters(vga: self)

    /// `vramSize` is rounded to a power of two of at least 256 KiB, at most 256 MiB.
    public init(vramSize: Int = VGA.defaultVRAMSize) {
        var size = 256 << 10
        while size < vramSize && size < 256 << 20 { size <<= 1 }
        self.vramSize = size
        vram = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        vram.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        reset()
    }

    deinit { vram.deallocate() }

    /// Power-on state: colour addressing, text-mode sequencer and graphics controller values
    /// close to what a BIOS leaves, DAC mask all ones, VBE off. Video memory is kept.
    public func reset() {
        var s = VGAState()
        s.misc = VGAMisc.ioAddressSelect | VGAMisc.ramEnable
        s.seq[VGASeq.mapMask] = 0x0F
        s.seq[VGASeq.memoryMode] = VGASeq.memExtended
        s.gc[VGAGC.bitMask] = 0xFF
        s.gc[VGAGC.misc] = 2 << VGAGC.miscMapShift
        s.attr[VGAAttr.colorPlaneEnable] = 0x0F
        for i in 0..<VGAAttr.paletteCount { s.attr[i] = UInt8(i) }
        state = s
        latches = 0
    }

    /// Claims the VGA ports, the DISPI ports and the 0xA0000 window.
    public func attach(portBus: PortIOBus, mmioBus: MMIOBus, name: String = "vga") throws(MachineError) {
        try portBus.claim(base: VGAPort.base, count: VGAPort.count, device: self, name: name)
        try portBus.claim(base: BochsVBE.indexPort, count: BochsVBE.portCount, device: vbePorts, name: name + "-vbe")
        try mmioBus.claim(base: VGA.windowBase, size: VGA.windowSize, device: legacyWindow, name: name + "-window")
    }

    /// A copy of the registers for the renderer. Call with the machine lock held.
    public func snapshot() -> VGAState { state }

    // MARK: Ports 0x3B0-0x3DF

    /// CRTC and status 1 answer at 0x3Dx or 0x3Bx by misc output bit 0; the others never do.
    private func isInactiveCRTCPort(_ offset: UInt16) -> Bool {
        switch offset {
        case VGAPort.crtcIndexMono, VGAPort.crtcDataMono, VGAPort.status1Mono: return state.colorAddressing
        case VGAPort.crtcIndexColor, VGAPort.crtcDataColor, VGAPort.status1Color: return !state.colorAddressing
        default: return false
        }
    }

    public func readByte(offset: UInt16) -> UInt8 {
        if isInactiveCRTCPort(offset) { return 0xFF }
        switch offset {
        case VGAPort.crtcIndexMono, VGAPort.crtcIndexColor: return state.crtcIndex
        case VGAPort.crtcDataMono, VGAPort.crtcDataColor:
            let i = Int(state.crtcIndex)
            return i < VGACRTC.count ? state.crtc[i] : 0xFF
        case VGAPort.status1Mono, VGAPort.status1Color: return readStatus1()
        case VGAPort.attrAddressData: return state.attrAddress
        case VGAPort.attrDataRead:
            let i = Int(state.attrAddress & VGAAttr.indexMask)
            return i < VGAAttr.count ? state.attr[i] : 0
        case VGAPort.miscWrite: return VGAStatus.switchSense  // input status 0
        case VGAPort.seqIndex: return state.seqIndex
        case VGAPort.seqData:
            let i = Int(state.seqIndex)
            return i < VGASeq.count ? state.seq[i] : 0xFF
        case VGAPort.dacPixelMask: return state.dacPixelMask
        case VGAPort.dacReadIndex: return state.dacReading ? 0x03 : 0x00  // DAC state
        case VGAPort.dacWriteIndex: return state.dacWriteIndex
        case VGAPort.dacData: return readDACData()
        case VGAPort.featureRead: return state.featureControl
        case VGAPort.miscRead: return state.misc
        case VGAPort.gcIndex: return state.gcIndex
        case VGAPort.gcData:
            let i = Int(state.gcIndex)
            return i < VGAGC.count ? state.gc[i] : 0xFF
        default: return 0xFF
        }
    }

    public func writeByte(offset: UInt16, value: UInt8) {
        if isInactiveCRTCPort(offset) { return }
        switch offset {
        case VGAPort.crtcIndexMono, VGAPort.crtcIndexColor: state.crtcIndex = value
        case VGAPort.crtcDataMono, VGAPort.crtcDataColor: writeCRTC(value)
        case VGAPort.status1Mono, VGAPort.status1Color: state.featureControl = value
        case VGAPort.attrAddressData: writeAttribute(value)
        case VGAPort.miscWrite: state.misc = value
        case VGAPort.seqIndex: state.seqIndex = value
        case VGAPort.seqData:
            let i = Int(state.seqIndex)
            if i < VGASeq.count { state.seq[i] = value }
        case VGAPort.dacPixelMask: state.dacPixelMask = value
        case VGAPort.dacReadIndex:
            state.dacReadIndex = value
            state.dacComponent = 0
            state.dacReading = true
        case VGAPort.dacWriteIndex:
            state.dacWriteIndex = value
            state.dacComponent = 0
            state.dacReading = false
        case VGAPort.dacData: writeDACData(value)
        case VGAPort.gcIndex: state.gcIndex = value
        case VGAPort.gcData:
            let i = Int(state.gcIndex)
            if i < VGAGC.count { state.gc[i] = value }
        default: break
        }
    }

    /// Input status 1. Reading it resets the attribute flip-flop to "address". Retrace is not
    /// timed: the bits toggle with every read so that loops waiting for either edge end.
    private func readStatus1() -> UInt8 {
        state.attrFlipFlop = false
        statusReads &+= 1
        return statusReads & 1 == 0 ? VGAStatus.verticalRetrace | VGAStatus.displayDisabled : 0
    }

    /// CR00-CR07 ignore writes while CR11 bit 7 is set, except the line compare bit of CR07.
    private func writeCRTC(_ value: UInt8) {
        let i = Int(state.crtcIndex)
        guard i < VGACRTC.count else { return }
        if i <= VGACRTC.overflow, state.crtc[VGACRTC.verticalRetraceEnd] & VGACRTC.protectCR0to7 != 0 {
            if i == VGACRTC.overflow { state.crtc[i] = state.crtc[i] & ~0x10 | value & 0x10 }
            return
        }
        state.crtc[i] = value
    }

    private func writeAttribute(_ value: UInt8) {
        if !state.attrFlipFlop {
            state.attrAddress = value & (VGAAttr.indexMask | VGAAttr.paletteAddressSource)
        } else {
            let i = Int(state.attrAddress & VGAAttr.indexMask)
            if i < VGAAttr.count { state.attr[i] = i < VGAAttr.paletteCount ? value & 0x3F : value }
        }
        state.attrFlipFlop.toggle()
    }

    private func readDACData() -> UInt8 {
        let i = Int(state.dacReadIndex) * 3 + state.dacComponent
        let value = state.vbe.eightBitDAC ? state.dac[i] : state.dac[i] & 0x3F
        advanceDAC(reading: true)
        return value
    }

    private func writeDACData(_ value: UInt8) {
        let i = Int(state.dacWriteIndex) * 3 + state.dacComponent
        state.dac[i] = state.vbe.eightBitDAC ? value : value & 0x3F
        advanceDAC(reading: false)
    }

    /// After the blue component the index moves to the next entry (wrapping at 256).
    private func advanceDAC(reading: Bool) {
        state.dacComponent += 1
        guard state.dacComponent == 3 else { return }
        state.dacComponent = 0
        if reading { state.dacReadIndex &+= 1 } else { state.dacWriteIndex &+= 1 }
    }
}
