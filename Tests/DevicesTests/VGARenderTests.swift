import XCTest
import MachineCore
@testable import Devices

final class VGARenderTests: XCTestCase {
    /// A glyph with a recognisable shape: row 0 all dots, row 1 the left dot only.
    private let glyph: [UInt8] = [0xFF, 0x80] + [UInt8](repeating: 0, count: 14)

    private func textVGA() -> VGA {
        let vga = VGA()
        vga.setMode3()
        vga.setDAC(0x01, 0, 0, 0x2A)  // palette 1 -> DAC 1: blue
        vga.setDAC(0x3F, 0x3F, 0x3F, 0x3F)  // palette 15 -> DAC 0x3F: white
        vga.loadFont([0x41: glyph, 0xC4: glyph])
        return vga
    }

    func testTextBufferReadsTheScreenWrittenThroughTheWindow() {
        let vga = textVGA()
        let hello = Array("Hello, VGA".utf8)
        vga.poke(0xB8000, hello.flatMap { [$0, 0x07] })
        vga.poke(0xB8000 + 160 * 24 + 2 * 79, [0xC4, 0x07])
        let text = vga.textBuffer()
        XCTAssertEqual(text?.count, 25)
        XCTAssertEqual(text?[0], "Hello, VGA")
        XCTAssertEqual(text?[24], String(repeating: " ", count: 79) + "─")
        // The start address scrolls the screen by whole cells.
        vga.setCRTC(VGACRTC.startAddressLow, 7)
        XCTAssertEqual(vga.textBuffer()?[0], "VGA")
        vga.setGC(VGAGC.misc, 0x05)
        XCTAssertNil(vga.textBuffer(), "graphics mode has no text")
    }

    func testTextRenderUsesFontFromPlane2AttributesAndNinthColumn() {
        let vga = textVGA()
        vga.poke(0xB8000, [0x41, 0x1F, 0xC4, 0x1F])  // white on blue
        vga.setCRTC(VGACRTC.cursorStart, 0x20)  // cursor off
        var fb = VGAFramebuffer()
        vga.render(into: &fb)
        XCTAssertEqual(fb.width, 720)
        XCTAssertEqual(fb.height, 400)
        let white: UInt32 = 0xFFFFFF, blue: UInt32 = 0x0000AA
        XCTAssertEqual((0..<9).map { fb[$0, 0] }, [UInt32](repeating: white, count: 8) + [blue], "row 0; no ninth dot for 'A'")
        XCTAssertEqual(fb[0, 1], white)
        XCTAssertEqual(fb[1, 1], blue)
        XCTAssertEqual(fb[0, 2], blue)
        XCTAssertEqual(fb[9 + 8, 0], white, "box-drawing characters repeat their eighth dot")
        XCTAssertEqual(fb[100, 100], 0, "empty cells are black")
    }

    func testCursorAndBlink() {
        let vga = textVGA()
        vga.poke(0xB8000 + 2 * 81, [0x20, 0x8F])  // blinking white on black at row 1, column 1
        vga.setCRTC(VGACRTC.cursorLocationLow, 81)
        vga.setCRTC(VGACRTC.cursorStart, 14)
        vga.setCRTC(VGACRTC.cursorEnd, 15)
        var fb = VGAFramebuffer()
        vga.render(into: &fb, blinkOn: true)
        XCTAssertEqual(fb[9 + 4, 16 + 14], 0xFFFFFF, "cursor lines 14-15")
        XCTAssertEqual(fb[9 + 4, 16 + 13], 0)
        vga.render(into: &fb, blinkOn: false)
        XCTAssertEqual(fb[9 + 4, 16 + 14], 0, "cursor hidden in the off phase")
    }

    func testMode13RendersChain4BytesThroughTheDAC() {
        let vga = VGA()
        vga.setMode13()
        vga.setDAC(0x20, 0x3F, 0x00, 0x00)
        vga.setDAC(0x21, 0x00, 0x3F, 0x00)
        vga.poke(0xA0000 + 199 * 320 + 319, [0x20])
        vga.poke(0xA0000 + 10 * 320 + 5, [0x21])
        var fb = VGAFramebuffer()
        vga.render(into: &fb)
        XCTAssertEqual([fb.width, fb.height], [320, 200])
        XCTAssertEqual(fb[319, 199], 0xFF0000)
        XCTAssertEqual(fb[5, 10], 0x00FF00)
        XCTAssertEqual(fb[6, 10], 0)
    }

    func testMode12RendersPlanarPixelsThroughPaletteAndDAC() {
        let vga = VGA()
        vga.setMode12()
        vga.setDAC(0x3C, 0x3F, 0x3F, 0x00)  // palette 12 -> DAC 0x3C: yellow
        vga.setGC(VGAGC.mode, 2)
        vga.setGC(VGAGC.bitMask, 0x40)  // second pixel of the byte
        vga.poke(0xA0000 + 479 * 80 + 79, [12])
        var fb = VGAFramebuffer()
        vga.render(into: &fb)
        XCTAssertEqual([fb.width, fb.height], [640, 480])
        XCTAssertEqual(fb[633, 479], 0xFFFF00)
        XCTAssertEqual(fb[632, 479], 0)
        // Colour plane enable masks planes out before the palette.
        vga.setAttr(VGAAttr.colorPlaneEnable, 0x03)
        vga.out(0x3C0, VGAAttr.paletteAddressSource)
        vga.render(into: &fb)
        XCTAssertEqual(fb[633, 479], 0, "colour 12 & 3 = 0")
    }

    func testMode4RendersCGAInterleavedBanks() {
        let vga = VGA()
        vga.setMode4()
        vga.setDAC(0x13, 0x00, 0x3F, 0x3F)  // palette 1 -> 0x13 cyan
        vga.setDAC(0x17, 0x3F, 0x3F, 0x3F)  // palette 3 -> 0x17 white
        vga.poke(0xB8000 + 80 * 3 + 1, [0b01_00_00_11])  // line 6, pixels 4 and 7
        vga.poke(0xBA000 + 80 * 3, [0b11_00_00_00])  // line 7, pixel 0
        var fb = VGAFramebuffer()
        vga.render(into: &fb)
        XCTAssertEqual([fb.width, fb.height], [320, 200])
        XCTAssertEqual(fb[4, 6], 0x00FFFF)
        XCTAssertEqual(fb[7, 6], 0xFFFFFF)
        XCTAssertEqual(fb[5, 6], 0)
        XCTAssertEqual(fb[0, 7], 0xFFFFFF)
        XCTAssertEqual(fb[0, 6], 0)
    }

    func testVBEModeSetLinearFramebufferAndRender() {
        let vga = VGA()
        XCTAssertEqual(vga.vbe(BochsVBE.indexVideoMemory64K), 256)
        vga.vbe(BochsVBE.indexID, BochsVBE.id5)
        XCTAssertEqual(vga.vbe(BochsVBE.indexID), BochsVBE.id5)
        vga.vbe(BochsVBE.indexEnable, BochsVBE.getCaps)
        XCTAssertEqual(vga.vbe(BochsVBE.indexXRes), BochsVBE.maxXRes)
        vga.vbe(BochsVBE.indexEnable, 0)
        vga.vbe(BochsVBE.indexXRes, 800)
        vga.vbe(BochsVBE.indexYRes, 600)
        vga.vbe(BochsVBE.indexBPP, 32)
        vga.vbe(BochsVBE.indexEnable, BochsVBE.enabled | BochsVBE.lfbEnabled)
        XCTAssertEqual(vga.vbe(BochsVBE.indexVirtWidth), 800)
        XCTAssertEqual(vga.vbe(BochsVBE.indexVirtHeight), UInt16(16 << 20 / (800 * 4)))
        vga.linearFramebuffer.mmioWrite(offset: UInt64((20 * 800 + 10) * 4), size: 4, value: 0x00_12_34_56)
        var fb = VGAFramebuffer()
        vga.render(into: &fb)
        XCTAssertEqual([fb.width, fb.height], [800, 600])
        XCTAssertEqual(fb[10, 20], 0x123456)
        // Panning by the Y offset moves the picture up.
        vga.vbe(BochsVBE.indexYOffset, 5)
        vga.render(into: &fb)
        XCTAssertEqual(fb[10, 15], 0x123456)
        XCTAssertNil(vga.textBuffer())
    }

    func testVBE16And8BitModesAndTheBankedWindow() {
        let vga = VGA()
        vga.vbe(BochsVBE.indexXRes, 320)
        vga.vbe(BochsVBE.indexYRes, 240)
        vga.vbe(BochsVBE.indexBPP, 16)
        vga.vbe(BochsVBE.indexEnable, BochsVBE.enabled)
        vga.linearFramebuffer.mmioWrite(offset: 0, size: 2, value: 0xF800)  // red in RGB565
        vga.linearFramebuffer.mmioWrite(offset: 2, size: 2, value: 0x07E0)  // green
        var fb = VGAFramebuffer()
        vga.render(into: &fb)
        XCTAssertEqual(fb[0, 0], 0xFF0000)
        XCTAssertEqual(fb[1, 0], 0x00FF00)
        // 8 bpp: pixels index the DAC; bank 1 of the 0xA0000 window is bytes 64K-128K.
        vga.vbe(BochsVBE.indexEnable, 0)
        vga.vbe(BochsVBE.indexBPP, 8)
        vga.vbe(BochsVBE.indexEnable, BochsVBE.enabled)
        vga.setDAC(7, 0x3F, 0x00, 0x3F)
        vga.vbe(BochsVBE.indexBank, 1)
        vga.poke(0xA0000 + 100, [7])
        XCTAssertEqual(vga.vramByte(0x10000 + 100), 7)
        vga.render(into: &fb)
        let offset = 0x10000 + 100
        XCTAssertEqual(fb[offset % 320, offset / 320], 0xFF00FF)
        XCTAssertEqual(fb[0, 0], 0, "enable cleared the screen")
    }

    func testBlankedAttributeControllerRendersBlack() {
        let vga = textVGA()
        vga.poke(0xB8000, [0x41, 0x1F])
        _ = vga.inb(0x3DA)
        vga.out(0x3C0, 0x00)  // palette address source clear: display off
        var fb = VGAFramebuffer()
        vga.render(into: &fb)
        XCTAssertTrue(fb.isUniform)
        XCTAssertEqual(fb[0, 0], 0)
    }
}
