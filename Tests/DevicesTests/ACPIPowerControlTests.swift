import XCTest
import MachineCore
@testable import Devices

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
