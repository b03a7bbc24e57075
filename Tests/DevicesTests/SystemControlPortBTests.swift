import XCTest
import MachineCore
@testable import Devices

final class SystemControlPortBTests: XCTestCase {
    func testGateSpeakerAndChannel2Output() throws {
        let time = VirtualTime()
        let pit = PIT8254(irq: .unconnected(), timers: time.timers)
        let port = SystemControlPortB(pit: pit)
        let bus = PortIOBus()
        try pit.attach(to: bus)
        try port.attach(to: bus)
        var speaker: [Bool] = []
        port.onSpeakerChange = { speaker.append($0) }

        // The classic PIT calibration: gate on, speaker off, mode 0 on counter 2.
        bus.write(port: 0x61, size: 1, value: 0x01)
        XCTAssertTrue(pit.gate(channel: 2))
        bus.write(port: 0x43, size: 1, value: 0xB0)
        bus.write(port: 0x42, size: 1, value: 0x10)
        bus.write(port: 0x42, size: 1, value: 0x00)
        XCTAssertEqual(bus.read(port: 0x61, size: 1) & 0x20, 0)
        time.clock.advance(by: PITClock.nanoseconds(16))
        XCTAssertEqual(bus.read(port: 0x61, size: 1) & 0x20, 0x20)
        XCTAssertEqual(bus.read(port: 0x61, size: 1) & 0x0F, 0x01)

        bus.write(port: 0x61, size: 1, value: 0x03)
        XCTAssertTrue(port.speakerOn)
        bus.write(port: 0x61, size: 1, value: 0x00)
        XCTAssertFalse(pit.gate(channel: 2))
        XCTAssertEqual(speaker, [true, false])
        // Read-only bits ignore writes.
        bus.write(port: 0x61, size: 1, value: 0xF0)
        XCTAssertEqual(bus.read(port: 0x61, size: 1) & 0xC0, 0)
    }

    func testRefreshToggleFlipsEvery15Microseconds() {
        let time = VirtualTime()
        let pit = PIT8254(irq: .unconnected(), timers: time.timers)
        let port = SystemControlPortB(pit: pit)
        var seen: [UInt8] = []
        for _ in 0..<6 {
            seen.append(port.read8(0) & SystemControlPortB.refreshToggle)
            time.clock.advance(by: SystemControlPortB.refreshPeriodNanoseconds)
        }
        XCTAssertEqual(seen, [0, 0x10, 0, 0x10, 0, 0x10])
    }
}
