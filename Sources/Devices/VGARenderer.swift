/// Turns a snapshot of the VGA registers and video memory into pixels: text modes, planar
/// 16-colour, CGA 2/4-colour, chain-4 256-colour and the Bochs VBE linear modes.
///
/// Screen geometry comes from the CRTC as a monitor would see it (character clocks per line,
/// vertical display end, maximum scan line, scan doubling); graphics modes whose scan lines
/// repeat one memory row (mode 13h's two lines per row) are rendered once per row, so mode
/// 13h is 320x200 and mode 12h 640x480. Horizontal panning, split screens (line compare) and
/// underline are not modelled.
public enum VGARenderer {
    /// The largest screen rendered; larger CRTC or VBE values are clipped.
    public static let maximumWidth = Int(BochsVBE.maxXRes)
    public static let maximumHeight = Int(BochsVBE.maxYRes)
    /// Shown when the CRTC describes no usable screen (before a BIOS has set a mode).
    public static let fallbackWidth = 640
    public static let fallbackHeight = 480

    /// Renders into `fb`, resizing it. `blinkOn` is the phase of the text cursor and of
    /// blinking characters (the display toggles it about twice a second).
    public static func render(state: VGAState, vram: UnsafeRawPointer, vramSize: Int, blinkOn: Bool = true,
                              into fb: inout VGAFramebuffer) {
        if state.vbe.isEnabled {
            renderVBE(state, vram, vramSize, &fb)
        } else if !state.graphicsMode {
            renderText(state, vram, blinkOn, &fb)
        } else {
            renderGraphics(state, vram, &fb)
        }
    }

    /// Scan lines after scan doubling.
    static func visibleLines(_ s: VGAState) -> Int {
        s.scanDoubling ? s.displayedScanLines / 2 : s.displayedScanLines
    }

    /// Sizes `fb`; false (with a black fallback screen) when the geometry is unusable.
    static func prepare(_ fb: inout VGAFramebuffer, width: Int, height: Int, displayOn: Bool) -> Bool {
        guard width >= 16, height >= 16, displayOn else {
            let w = width >= 16 ? min(width, maximumWidth) : fallbackWidth
            let h = height >= 16 ? min(height, maximumHeight) : fallbackHeight
            fb.resize(width: w, height: h)
            for i in fb.pixels.indices { fb.pixels[i] = 0 }
            return false
        }
        fb.resize(width: min(width, maximumWidth), height: min(height, maximumHeight))
        return true
    }

    // MARK: Text

    /// Plane-2 offset of the font selected by a 3-bit character map select value.
    static func fontOffset(_ select: Int) -> Int { (select & 3) * 0x4000 + (select >> 2) * 0x2000 }

    static func renderText(_ s: VGAState, _ vram: UnsafeRawPointer, _ blinkOn: Bool, _ fb: inout VGAFramebuffer) {
        let cw = s.characterWidth, ch = s.scanLinesPerRow
        let cols = s.displayedCharacterClocks
        let rows = max(1, visibleLines(s) / ch)
        guard prepare(&fb, width: cols * cw, height: rows * ch, displayOn: s.displayEnabled) else { return }
        let width = fb.width, height = fb.height
        let palette = (0..<16).map { s.dacColor(s.attributeColorIndex($0)) }
        let sr3 = Int(s.seq[VGASeq.characterMapSelect])
        let fontA = fontOffset(sr3 >> 2 & 3 | sr3 >> 3 & 4)
        let fontB = fontOffset(sr3 & 3 | sr3 >> 2 & 4)
        let mode = s.attr[VGAAttr.modeControl]
        let blinkEnabled = mode & VGAAttr.modeBlink != 0
        let lineGraphics = mode & VGAAttr.modeLineGraphics != 0
        let cursorOff = s.crtc[VGACRTC.cursorStart] & VGACRTC.cursorDisable != 0 || !blinkOn
        let cursorStart = Int(s.crtc[VGACRTC.cursorStart] & 0x1F), cursorEnd = Int(s.crtc[VGACRTC.cursorEnd] & 0x1F)
        let mask = VGA.planeSize - 1
        fb.pixels.withUnsafeMutableBufferPointer { out in
            for row in 0..<rows {
                for col in 0..<cols {
                    let address = s.startAddress + row * s.rowStride + col
                    let cell = (address & mask) * 4
                    let code = Int(vram.load(fromByteOffset: cell, as: UInt8.self))
                    let attribute = Int(vram.load(fromByteOffset: cell + 1, as: UInt8.self))
                    var fg = palette[attribute & 0xF]
                    var bgIndex = attribute >> 4
                    if blinkEnabled {
                        bgIndex &= 7
                        if attribute & 0x80 != 0 && !blinkOn { fg = palette[bgIndex] }
                    }
                    let bg = palette[bgIndex]
                    let font = attribute & 0x08 != 0 ? fontA : fontB
                    let isCursor = !cursorOff && address == s.cursorLocation
                    let extendNinth = cw == 9 && lineGraphics && (0xC0...0xDF).contains(code)
                    for line in 0..<ch {
                        let y = row * ch + line
                        guard y < height else { break }
                        var glyph = Int(vram.load(fromByteOffset: ((font + code * 32 + line) & mask) * 4 + 2, as: UInt8.self))
                        if isCursor && line >= cursorStart && line <= cursorEnd { glyph = 0xFF | 0x100 }
                        let ninth = glyph & 0x100 != 0 || (extendNinth && glyph & 1 != 0)
                        let base = y * width + col * cw
                        for dot in 0..<cw {
                            guard col * cw + dot < width else { break }
                            let on = dot < 8 ? glyph & (0x80 >> dot) != 0 : ninth
                            out[base + dot] = on ? fg : bg
                        }
                    }
                }
            }
        }
    }

    // MARK: Graphics

    /// The address counter at the start of output line `y`, with the CGA bank substitutions
    /// of CRTC mode control bits 0-1 (applied to the output address, after word/doubleword
    /// shifting: counter bit 13 - shift).
    static func lineAddress(_ s: VGAState, row: Int, scan: Int) -> Int {
        var address = s.startAddress + row * s.rowStride
        let cr17 = s.crtc[VGACRTC.modeControl]
        let shift = s.crtc[VGACRTC.underlineLocation] & VGACRTC.doublewordMode != 0 ? 2
            : (cr17 & VGACRTC.modeByte == 0 ? 1 : 0)
        if cr17 & VGACRTC.modeMap13 == 0 {
            let bit = 13 - shift
            address = address & ~(1 << bit) | (scan & 1) << bit
        }
        if cr17 & VGACRTC.modeMap14 == 0 {
            let bit = 14 - shift
            address = address & ~(1 << bit) | (scan >> 1 & 1) << bit
        }
        return address
    }

    static func renderGraphics(_ s: VGAState, _ vram: UnsafeRawPointer, _ fb: inout VGAFramebuffer) {
        let lines = visibleLines(s)
        let rowHeight = s.scanLinesPerRow
        // With no bank substitution the scan lines of one row repeat it: render it once.
        let collapse = s.crtc[VGACRTC.modeControl] & (VGACRTC.modeMap13 | VGACRTC.modeMap14) == (VGACRTC.modeMap13 | VGACRTC.modeMap14)
        let height = collapse ? lines / rowHeight : lines
        let cols = s.displayedCharacterClocks
        let mode = s.gc[VGAGC.mode]
        let is256 = mode & VGAGC.mode256Color != 0
        let width = is256 ? cols * 4 : cols * 8
        guard prepare(&fb, width: width, height: height, displayOn: s.displayEnabled) else { return }
        let w = fb.width
        let palette16 = (0..<16).map { s.dacColor(s.attributeColorIndex($0)) }
        let palette256 = is256 ? (0..<256).map { s.dacColor($0) } : []
        let planeEnable = UInt32(s.attr[VGAAttr.colorPlaneEnable] & 0x0F)
        let mask = VGA.planeSize - 1
        fb.pixels.withUnsafeMutableBufferPointer { out in
            for y in 0..<fb.height {
                let row = collapse ? y : y / rowHeight
                let scan = collapse ? 0 : y % rowHeight
                let address = lineAddress(s, row: row, scan: scan)
                let base = y * w
                if is256 {
                    for x in 0..<w {
                        let index = Int(vram.load(fromByteOffset: (address * 4 + x) & (4 * VGA.planeSize - 1), as: UInt8.self))
                        out[base + x] = palette256[index]
                    }
                } else if mode & VGAGC.modeShiftInterleave != 0 {
                    // CGA 4-colour: planes 0 and 1 hold consecutive host bytes, 2 bits a pixel.
                    for clock in 0..<(w / 8) {
                        let word = vram.load(fromByteOffset: ((address + clock) & mask) * 4, as: UInt32.self)
                        for p in 0..<8 {
                            let byte = p < 4 ? word & 0xFF : word >> 8 & 0xFF
                            let value = byte >> UInt32(6 - 2 * (p & 3)) & 3
                            out[base + clock * 8 + p] = palette16[Int(value & planeEnable)]
                        }
                    }
                } else {
                    for clock in 0..<(w / 8) {
                        let word = vram.load(fromByteOffset: ((address + clock) & mask) * 4, as: UInt32.self)
                        for bit in 0..<8 {
                            let b = UInt32(7 - bit)
                            let value = (word >> b & 1) | (word >> (8 + b) & 1) << 1 | (word >> (16 + b) & 1) << 2
                                | (word >> (24 + b) & 1) << 3
                            out[base + clock * 8 + bit] = palette16[Int(value & planeEnable)]
                        }
                    }
                }
            }
        }
    }

    // MARK: Bochs VBE

    static func renderVBE(_ s: VGAState, _ vram: UnsafeRawPointer, _ vramSize: Int, _ fb: inout VGAFramebuffer) {
        let vbe = s.vbe
        guard prepare(&fb, width: Int(vbe.xres), height: Int(vbe.yres), displayOn: true) else { return }
        let w = fb.width, h = fb.height
        let bpp = Int(vbe.bpp), bytes = vbe.bytesPerPixel
        let palette = bpp == 8 ? (0..<256).map { s.dacColor($0) } : []
        fb.pixels.withUnsafeMutableBufferPointer { out in
            for y in 0..<h {
                let line = vbe.displayStart + y * vbe.lineOffset
                for x in 0..<w {
                    let o = line + x * bytes
                    guard o + bytes <= vramSize else { out[y * w + x] = 0; continue }
                    let pixel: UInt32
                    switch bpp {
                    case 8:
                        pixel = palette[Int(vram.load(fromByteOffset: o, as: UInt8.self))]
                    case 15, 16:
                        let v = UInt32(vram.loadUnaligned(fromByteOffset: o, as: UInt16.self))
                        let r = bpp == 15 ? v >> 10 & 0x1F : v >> 11 & 0x1F, b = v & 0x1F
                        let g = bpp == 15 ? (v >> 5 & 0x1F) << 3 | (v >> 7 & 0x7) : (v >> 5 & 0x3F) << 2 | (v >> 9 & 0x3)
                        pixel = (r << 3 | r >> 2) << 16 | g << 8 | (b << 3 | b >> 2)
                    case 24:
                        pixel = UInt32(vram.load(fromByteOffset: o, as: UInt8.self))
                            | UInt32(vram.load(fromByteOffset: o + 1, as: UInt8.self)) << 8
                            | UInt32(vram.load(fromByteOffset: o + 2, as: UInt8.self)) << 16
                    default:
                        pixel = vram.loadUnaligned(fromByteOffset: o, as: UInt32.self) & 0x00FF_FFFF
                    }
                    out[y * w + x] = pixel
                }
            }
        }
    }
}

extension VGA {
    /// Renders the current screen. Call with the machine lock held (or from the thread that
    /// drives the device); a display on another thread renders a `snapshot()` instead.
    public func render(into fb: inout VGAFramebuffer, blinkOn: Bool = true) {
        VGARenderer.render(state: state, vram: vram, vramSize: vramSize, blinkOn: blinkOn, into: &fb)
    }
}
