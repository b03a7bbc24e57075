import MachineCore

extension VGA: StatefulDevice {
    /// The register files, the DAC, the latches and the Bochs VBE registers are already one
    /// value, `VGAState` (what the renderer snapshots), so that is the device's state.
    ///
    /// Video memory is not in it: it is host memory the machine may map into the guest, as
    /// large as guest RAM pieces, and travels with guest RAM in the snapshot format to come.
    /// The retrace bits of input status 1 are not either: retrace is not timed, they toggle
    /// at each read.
    public typealias State = VGAState

    /// Refuses register files of the wrong size, a DAC component index beyond blue, palette
    /// entries wider than 6 bits, reserved attribute address bits, and VBE registers a DISPI
    /// write would refuse (interface ID, resolution, depth, a bank or virtual height beyond
    /// video memory). Nothing is cleared or redrawn: the display shows the restored state at
    /// its next refresh.
    public func restore(_ saved: VGAState) throws(MachineError) {
        func refuse(_ reason: String) -> MachineError { .invalidDeviceState(device: "VGA", reason: reason) }
        guard saved.seq.count == VGASeq.count, saved.gc.count == VGAGC.count, saved.crtc.count == VGACRTC.count,
              saved.attr.count == VGAAttr.count, saved.dac.count == 256 * 3 else {
            throw refuse("register file of the wrong size")
        }
        guard (0..<3).contains(saved.dacComponent) else { throw refuse("DAC component \(saved.dacComponent)") }
        guard saved.attr[0..<VGAAttr.paletteCount].allSatisfy({ $0 & ~0x3F == 0 }) else { throw refuse("palette entry wider than 6 bits") }
        guard saved.attrAddress & ~(VGAAttr.indexMask | VGAAttr.paletteAddressSource) == 0 else {
            throw refuse("reserved attribute address bits")
        }
        let vbe = saved.vbe
        guard (BochsVBE.id0...BochsVBE.id5).contains(vbe.id) else { throw refuse("VBE ID 0x\(String(vbe.id, radix: 16))") }
        guard (1...BochsVBE.maxXRes).contains(vbe.xres), vbe.xres & 7 == 0, (1...BochsVBE.maxYRes).contains(vbe.yres) else {
            throw refuse("VBE resolution \(vbe.xres)x\(vbe.yres)")
        }
        guard BochsVBE.supportedBPP.contains(vbe.bpp) else { throw refuse("VBE depth \(vbe.bpp)") }
        guard Int(vbe.bank) < vramSize / BochsVBE.bankSize else { throw refuse("VBE bank \(vbe.bank) beyond video memory") }
        guard Int(vbe.virtHeight) <= vramSize / max(1, vbe.lineOffset) else {
            throw refuse("VBE virtual screen larger than video memory")
        }
        state = saved
    }
}
