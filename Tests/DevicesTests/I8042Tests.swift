import XCTest
import MachineCore
@testable import Devices

final class I8042Tests: XCTestCase {
    var recorder: IRQRecorder!
    var control: MachineControl!
    var kbc: I8042!
    var a20Changes: [Bool] = []

    override func setUp() {
        recorder = IRQRecorder()
        control = MachineControl()
        kbc = I8042(keyboardIRQ: recorder.line(1), control: control)
        a20Changes = []
        kbc.onA20Change = { [unowned self] in self.a20Changes.append($0) }
    }

    func command(_ c: UInt8) { kbc.write8(KBC.commandOffset, c) }
    func data(_ d: UInt8) { kbc.write8(KBC.dataOffset, d) }
    func status() -> UInt8 { kbc.read8(KBC.commandOffset) }

    /// Everything in the output buffer, in order.
    func drain() -> [UInt8] {
        var out: [UInt8] = []
        while status() & KBC.statusOBF != 0 { out.append(kbc.read8(KBC.dataOffset)) }
        return out
    }

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
        _ = kbc.read8(KBC.dataOffset)
        data(KBC.kbdEcho)
        XCTAssertEqual(status() & KBC.statusCommand, 0, "last write was data")
        XCTAssertEqual(status() & KBC.statusIBF, 0)
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

    func testInterfaceTests() {
        command(KBC.cmdTestKeyboardPort)
        command(KBC.cmdTestMousePort)
        XCTAssertEqual(drain(), [0x00, KBC.interfaceClockStuckHigh], "no mouse behind the aux port yet")
    }

    func testRepliesQueueInOrder() {
        command(KBC.cmdTestKeyboardPort)
        command(KBC.cmdSelfTest)
        XCTAssertEqual(drain(), [0x00, 0x55])
    }

    func testDisableEnableKeyboard() {
        command(KBC.cmdDisableKeyboard)
        XCTAssertNotEqual(kbc.commandByte & KBC.cbKeyboardDisabled, 0)
        kbc.keyPressed(scanCodeSet1: [0x1E])
        XCTAssertEqual(drain(), [], "keys are not delivered while disabled")
        command(KBC.cmdEnableKeyboard)
        kbc.keyPressed(scanCodeSet1: [0x1E, 0x9E])
        XCTAssertEqual(drain(), [0x1E, 0x9E])
        command(KBC.cmdDisableMouse)
        XCTAssertNotEqual(kbc.commandByte & KBC.cbMouseDisabled, 0)
        command(KBC.cmdEnableMouse)
        XCTAssertEqual(kbc.commandByte & KBC.cbMouseDisabled, 0)
    }

    func testKeyboardIRQPerByte() {
        kbc.keyPressed(scanCodeSet1: [0xE0, 0x48])
        XCTAssertTrue(recorder.level)
        XCTAssertEqual(recorder.risingEdges, 1)
        XCTAssertEqual(kbc.read8(KBC.dataOffset), 0xE0)
        XCTAssertEqual(recorder.risingEdges, 2, "the next byte is a new edge")
        XCTAssertEqual(kbc.read8(KBC.dataOffset), 0x48)
        XCTAssertFalse(recorder.level)
    }

    func testIRQ1NeedsCommandByteBit0() {
        command(KBC.cmdWriteCommandByte)
        data(KBC.cbTranslate)
        kbc.keyPressed(scanCodeSet1: [0x1C])
        XCTAssertFalse(recorder.level)
        XCTAssertEqual(status() & KBC.statusOBF, KBC.statusOBF)
        command(KBC.cmdWriteCommandByte)
        data(KBC.cbTranslate | KBC.cbKeyboardInterrupt)
        XCTAssertTrue(recorder.level)
    }

    func testOutputPortA20AndReset() {
        command(KBC.cmdReadOutputPort)
        XCTAssertEqual(drain(), [0xCF])
        XCTAssertTrue(kbc.a20Enabled)
        command(KBC.cmdWriteOutputPort)
        data(0xCD) // A20 off, reset line high
        XCTAssertEqual(a20Changes, [false])
        XCTAssertNil(control.stopReason)
        command(KBC.cmdWriteOutputPort)
        data(0xCF)
        XCTAssertEqual(a20Changes, [false, true])
        command(KBC.cmdWriteOutputPort)
        data(0xCE) // reset line low
        XCTAssertEqual(control.stopReason, .reset)
    }

    func testOutputPortShowsOBF() {
        kbc.keyPressed(scanCodeSet1: [0x10])
        command(KBC.cmdReadOutputPort)
        XCTAssertEqual(kbc.read8(KBC.dataOffset), 0x10)
        // The reply was taken while the key byte filled the buffer.
        XCTAssertEqual(kbc.read8(KBC.dataOffset) & (KBC.outKeyboardOBF | KBC.outAuxOBF), KBC.outKeyboardOBF)
        command(KBC.cmdReadOutputPort)
        XCTAssertEqual(kbc.read8(KBC.dataOffset) & KBC.outKeyboardOBF, 0)
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
        XCTAssertNil(control.stopReason)
        command(KBC.cmdPulseReset)
        XCTAssertEqual(control.stopReason, .reset)
    }

    func testKeyboardResetEchoIdentify() {
        data(KBC.kbdReset)
        XCTAssertEqual(drain(), [0xFA, 0xAA])
        data(KBC.kbdEcho)
        XCTAssertEqual(drain(), [0xEE])
        data(KBC.kbdIdentify)
        XCTAssertEqual(drain(), [0xFA, 0xAB, 0x41], "translated ID")
        command(KBC.cmdWriteCommandByte)
        data(KBC.cbKeyboardInterrupt)
        data(KBC.kbdIdentify)
        XCTAssertEqual(drain(), [0xFA, 0xAB, 0x83])
    }

    func testSetLEDs() {
        var leds: [UInt8] = []
        kbc.onLEDChange = { leds.append($0) }
        data(KBC.kbdSetLEDs)
        XCTAssertEqual(drain(), [0xFA])
        data(0x05)
        XCTAssertEqual(drain(), [0xFA])
        XCTAssertEqual(leds, [0x05])
        XCTAssertEqual(kbc.leds, 0x05)
    }

    func testScanCodeSet() {
        data(KBC.kbdScanCodeSet)
        data(0x00)
        XCTAssertEqual(drain(), [0xFA, 0xFA, 0x41], "set 2, translated")
        data(KBC.kbdScanCodeSet)
        data(0x01)
        XCTAssertEqual(drain(), [0xFA, 0xFA])
        XCTAssertEqual(kbc.scanCodeSet, 1)
        data(KBC.kbdScanCodeSet)
        data(0x07)
        XCTAssertEqual(drain(), [0xFA, 0xFE])
    }

    func testEnableDisableScanning() {
        data(KBC.kbdDisableScanning)
        XCTAssertEqual(drain(), [0xFA])
        kbc.keyPressed(scanCodeSet1: [0x1E])
        XCTAssertEqual(drain(), [])
        data(KBC.kbdEnableScanning)
        XCTAssertEqual(drain(), [0xFA])
        kbc.keyPressed(scanCodeSet1: [0x1E])
        XCTAssertEqual(drain(), [0x1E])
    }

    func testUnknownKeyboardCommandGetsResend() {
        data(0xE8)
        XCTAssertEqual(drain(), [0xFE])
    }

    func testKeyboardQueueLimit() {
        for _ in 0..<20 { kbc.keyPressed(scanCodeSet1: [0x1E]) }
        XCTAssertEqual(drain().count, KBC.queueDepth)
    }

    func testWriteKeyboardBufferCommand() {
        command(KBC.cmdWriteKeyboardBuffer)
        data(0x42)
        XCTAssertEqual(drain(), [0x42])
        // The mouse port has no device: its data bytes vanish instead of reaching the keyboard.
        command(KBC.cmdWriteToMouse)
        data(0xFF)
        XCTAssertEqual(drain(), [])
    }

    func testReset() {
        command(KBC.cmdDisableA20)
        kbc.keyPressed(scanCodeSet1: [1])
        kbc.reset()
        XCTAssertTrue(kbc.a20Enabled)
        XCTAssertEqual(drain(), [])
        XCTAssertEqual(kbc.commandByte, 0x45)
    }
}
