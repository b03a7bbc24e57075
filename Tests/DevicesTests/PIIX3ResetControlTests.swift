import XCTest
import MachineCore
@testable import Devices

final class PIIX3ResetControlTests: XCTestCase {
    var control: MachineControl!
    var register: PIIX3ResetControl!
    var ports: PortIOBus!
    var pci: PCIConfigMechanism1!

    override func setUpWithError() throws {
        control = MachineControl()
        register = PIIX3ResetControl(control: control)
        ports = PortIOBus()
        let bus = PCIBus()
        try bus.register(I440FXHostBridge(), at: I440FXHostBridge.address, name: "i440fx")
        pci = PCIConfigMechanism1(bus: bus)
        try pci.attach(to: ports)
        try register.attach(to: ports)
    }

    /// Linux's reboot=pci: SYS_RST alone selects the type, the 0→1 edge of RST_CPU resets.
    func testLinuxSequenceResetsOnTheEdgeOfBit2() {
        ports.write(port: 0xCF9, size: 1, value: 0x02)
        XCTAssertNil(control.stopReason)
        XCTAssertEqual(ports.read(port: 0xCF9, size: 1), 0x02)
        ports.write(port: 0xCF9, size: 1, value: 0x06)
        XCTAssertEqual(control.stopReason, .reset)
    }

    func testSoftAndFullResetsAlsoReset() {
        for value: UInt32 in [0x04, 0x0E] {
            register.reset()
            control.clear()
            ports.write(port: 0xCF9, size: 1, value: value)
            XCTAssertEqual(control.stopReason, .reset, "0x\(String(value, radix: 16))")
        }
    }

    /// No 0→1 transition, no reset; the machine reset clears the register.
    func testBit2AlreadySetDoesNotResetAgain() {
        ports.write(port: 0xCF9, size: 1, value: 0x06)
        control.clear()
        ports.write(port: 0xCF9, size: 1, value: 0x06)
        XCTAssertNil(control.stopReason)
        register.reset()
        XCTAssertEqual(ports.read(port: 0xCF9, size: 1), 0)
        ports.write(port: 0xCF9, size: 1, value: 0x04)
        XCTAssertEqual(control.stopReason, .reset)
    }

    func testReservedBitsReadAsZero() {
        ports.write(port: 0xCF9, size: 1, value: 0xF3)
        XCTAssertEqual(ports.read(port: 0xCF9, size: 1), 0x02)
        XCTAssertNil(control.stopReason)
    }

    /// CONFIG_ADDRESS is a dword at 0xCF8 only: byte traffic at 0xCF9 leaves it alone, and
    /// its dword writes never reach the reset register.
    func testConfigMechanismOneIsUnaffected() {
        let hostBridgeID: UInt32 = 0x8000_0000
        ports.write(port: 0xCF8, size: 4, value: hostBridgeID | 0x0400)   // bit 10 would be RST_CPU at 0xCF9
        XCTAssertNil(control.stopReason, "a dword at 0xCF8 is CONFIG_ADDRESS, not the reset register")
        ports.write(port: 0xCF8, size: 4, value: hostBridgeID)
        ports.write(port: 0xCF9, size: 1, value: 0x02)
        XCTAssertEqual(ports.read(port: 0xCF8, size: 4), hostBridgeID)
        XCTAssertEqual(ports.read(port: 0xCFC, size: 4), 0x1237_8086)
        XCTAssertEqual(ports.read(port: 0xCF9, size: 1), 0x02)
    }
}
