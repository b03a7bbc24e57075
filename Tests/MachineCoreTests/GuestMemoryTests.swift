import XCTest
@testable import MachineCore

final class GuestMemoryTests: XCTestCase {
    func testSmallMachineIsOneRegionFromZero() throws {
        let m = try GuestMemory(size: 64 << 20)
        XCTAssertEqual(m.regions.count, 1)
        XCTAssertEqual(m.regions[0].guestBase, 0)
        XCTAssertEqual(m.regions[0].size, 64 << 20)
    }

    func testLargeMachineSplitsAroundThePCIHole() throws {
        let m = try GuestMemory(size: 5 << 30)
        XCTAssertEqual(m.regions.count, 2)
        XCTAssertEqual(m.regions[0].guestEnd, GuestMemoryMap.bare.lowRAMLimit)
        XCTAssertEqual(m.regions[1].guestBase, GuestMemoryMap.highRAMBase)
        XCTAssertEqual(m.regions[0].size + m.regions[1].size, 5 << 30)
        XCTAssertFalse(m.isRAM(GuestMemoryMap.bare.lowRAMLimit))
        XCTAssertTrue(m.isRAM(GuestMemoryMap.highRAMBase + 4096))
    }

    func testScalarAccessIsLittleEndianAndBoundsChecked() throws {
        let m = try GuestMemory(size: 4 << 20)
        try m.write32(0x1000, 0x1122_3344)
        XCTAssertEqual(try m.read8(0x1000), 0x44)
        XCTAssertEqual(try m.read16(0x1002), 0x1122)
        try m.write64(0x2001, 0x0102_0304_0506_0708)
        XCTAssertEqual(try m.read64(0x2001), 0x0102_0304_0506_0708)
        XCTAssertThrowsError(try m.read32((4 << 20) - 2)) { error in
            XCTAssertEqual(error as? MachineError, .addressNotInRAM((4 << 20) - 2, length: 4))
        }
    }

    func testBulkCopyAndFill() throws {
        let m = try GuestMemory(size: 4 << 20)
        try m.write([1, 2, 3, 4, 5], at: 0x7FFE)
        XCTAssertEqual(try m.read(0x7FFE, count: 5), [1, 2, 3, 4, 5])
        try m.fill(0x7FFF, count: 2, with: 0xAA)
        XCTAssertEqual(try m.read(0x7FFE, count: 5), [1, 0xAA, 0xAA, 4, 5])
    }

    func testInvalidSizesAreRejectedWithAMessage() {
        XCTAssertThrowsError(try GuestMemory(size: 1 << 20))
        XCTAssertThrowsError(try GuestMemory(size: (64 << 20) + 1)) { error in
            XCTAssertTrue("\(error)".contains("memory size"))
        }
    }
}

final class ROMRegionTests: XCTestCase {
    func testROMAtTheTopOf4GiBIsReadableAndMarkedReadOnly() throws {
        let m = try GuestMemory(size: 16 << 20)
        var image = [UInt8](repeating: 0xF4, count: 4096)
        image[0xFF0] = 0xEA
        try m.addROM(image, at: 0x1_0000_0000 - 4096)
        XCTAssertEqual(try m.read8(0xFFFF_FFF0), 0xEA)
        XCTAssertEqual(m.regions.last?.readOnly, true)
        XCTAssertEqual(m.regions.first?.readOnly, false)
        XCTAssertEqual(m.size, 16 << 20)
    }

    func testROMMayNotOverlapRAM() throws {
        let m = try GuestMemory(size: 16 << 20)
        XCTAssertThrowsError(try m.addROM([1, 2, 3], at: 0xF_0000))
    }
}
