import XCTest
import MachineCore
@testable import Devices

final class VGARegisterTests: XCTestCase {
    func testDACWriteAndReadCyclesAdvanceTheIndexAfterThreeComponents() {
        let vga = VGA()
        vga.out(0x3C8, 5)
        for v: UInt8 in [1, 2, 3, 4, 5, 6] { vga.out(0x3C9, v) }
        XCTAssertEqual(vga.inb(0x3C8), 7, "two entries written")
        XCTAssertEqual(vga.inb(0x3C7) & 3, 0, "DAC state: write mode")
        vga.out(0x3C7, 5)
        XCTAssertEqual(vga.inb(0x3C7) & 3, 3, "DAC state: read mode")
        XCTAssertEqual((0..<6).map { _ in vga.inb(0x3C9) }, [1, 2, 3, 4, 5, 6])
        // Components are 6 bits wide.
        vga.out(0x3C8, 9)
        vga.out(0x3C9, 0xFF); vga.out(0x3C9, 0x40); vga.out(0x3C9, 0x3F)
        vga.out(0x3C7, 9)
        XCTAssertEqual([vga.inb(0x3C9), vga.inb(0x3C9), vga.inb(0x3C9)], [0x3F, 0x00, 0x3F])
        XCTAssertEqual(vga.state.dacColor(9), 0xFF00FF)
        // The pixel mask applies before the lookup.
        vga.out(0x3C6, 0x01)
        XCTAssertEqual(vga.inb(0x3C6), 0x01)
        XCTAssertEqual(vga.state.dacColor(7), vga.state.dacColor(1))
    }

    func testAttributeFlipFlopAlternatesAndStatusReadResetsIt() {
        let vga = VGA()
        _ = vga.inb(0x3DA)
        vga.out(0x3C0, 0x02)  // index 2
        vga.out(0x3C0, 0x15)  // data
        XCTAssertEqual(vga.inb(0x3C1), 0x15)
        vga.out(0x3C0, 0x12 | VGAAttr.paletteAddressSource)  // index again (flip-flop back at address)
        XCTAssertEqual(vga.inb(0x3C0), 0x32)
        vga.out(0x3C0, 0x07)
        XCTAssertEqual(vga.state.attr[VGAAttr.colorPlaneEnable], 0x07)
        // Half-way through a pair, a status read resets to "address".
        vga.out(0x3C0, 0x02)
        _ = vga.inb(0x3DA)
        vga.out(0x3C0, 0x03)
        vga.out(0x3C0, 0x21)
        XCTAssertEqual(vga.state.attr[2], 0x15, "register 2 unchanged")
        XCTAssertEqual(vga.state.attr[3], 0x21)
    }

    func testCRTCFollowsMiscOutputAddressSelect() {
        let vga = VGA()
        vga.out(0x3C2, 0x67)  // colour: 3Dx
        vga.out(0x3D4, 0x0E); vga.out(0x3D5, 0x12)
        XCTAssertEqual(vga.inb(0x3D5), 0x12)
        XCTAssertEqual(vga.inb(0x3B5), 0xFF, "mono ports idle in colour mode")
        vga.out(0x3B4, 0x0E); vga.out(0x3B5, 0x77)
        XCTAssertEqual(vga.state.crtc[0x0E], 0x12, "writes to idle ports are dropped")
        vga.out(0x3C2, 0x66)  // mono: 3Bx
        XCTAssertEqual(vga.inb(0x3CC), 0x66)
        vga.out(0x3B4, 0x0E); vga.out(0x3B5, 0x34)
        XCTAssertEqual(vga.inb(0x3B5), 0x34)
        XCTAssertEqual(vga.inb(0x3D5), 0xFF)
    }

    func testCRTCWriteProtectKeepsCR00ToCR07() {
        let vga = VGA()
        vga.setCRTC(0x01, 0x4F)
        vga.setCRTC(0x11, 0x80)
        vga.setCRTC(0x01, 0x27)
        vga.setCRTC(0x07, 0xFF)
        XCTAssertEqual(vga.state.crtc[0x01], 0x4F)
        XCTAssertEqual(vga.state.crtc[0x07], 0x10, "only the line compare bit passes")
        vga.setCRTC(0x11, 0x00)
        vga.setCRTC(0x01, 0x27)
        XCTAssertEqual(vga.state.crtc[0x01], 0x27)
    }

    func testWordWritesSetIndexAndDataAndStatusRetraceToggles() {
        let vga = VGA()
        vga.portWrite(offset: 0x3C4 - VGAPort.base, size: 2, value: 0x0F02)  // map mask = 0x0F
        XCTAssertEqual(vga.state.seq[VGASeq.mapMask], 0x0F)
        let a = vga.inb(0x3DA) & VGAStatus.verticalRetrace, b = vga.inb(0x3DA) & VGAStatus.verticalRetrace
        XCTAssertNotEqual(a, b)
    }
}

final class VGAMemoryTests: XCTestCase {
    /// Planar mode with everything neutral: write mode 0, all planes, bit mask 0xFF.
    private func planar() -> VGA {
        let vga = VGA()
        vga.setMode12()
        return vga
    }

    func testWriteMode0WithSetResetRotateFunctionAndBitMask() {
        let vga = planar()
        // Plain write: every enabled plane gets the byte.
        vga.setSeq(VGASeq.mapMask, 0x05)
        vga.poke(0xA0000, [0xA5])
        XCTAssertEqual((0..<4).map { vga.vramByte($0) }, [0xA5, 0, 0xA5, 0])
        // Set/reset on planes 0 and 1 (value 0b0010), enabled for both.
        vga.setSeq(VGASeq.mapMask, 0x0F)
        vga.setGC(VGAGC.setReset, 0x02)
        vga.setGC(VGAGC.enableSetReset, 0x03)
        vga.poke(0xA0001, [0x3C])
        XCTAssertEqual((4..<8).map { vga.vramByte($0) }, [0x00, 0xFF, 0x3C, 0x3C])
        // Rotate by 4 and XOR with the latches, under a bit mask of 0xF0.
        vga.setGC(VGAGC.enableSetReset, 0)
        _ = vga.peek(0xA0001)  // latches = 00 FF 3C 3C
        vga.setGC(VGAGC.dataRotate, 4 | 3 << 3)
        vga.setGC(VGAGC.bitMask, 0xF0)
        vga.poke(0xA0001, [0x0F])  // rotated: 0xF0
        XCTAssertEqual((4..<8).map { vga.vramByte($0) }, [0xF0, 0x0F, 0xCC, 0xCC])
    }

    func testWriteMode1CopiesLatches() {
        let vga = planar()
        vga.poke(0xA0010, [0x81])
        vga.setSeq(VGASeq.mapMask, 0x02)
        vga.poke(0xA0010, [0x7E])  // plane 1 differs
        vga.setSeq(VGASeq.mapMask, 0x0F)
        _ = vga.peek(0xA0010)
        vga.setGC(VGAGC.mode, 1)
        vga.poke(0xA0020, [0x00])
        XCTAssertEqual((0..<4).map { vga.vramByte(0x20 * 4 + $0) }, [0x81, 0x7E, 0x81, 0x81])
    }

    func testWriteMode2And3() {
        let vga = planar()
        vga.setGC(VGAGC.mode, 2)
        vga.setGC(VGAGC.bitMask, 0x0F)
        vga.poke(0xA0000, [0x09])  // colour 9: planes 0 and 3
        XCTAssertEqual((0..<4).map { vga.vramByte($0) }, [0x0F, 0x00, 0x00, 0x0F])
        // Write mode 3: the rotated data ANDed with the bit mask selects bits; set/reset is the colour.
        vga.setGC(VGAGC.mode, 3)
        vga.setGC(VGAGC.bitMask, 0xFF)
        vga.setGC(VGAGC.setReset, 0x06)
        _ = vga.peek(0xA0000)
        vga.poke(0xA0000, [0x81])
        XCTAssertEqual((0..<4).map { vga.vramByte($0) }, [0x0E, 0x81, 0x81, 0x0E])
    }

    func testReadMode0SelectsAPlaneAndReadMode1ComparesColours() {
        let vga = planar()
        vga.setGC(VGAGC.mode, 2)
        vga.poke(0xA0000, [0x05])  // all 8 pixels colour 5 (planes 0 and 2)
        vga.setGC(VGAGC.bitMask, 0x0F)
        _ = vga.peek(0xA0000)  // latches keep the pixels outside the bit mask
        vga.poke(0xA0000, [0x03])  // low 4 pixels colour 3 (planes 0 and 1)
        vga.setGC(VGAGC.mode, 0)
        vga.setGC(VGAGC.readMapSelect, 2)
        XCTAssertEqual(vga.peek(0xA0000), 0xF0)
        vga.setGC(VGAGC.mode, VGAGC.modeReadCompare)
        vga.setGC(VGAGC.colorCompare, 0x05)
        XCTAssertEqual(vga.peek(0xA0000), 0xF0)
        vga.setGC(VGAGC.colorCompare, 0x03)
        XCTAssertEqual(vga.peek(0xA0000), 0x0F)
        // Ignoring plane 2 and plane 1, colours 5 and 3 both match 1.
        vga.setGC(VGAGC.colorDontCare, 0x09)
        vga.setGC(VGAGC.colorCompare, 0x01)
        XCTAssertEqual(vga.peek(0xA0000), 0xFF)
    }

    func testChain4MapsHostBytesLinearlyUnderTheMapMask() {
        let vga = VGA()
        vga.setMode13()
        vga.poke(0xA0000 + 321, [0x42, 0x43])
        XCTAssertEqual(vga.vramByte(321), 0x42)
        XCTAssertEqual(vga.vramByte(322), 0x43)
        XCTAssertEqual(vga.peek(0xA0000 + 322), 0x43)
        vga.setSeq(VGASeq.mapMask, 0x0E)  // plane 0 (addresses ≡ 0 mod 4) off
        vga.poke(0xA0000 + 320, [0x99])
        XCTAssertEqual(vga.vramByte(320), 0)
    }

    func testOddEvenSplitsCharactersAndAttributesAndMemoryMapSelectDecodes() {
        let vga = VGA()
        vga.setMode3()
        vga.poke(0xB8000, [0x41, 0x1F, 0x42, 0x2E])
        XCTAssertEqual([vga.vramByte(0), vga.vramByte(1), vga.vramByte(4), vga.vramByte(5)], [0x41, 0x1F, 0x42, 0x2E])
        XCTAssertEqual(vga.peek(0xB8003), 0x2E)
        // Map B8000 does not decode 0xA0000 or 0xB0000.
        vga.poke(0xA0000, [0x55])
        vga.poke(0xB0000, [0x55])
        XCTAssertEqual(vga.peek(0xA0000), 0xFF)
        XCTAssertFalse((0..<64).contains { vga.vramByte($0) == 0x55 })
    }
}
