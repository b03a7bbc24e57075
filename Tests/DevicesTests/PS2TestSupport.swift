import XCTest
import MachineCore
@testable import Devices

/// An i8042 with its keyboard, mouse and both IRQ lines recorded, driven the way a guest
/// driver drives it: through ports 0x60 and 0x64.
final class KBCHarness {
    let keyboardIRQ = IRQRecorder()
    let mouseIRQ = IRQRecorder()
    let control = MachineControl()
    let time = VirtualTime()
    let kbc: I8042

    init(typematic: Bool = true) {
        kbc = I8042(keyboardIRQ: keyboardIRQ.line(1), mouseIRQ: mouseIRQ.line(12), control: control,
                    timers: typematic ? time.timers : nil)
    }

    var keyboard: PS2Keyboard { kbc.keyboard }
    var mouse: PS2Mouse { kbc.mouse }

    func command(_ c: UInt8) { kbc.write8(KBC.commandOffset, c) }
    func data(_ d: UInt8) { kbc.write8(KBC.dataOffset, d) }
    func status() -> UInt8 { kbc.read8(KBC.commandOffset) }
    func read() -> UInt8 { kbc.read8(KBC.dataOffset) }

    /// Writes the command byte (0x60 then the value).
    func writeCommandByte(_ value: UInt8) {
        command(KBC.cmdWriteCommandByte)
        data(value)
    }

    /// Reads the command byte (0x20).
    func readCommandByte() -> UInt8 {
        command(KBC.cmdReadCommandByte)
        return read()
    }

    /// Sends a byte to the mouse (0xD4 then the byte).
    func mouseData(_ d: UInt8) {
        command(KBC.cmdWriteToMouse)
        data(d)
    }

    /// Everything in the output buffer, in order.
    func drain() -> [UInt8] {
        var out: [UInt8] = []
        while status() & KBC.statusOBF != 0 && out.count < 256 { out.append(read()) }
        return out
    }

    /// Everything in the output buffer, each byte with the status bit telling whether it came
    /// from the auxiliary port.
    func drainTagged() -> [(byte: UInt8, aux: Bool)] {
        var out: [(UInt8, Bool)] = []
        while case let s = status(), s & KBC.statusOBF != 0, out.count < 256 {
            out.append((read(), s & KBC.statusAuxOBF != 0))
        }
        return out
    }

    /// Presses and releases, returning what the guest reads for each.
    func press(_ usage: UInt16) -> [UInt8] {
        keyboard.hidKey(usage: usage, pressed: true)
        return drain()
    }

    func release(_ usage: UInt16) -> [UInt8] {
        keyboard.hidKey(usage: usage, pressed: false)
        return drain()
    }
}

/// HID usages used by the tests (HID Usage Tables §10).
enum HID {
    static let a: UInt16 = 0x04
    static let q: UInt16 = 0x14
    static let escape: UInt16 = 0x29
    static let printScreen: UInt16 = 0x46
    static let pause: UInt16 = 0x48
    static let right: UInt16 = 0x4F
    static let up: UInt16 = 0x52
    static let leftControl: UInt16 = 0xE0
    static let leftShift: UInt16 = 0xE1
    static let leftAlt: UInt16 = 0xE2
}
