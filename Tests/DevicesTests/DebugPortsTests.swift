import XCTest
import MachineCore
@testable import Devices

final class DebugExitPortTests: XCTestCase {
    func testWritesRequestDebugExitWithValue() throws {
        for (size, value, expected) in [(1, UInt32(0x1FF), UInt32(0xFF)), (2, 0x12345, 0x2345), (4, 0xDEADBEEF, 0xDEADBEEF)] {
            let control = MachineControl()
            let port = DebugExitPort(control: control)
            let bus = PortIOBus()
            try port.attach(to: bus)
            bus.write(port: 0xF4, size: size, value: value)
            XCTAssertEqual(control.stopReason, .debugExit(expected), "size \(size)")
        }
    }

    func testExitStatusConvention() {
        let control = MachineControl()
        let port = DebugExitPort(control: control)
        port.portWrite(offset: 0, size: 1, value: 0x10)
        guard case let .debugExit(v) = control.stopReason else { return XCTFail() }
        XCTAssertEqual(ExitStatus.debugExit(v), 0x21)
        XCTAssertEqual(port.portRead(offset: 0, size: 2), 0xFFFF)
    }

    func testConfigurableBase() throws {
        let control = MachineControl()
        let port = DebugExitPort(control: control, base: 0x501, count: 2)
        let bus = PortIOBus()
        try port.attach(to: bus)
        bus.write(port: 0xF4, size: 1, value: 1)
        XCTAssertNil(control.stopReason)
        bus.write(port: 0x502, size: 1, value: 3)
        XCTAssertEqual(control.stopReason, .debugExit(3))
    }
}

final class DebugConsolePortTests: XCTestCase {
    func testBytesGoToSinkAndReadReturnsE9() throws {
        var got: [UInt8] = []
        let port = DebugConsolePort { got.append($0) }
        let bus = PortIOBus()
        try port.attach(to: bus)
        for b in "ok\n".utf8 { bus.write(port: 0xE9, size: 1, value: UInt32(b)) }
        XCTAssertEqual(String(decoding: got, as: UTF8.self), "ok\n")
        XCTAssertEqual(bus.read(port: 0xE9, size: 1), 0xE9)
    }
}

final class POSTCodePortTests: XCTestCase {
    func testRecordsLastCode() throws {
        var codes: [UInt8] = []
        let port = POSTCodePort { codes.append($0) }
        let bus = PortIOBus()
        try port.attach(to: bus)
        XCTAssertNil(port.lastCode)
        XCTAssertEqual(bus.read(port: 0x80, size: 1), 0xFF)
        bus.write(port: 0x80, size: 1, value: 0x12)
        bus.write(port: 0x80, size: 1, value: 0x34)
        XCTAssertEqual(port.lastCode, 0x34)
        XCTAssertEqual(bus.read(port: 0x80, size: 1), 0x34)
        XCTAssertEqual(codes, [0x12, 0x34])
    }
}

final class ACPIPowerControlTests: XCTestCase {
    func testS5PowersOff() throws {
        let control = MachineControl()
        let pm = ACPIPowerControl(control: control)
        let bus = PortIOBus()
        try pm.attach(to: bus)
        XCTAssertEqual(bus.read(port: 0x604, size: 2), 0x0001, "SCI_EN at power-on")
        // SLP_TYP = 0, SLP_EN: what Linux writes for S5 with our DSDT.
        bus.write(port: 0x604, size: 2, value: 0x2001)
        XCTAssertEqual(control.stopReason, .powerOff)
    }

    func testOtherSleepTypesAreKept() {
        let control = MachineControl()
        let pm = ACPIPowerControl(control: control)
        pm.portWrite(offset: 0, size: 2, value: 0x2000 | 5 << 10 | 1)
        XCTAssertNil(control.stopReason)
        XCTAssertEqual(pm.portRead(offset: 0, size: 2), UInt32(5 << 10 | 1), "SLP_EN reads as zero")
        pm.portWrite(offset: 0, size: 2, value: 0x0405)
        XCTAssertEqual(pm.portRead(offset: 0, size: 2), 0x0405)
        XCTAssertNil(control.stopReason)
    }

    func testByteWrites() {
        let control = MachineControl()
        let pm = ACPIPowerControl(control: control, initialValue: 0)
        pm.portWrite(offset: 0, size: 1, value: 0x01)
        XCTAssertEqual(pm.portRead(offset: 0, size: 2), 0x0001)
        XCTAssertEqual(pm.portRead(offset: 1, size: 1), 0x00)
        pm.portWrite(offset: 1, size: 1, value: 0x20) // SLP_EN with SLP_TYP 0 via the high byte
        XCTAssertEqual(control.stopReason, .powerOff)
        XCTAssertEqual(pm.portRead(offset: 0, size: 4), 0xFFFF_0001)
    }
}
