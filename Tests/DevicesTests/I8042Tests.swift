import XCTest
import MachineCore
@testable import Devices

final class I8042Tests: XCTestCase {
    var h: KBCHarness!
    var kbc: I8042 { h.kbc }
    var a20Changes: [Bool] = []

    override func setUp() {
        h = KBCHarness()
        a20Changes = []
        kbc.onA20Change = { [unowned self] in self.a20Changes.append($0) }
    }

    func command(_ c: UInt8) { h.command(c) }
    func data(_ d: UInt8) { h.data(d) }
    func status() -> UInt8 { h.status() }
    func drain() -> [UInt8] { h.drain() }

    func testSelfTestThroughBus() throws {
        let bus = PortIOBus()
        try kbc.attach(to: bus)
        bus.write(port: 0x64, size: 1, value: 0xAA)
        XCTAssertEqual(bus.read(port: 0x64, size: 1) & UInt32(KBC.statusOBF | KBC.statusCommand | KBC.statusSYS),
                       UInt32(KBC.statusOBF | KBC.statusCommand | KBC.statusSYS))
        XCTAssertEqual(bus.read(port: 0x60, size: 1), 0x55)
        XCTAssertEqual(bus.read(port: 0x64, size: 1) & UInt32(KBC.statusOBF), 0)
        XCTAssertEqual(bus.claimInfo(at: 0x64)?.name, "i8042")
        XCTAssertNil(bus.claimInfo(at: 0x61), "0x61 belongs to port B")
    }

    func testStatusBits() {
        XCTAssertEqual(status(), KBC.statusUnlocked | KBC.statusSYS)
        command(KBC.cmdReadCommandByte)
        XCTAssertEqual(status() & (KBC.statusOBF | KBC.statusCommand), KBC.statusOBF | KBC.statusCommand)
        _ = h.read()
        data(PS2.kbdEcho)
        XCTAssertEqual(status() & KBC.statusCommand, 0, "last write was data")
        XCTAssertEqual(status() & KBC.statusIBF, 0)
    }

    func testEmptyBufferRereadsLastByte() {
        command(KBC.cmdSelfTest)
        XCTAssertEqual(h.read(), 0x55)
        XCTAssertEqual(h.read(), 0x55)
        XCTAssertEqual(status() & KBC.statusOBF, 0)
    }

    func testCommandByteReadWrite() {
        command(KBC.cmdReadCommandByte)
        XCTAssertEqual(drain(), [0x45])
        command(KBC.cmdWriteCommandByte)
        data(0x00)
        XCTAssertEqual(kbc.commandByte, 0x00)
        XCTAssertEqual(status() & KBC.statusSYS, 0, "SYS follows the command byte")
        command(KBC.cmdReadCommandByte)
        XCTAssertEqual(drain(), [0x00])
        // Other controller RAM bytes.
        command(0x65)
        data(0x99)
        command(0x25)
        XCTAssertEqual(drain(), [0x99])
    }

    func testInterfaceTestsAndPassword() {
        command(KBC.cmdTestKeyboardPort)
        command(KBC.cmdTestMousePort)
        command(KBC.cmdPasswordInstalled)
        XCTAssertEqual(drain(), [0x00, 0x00, 0xF1], "both ports have a device; no password")
    }

    func testRepliesQueueInOrder() {
        command(KBC.cmdTestKeyboardPort)
        command(KBC.cmdSelfTest)
        XCTAssertEqual(drain(), [0x00, 0x55])
    }

    func testDisabledKeyboardPortHoldsData() {
        command(KBC.cmdDisableKeyboard)
        XCTAssertNotEqual(kbc.commandByte & KBC.cbKeyboardDisabled, 0)
        h.keyboard.hidKey(usage: HID.a, pressed: true)
        h.keyboard.hidKey(usage: HID.a, pressed: false)
        XCTAssertEqual(drain(), [], "nothing reaches the buffer while the port is disabled")
        XCTAssertFalse(h.keyboardIRQ.level)
        command(KBC.cmdEnableKeyboard)
        XCTAssertEqual(drain(), [0x1E, 0x9E], "the keyboard kept the key for later")
        command(KBC.cmdDisableMouse)
        XCTAssertNotEqual(kbc.commandByte & KBC.cbMouseDisabled, 0)
        command(KBC.cmdEnableMouse)
        XCTAssertEqual(kbc.commandByte & KBC.cbMouseDisabled, 0)
    }

    func testCommandByteBit4DisablesKeyboardPort() {
        h.writeCommandByte(KBC.cbTranslate | KBC.cbKeyboardInterrupt | KBC.cbKeyboardDisabled)
        h.keyboard.hidKey(usage: HID.q, pressed: true)
        XCTAssertEqual(status() & KBC.statusOBF, 0)
        h.writeCommandByte(KBC.cbTranslate | KBC.cbKeyboardInterrupt)
        XCTAssertTrue(h.keyboardIRQ.level)
        XCTAssertEqual(drain(), [0x10])
    }

    func testKeyboardIRQPerByte() {
        h.keyboard.hidKey(usage: HID.up, pressed: true)
        XCTAssertTrue(h.keyboardIRQ.level)
        XCTAssertEqual(h.keyboardIRQ.risingEdges, 1)
        XCTAssertEqual(h.read(), 0xE0)
        XCTAssertEqual(h.keyboardIRQ.risingEdges, 2, "the next byte is a new edge")
        XCTAssertEqual(h.read(), 0x48)
        XCTAssertFalse(h.keyboardIRQ.level)
        XCTAssertFalse(h.mouseIRQ.level, "keyboard bytes never raise IRQ12")
    }

    func testIRQ1NeedsCommandByteBit0() {
        h.writeCommandByte(KBC.cbTranslate)
        h.keyboard.hidKey(usage: HID.escape, pressed: true)
        XCTAssertFalse(h.keyboardIRQ.level)
        XCTAssertEqual(status() & KBC.statusOBF, KBC.statusOBF)
        h.writeCommandByte(KBC.cbTranslate | KBC.cbKeyboardInterrupt)
        XCTAssertTrue(h.keyboardIRQ.level)
        XCTAssertEqual(drain(), [0x01])
    }

    func testOutputPortA20AndReset() {
        command(KBC.cmdReadOutputPort)
        XCTAssertEqual(drain(), [0xCF])
        XCTAssertTrue(kbc.a20Enabled)
        command(KBC.cmdWriteOutputPort)
        data(0xCD) // A20 off, reset line high
        XCTAssertEqual(a20Changes, [false])
        XCTAssertNil(h.control.stopReason)
        command(KBC.cmdWriteOutputPort)
        data(0xCF)
        XCTAssertEqual(a20Changes, [false, true])
        command(KBC.cmdWriteOutputPort)
        data(0xCE) // reset line low
        XCTAssertEqual(h.control.stopReason, .reset)
    }

    func testOutputPortShowsOBF() {
        h.keyboard.hidKey(usage: HID.q, pressed: true)
        command(KBC.cmdReadOutputPort)
        XCTAssertEqual(h.read(), 0x10)
        // The reply was taken while the key byte filled the buffer.
        XCTAssertEqual(h.read() & (KBC.outKeyboardOBF | KBC.outAuxOBF), KBC.outKeyboardOBF)
        command(KBC.cmdReadOutputPort)
        XCTAssertEqual(h.read() & KBC.outKeyboardOBF, 0)
    }

    func testA20Commands() {
        command(KBC.cmdDisableA20)
        XCTAssertFalse(kbc.a20Enabled)
        command(KBC.cmdEnableA20)
        XCTAssertTrue(kbc.a20Enabled)
        XCTAssertEqual(a20Changes, [false, true])
    }

    func testPulseReset() {
        command(0xFF) // pulse nothing
        XCTAssertNil(h.control.stopReason)
        command(KBC.cmdPulseReset)
        XCTAssertEqual(h.control.stopReason, .reset)
    }

    func testKeyboardResetEchoIdentify() {
        data(PS2.cmdReset)
        XCTAssertEqual(drain(), [0xFA, 0xAA])
        data(PS2.kbdEcho)
        XCTAssertEqual(drain(), [0xEE])
        data(PS2.kbdIdentify)
        XCTAssertEqual(drain(), [0xFA, 0xAB, 0x41], "0x83 comes through translation as 0x41")
        h.writeCommandByte(KBC.cbKeyboardInterrupt)
        data(PS2.kbdIdentify)
        XCTAssertEqual(drain(), [0xFA, 0xAB, 0x83])
    }

    func testWriteToKeyboardReenablesItsPort() {
        command(KBC.cmdDisableKeyboard)
        data(PS2.kbdEcho)
        XCTAssertEqual(kbc.commandByte & KBC.cbKeyboardDisabled, 0)
        XCTAssertEqual(drain(), [0xEE])
    }

    func testScanCodeSetQueryIsTranslated() {
        data(PS2.kbdScanCodeSet)
        data(0x00)
        XCTAssertEqual(drain(), [0xFA, 0xFA, 0x41], "set 2, translated")
        data(PS2.kbdScanCodeSet)
        data(0x01)
        XCTAssertEqual(drain(), [0xFA, 0xFA])
        XCTAssertEqual(h.keyboard.scanCodeSet, 1)
        data(PS2.kbdScanCodeSet)
        data(0x00)
        XCTAssertEqual(drain(), [0xFA, 0xFA, 0x43], "set 1 through translation")
        data(PS2.kbdScanCodeSet)
        data(0x07)
        XCTAssertEqual(drain(), [0xFA, 0xFE])
    }

    func testEnableDisableScanning() {
        data(PS2.kbdDefaultDisable)
        XCTAssertEqual(drain(), [0xFA])
        XCTAssertEqual(h.press(HID.a), [])
        XCTAssertEqual(h.release(HID.a), [])
        data(PS2.kbdEnable)
        XCTAssertEqual(drain(), [0xFA])
        XCTAssertEqual(h.press(HID.a), [0x1E])
    }

    func testUnknownKeyboardCommandGetsResend() {
        data(0xE8)
        XCTAssertEqual(drain(), [0xFE])
    }

    func testKeyboardBufferOverrun() {
        command(KBC.cmdDisableKeyboard)
        for _ in 0..<10 {
            h.keyboard.hidKey(usage: HID.a, pressed: true)
            h.keyboard.hidKey(usage: HID.a, pressed: false)
        }
        // Five whole press/release pairs (15 bytes of set 2), then the overrun code in the
        // last slot; later events are lost.
        XCTAssertEqual(h.keyboard.output, Array(repeating: [0x1C, 0xF0, 0x1C], count: 5).flatMap { $0 } + [0x00])
        command(KBC.cmdEnableKeyboard)
        // Set 2 overrun (0x00) arrives translated as 0xFF.
        XCTAssertEqual(drain(), Array(repeating: [0x1E, 0x9E], count: 5).flatMap { $0 } + [0xFF])
    }

    func testWriteBufferCommands() {
        command(KBC.cmdWriteKeyboardBuffer)
        data(0x42)
        let kbd = h.drainTagged()
        XCTAssertEqual(kbd.map(\.byte), [0x42])
        XCTAssertEqual(kbd.map(\.aux), [false])
        h.writeCommandByte(KBC.cbMouseInterrupt)
        command(KBC.cmdWriteMouseBuffer)
        data(0x5A)
        XCTAssertTrue(h.mouseIRQ.level, "loopback bytes look like mouse data")
        XCTAssertFalse(h.keyboardIRQ.level)
        let aux = h.drainTagged()
        XCTAssertEqual(aux.map(\.byte), [0x5A])
        XCTAssertEqual(aux.map(\.aux), [true])
        XCTAssertFalse(h.mouseIRQ.level)
    }

    func testReset() {
        command(KBC.cmdDisableA20)
        h.keyboard.hidKey(usage: HID.a, pressed: true)
        h.mouseData(PS2.mouseEnable)
        kbc.reset()
        XCTAssertTrue(kbc.a20Enabled)
        XCTAssertEqual(drain(), [])
        XCTAssertEqual(kbc.commandByte, 0x45)
        XCTAssertFalse(h.mouse.reportingEnabled)
        XCTAssertFalse(h.keyboardIRQ.level)
    }

    // MARK: Guest driver sequences

    /// SeaBIOS's ps2port.c keyboard and mouse initialisation, byte by byte: every keyboard
    /// command is bracketed by command-byte writes that disable the interrupts and enable only
    /// the port being talked to.
    func testSeaBIOSInitSequence() {
        XCTAssertEqual(drain(), [], "i8042_flush finds nothing")
        command(KBC.cmdSelfTest)
        XCTAssertEqual(drain(), [0x55])
        command(KBC.cmdTestKeyboardPort)
        XCTAssertEqual(drain(), [0x00])

        // __ps2_command(kbd): CTR with both ports disabled and no interrupts, flush, then the
        // keyboard port enabled.
        func kbdCommand(_ bytes: [UInt8], expect: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
            h.writeCommandByte(KBC.cbKeyboardDisabled | KBC.cbMouseDisabled)
            XCTAssertEqual(drain(), [], file: file, line: line)
            h.writeCommandByte(KBC.cbMouseDisabled)
            var got: [UInt8] = []
            for b in bytes {
                data(b)
                got += h.drainTagged().map { (b: (byte: UInt8, aux: Bool)) -> UInt8 in
                    XCTAssertFalse(b.aux, "keyboard replies are not aux data", file: file, line: line)
                    return b.byte
                }
            }
            XCTAssertEqual(got, expect, file: file, line: line)
            XCTAssertFalse(h.keyboardIRQ.level, "interrupts are off during the command", file: file, line: line)
        }
        kbdCommand([PS2.cmdReset], expect: [0xFA, 0xAA])
        kbdCommand([PS2.kbdDefaultDisable], expect: [0xFA])
        kbdCommand([PS2.kbdScanCodeSet, 0x02], expect: [0xFA, 0xFA])
        kbdCommand([PS2.kbdEnable], expect: [0xFA])
        // The keyboard's run-time command byte: mouse off, translation, IRQ1.
        h.writeCommandByte(KBC.cbMouseDisabled | KBC.cbTranslate | KBC.cbKeyboardInterrupt)

        // The mouse (ps2_mouse_command, then the INT 15h C2 handler enabling it).
        h.writeCommandByte(KBC.cbKeyboardDisabled | KBC.cbMouseDisabled | KBC.cbTranslate)
        h.writeCommandByte(KBC.cbKeyboardDisabled | KBC.cbTranslate)
        h.mouseData(PS2.cmdReset)
        let reset = h.drainTagged()
        XCTAssertEqual(reset.map(\.byte), [0xFA, 0xAA, 0x00])
        XCTAssertEqual(reset.map(\.aux), [true, true, true])

        // Back to run time: a key press interrupts and reads as set 1.
        h.writeCommandByte(KBC.cbMouseDisabled | KBC.cbTranslate | KBC.cbKeyboardInterrupt | KBC.cbSystemFlag)
        h.keyboard.hidKey(usage: HID.a, pressed: true)
        XCTAssertTrue(h.keyboardIRQ.level)
        XCTAssertEqual(status() & (KBC.statusOBF | KBC.statusAuxOBF), KBC.statusOBF)
        XCTAssertEqual(h.read(), 0x1E)
        XCTAssertFalse(h.keyboardIRQ.level)
    }

    /// Linux's i8042 probe (controller self test, command byte, aux loopback and IRQ12 test),
    /// then atkbd's and psmouse's first commands.
    func testLinuxProbeSequence() {
        // i8042_controller_check / selftest.
        XCTAssertEqual(drain(), [])
        command(KBC.cmdSelfTest)
        XCTAssertEqual(drain(), [0x55])
        // i8042_controller_init: read the CTR twice, disable the keyboard port and IRQ1.
        var ctr = h.readCommandByte()
        XCTAssertEqual(ctr, h.readCommandByte())
        ctr |= KBC.cbKeyboardDisabled
        ctr &= ~KBC.cbKeyboardInterrupt
        h.writeCommandByte(ctr)
        XCTAssertEqual(h.readCommandByte(), ctr)

        // i8042_check_aux: loopback, then the CTR bit 5 toggle test.
        command(KBC.cmdWriteMouseBuffer)
        data(0x5A)
        XCTAssertEqual(status() & KBC.statusAuxOBF, KBC.statusAuxOBF)
        XCTAssertEqual(h.read(), 0x5A)
        command(KBC.cmdDisableMouse)
        XCTAssertNotEqual(h.readCommandByte() & KBC.cbMouseDisabled, 0)
        command(KBC.cmdEnableMouse)
        XCTAssertEqual(h.readCommandByte() & KBC.cbMouseDisabled, 0)
        // The IRQ delivery test: enable the aux port and IRQ12, loop 0xA5 back.
        ctr = h.readCommandByte()
        h.writeCommandByte((ctr & ~KBC.cbMouseDisabled) | KBC.cbMouseInterrupt)
        let edges = h.mouseIRQ.risingEdges
        command(KBC.cmdWriteMouseBuffer)
        data(0xA5)
        XCTAssertEqual(h.mouseIRQ.risingEdges, edges + 1)
        XCTAssertEqual(h.read(), 0xA5)
        XCTAssertFalse(h.mouseIRQ.level)

        // The keyboard port is enabled for atkbd with IRQ1.
        ctr = h.readCommandByte()
        h.writeCommandByte((ctr & ~KBC.cbKeyboardDisabled) | KBC.cbKeyboardInterrupt)
        XCTAssertEqual(h.readCommandByte() & KBC.cbTranslate, KBC.cbTranslate)
        // atkbd_probe: GET ID through translation, then deactivate.
        data(PS2.kbdIdentify)
        XCTAssertTrue(h.keyboardIRQ.level)
        XCTAssertEqual(drain(), [0xFA, 0xAB, 0x41])
        data(PS2.kbdDefaultDisable)
        XCTAssertEqual(drain(), [0xFA])
        // atkbd_activate: LEDs off, typematic, enable.
        for byte in [PS2.kbdSetLEDs, 0x00, PS2.kbdSetTypematic, 0x00, PS2.kbdEnable] {
            data(byte)
            XCTAssertEqual(drain(), [0xFA], "each byte acknowledged before the next is sent")
        }
        XCTAssertEqual(h.keyboard.typematic, 0x00)

        // psmouse: GET ID, reset, the IntelliMouse knock, GET ID, enable.
        h.mouseData(PS2.mouseGetID)
        XCTAssertEqual(drain(), [0xFA, 0x00])
        h.mouseData(PS2.cmdReset)
        XCTAssertEqual(drain(), [0xFA, 0xAA, 0x00])
        for rate: UInt8 in [200, 100, 80] {
            h.mouseData(PS2.mouseSetSampleRate)
            XCTAssertEqual(drain(), [0xFA])
            h.mouseData(rate)
            XCTAssertEqual(drain(), [0xFA])
        }
        h.mouseData(PS2.mouseGetID)
        XCTAssertEqual(drain(), [0xFA, 0x03])
        h.mouseData(PS2.mouseEnable)
        XCTAssertEqual(drain(), [0xFA])
        h.mouse.move(dx: 2, dy: 0, dz: 1, buttons: 0)
        XCTAssertTrue(h.mouseIRQ.level)
        XCTAssertFalse(h.keyboardIRQ.level)
        XCTAssertEqual(drain(), [0x08, 0x02, 0x00, 0x01])
    }
}
