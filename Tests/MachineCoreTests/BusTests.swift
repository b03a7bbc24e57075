import XCTest
@testable import MachineCore

private final class Recorder: PortIODevice, MMIODevice {
    var log: [String] = []
    var value: UInt64 = 0
    func portRead(offset: UInt16, size: Int) -> UInt32 { log.append("r\(offset)/\(size)"); return UInt32(truncatingIfNeeded: value) }
    func portWrite(offset: UInt16, size: Int, value: UInt32) { log.append("w\(offset)/\(size)=\(value)") }
    func mmioRead(offset: UInt64, size: Int) -> UInt64 { log.append("R\(offset)/\(size)"); return value }
    func mmioWrite(offset: UInt64, size: Int, value: UInt64) { log.append("W\(offset)/\(size)=\(value)") }
}

final class PortIOBusTests: XCTestCase {
    func testDispatchUsesOffsetsRelativeToTheClaim() throws {
        let bus = PortIOBus(), d = Recorder()
        d.value = 0x42
        try bus.claim(base: 0x3F8, count: 8, device: d, name: "uart")
        XCTAssertEqual(bus.read(port: 0x3FD, size: 1), 0x42)
        bus.write(port: 0x3F8, size: 1, value: 7)
        XCTAssertEqual(d.log, ["r5/1", "w0/1=7"])
    }

    func testUnclaimedPortsReadAllOnesAndAreCounted() {
        let bus = PortIOBus()
        XCTAssertEqual(bus.read(port: 0x1234, size: 1), 0xFF)
        XCTAssertEqual(bus.read(port: 0x1234, size: 2), 0xFFFF)
        XCTAssertEqual(bus.read(port: 0x1234, size: 4), 0xFFFF_FFFF)
        bus.write(port: 0x1234, size: 1, value: 0)
        XCTAssertEqual(bus.unclaimedAccesses, 4)
    }

    func testOverlappingClaimIsATypedError() throws {
        let bus = PortIOBus()
        try bus.claim(base: 0x60, count: 1, device: Recorder(), name: "kbd-data")
        XCTAssertThrowsError(try bus.claim(base: 0x5E, count: 4, device: Recorder(), name: "other")) { error in
            guard case let .busOverlap(_, device, _, _, existing)? = error as? MachineError else { return XCTFail("\(error)") }
            XCTAssertEqual(device, "other")
            XCTAssertEqual(existing, "kbd-data")
        }
        XCTAssertThrowsError(try bus.claim(base: 0xFFFF, count: 2, device: Recorder(), name: "wrap"))
    }

    func testClaimsMoveAndRelease() throws {
        let bus = PortIOBus(), d = Recorder()
        let c = try bus.claim(base: 0xC000, count: 0x10, device: d, name: "bar")
        try bus.move(c, to: 0xD000)
        _ = bus.read(port: 0xD004, size: 4)
        XCTAssertEqual(bus.read(port: 0xC004, size: 1), 0xFF)
        XCTAssertEqual(d.log, ["r4/4"])
        // Moving onto another claim fails and leaves the claim where it was.
        try bus.claim(base: 0xE000, count: 0x10, device: Recorder(), name: "other")
        XCTAssertThrowsError(try bus.move(c, to: 0xE008))
        XCTAssertEqual(bus.claimInfo(at: 0xD000)?.name, "bar")
        bus.release(c)
        XCTAssertNil(bus.claimInfo(at: 0xD000))
    }
}

final class MMIOBusTests: XCTestCase {
    func testLookupFindsTheRightClaimAmongMany() throws {
        let bus = MMIOBus()
        var devices: [Recorder] = []
        for i in 0..<10 {
            let d = Recorder(); d.value = UInt64(i)
            devices.append(d)
            try bus.claim(base: 0xF000_0000 + UInt64(i) * 0x2000, size: 0x1000, device: d, name: "d\(i)")
        }
        XCTAssertEqual(bus.read(address: 0xF000_6FFC, size: 4), 3)
        XCTAssertEqual(devices[3].log, ["R4092/4"])
        XCTAssertEqual(bus.read(address: 0xF000_7000, size: 8), UInt64.max)  // gap
        bus.write(address: 0xF001_2000, size: 2, value: 9)
        XCTAssertEqual(devices[9].log, ["W0/2=9"])
    }

    func testOverlapAndWrapAreRejected() throws {
        let bus = MMIOBus()
        try bus.claim(base: 0xFEC0_0000, size: 0x1000, device: Recorder(), name: "ioapic")
        XCTAssertThrowsError(try bus.claim(base: 0xFEBF_F000, size: 0x1001, device: Recorder(), name: "x"))
        XCTAssertThrowsError(try bus.claim(base: UInt64.max - 10, size: 0x100, device: Recorder(), name: "wrap"))
        XCTAssertThrowsError(try bus.claim(base: 0x1000, size: 0, device: Recorder(), name: "empty"))
    }

    func testBarMoveKeepsOldPlaceOnConflict() throws {
        let bus = MMIOBus(), d = Recorder()
        let c = try bus.claim(base: 0xE000_0000, size: 0x100_0000, device: d, name: "vga-lfb")
        try bus.claim(base: 0xF000_0000, size: 0x1000, device: Recorder(), name: "other")
        XCTAssertThrowsError(try bus.move(c, to: 0xEFFF_F000))
        XCTAssertEqual(bus.claimName(at: 0xE000_0010), "vga-lfb")
        try bus.move(c, to: 0xD000_0000)
        XCTAssertNil(bus.claimName(at: 0xE000_0010))
        XCTAssertEqual(bus.claimName(at: 0xD0FF_FFFF), "vga-lfb")
    }
}
