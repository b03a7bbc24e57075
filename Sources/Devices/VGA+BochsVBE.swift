import MachineCore

/// The DISPI register file: reads, writes and what a mode enable does.
extension VGA {
    public func readDISPI(_ index: Int) -> UInt16 {
        let vbe = state.vbe
        let caps = vbe.enable & BochsVBE.getCaps != 0
        switch index {
        case BochsVBE.indexID: return vbe.id
        case BochsVBE.indexXRes: return caps ? BochsVBE.maxXRes : vbe.xres
        case BochsVBE.indexYRes: return caps ? BochsVBE.maxYRes : vbe.yres
        case BochsVBE.indexBPP: return caps ? BochsVBE.maxBPP : vbe.bpp
        case BochsVBE.indexEnable: return vbe.enable
        case BochsVBE.indexBank: return vbe.bank
        case BochsVBE.indexVirtWidth: return vbe.virtWidth
        case BochsVBE.indexVirtHeight: return vbe.virtHeight
        case BochsVBE.indexXOffset: return vbe.xOffset
        case BochsVBE.indexYOffset: return vbe.yOffset
        case BochsVBE.indexVideoMemory64K: return UInt16(truncatingIfNeeded: vramSize / BochsVBE.bankSize)
        default: return 0
        }
    }

    public func writeDISPI(_ index: Int, _ value: UInt16) {
        switch index {
        case BochsVBE.indexID:
            if (BochsVBE.id0...BochsVBE.id5).contains(value) { state.vbe.id = value }
        case BochsVBE.indexXRes:
            // Widths are multiples of 8 pixels (Bochs and QEMU refuse others).
            if value > 0, value <= BochsVBE.maxXRes, value & 7 == 0 { state.vbe.xres = value }
        case BochsVBE.indexYRes:
            if value > 0, value <= BochsVBE.maxYRes { state.vbe.yres = value }
        case BochsVBE.indexBPP:
            let bpp = value == 0 ? 8 : value
            if BochsVBE.supportedBPP.contains(bpp) { state.vbe.bpp = bpp }
        case BochsVBE.indexEnable: writeDISPIEnable(value)
        case BochsVBE.indexBank:
            state.vbe.bank = value & UInt16(truncatingIfNeeded: vramSize / BochsVBE.bankSize - 1)
        case BochsVBE.indexVirtWidth:
            guard value >= state.vbe.xres else { return }
            state.vbe.virtWidth = value
            state.vbe.virtHeight = maximumVirtualHeight()
        case BochsVBE.indexVirtHeight:
            // Derived from the width and the memory; a write only lowers it.
            state.vbe.virtHeight = min(value, maximumVirtualHeight())
        case BochsVBE.indexXOffset: state.vbe.xOffset = value
        case BochsVBE.indexYOffset: state.vbe.yOffset = value
        default: break
        }
    }

    private func maximumVirtualHeight() -> UInt16 {
        let line = max(1, state.vbe.lineOffset)
        return UInt16(min(vramSize / line, Int(UInt16.max)))
    }

    /// Enabling a mode resets the virtual screen to the visible one, the bank and offsets to
    /// 0, clears the visible memory unless NOCLEARMEM is set, and puts the graphics
    /// controller in graphics mode with the 64 KiB window at 0xA0000 (the VBE bank window).
    private func writeDISPIEnable(_ value: UInt16) {
        let wasEnabled = state.vbe.isEnabled
        state.vbe.enable = value
        guard value & BochsVBE.enabled != 0, !wasEnabled else { return }
        var vbe = state.vbe
        vbe.virtWidth = vbe.xres
        vbe.bank = 0
        vbe.xOffset = 0
        vbe.yOffset = 0
        state.vbe = vbe
        state.vbe.virtHeight = maximumVirtualHeight()
        if value & BochsVBE.noClearMemory == 0 {
            let bytes = min(vramSize, Int(vbe.yres) * state.vbe.lineOffset)
            vram.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        }
        state.gc[VGAGC.misc] = VGAGC.miscGraphics | 1 << VGAGC.miscMapShift
        state.attr[VGAAttr.modeControl] |= VGAAttr.modeGraphics
    }
}

/// Ports 0x1CE (index) and 0x1CF (data), 16 bits wide.
public final class BochsVBEPorts: PortIODevice {
    unowned let vga: VGA
    init(vga: VGA) { self.vga = vga }

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        offset == 0 ? UInt32(vga.state.vbe.index) : UInt32(vga.readDISPI(Int(vga.state.vbe.index)))
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        if offset == 0 {
            vga.state.vbe.index = UInt16(truncatingIfNeeded: value)
        } else {
            vga.writeDISPI(Int(vga.state.vbe.index), UInt16(truncatingIfNeeded: value))
        }
    }
}

/// The 4 KiB register BAR of QEMU's stdvga (PCI BAR 2), which Linux's bochs DRM driver uses
/// instead of port I/O when present: the VGA ports 0x3C0-0x3DF at 0x400, and the DISPI
/// registers as 16-bit words at 0x500 + 2 * index. Everything else reads as 0 (in particular
/// the QEMU extended-register size at 0x600, so drivers see no extended registers).
public final class VGAMMIORegisters: MMIODevice {
    public static let size: UInt64 = 0x1000
    public static let vgaPortsOffset: UInt64 = 0x400
    public static let vgaPortsCount: UInt64 = 0x20
    public static let dispiOffset: UInt64 = 0x500

    unowned let vga: VGA
    init(vga: VGA) { self.vga = vga }

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        if let port = vgaPortOffset(offset, size) {
            return UInt64(vga.portRead(offset: port, size: size))
        }
        if let index = dispiIndex(offset, size) { return UInt64(vga.readDISPI(index)) }
        return 0
    }

    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        if let port = vgaPortOffset(offset, size) {
            vga.portWrite(offset: port, size: size, value: UInt32(truncatingIfNeeded: value))
        } else if let index = dispiIndex(offset, size) {
            vga.writeDISPI(index, UInt16(truncatingIfNeeded: value))
        }
    }

    /// The VGA device's port offset (from 0x3B0) of a register-BAR offset in the port block.
    private func vgaPortOffset(_ offset: UInt64, _ size: Int) -> UInt16? {
        guard offset >= Self.vgaPortsOffset, offset + UInt64(size) <= Self.vgaPortsOffset + Self.vgaPortsCount else { return nil }
        return UInt16(offset - Self.vgaPortsOffset) + (0x3C0 - VGAPort.base)
    }

    private func dispiIndex(_ offset: UInt64, _ size: Int) -> Int? {
        guard size == 2, offset >= Self.dispiOffset, offset & 1 == 0 else { return nil }
        let index = Int(offset - Self.dispiOffset) / 2
        return index < BochsVBE.registerCount ? index : nil
    }
}
