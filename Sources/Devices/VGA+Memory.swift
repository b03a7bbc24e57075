import MachineCore

/// The host's view of video memory through 0xA0000-0xBFFFF: memory map select, chain 4,
/// odd/even, and the graphics controller's read modes 0-1 and write modes 0-3 with their
/// rotate, logical function, set/reset and bit mask (IBM VGA Technical Reference, "Graphics
/// Controller Registers"; FreeVGA "VGA Memory Organization").
extension VGA {
    /// Expands four plane-enable bits to a mask with 0xFF in the byte of each enabled plane.
    @inline(__always)
    static func planeMask(_ bits: UInt8) -> UInt32 {
        var m: UInt32 = 0
        for p in 0..<4 where bits & (1 << p) != 0 { m |= 0xFF << UInt32(8 * p) }
        return m
    }

    /// The address inside the selected memory map of window offset `offset`, or nil when the
    /// map does not decode it.
    @inline(__always)
    private func mapAddress(_ offset: Int) -> Int? {
        switch state.memoryMap {
        case 0: return offset
        case 1: return offset < 0x10000 ? offset : nil
        case 2: return (0x10000..<0x18000).contains(offset) ? offset - 0x10000 : nil
        default: return offset >= 0x18000 ? offset - 0x18000 : nil
        }
    }

    @inline(__always)
    private func planes(at offset: Int) -> UInt32 {
        vram.load(fromByteOffset: (offset & (VGA.planeSize - 1)) * 4, as: UInt32.self)
    }

    @inline(__always)
    private func storePlanes(_ value: UInt32, enabled: UInt32, at offset: Int) {
        let i = (offset & (VGA.planeSize - 1)) * 4
        let old = vram.load(fromByteOffset: i, as: UInt32.self)
        vram.storeBytes(of: old & ~enabled | value & enabled, toByteOffset: i, as: UInt32.self)
    }

    /// A read of window offset `offset` (0 = 0xA0000).
    public func readWindow(_ offset: Int) -> UInt8 {
        if state.vbe.isEnabled {
            guard offset < BochsVBE.bankSize else { return 0xFF }
            return vram.load(fromByteOffset: (Int(state.vbe.bank) * BochsVBE.bankSize + offset) & (vramSize - 1), as: UInt8.self)
        }
        guard let a = mapAddress(offset) else { return 0xFF }
        if state.seq[VGASeq.memoryMode] & VGASeq.memChain4 != 0 {
            return vram.load(fromByteOffset: a, as: UInt8.self)
        }
        if state.gc[VGAGC.mode] & VGAGC.modeHostOddEven != 0 {
            let plane = Int(state.gc[VGAGC.readMapSelect] & 2) | a & 1
            return vram.load(fromByteOffset: (a >> 1) * 4 + plane, as: UInt8.self)
        }
        latches = planes(at: a)
        if state.gc[VGAGC.mode] & VGAGC.modeReadCompare == 0 {
            return UInt8(truncatingIfNeeded: latches >> UInt32(8 * Int(state.gc[VGAGC.readMapSelect] & 3)))
        }
        // Read mode 1: a bit is 1 where every plane that matters matches the colour compare.
        let care = VGA.planeMask(state.gc[VGAGC.colorDontCare])
        let want = VGA.planeMask(state.gc[VGAGC.colorCompare])
        var diff = (latches ^ want) & care
        diff |= diff >> 16
        diff |= diff >> 8
        return ~UInt8(truncatingIfNeeded: diff)
    }

    /// A write of `value` to window offset `offset`.
    public func writeWindow(_ offset: Int, _ value: UInt8) {
        if state.vbe.isEnabled {
            guard offset < BochsVBE.bankSize else { return }
            vram.storeBytes(of: value, toByteOffset: (Int(state.vbe.bank) * BochsVBE.bankSize + offset) & (vramSize - 1), as: UInt8.self)
            return
        }
        guard let a = mapAddress(offset) else { return }
        let mapMask = state.seq[VGASeq.mapMask]
        if state.seq[VGASeq.memoryMode] & VGASeq.memChain4 != 0 {
            if mapMask & (1 << (a & 3)) != 0 { vram.storeBytes(of: value, toByteOffset: a, as: UInt8.self) }
            return
        }
        if state.seq[VGASeq.memoryMode] & VGASeq.memOddEvenDisable == 0 {
            // Even addresses reach planes 0 and 2, odd ones planes 1 and 3.
            let enabled = VGA.planeMask(mapMask & (a & 1 == 0 ? 0x5 : 0xA))
            storePlanes(UInt32(value) * 0x0101_0101, enabled: enabled, at: a >> 1)
            return
        }
        storePlanes(planarWriteData(value), enabled: VGA.planeMask(mapMask), at: a)
    }

    /// The four plane bytes a planar write produces from `value` and the latches.
    private func planarWriteData(_ value: UInt8) -> UInt32 {
        let gc = state.gc
        let rotate = gc[VGAGC.dataRotate] & 7
        let rotated = UInt32(value >> rotate | value << ((8 - rotate) & 7)) * 0x0101_0101
        let setReset = VGA.planeMask(gc[VGAGC.setReset])
        var bitMask = UInt32(gc[VGAGC.bitMask]) * 0x0101_0101
        var data: UInt32
        switch gc[VGAGC.mode] & VGAGC.modeWriteMask {
        case 0:
            let enable = VGA.planeMask(gc[VGAGC.enableSetReset])
            data = rotated & ~enable | setReset & enable
        case 1:
            return latches
        case 2:
            data = VGA.planeMask(value)
        default:
            bitMask &= rotated
            data = setReset
        }
        switch gc[VGAGC.dataRotate] >> VGAGC.functionShift & 3 {
        case 1: data &= latches
        case 2: data |= latches
        case 3: data ^= latches
        default: break
        }
        return data & bitMask | latches & ~bitMask
    }
}

/// 0xA0000-0xBFFFF on the MMIO bus. Wider accesses are split into bytes, lowest first.
public final class VGALegacyWindow: MMIODevice {
    unowned let vga: VGA
    init(vga: VGA) { self.vga = vga }

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<size { value |= UInt64(vga.readWindow(Int(offset) + i)) << UInt64(8 * i) }
        return value
    }

    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        for i in 0..<size { vga.writeWindow(Int(offset) + i, UInt8(truncatingIfNeeded: value >> UInt64(8 * i))) }
    }
}

/// The linear framebuffer (PCI BAR 0): video memory byte for byte.
public final class VGALinearFramebuffer: MMIODevice {
    unowned let vga: VGA
    init(vga: VGA) { self.vga = vga }

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        guard offset &+ UInt64(size) <= UInt64(vga.vramSize) else { return allOnes(size: size) }
        var value: UInt64 = 0
        for i in 0..<size { value |= UInt64(vga.vram.load(fromByteOffset: Int(offset) + i, as: UInt8.self)) << UInt64(8 * i) }
        return value
    }

    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        guard offset &+ UInt64(size) <= UInt64(vga.vramSize) else { return }
        for i in 0..<size {
            vga.vram.storeBytes(of: UInt8(truncatingIfNeeded: value >> UInt64(8 * i)), toByteOffset: Int(offset) + i, as: UInt8.self)
        }
    }
}
