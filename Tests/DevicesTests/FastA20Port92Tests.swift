import XCTest
import MachineCore
@testable import Devices

final class FastA20Port92Tests: XCTestCase {
    func testA20AndResetEdge() throws {
        let control = MachineControl()
        let port = FastA20Port92(control: control)
        var a20: [Bool] = []
        port.onA20Change = { a20.append($0) }
        let bus = PortIOBus()
        try port.attach(to: bus)
        bus.write(port: 0x92, size: 1, value: 0x02)
        XCTAssertEqual(a20, [true])
        XCTAssertEqual(bus.read(port: 0x92, size: 1), 0x02)
        XCTAssertNil(control.stopReason)
        bus.write(port: 0x92, size: 1, value: 0x03)
        XCTAssertEqual(control.stopReason, .reset)
        XCTAssertEqual(a20, [true], "A20 unchanged")
        control.clear()
        bus.write(port: 0x92, size: 1, value: 0x03)
        XCTAssertNil(control.stopReason, "no new 0→1 edge")
        bus.write(port: 0x92, size: 1, value: 0x00)
        XCTAssertEqual(a20, [true, false])
        XCTAssertNil(control.stopReason)
        port.reset()
        XCTAssertFalse(port.a20Enabled)
    }
}
