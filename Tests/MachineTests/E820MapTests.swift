import MachineCore
import XCTest
@testable import Machine

/// The PC memory map every boot protocol describes.
final class E820MapTests: XCTestCase {
    func testSmallMachine() throws {
        let map = E820Map(memory: try GuestMemory(size: 64 << 20))
        XCTAssertEqual(map.entries, [
            E820Entry(base: 0, size: 0x9_FC00, type: .ram),
            E820Entry(base: 0x9_FC00, size: 0x400, type: .reserved),
            E820Entry(base: 0xF_0000, size: 0x1_0000, type: .reserved),
            E820Entry(base: 0x10_0000, size: (64 << 20) - 0x10_0000, type: .ram),
        ])
        XCTAssertEqual(map.lowRAMEnd, 64 << 20)
        XCTAssertEqual(map.lowerMemoryKiB, 639)
        XCTAssertEqual(map.upperMemoryKiB, 63 * 1024)
        XCTAssertEqual(map.usableRAM, 0x9_FC00 + (63 << 20))
        XCTAssertTrue(map.isUsableRAM(0x10_0000, length: 63 << 20))
        XCTAssertFalse(map.isUsableRAM(0x10_0000, length: (63 << 20) + 1))
        XCTAssertFalse(map.isUsableRAM(0x9_F000, length: 0x1000), "runs into the EBDA")
        XCTAssertFalse(map.isUsableRAM(0xA_0000, length: 1), "VGA hole")
    }

    func testMachineAbove4GiB() throws {
        let memory = try GuestMemory(size: 5 << 30)
        let map = E820Map(memory: memory)
        XCTAssertEqual(map.entries.count, 5)
        XCTAssertEqual(map.entries[3], E820Entry(base: 0x10_0000, size: 0xC000_0000 - 0x10_0000, type: .ram))
        XCTAssertEqual(map.entries[4], E820Entry(base: 0x1_0000_0000, size: 2 << 30, type: .ram))
        XCTAssertEqual(map.lowRAMEnd, 0xC000_0000)
        XCTAssertEqual(map.usableRAM, 0x9_FC00 + (0xC000_0000 - 0x10_0000) + (2 << 30))
        XCTAssertFalse(map.isUsableRAM(0xC000_0000, length: 1), "PCI hole")
        XCTAssertTrue(map.isUsableRAM(0x1_7FFF_F000, length: 0x1000))
        XCTAssertFalse(map.isUsableRAM(0x1_8000_0000, length: 1), "end of RAM")
    }

    func testReserveCarvesRAM() throws {
        var map = E820Map(memory: try GuestMemory(size: 64 << 20))
        map.reserve(base: 0x3F0_0000, size: 0x10_0000, as: .acpi)
        map.reserve(base: 0x200_0000, size: 0x1000, as: .nvs)
        XCTAssertEqual(Array(map.entries.suffix(4)), [
            E820Entry(base: 0x10_0000, size: 0x1F0_0000, type: .ram),
            E820Entry(base: 0x200_0000, size: 0x1000, type: .nvs),
            E820Entry(base: 0x200_1000, size: 0x3F0_0000 - 0x200_1000, type: .ram),
            E820Entry(base: 0x3F0_0000, size: 0x10_0000, type: .acpi),
        ])
        XCTAssertEqual(map.entries.count, 7)
        XCTAssertEqual(map.lowRAMEnd, 0x200_0000)
        XCTAssertFalse(map.isUsableRAM(0x3F0_0000, length: 1))
    }

    func testFits() throws {
        let map = E820Map(memory: try GuestMemory(size: 64 << 20))
        XCTAssertEqual(map.highestFit(size: 0x1800, alignment: 0x1000, floor: 0, limit: .max), (64 << 20) - 0x2000)
        XCTAssertEqual(map.highestFit(size: 0x1000, alignment: 0x1000, floor: 0, limit: 0x20_0000), 0x1F_F000)
        XCTAssertNil(map.highestFit(size: 64 << 20, alignment: 0x1000, floor: 0, limit: .max))
        XCTAssertEqual(map.highestFit(size: 0x1000, alignment: 0x1000, floor: 0, limit: 0x10_0000), 0x9_E000,
                       "conventional memory when the limit is below 1 MiB")
        XCTAssertEqual(map.lowestFit(size: 0x1000, alignment: 0x20_0000, floor: 0x10_0000, limit: .max), 0x20_0000)
    }
}
