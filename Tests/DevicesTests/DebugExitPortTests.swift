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
