/// The text of a text-mode screen, for tests and headless runs.
extension VGA {
    /// Code page 437 characters 0x80-0xFF (the VGA BIOS font), as Unicode.
    static let cp437High: [Character] = Array(
        "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀"
            + "αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{00A0}")

    /// The character for a code point of the screen: ASCII as itself, NUL as a space, the
    /// upper half as code page 437; other control codes as a middle dot.
    static func character(_ code: UInt8) -> Character {
        switch code {
        case 0: return " "
        case 0x20...0x7E: return Character(Unicode.Scalar(code))
        case 0x80...0xFF: return cp437High[Int(code) - 0x80]
        default: return "·"
        }
    }

    /// The screen's text, one string per row with trailing spaces removed, or nil when the
    /// adapter is not in a text mode. Call with the machine lock held.
    public func textBuffer() -> [String]? {
        let s = state
        guard !s.vbe.isEnabled, !s.graphicsMode else { return nil }
        let rows = max(1, VGARenderer.visibleLines(s) / s.scanLinesPerRow)
        let cols = s.displayedCharacterClocks
        var lines: [String] = []
        for row in 0..<rows {
            var line = ""
            for col in 0..<cols {
                let address = (s.startAddress + row * s.rowStride + col) & (VGA.planeSize - 1)
                line.append(VGA.character(vram.load(fromByteOffset: address * 4, as: UInt8.self)))
            }
            while line.last == " " { line.removeLast() }
            lines.append(line)
        }
        return lines
    }
}
