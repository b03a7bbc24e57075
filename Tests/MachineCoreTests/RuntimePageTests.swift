import XCTest
@testable import MachineCore

/// Pages backed while the machine runs (Xen grant frames outside RAM): every accessor finds
/// them, every engine hears of them, and nonsense placements are refused.
final class RuntimePageTests: XCTestCase {
    func testAPageOutsideRAMBecomesWritableMemoryAndGoesAgain() throws {
        let memory = try GuestMemory(size: 16 << 20)
        let engine = GuestMemoryObserverTests.Recorder()
        memory.addObserver(engine)
        let address: UInt64 = 0x2000_0000
        XCTAssertNil(memory.pointer(address, length: 8))
        let host = try memory.addRuntimePage(at: address)
        XCTAssertEqual(host.load(fromByteOffset: 100, as: UInt8.self), 0, "a new page starts zeroed")
        try memory.write64(address + 0xFF8, 0x1122_3344_5566_7788)
        XCTAssertEqual(try memory.read64(address + 0xFF8), 0x1122_3344_5566_7788)
        XCTAssertNil(memory.pointer(address + 0xFFC, length: 8), "an access past the page is not memory")
        XCTAssertTrue(memory.isRuntimePage(address))
        XCTAssertEqual(engine.added.map(\.guestBase), [address])
        XCTAssertFalse(engine.added.first?.readOnly ?? true)

        memory.removeRuntimePage(at: address)
        XCTAssertEqual(engine.removed.map(\.guestBase), [address])
        XCTAssertNil(memory.pointer(address, length: 8))
        XCTAssertEqual(memory.runtimePageCount, 0)
        memory.removeRuntimePage(at: 0x1000)    // RAM: not a runtime page, nothing happens
        XCTAssertTrue(memory.isRAM(0x1000))
        XCTAssertEqual(engine.removed.count, 1)
    }

    func testNonsensePlacementsAreRefused() throws {
        let memory = try GuestMemory(size: 16 << 20)
        XCTAssertThrowsError(try memory.addRuntimePage(at: 0x1000), "RAM")
        XCTAssertThrowsError(try memory.addRuntimePage(at: 0xFFF000 + 0x800), "misaligned")
        XCTAssertThrowsError(try memory.addRuntimePage(at: 0x3000_0000, addressLimit: 0x3000_0000), "beyond the limit")
        XCTAssertThrowsError(try memory.addRuntimePage(at: ~0xFFF), "wraps")
        try memory.addRuntimePage(at: 0x2000_0000)
        XCTAssertThrowsError(try memory.addRuntimePage(at: 0x2000_0000), "twice")
        for k in 1..<GuestMemory.maximumRuntimePages { try memory.addRuntimePage(at: 0x2000_0000 + UInt64(k) << 12) }
        XCTAssertThrowsError(try memory.addRuntimePage(at: 0x3000_0000), "over the limit")
        memory.removeAllRuntimePages()
        XCTAssertEqual(memory.runtimePageCount, 0)
        XCTAssertEqual(memory.regions.count, 1, "only the RAM is left")
    }
}
