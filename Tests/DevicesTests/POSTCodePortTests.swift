import XCTest
import MachineCore
@testable import Devices

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
