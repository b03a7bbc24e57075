import XCTest
import MachineCore
@testable import Xen

/// hvc0's backend: struct xencons_interface (io/console.h) as the guest drives it, and hostile
/// indices answered without reading or writing outside the rings.
final class XenConsoleBackendTests: XCTestCase {
    typealias C = XenConsoleBackend
    static let page: UInt64 = 0xFE000

    final class Output: @unchecked Sendable {
        let lock = Lock()
        var bytes: [UInt8] = []
        func append(_ b: [UInt8]) { lock.withLock { bytes += b } }
        var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
    }

    func make() throws -> (EventChannelFixture, C, Output, UInt32) {
        let f = try EventChannelFixture()
        let output = Output()
        let console = try XCTUnwrap(C(memory: f.memory, pageAddress: Self.page, events: f.table) { output.append($0) })
        let port = try XCTUnwrap(console.connect())
        return (f, console, output, port)
    }

    /// The guest writes `text` into `out` at its producer and sends on its port.
    func guestWrite(_ f: EventChannelFixture, _ port: UInt32, _ text: String) throws {
        let producer = try f.memory.read32(Self.page + UInt64(C.outProducerOffset))
        for (i, byte) in text.utf8.enumerated() {
            try f.memory.write8(Self.page + UInt64(C.outOffset) + UInt64((producer &+ UInt32(i)) % 2048), byte)
        }
        try f.memory.write32(Self.page + UInt64(C.outProducerOffset), producer &+ UInt32(text.utf8.count))
        try f.table.send(port: port)
    }

    func testTheGuestPortIsConnectedToTheBackend() throws {
        let (f, _, _, port) = try make()
        XCTAssertEqual(try f.table.status(dom: EventChannelABI.domidSelf, port: port).status, EventChannelABI.statusInterdomain)
        XCTAssertEqual(try f.table.status(dom: EventChannelABI.domidSelf, port: port).remoteDomain, EventChannelABI.domidVMM)
    }

    func testOutputIsDrainedAcrossTheWrapAndTheGuestIsSignalled() throws {
        let (f, console, output, port) = try make()
        defer { withExtendedLifetime(console) {} }  // the channel's handler holds it weakly
        // Start the indices near the wrap of both the ring and the u32.
        try f.memory.write32(Self.page + UInt64(C.outConsumerOffset), 0xFFFF_FFFE)
        try f.memory.write32(Self.page + UInt64(C.outProducerOffset), 0xFFFF_FFFE)
        _ = f.takeUpcalls()
        try guestWrite(f, port, "SWIFTPC-INIT-OK\n")
        XCTAssertEqual(output.text, "SWIFTPC-INIT-OK\n")
        XCTAssertEqual(try f.memory.read32(Self.page + UInt64(C.outConsumerOffset)), 0xFFFF_FFFE &+ 16)
        XCTAssertTrue(f.pending(port), "space freed: the guest is told")
    }

    func testNonsenseOutputIndicesAreSkippedNotRead() throws {
        let (f, console, output, port) = try make()
        try f.memory.write32(Self.page + UInt64(C.outProducerOffset), 5000)
        try f.table.send(port: port)
        XCTAssertEqual(output.text, "")
        XCTAssertEqual(console.badIndexPasses, 1)
        XCTAssertEqual(try f.memory.read32(Self.page + UInt64(C.outConsumerOffset)), 5000, "resynchronised")
        try guestWrite(f, port, "ok")
        XCTAssertEqual(output.text, "ok")
    }

    func testInputFillsInAsFarAsThereIsRoomAndTheRestWaits() throws {
        let (f, console, _, port) = try make()
        console.input(Array(repeating: UInt8(ascii: "a"), count: 1000) + Array("bcdefghijklmnopqrstuvwxyz".utf8))
        XCTAssertEqual(try f.memory.read32(Self.page + UInt64(C.inProducerOffset)), 1024)
        XCTAssertTrue(f.pending(port))
        XCTAssertEqual(try f.memory.read8(Self.page + 1023), UInt8(ascii: "y"), "1000 a's, then b...y")
        // The guest consumes 10 and signals: the held bytes follow, wrapping to the start.
        try f.memory.write32(Self.page + UInt64(C.inConsumerOffset), 10)
        try f.table.send(port: port)
        XCTAssertEqual(try f.memory.read32(Self.page + UInt64(C.inProducerOffset)), 1025)
        XCTAssertEqual(try f.memory.read8(Self.page + 0), UInt8(ascii: "z"))
        // A nonsense consumer: nothing is written.
        try f.memory.write32(Self.page + UInt64(C.inConsumerOffset), 0x8000_0000)
        console.input(Array("z".utf8))
        XCTAssertEqual(try f.memory.read32(Self.page + UInt64(C.inProducerOffset)), 1025)
    }

    func testReconnectingAfterAResetGivesAFreshChannel() throws {
        let (f, console, output, _) = try make()
        f.table.resetDomain()
        XCTAssertNil(f.table.placeSharedInfo(at: EventChannelFixture.sharedInfo))
        let port = try XCTUnwrap(console.connect())
        try guestWrite(f, port, "again")
        XCTAssertEqual(output.text, "again")
        XCTAssertNil(C(memory: f.memory, pageAddress: Self.page + 1, events: f.table) { _ in }, "not page-aligned")
        XCTAssertNil(C(memory: f.memory, pageAddress: 1 << 32, events: f.table) { _ in }, "not RAM")
    }
}
