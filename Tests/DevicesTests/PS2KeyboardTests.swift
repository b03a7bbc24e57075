import XCTest
import MachineCore
@testable import Devices

final class PS2KeyboardTests: XCTestCase {
    var h: KBCHarness!

    override func setUp() {
        h = KBCHarness()
    }

    /// Turns translation off (the command byte Linux uses with i8042.direct=1).
    func untranslated() { h.writeCommandByte(KBC.cbKeyboardInterrupt | KBC.cbSystemFlag) }

    func selectSet(_ set: UInt8) {
        h.data(PS2.kbdScanCodeSet)
        h.data(set)
        XCTAssertEqual(h.drain(), [0xFA, 0xFA])
    }

    // MARK: Set 2 and translation

    func testNormalKey() {
        XCTAssertEqual(h.press(HID.a), [0x1E])
        XCTAssertEqual(h.release(HID.a), [0x9E], "translation folds F0 into bit 7")
        untranslated()
        XCTAssertEqual(h.press(HID.a), [0x1C])
        XCTAssertEqual(h.release(HID.a), [0xF0, 0x1C])
    }

    func testExtendedKey() {
        XCTAssertEqual(h.press(HID.right), [0xE0, 0x4D])
        XCTAssertEqual(h.release(HID.right), [0xE0, 0xCD])
        untranslated()
        XCTAssertEqual(h.press(HID.right), [0xE0, 0x74])
        XCTAssertEqual(h.release(HID.right), [0xE0, 0xF0, 0x74])
    }

    func testPause() {
        XCTAssertEqual(h.press(HID.pause), [0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5])
        XCTAssertEqual(h.release(HID.pause), [], "Pause has no break code")
        untranslated()
        XCTAssertEqual(h.press(HID.pause), [0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77])
        XCTAssertEqual(h.release(HID.pause), [])
        // Control+Pause is Break.
        XCTAssertEqual(h.press(HID.leftControl), [0x14])
        XCTAssertEqual(h.press(HID.pause), [0xE0, 0x7E, 0xE0, 0xF0, 0x7E])
    }

    func testPrintScreen() {
        XCTAssertEqual(h.press(HID.printScreen), [0xE0, 0x2A, 0xE0, 0x37])
        XCTAssertEqual(h.release(HID.printScreen), [0xE0, 0xB7, 0xE0, 0xAA])
        untranslated()
        XCTAssertEqual(h.press(HID.printScreen), [0xE0, 0x12, 0xE0, 0x7C])
        XCTAssertEqual(h.release(HID.printScreen), [0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12])
        // With Shift held there is no fake shift; with Alt it is SysRq.
        XCTAssertEqual(h.press(HID.leftShift), [0x12])
        XCTAssertEqual(h.press(HID.printScreen), [0xE0, 0x7C])
        XCTAssertEqual(h.release(HID.printScreen), [0xE0, 0xF0, 0x7C])
        XCTAssertEqual(h.release(HID.leftShift), [0xF0, 0x12])
        XCTAssertEqual(h.press(HID.leftAlt), [0x11])
        XCTAssertEqual(h.press(HID.printScreen), [0x84])
        XCTAssertEqual(h.release(HID.printScreen), [0xF0, 0x84])
    }

    /// Every key of a 104/105-key keyboard, against set 1 (what a translating controller
    /// delivers): an independent check of the set 2 table and of the translation.
    func testFullKeyboardInSet1() {
        var expected: [UInt16: [UInt8]] = [:]
        let letters: [UInt8] = [0x1E, 0x30, 0x2E, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24, 0x25, 0x26, 0x32,
                                0x31, 0x18, 0x19, 0x10, 0x13, 0x1F, 0x14, 0x16, 0x2F, 0x11, 0x2D, 0x15, 0x2C]
        for (i, code) in letters.enumerated() { expected[0x04 + UInt16(i)] = [code] }
        for i in 0..<10 { expected[0x1E + UInt16(i)] = [0x02 + UInt8(i)] } // 1-9, 0
        let misc: [(UInt16, [UInt8])] = [
            (0x28, [0x1C]), (0x29, [0x01]), (0x2A, [0x0E]), (0x2B, [0x0F]), (0x2C, [0x39]), (0x2D, [0x0C]),
            (0x2E, [0x0D]), (0x2F, [0x1A]), (0x30, [0x1B]), (0x31, [0x2B]), (0x32, [0x2B]), (0x33, [0x27]),
            (0x34, [0x28]), (0x35, [0x29]), (0x36, [0x33]), (0x37, [0x34]), (0x38, [0x35]), (0x39, [0x3A]),
            (0x44, [0x57]), (0x45, [0x58]), (0x47, [0x46]),
            (0x49, [0xE0, 0x52]), (0x4A, [0xE0, 0x47]), (0x4B, [0xE0, 0x49]), (0x4C, [0xE0, 0x53]),
            (0x4D, [0xE0, 0x4F]), (0x4E, [0xE0, 0x51]), (0x4F, [0xE0, 0x4D]), (0x50, [0xE0, 0x4B]),
            (0x51, [0xE0, 0x50]), (0x52, [0xE0, 0x48]),
            (0x53, [0x45]), (0x54, [0xE0, 0x35]), (0x55, [0x37]), (0x56, [0x4A]), (0x57, [0x4E]),
            (0x58, [0xE0, 0x1C]), (0x59, [0x4F]), (0x5A, [0x50]), (0x5B, [0x51]), (0x5C, [0x4B]),
            (0x5D, [0x4C]), (0x5E, [0x4D]), (0x5F, [0x47]), (0x60, [0x48]), (0x61, [0x49]), (0x62, [0x52]),
            (0x63, [0x53]), (0x64, [0x56]), (0x65, [0xE0, 0x5D]),
            (0xE0, [0x1D]), (0xE1, [0x2A]), (0xE2, [0x38]), (0xE3, [0xE0, 0x5B]),
            (0xE4, [0xE0, 0x1D]), (0xE5, [0x36]), (0xE6, [0xE0, 0x38]), (0xE7, [0xE0, 0x5C]),
        ]
        for (usage, codes) in misc { expected[usage] = codes }
        for i in 0..<10 { expected[0x3A + UInt16(i)] = [0x3B + UInt8(i)] } // F1-F10
        XCTAssertEqual(expected.count, 104, "all but Print Screen and Pause, with both ISO keys")
        for (usage, make) in expected.sorted(by: { $0.key < $1.key }) {
            let got = h.press(usage)
            XCTAssertEqual(got, make, "make of usage \(String(usage, radix: 16))")
            var breakCode = make
            breakCode[breakCode.count - 1] |= 0x80
            XCTAssertEqual(h.release(usage), breakCode, "break of usage \(String(usage, radix: 16))")
        }
    }

    func testUnknownUsageSendsNothing() {
        XCTAssertFalse(h.keyboard.hidKey(usage: 0x01, pressed: true))
        XCTAssertFalse(h.keyboard.hidKey(usage: 0xFFFF, pressed: true))
        XCTAssertEqual(h.drain(), [])
    }

    // MARK: Other sets

    func testSet1FromTheKeyboard() {
        untranslated()
        selectSet(1)
        XCTAssertEqual(h.press(HID.a), [0x1E])
        XCTAssertEqual(h.release(HID.a), [0x9E])
        XCTAssertEqual(h.press(HID.up), [0xE0, 0x48])
        XCTAssertEqual(h.release(HID.up), [0xE0, 0xC8])
    }

    func testSet3() {
        untranslated()
        selectSet(3)
        h.data(PS2.kbdScanCodeSet)
        h.data(0)
        XCTAssertEqual(h.drain(), [0xFA, 0xFA, 0x03])
        XCTAssertEqual(h.press(HID.escape), [0x08])
        XCTAssertEqual(h.release(HID.escape), [0xF0, 0x08])
        XCTAssertEqual(h.press(HID.up), [0x63], "no E0 prefixes in set 3")
        XCTAssertEqual(h.release(HID.up), [0xF0, 0x63])
        XCTAssertEqual(h.press(HID.pause), [0x62])
        XCTAssertEqual(h.release(HID.pause), [0xF0, 0x62])
        // Make-only for every key, then make/break again for Escape alone.
        for byte in [PS2.kbdSetAllMake, PS2.kbdSetKeyMakeBreak, 0x08, PS2.kbdEnable] {
            h.data(byte)
            XCTAssertEqual(h.drain(), [0xFA])
        }
        XCTAssertEqual(h.press(HID.a), [0x1C])
        XCTAssertEqual(h.release(HID.a), [])
        XCTAssertEqual(h.press(HID.escape), [0x08])
        XCTAssertEqual(h.release(HID.escape), [0xF0, 0x08])
    }

    // MARK: Typematic

    func testTypematicRepeatAfterDelayAndStopOnRelease() {
        XCTAssertEqual(h.press(HID.a), [0x1E])
        // Default 0x2B: 500 ms delay, then every (8 + 3) × 2 / 240 s ≈ 91.7 ms.
        h.time.advance(by: 499_000_000)
        XCTAssertEqual(h.drain(), [])
        h.time.advance(by: 1_000_000)
        XCTAssertEqual(h.drain(), [0x1E])
        h.time.advance(by: 91_000_000)
        XCTAssertEqual(h.drain(), [])
        h.time.advance(by: 1_000_000)
        XCTAssertEqual(h.drain(), [0x1E])
        h.time.advance(by: 5 * 91_666_667, step: 1_000_000)
        XCTAssertEqual(h.drain(), [0x1E, 0x1E, 0x1E, 0x1E, 0x1E])
        XCTAssertEqual(h.release(HID.a), [0x9E])
        h.time.advance(by: 2_000_000_000)
        XCTAssertEqual(h.drain(), [])
        XCTAssertNil(h.time.timers.nextDeadline)
    }

    func testTypematicRateFromF3AndLastKeyRepeats() {
        h.data(PS2.kbdSetTypematic)
        h.data(0x00) // 250 ms, 30 cps
        XCTAssertEqual(h.drain(), [0xFA, 0xFA])
        XCTAssertEqual(h.keyboard.typematicDelayNanoseconds, 250_000_000)
        XCTAssertEqual(h.keyboard.typematicPeriodNanoseconds, 33_333_333)
        XCTAssertEqual(h.press(HID.a), [0x1E])
        XCTAssertEqual(h.press(HID.right), [0xE0, 0x4D])
        h.time.advance(by: 250_000_000)
        XCTAssertEqual(h.drain(), [0xE0, 0x4D], "only the last key pressed repeats")
        h.time.advance(by: 33_333_333)
        XCTAssertEqual(h.drain(), [0xE0, 0x4D])
        // Releasing the other key does not stop it.
        XCTAssertEqual(h.release(HID.a), [0x9E])
        h.time.advance(by: 33_333_333)
        XCTAssertEqual(h.drain(), [0xE0, 0x4D])
        XCTAssertEqual(h.release(HID.right), [0xE0, 0xCD])
        h.time.advance(by: 1_000_000_000)
        XCTAssertEqual(h.drain(), [])
    }

    func testSlowestTypematic() {
        h.data(PS2.kbdSetTypematic)
        h.data(0x7F) // 1 s, 2 cps
        _ = h.drain()
        XCTAssertEqual(h.keyboard.typematicDelayNanoseconds, 1_000_000_000)
        XCTAssertEqual(h.keyboard.typematicPeriodNanoseconds, 500_000_000)
    }

    func testPauseDoesNotRepeat() {
        _ = h.press(HID.pause)
        h.time.advance(by: 2_000_000_000)
        XCTAssertEqual(h.drain(), [])
    }

    func testHostRepeatWithoutTimers() {
        let plain = KBCHarness(typematic: false)
        XCTAssertEqual(plain.press(HID.a), [0x1E])
        XCTAssertEqual(plain.press(HID.a), [0x1E], "the host's auto-repeat is passed through")
        XCTAssertEqual(plain.release(HID.a), [0x9E])
        // With a timer queue the keyboard repeats by itself and ignores the host's.
        XCTAssertEqual(h.press(HID.a), [0x1E])
        XCTAssertEqual(h.press(HID.a), [])
    }

    // MARK: Commands

    func testSetLEDs() {
        var leds: [UInt8] = []
        h.keyboard.onLEDChange = { leds.append($0) }
        h.data(PS2.kbdSetLEDs)
        XCTAssertEqual(h.drain(), [0xFA])
        h.data(0x05)
        XCTAssertEqual(h.drain(), [0xFA])
        XCTAssertEqual(leds, [0x05])
        XCTAssertEqual(h.keyboard.leds, 0x05)
        // A command in place of the parameter is taken as that command.
        h.data(PS2.kbdSetLEDs)
        h.data(PS2.kbdEcho)
        XCTAssertEqual(h.drain(), [0xFA, 0xEE])
        XCTAssertEqual(h.keyboard.leds, 0x05)
        // Reset turns them off.
        h.data(PS2.cmdReset)
        XCTAssertEqual(h.drain(), [0xFA, 0xAA])
        XCTAssertEqual(leds, [0x05, 0x00])
    }

    func testResendRepeatsLastByte() {
        h.data(PS2.kbdIdentify)
        XCTAssertEqual(h.drain(), [0xFA, 0xAB, 0x41])
        h.data(PS2.cmdResend)
        XCTAssertEqual(h.drain(), [0x41])
    }

    func testEnableClearsBufferAndDefaultsRestoreSet2() {
        untranslated()
        selectSet(3)
        h.command(KBC.cmdDisableKeyboard)
        h.keyboard.hidKey(usage: HID.a, pressed: true)
        h.data(PS2.kbdSetDefault)
        XCTAssertEqual(h.drain(), [0x1C, 0xFA], "set default keeps the buffer")
        XCTAssertEqual(h.keyboard.scanCodeSet, 2)
        h.command(KBC.cmdDisableKeyboard)
        h.keyboard.hidKey(usage: HID.a, pressed: false)
        h.data(PS2.kbdEnable)
        XCTAssertEqual(h.drain(), [0xFA], "enable clears the buffer")
    }
}
