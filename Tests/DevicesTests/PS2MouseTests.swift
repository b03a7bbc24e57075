import XCTest
import MachineCore
@testable import Devices

final class PS2MouseTests: XCTestCase {
    var h: KBCHarness!

    override func setUp() {
        h = KBCHarness()
        // What a driver leaves: both ports enabled, both interrupts, translation.
        h.writeCommandByte(KBC.cbKeyboardInterrupt | KBC.cbMouseInterrupt | KBC.cbSystemFlag | KBC.cbTranslate)
    }

    /// Sends mouse command bytes, returning everything read back, all of it checked as aux data.
    func send(_ bytes: UInt8..., file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
        var out: [UInt8] = []
        for b in bytes {
            h.mouseData(b)
            for entry in h.drainTagged() {
                XCTAssertTrue(entry.aux, "mouse byte \(entry.byte) not flagged as aux data", file: file, line: line)
                out.append(entry.byte)
            }
        }
        return out
    }

    func enableIntelliMouse() {
        XCTAssertEqual(send(0xF3, 200, 0xF3, 100, 0xF3, 80), [0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA])
        XCTAssertEqual(h.mouse.deviceID, PS2.mouseIDIntelliMouse)
    }

    func testResetAndID() {
        XCTAssertEqual(send(PS2.cmdReset), [0xFA, 0xAA, 0x00])
        XCTAssertEqual(send(PS2.mouseGetID), [0xFA, 0x00])
        XCTAssertFalse(h.mouse.reportingEnabled)
        XCTAssertEqual(send(0xE8, 0x03), [0xFA, 0xFA])
        // Reset goes back to the defaults.
        XCTAssertEqual(send(PS2.cmdReset), [0xFA, 0xAA, 0x00])
        XCTAssertEqual(send(PS2.mouseStatusRequest), [0xFA, 0x00, 0x02, 100])
    }

    func testStreamingPacketNegativeDx() {
        XCTAssertEqual(send(PS2.mouseEnable), [0xFA])
        h.mouse.move(dx: -5, dy: 3, dz: 0, buttons: 0x01)
        XCTAssertTrue(h.mouseIRQ.level)
        XCTAssertFalse(h.keyboardIRQ.level)
        // Left button, both signs (screen-down is packet-negative Y), X = -5, Y = -3.
        let packet = h.drainTagged()
        XCTAssertEqual(packet.map(\.byte), [0x39, 0xFB, 0xFD])
        XCTAssertEqual(packet.map(\.aux), [true, true, true])
        XCTAssertFalse(h.mouseIRQ.level)
        // A button release alone is a packet too; no change is none.
        h.mouse.move(dx: 0, dy: 0, dz: 0, buttons: 0)
        XCTAssertEqual(h.drain(), [0x08, 0x00, 0x00])
        h.mouse.move(dx: 0, dy: 0, dz: 0, buttons: 0)
        XCTAssertEqual(h.drain(), [])
    }

    func testOverflowSaturates() {
        XCTAssertEqual(send(PS2.mouseEnable), [0xFA])
        h.mouse.move(dx: -300, dy: -400, dz: 0, buttons: 0x06)
        // Right and middle, X sign and overflow, X = -256; Y = +255 with overflow.
        XCTAssertEqual(h.drain(), [0x08 | 0x06 | 0x10 | 0x40 | 0x80, 0x00, 0xFF])
        h.mouse.move(dx: 255, dy: 0, dz: 0, buttons: 0x06)
        XCTAssertEqual(h.drain(), [0x0E, 0xFF, 0x00], "255 fits without overflow")
    }

    func testIntelliMouseWheelPacket() {
        enableIntelliMouse()
        XCTAssertEqual(send(PS2.mouseGetID, PS2.mouseEnable), [0xFA, 0x03, 0xFA])
        h.mouse.move(dx: 1, dy: -2, dz: -1, buttons: 0x04)
        XCTAssertEqual(h.drain(), [0x0C, 0x01, 0x02, 0xFF])
        h.mouse.move(dx: 0, dy: 0, dz: 20, buttons: 0x04)
        XCTAssertEqual(h.drain(), [0x0C, 0x00, 0x00, 0x07], "the wheel count is 4-bit")
    }

    func testWheelIgnoredWithoutIntelliMouse() {
        XCTAssertEqual(send(PS2.mouseEnable), [0xFA])
        h.mouse.move(dx: 0, dy: 0, dz: 1, buttons: 0)
        XCTAssertEqual(h.drain(), [])
        // A wrong knock does not switch the ID.
        XCTAssertEqual(send(0xF3, 200, 0xF3, 80, 0xF3, 100, PS2.mouseGetID).suffix(1), [0x00])
    }

    func testRemoteModeReadData() {
        XCTAssertEqual(send(PS2.mouseSetRemoteMode, PS2.mouseEnable), [0xFA, 0xFA])
        h.mouse.move(dx: 10, dy: 0, dz: 0, buttons: 0)
        h.mouse.move(dx: 6, dy: -1, dz: 0, buttons: 0)
        XCTAssertEqual(h.drain(), [], "remote mode never streams")
        XCTAssertEqual(send(PS2.mouseReadData), [0xFA, 0x08, 16, 1])
        XCTAssertEqual(send(PS2.mouseReadData), [0xFA, 0x08, 0, 0], "counters cleared by the read")
        XCTAssertEqual(send(PS2.mouseStatusRequest), [0xFA, 0x60, 0x02, 100])
        XCTAssertEqual(send(PS2.mouseSetStreamMode), [0xFA])
        h.mouse.move(dx: 1, dy: 0, dz: 0, buttons: 0)
        XCTAssertEqual(h.drain(), [0x08, 0x01, 0x00])
    }

    func testStatusScalingResolutionRate() {
        XCTAssertEqual(send(0xE8, 0x03, 0xF3, 40, PS2.mouseSetScaling21, PS2.mouseEnable), [0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA])
        h.mouse.move(dx: 0, dy: 0, dz: 0, buttons: 0x01)
        _ = h.drain()
        XCTAssertEqual(send(PS2.mouseStatusRequest), [0xFA, 0x20 | 0x10 | 0x04, 0x03, 40])
        // 2:1 scaling in stream mode: 1→1, 2→1, 3→3, 5→9, then doubled.
        h.mouse.move(dx: 5, dy: -2, dz: 0, buttons: 1)
        XCTAssertEqual(h.drain(), [0x09, 9, 1])
        h.mouse.move(dx: -10, dy: 0, dz: 0, buttons: 1)
        XCTAssertEqual(h.drain(), [0x19, UInt8(bitPattern: -20), 0])
        XCTAssertEqual(send(PS2.mouseSetScaling11), [0xFA])
        h.mouse.move(dx: 5, dy: 0, dz: 0, buttons: 1)
        XCTAssertEqual(h.drain(), [0x09, 5, 0])
        // Invalid parameters are refused.
        XCTAssertEqual(send(0xF3, 33, 0xE8, 9), [0xFA, 0xFE, 0xFA, 0xFE])
        XCTAssertEqual(send(PS2.mouseSetDefaults, PS2.mouseStatusRequest), [0xFA, 0xFA, 0x04, 0x02, 100],
                       "defaults: stream mode, reporting off, 1:1; the left button is still held")
    }

    func testDisabledReportingDiscardsMotion() {
        h.mouse.move(dx: 50, dy: 0, dz: 0, buttons: 0)
        XCTAssertEqual(h.drain(), [])
        XCTAssertEqual(send(PS2.mouseEnable), [0xFA])
        h.mouse.move(dx: 1, dy: 0, dz: 0, buttons: 0)
        XCTAssertEqual(h.drain(), [0x08, 0x01, 0x00], "motion from before enabling is not reported")
        XCTAssertEqual(send(PS2.mouseDisable), [0xFA])
        h.mouse.move(dx: 1, dy: 0, dz: 0, buttons: 0)
        XCTAssertEqual(h.drain(), [])
    }

    func testIRQ12OnlyWhenCommandByteEnablesIt() {
        h.writeCommandByte(KBC.cbKeyboardInterrupt | KBC.cbTranslate)
        XCTAssertEqual(send(PS2.mouseEnable), [0xFA])
        h.mouse.move(dx: 1, dy: 1, dz: 0, buttons: 0)
        XCTAssertEqual(h.status() & (KBC.statusOBF | KBC.statusAuxOBF), KBC.statusOBF | KBC.statusAuxOBF)
        XCTAssertFalse(h.mouseIRQ.level)
        XCTAssertFalse(h.keyboardIRQ.level, "aux data never raises IRQ1")
        h.writeCommandByte(KBC.cbKeyboardInterrupt | KBC.cbMouseInterrupt | KBC.cbTranslate)
        XCTAssertTrue(h.mouseIRQ.level)
        XCTAssertEqual(h.drain(), [0x28, 0x01, 0xFF], "one count right and one down")
    }

    func testDisabledAuxPortHoldsData() {
        XCTAssertEqual(send(PS2.mouseEnable), [0xFA])
        h.command(KBC.cmdDisableMouse)
        h.mouse.move(dx: 3, dy: 0, dz: 0, buttons: 0)
        XCTAssertEqual(h.status() & KBC.statusOBF, 0)
        XCTAssertFalse(h.mouseIRQ.level)
        // Replies to commands wait too.
        h.mouseData(PS2.mouseGetID)
        XCTAssertEqual(h.status() & KBC.statusOBF, 0)
        h.command(KBC.cmdEnableMouse)
        XCTAssertTrue(h.mouseIRQ.level)
        XCTAssertEqual(h.drain(), [0xFA, 0x00], "the command dropped the unsent packet")
        h.command(KBC.cmdDisableMouse)
        h.mouse.move(dx: 3, dy: 0, dz: 0, buttons: 0)
        h.writeCommandByte(KBC.cbKeyboardInterrupt | KBC.cbMouseInterrupt | KBC.cbTranslate)
        XCTAssertEqual(h.drain(), [0x08, 0x03, 0x00])
    }

    func testKeyboardAndMouseInterleave() {
        XCTAssertEqual(send(PS2.mouseEnable), [0xFA])
        h.mouse.move(dx: 1, dy: 0, dz: 0, buttons: 0)
        h.keyboard.hidKey(usage: HID.a, pressed: true)
        let bytes = h.drainTagged()
        XCTAssertEqual(bytes.filter { !$0.aux }.map(\.byte), [0x1E])
        XCTAssertEqual(bytes.filter { $0.aux }.map(\.byte), [0x08, 0x01, 0x00])
    }

    func testFullQueueAccumulatesMotion() {
        XCTAssertEqual(send(PS2.mouseEnable), [0xFA])
        h.command(KBC.cmdDisableMouse)
        for _ in 0..<30 { h.mouse.move(dx: 1, dy: 0, dz: 0, buttons: 0) }
        XCTAssertEqual(h.mouse.output.count, PS2Mouse.outputLimit - PS2Mouse.outputLimit % 3)
        h.command(KBC.cmdEnableMouse)
        let bytes = h.drain()
        // 21 one-count packets, then the 9 counts that waited, in one packet.
        XCTAssertEqual(bytes.count, 22 * 3)
        XCTAssertEqual(Array(bytes.suffix(3)), [0x08, 9, 0])
    }

    func testWrapModeEchoes() {
        XCTAssertEqual(send(PS2.mouseSetWrapMode), [0xFA])
        XCTAssertEqual(send(0x12, PS2.mouseGetID), [0x12, PS2.mouseGetID])
        XCTAssertEqual(send(PS2.mouseResetWrapMode, PS2.mouseGetID), [0xFA, 0xFA, 0x00])
    }

    func testResendRepeatsLastReply() {
        XCTAssertEqual(send(PS2.mouseStatusRequest), [0xFA, 0x00, 0x02, 100])
        XCTAssertEqual(send(PS2.cmdResend), [0xFA, 0x00, 0x02, 100])
        XCTAssertEqual(send(0xD0), [0xFE], "unknown command")
    }
}
