import XCTest
import MachineCore
@testable import Xen

/// The blkif data path: what blkfront asks, done on the image; what a hostile frontend asks,
/// answered with an error and nothing else.
final class XenBlockBackendTests: XCTestCase {
    typealias F = BlockRingFixture
    let ok = BlkifABI.statusOK, error = BlkifABI.statusError, unsupported = BlkifABI.statusNotSupported

    func testReadsAndWritesMoveTheSectorsTheSegmentsName() throws {
        let f = try F()
        // Read sectors 10..12 into the 2nd-4th 512-byte pieces of page 0, and 13 into piece 7 of page 1.
        try f.put(op: BlkifABI.opRead, id: 0xAB, sector: 10, segments: [(F.dataRef, 1, 3), (F.dataRef + 1, 7, 7)])
        try f.publish()
        XCTAssertEqual(try f.takeResponses().map { "\($0.id) \($0.op) \($0.status)" }, ["171 0 0"])
        XCTAssertEqual(try f.memory.read(f.dataPage(0) + 512, count: 3 * 512), Array(f.storage.bytes[(10 * 512)..<(13 * 512)]))
        XCTAssertEqual(try f.memory.read(f.dataPage(1) + 7 * 512, count: 512), Array(f.storage.bytes[(13 * 512)..<(14 * 512)]))
        XCTAssertTrue(try f.takeNotification(), "the frontend asked for a signal at the next response")

        let pattern = (0..<4096).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }
        try f.memory.write(pattern, at: f.dataPage(2))
        try f.put(op: BlkifABI.opWrite, id: 2, sector: 100, segments: [(F.dataRef + 2, 0, 7)])
        try f.put(op: BlkifABI.opFlushDiskCache, id: 3, sector: 0, segments: [])
        try f.publish()
        XCTAssertEqual(try f.takeResponses().map(\.status), [ok, ok])
        XCTAssertEqual(Array(f.storage.bytes[(100 * 512)..<(108 * 512)]), pattern)
        XCTAssertEqual(f.storage.flushes, 1)
        XCTAssertEqual(f.backend.statistics.reads, 1)
        XCTAssertEqual(f.backend.statistics.writes, 1)
        XCTAssertEqual(f.backend.statistics.bytesWritten, 4096)
        XCTAssertEqual(f.grants.activeUses(ref: F.dataRef + 2).writers + f.grants.activeUses(ref: F.dataRef + 2).readers, 0,
                       "data grants are released after the copy")
        XCTAssertEqual(f.grants.activeUses(ref: F.ringRef).writers, 1, "the ring stays mapped")
    }

    func testABarrierWriteIsFlushWriteFlush() throws {
        let f = try F()
        try f.put(op: BlkifABI.opWriteBarrier, id: 9, sector: 0, segments: [(F.dataRef, 0, 0)])
        try f.publish()
        XCTAssertEqual(try f.takeResponses().map(\.status), [ok])
        XCTAssertEqual(f.storage.log, ["f", "w", "f"])
    }

    func testIndirectRequestsTakeTheirSegmentsFromGrantedPages() throws {
        let f = try F()
        // 20 segments of whole pages, listed in page 40 (granted read-only, as blkfront does).
        let list = f.dataPage(40)
        for k in 0..<20 {
            try f.memory.write32(list + UInt64(k * 8), F.dataRef + UInt32(k))
            try f.memory.write8(list + UInt64(k * 8) + 4, 0)
            try f.memory.write8(list + UInt64(k * 8) + 5, 7)
        }
        try f.grant(F.dataRef + 40, frame: list >> 12, readOnly: true)
        try f.putIndirect(op: BlkifABI.opRead, id: 77, sector: 8, segmentCount: 20, pages: [F.dataRef + 40])
        try f.publish()
        let r = try f.takeResponses()
        XCTAssertEqual(r.map { "\($0.id) \($0.op) \($0.status)" }, ["77 0 0"], "the response names the inner operation")
        XCTAssertEqual(try f.memory.read(f.dataPage(0), count: 20 * 4096), Array(f.storage.bytes[(8 * 512)..<(8 * 512 + 20 * 4096)]))
    }

    func testReadOnlyDisksRefuseWritesAndServeReads() throws {
        let f = try F(readOnly: true)
        let before = f.storage.bytes
        try f.put(op: BlkifABI.opWrite, id: 1, sector: 0, segments: [(F.dataRef, 0, 7)])
        try f.put(op: BlkifABI.opWriteBarrier, id: 2, sector: 0, segments: [(F.dataRef, 0, 7)])
        try f.put(op: BlkifABI.opRead, id: 3, sector: 0, segments: [(F.dataRef, 0, 7)])
        try f.put(op: BlkifABI.opFlushDiskCache, id: 4, sector: 0, segments: [])
        try f.publish()
        XCTAssertEqual(try f.takeResponses().map(\.status), [error, error, ok, ok])
        XCTAssertEqual(f.storage.bytes, before)
        XCTAssertTrue(f.backend.readOnly)
        XCTAssertTrue(try F(storageReadOnly: true).backend.readOnly, "an image opened read-only makes a read-only disk")
    }

    /// Each nonsense request gets an error (or EOPNOTSUPP), the disk is untouched and the ring goes on.
    func testHostileRequestsAreAnsweredWithErrors() throws {
        let f = try F(sectors: 64)
        let before = f.storage.bytes
        let w = BlkifABI.opWrite
        try f.put(op: w, id: 1, sector: 0, segments: [], count: 0)                          // no segments
        try f.put(op: w, id: 2, sector: 0, segments: Array(repeating: (F.dataRef, 0, 7), count: 11), count: 12)  // 12 segments
        try f.put(op: w, id: 3, sector: 0, segments: [(F.dataRef, 5, 2)])                   // first > last
        try f.put(op: w, id: 4, sector: 0, segments: [(F.dataRef, 0, 8)])                   // past the page
        try f.put(op: w, id: 5, sector: 60, segments: [(F.dataRef, 0, 7)])                  // past the disk's end
        try f.put(op: w, id: 6, sector: UInt64.max - 2, segments: [(F.dataRef, 0, 7)])      // wraps
        try f.put(op: w, id: 7, sector: 0, segments: [(50_000, 0, 7)])                      // ref past the table
        try f.revoke(F.dataRef + 5)
        try f.put(op: w, id: 8, sector: 0, segments: [(F.dataRef + 5, 0, 7)])               // revoked
        try f.grant(F.dataRef + 6, frame: f.dataPage(6) >> 12, readOnly: true)
        try f.put(op: BlkifABI.opRead, id: 9, sector: 0, segments: [(F.dataRef + 6, 0, 7)]) // read into a read-only grant
        try f.grant(F.dataRef + 7, frame: 0xF_FFFF)
        try f.put(op: BlkifABI.opRead, id: 10, sector: 0, segments: [(F.dataRef + 7, 0, 7)]) // granted frame not RAM
        try f.put(op: BlkifABI.opFlushDiskCache, id: 11, sector: 0, segments: [(F.dataRef, 0, 7)]) // flush with data
        try f.put(op: BlkifABI.opDiscard, id: 12, sector: 0, segments: [])
        try f.put(op: 200, id: 13, sector: 0, segments: [])
        try f.putIndirect(op: w, id: 14, sector: 0, segmentCount: 0, pages: [])
        try f.putIndirect(op: w, id: 15, sector: 0, segmentCount: BlkifABI.maxIndirectSegments + 1, pages: [F.dataRef])
        try f.putIndirect(op: BlkifABI.opFlushDiskCache, id: 16, sector: 0, segmentCount: 1, pages: [F.dataRef])
        try f.putIndirect(op: w, id: 17, sector: 0, segmentCount: 1, pages: [40_000])        // list not granted
        try f.publish()
        let r = try f.takeResponses()
        XCTAssertEqual(r.map(\.id), Array(1...17))
        XCTAssertEqual(r.map(\.status), Array(repeating: error, count: 11) + [unsupported, unsupported] + Array(repeating: error, count: 4))
        XCTAssertEqual(f.storage.bytes, before)
        XCTAssertEqual(f.storage.flushes, 0)
        for ref in [F.dataRef, F.dataRef + 6, F.dataRef + 7, F.ringRef] where ref != F.ringRef {
            XCTAssertEqual(f.grants.activeUses(ref: ref).readers + f.grants.activeUses(ref: ref).writers, 0, "ref \(ref) released")
        }
        // The ring still works.
        try f.put(op: BlkifABI.opRead, id: 99, sector: 0, segments: [(F.dataRef, 0, 0)])
        try f.publish()
        XCTAssertEqual(try f.takeResponses().map(\.status), [ok])
    }

    func testHostIOErrorsBecomeResponseErrors() throws {
        let f = try F()
        f.storage.failIO = true
        try f.put(op: BlkifABI.opRead, id: 1, sector: 0, segments: [(F.dataRef, 0, 7)])
        try f.put(op: BlkifABI.opWrite, id: 2, sector: 0, segments: [(F.dataRef, 0, 7)])
        try f.put(op: BlkifABI.opFlushDiskCache, id: 3, sector: 0, segments: [])
        try f.publish()
        XCTAssertEqual(try f.takeResponses().map(\.status), [error, error, error])
    }

    func testAProducerMoreThanARingAheadBreaksTheConnection() throws {
        let f = try F()
        try f.publish(producerOverride: BlkifABI.ringSlots + 1)
        XCTAssertEqual(try f.takeResponses().count, 0)
        XCTAssertNotNil(f.backend.failure)
        try f.publish(producerOverride: 1)
        XCTAssertEqual(try f.takeResponses().count, 0, "a broken ring is not served again")
        f.backend.disconnect()
        XCTAssertEqual(f.grants.activeUses(ref: F.ringRef).writers, 0, "disconnect gives the ring back")
    }

    /// Random ring slots, producers and grant entries: every answer is one of the three
    /// statuses, nothing outside the disk or the granted pages changes, no crash.
    func testRandomRingContentsNeverCrash() throws {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<40 {
            let f = try F(sectors: 128)
            for _ in 0..<Int.random(in: 1...31, using: &rng) {
                let s = f.slot(f.producer)
                try f.put(op: 0, id: UInt64(round), sector: 0, segments: [])
                let junk = (0..<BlkifABI.requestSize).map { _ in UInt8.random(in: 0...255, using: &rng) }
                try f.memory.write(junk, at: s)
                // Small op numbers and small sector numbers are the interesting ones half the time.
                if Bool.random(using: &rng) { try f.memory.write8(s, UInt8.random(in: 0...7, using: &rng)) }
                if Bool.random(using: &rng) { try f.memory.write64(s + 16, UInt64.random(in: 0...200, using: &rng)) }
                if Bool.random(using: &rng) { try f.memory.write8(s + 1, UInt8.random(in: 0...12, using: &rng)) }
            }
            for ref in 0..<UInt32(80) where Int.random(in: 0..<4, using: &rng) == 0 {
                try f.memory.write64(F.grantFrame + UInt64(ref) * 8, UInt64.random(in: 0...UInt64.max, using: &rng))
            }
            try f.publish()
            for r in try f.takeResponses() {
                XCTAssertTrue([BlkifABI.statusOK, BlkifABI.statusError, BlkifABI.statusNotSupported].contains(r.status))
            }
            XCTAssertEqual(f.storage.size, 128 * 512)
        }
    }
}
