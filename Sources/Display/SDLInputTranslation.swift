import CSDL2

/// SDL events in the terms of `DisplayInputSink`.
enum SDLInputTranslation {
    /// SDL scancodes are the USB HID keyboard-page usage IDs (SDL_scancode.h says so), from
    /// 0x04 (A) to 0xE7 (right GUI); others (SDL's own media keys above 0xE7) have no usage.
    static func usage(scancode: UInt32) -> UInt16? {
        (0x04...0xE7).contains(scancode) ? UInt16(scancode) : nil
    }

    /// SDL's button mask (left 1, middle 2, right 4) to the PS/2 order (left 1, right 2, middle 4).
    static func ps2Buttons(sdlState: UInt32) -> UInt8 {
        var b: UInt8 = 0
        if sdlState & 1 != 0 { b |= 1 }
        if sdlState & 4 != 0 { b |= 2 }
        if sdlState & 2 != 0 { b |= 4 }
        return b
    }
}
