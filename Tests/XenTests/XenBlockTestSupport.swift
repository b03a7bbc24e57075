import XCTest
import MachineCore
@testable import Xen

/// A disk in host memory that counts flushes and can be made to fail.
final class MemoryBlockStorage: XenBlockStorage {
    var bytes: [UInt8]
    let readOnly: Bool
    var flushes = 0
    var failIO = false
    /// Order of operations, for barrier checks: "r", "w", "f".
    var log: [String] = []

    init(sectors: Int, readOnly: Bool = false) {
        bytes = (0..<(sectors * 512)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        self.readOnly = readOnly
    }

    var size: UInt64 { UInt64(bytes.count) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Bool {
        guard !failIO, offset + UInt64(buffer.count) <= size else { return false }
        log.append("r")
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Int(offset)..<(Int(offset) + buffer.count)])) }
        return true
    }

    func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) -> Bool {
        guard !failIO, !readOnly, offset + UInt64(buffer.count) <= size else { return false }
        log.append("w")
        bytes.replaceSubrange(Int(offset)..<(Int(offset) + buffer.count), with: buffer)
        return true
    }

    func flush() -> Bool {
        guard !failIO else { return false }
        flushes += 1
        log.append("f")
        return true
    }
}

/// A guest with a grant table, a shared_info page, a blkif ring and data pages, and a
/// backend connected to it; the test plays blkfront.
final class BlockRingFixture {
    static let sharedInfo: UInt64 = 0x8000
    static let grantFrame: UInt64 = 0x10000
    static let ringPage: UInt64 = 0x20000
    static let ringRef: UInt32 = 1
    /// Data page k is at dataBase + k pages, granted as ref dataRef + k.
    static let dataBase: UInt64 = 0x100000
    static let dataRef: UInt32 = 8

    let memory: GuestMemory
    let events: EventChannelTable
    let grants: GrantTable
    let storage: MemoryBlockStorage
    let backend: XenBlockBackend
    let guestPort: UInt32
    private(set) var producer: UInt32 = 0
    private(set) var responsesSeen: UInt32 = 0

    init(sectors: Int = 256, readOnly: Bool = false, storageReadOnly: Bool = false) throws {
        memory = try GuestMemory(size: 4 << 20)
        events = EventChannelTable(memory: memory, domainID: 1)
        XCTAssertNil(events.placeSharedInfo(at: Self.sharedInfo))
        grants = GrantTable(memory: memory, domainID: 1)
        XCTAssertNil(grants.placeFrame(index: 0, at: Self.grantFrame))
        storage = MemoryBlockStorage(sectors: sectors, readOnly: storageReadOnly)
        backend = XenBlockBackend(storage: storage, readOnly: readOnly, memory: memory, grants: grants, events: events)
        guestPort = try events.allocUnbound(dom: EventChannelABI.domidSelf, remoteDom: EventChannelABI.domidVMM)
        try grant(Self.ringRef, frame: Self.ringPage >> 12)
        for k in 0..<64 { try grant(Self.dataRef + UInt32(k), frame: (Self.dataBase >> 12) + UInt64(k)) }
        try memory.write32(Self.ringPage + UInt64(BlkifABI.ringResponseEvent), 1)
        try backend.connect(ringRef: Self.ringRef, guestPort: guestPort)
    }

    /// Writes grant entry `ref` for domain 0.
    func grant(_ ref: UInt32, frame: UInt64, readOnly: Bool = false) throws {
        let entry = Self.grantFrame + UInt64(ref) * 8
        try memory.write16(entry + 2, 0)
        try memory.write32(entry + 4, UInt32(frame))
        try memory.write16(entry, GrantTableABI.flagPermitAccess | (readOnly ? GrantTableABI.flagReadOnly : 0))
    }

    func revoke(_ ref: UInt32) throws { try memory.write16(Self.grantFrame + UInt64(ref) * 8, 0) }

    /// Slot address of free-running index `index`.
    func slot(_ index: UInt32) -> UInt64 {
        Self.ringPage + UInt64(BlkifABI.ringEntries) + UInt64(index % BlkifABI.ringSlots) * UInt64(BlkifABI.requestSize)
    }

    /// Puts a direct request on the ring (not yet published).
    func put(op: UInt8, id: UInt64, sector: UInt64, segments: [(ref: UInt32, first: UInt8, last: UInt8)], count: Int? = nil) throws {
        let s = slot(producer)
        try memory.fill(s, count: BlkifABI.requestSize)
        try memory.write8(s + UInt64(BlkifABI.requestOperation), op)
        try memory.write8(s + UInt64(BlkifABI.requestSegmentCount), UInt8(truncatingIfNeeded: count ?? segments.count))
        try memory.write64(s + UInt64(BlkifABI.requestID), id)
        try memory.write64(s + UInt64(BlkifABI.requestSector), sector)
        for (k, seg) in segments.prefix(BlkifABI.maxDirectSegments).enumerated() {
            let base = s + UInt64(BlkifABI.requestSegments + k * BlkifABI.segmentSize)
            try memory.write32(base, seg.ref)
            try memory.write8(base + 4, seg.first)
            try memory.write8(base + 5, seg.last)
        }
        producer &+= 1
    }

    /// Puts an indirect request whose segment list sits in the pages granted as `pages`.
    func putIndirect(op: UInt8, id: UInt64, sector: UInt64, segmentCount: Int, pages: [UInt32]) throws {
        let s = slot(producer)
        try memory.fill(s, count: BlkifABI.requestSize)
        try memory.write8(s, BlkifABI.opIndirect)
        try memory.write8(s + UInt64(BlkifABI.indirectOperation), op)
        try memory.write16(s + UInt64(BlkifABI.indirectSegmentCount), UInt16(truncatingIfNeeded: segmentCount))
        try memory.write64(s + UInt64(BlkifABI.indirectID), id)
        try memory.write64(s + UInt64(BlkifABI.indirectSector), sector)
        for (k, ref) in pages.enumerated() { try memory.write32(s + UInt64(BlkifABI.indirectGrants + 4 * k), ref) }
        producer &+= 1
    }

    /// Publishes the requests put so far and runs the backend as the channel would.
    func publish(producerOverride: UInt32? = nil) throws {
        try memory.write32(Self.ringPage + UInt64(BlkifABI.ringRequestProducer), producerOverride ?? producer)
        backend.service()
    }

    /// Responses the backend produced since the last call: (id, operation, status).
    func takeResponses() throws -> [(id: UInt64, op: UInt8, status: Int16)] {
        let produced = try memory.read32(Self.ringPage + UInt64(BlkifABI.ringResponseProducer))
        var out: [(UInt64, UInt8, Int16)] = []
        while responsesSeen != produced {
            let s = slot(responsesSeen)
            out.append((try memory.read64(s), try memory.read8(s + 8), Int16(bitPattern: try memory.read16(s + 10))))
            responsesSeen &+= 1
        }
        try memory.write32(Self.ringPage + UInt64(BlkifABI.ringResponseEvent), responsesSeen &+ 1)
        return out
    }

    /// Whether the guest's port is pending in shared_info (and clears it).
    func takeNotification() throws -> Bool {
        let word = Self.sharedInfo + SharedInfoLayout.eventPendingOffset + UInt64(guestPort / 64) * 8
        let bits = try memory.read64(word)
        let bit: UInt64 = 1 << (guestPort % 64)
        try memory.write64(word, bits & ~bit)
        return bits & bit != 0
    }

    func dataPage(_ k: Int) -> UInt64 { Self.dataBase + UInt64(k) * 4096 }
}
