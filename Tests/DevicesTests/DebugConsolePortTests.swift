import XCTest
import MachineCore
@testable import Devices

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
