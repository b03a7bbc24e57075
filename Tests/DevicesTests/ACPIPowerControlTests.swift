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

/// Sleep types the machine does not offer must never leave a guest waiting forever.
final class ACPISleepTypeTests: XCTestCase {
    var control: MachineControl!
    var events: ACPIPMEventBlock!
    var bus: PortIOBus!

    override func setUpWithError() throws {
        control = MachineControl()
        events = ACPIPMEventBlock()
        bus = PortIOBus()
        try events.attach(to: bus)
        try ACPIPowerControl(control: control, events: events).attach(to: bus)
    }

    /// S3 (QEMU's SLP_TYP 1) is refused by an immediate wake: WAK_STS is set, which is what
    /// an OS polls for after SLP_EN; nothing stops the machine.
    func testS3WakesAtOnce() {
        XCTAssertEqual(bus.read(port: 0x600, size: 2) & 0x8000, 0, "WAK_STS clear at power-on")
        bus.write(port: 0x604, size: 2, value: 0x2000 | 1 << 10 | 1)
        XCTAssertNil(control.stopReason)
        XCTAssertEqual(bus.read(port: 0x600, size: 2), 0x8000, "WAK_STS set: the sleep ended")
        XCTAssertEqual(bus.read(port: 0x604, size: 2), UInt32(1 << 10 | 1), "SLP_TYP kept, SLP_EN reads 0")
        // WAK_STS is write-1-to-clear.
        bus.write(port: 0x600, size: 2, value: 0x8000)
        XCTAssertEqual(bus.read(port: 0x600, size: 2), 0)
    }

    /// Every SLP_TYP other than S5 and S4 ends the same way.
    func testUnassignedSleepTypesWakeAtOnce() {
        for type: UInt32 in [3, 4, 5, 6, 7] {
            bus.write(port: 0x600, size: 2, value: 0xFFFF)
            bus.write(port: 0x605, size: 1, value: 0x20 | type << 2)
            XCTAssertNil(control.stopReason, "SLP_TYP \(type)")
            XCTAssertEqual(bus.read(port: 0x600, size: 2), 0x8000, "SLP_TYP \(type)")
        }
    }

    /// S4 (QEMU's SLP_TYP 2): the OS has saved itself; the machine powers off, as QEMU's does.
    func testS4PowersOff() {
        bus.write(port: 0x604, size: 2, value: 0x2000 | 2 << 10)
        XCTAssertEqual(control.stopReason, .powerOff)
    }

    /// SLP_TYP without SLP_EN only selects the state.
    func testSleepTypeWithoutSleepEnableDoesNothing() {
        bus.write(port: 0x604, size: 2, value: 1 << 10)
        XCTAssertNil(control.stopReason)
        XCTAssertEqual(bus.read(port: 0x600, size: 2), 0)
    }
}
