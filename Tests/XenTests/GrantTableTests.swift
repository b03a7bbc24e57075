import XCTest
import MachineCore
@testable import Xen

/// Grant table v1: frames placed by the guest, Xen's permission checks when a backend uses a
/// grant, the in-use flags, and the size/version hypercalls.
final class GrantTableTests: XCTestCase {
    typealias ABI = GrantTableABI
    static let frame0: UInt64 = 0x30000
    static let argument: UInt64 = 0x20000
    /// A guest page the tests grant.
    static let dataFrame: UInt32 = 0x123

    private func makeTable() throws -> (GuestMemory, GrantTable) {
        let memory = try GuestMemory(size: 4 << 20)
        let table = GrantTable(memory: memory, maxFrames: 4)
        XCTAssertNil(table.placeFrame(index: 0, at: Self.frame0))
        return (memory, table)
    }

    /// Writes entry `ref` of frame 0 as a guest does.
    private func grant(_ memory: GuestMemory, ref: UInt32, flags: UInt16, domid: UInt16 = 0, frame: UInt32 = dataFrame) throws {
        let address = Self.frame0 + UInt64(ref) * ABI.entrySize
        try memory.write16(address + 2, domid)
        try memory.write32(address + 4, frame)
        try memory.write16(address, flags)
    }

    private func flags(_ memory: GuestMemory, ref: UInt32) throws -> UInt16 {
        try memory.read16(Self.frame0 + UInt64(ref) * ABI.entrySize)
    }

    private func refusal(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> GrantStatus? {
        do {
            try body()
            return nil
        } catch let refusal as GrantTable.Refusal {
            return refusal.status
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    // MARK: using a grant

    /// A read sets GTF_reading while held and clears it after; the backend gets the frame.
    func testReadSetsReadingWhileHeld() throws {
        let (memory, table) = try makeTable()
        try grant(memory, ref: 8, flags: ABI.flagPermitAccess)
        let access = try table.acquire(ref: 8, write: false)
        XCTAssertEqual(access, GrantAccess(ref: 8, frameAddress: UInt64(Self.dataFrame) << 12, writable: false))
        XCTAssertEqual(try flags(memory, ref: 8), ABI.flagPermitAccess | ABI.flagReading)
        table.release(access)
        XCTAssertEqual(try flags(memory, ref: 8), ABI.flagPermitAccess)
    }

    /// A write sets GTF_reading and GTF_writing (as Xen does) and clears both after.
    func testWriteSetsReadingAndWritingWhileHeld() throws {
        let (memory, table) = try makeTable()
        try grant(memory, ref: 9, flags: ABI.flagPermitAccess)
        let value = try table.withGrant(ref: 9, write: true) { access -> UInt16 in
            XCTAssertTrue(access.writable)
            return try flags(memory, ref: 9)
        }
        XCTAssertEqual(value, ABI.flagPermitAccess | ABI.flagReading | ABI.flagWriting)
        XCTAssertEqual(try flags(memory, ref: 9), ABI.flagPermitAccess)
    }

    /// The flags clear only when the last user of each kind ends.
    func testOverlappingUsesKeepFlagsUntilTheLastEnds() throws {
        let (memory, table) = try makeTable()
        try grant(memory, ref: 10, flags: ABI.flagPermitAccess)
        let r1 = try table.acquire(ref: 10, write: false)
        let r2 = try table.acquire(ref: 10, write: false)
        let w1 = try table.acquire(ref: 10, write: true)
        XCTAssertTrue(table.activeUses(ref: 10) == (2, 1))
        table.release(w1)
        XCTAssertEqual(try flags(memory, ref: 10), ABI.flagPermitAccess | ABI.flagReading)
        table.release(r1)
        XCTAssertEqual(try flags(memory, ref: 10), ABI.flagPermitAccess | ABI.flagReading)
        table.release(r2)
        XCTAssertEqual(try flags(memory, ref: 10), ABI.flagPermitAccess)
        // A release that matches no use changes nothing.
        table.release(r2)
        table.release(GrantAccess(ref: 999_999, frameAddress: 0, writable: true))
        XCTAssertEqual(try flags(memory, ref: 10), ABI.flagPermitAccess)
    }

    /// The frame of a grant in use is the one read when the use began: a guest rewriting the
    /// entry meanwhile does not move a concurrent use elsewhere.
    func testFrameIsCapturedAtFirstUse() throws {
        let (memory, table) = try makeTable()
        try grant(memory, ref: 11, flags: ABI.flagPermitAccess)
        let first = try table.acquire(ref: 11, write: false)
        try memory.write32(Self.frame0 + 11 * ABI.entrySize + 4, 0x200)
        let second = try table.acquire(ref: 11, write: false)
        XCTAssertEqual(second.frameAddress, first.frameAddress)
        table.release(first); table.release(second)
        XCTAssertEqual(try table.acquire(ref: 11, write: false).frameAddress, 0x200 << 12)
    }

    // MARK: refusals

    /// No GTF_permit_access (invalid, accept_transfer, transitive) is refused for reads and
    /// writes, and the entry is left untouched.
    func testEntryWithoutPermitIsRefused() throws {
        let (memory, table) = try makeTable()
        for type: UInt16 in [0, 2, 3] {
            try grant(memory, ref: 12, flags: type)
            XCTAssertEqual(refusal { _ = try table.acquire(ref: 12, write: false) }, .generalError)
            XCTAssertEqual(refusal { _ = try table.acquire(ref: 12, write: true) }, .generalError)
            XCTAssertEqual(try flags(memory, ref: 12), type)
        }
    }

    /// A read-only grant can be read but not written, also while a reader holds it.
    func testReadOnlyGrantRefusesWrites() throws {
        let (memory, table) = try makeTable()
        try grant(memory, ref: 13, flags: ABI.flagPermitAccess | ABI.flagReadOnly)
        XCTAssertEqual(refusal { _ = try table.acquire(ref: 13, write: true) }, .generalError)
        XCTAssertEqual(try flags(memory, ref: 13), ABI.flagPermitAccess | ABI.flagReadOnly)
        let reader = try table.acquire(ref: 13, write: false)
        XCTAssertEqual(refusal { _ = try table.acquire(ref: 13, write: true) }, .generalError)
        XCTAssertTrue(table.activeUses(ref: 13) == (1, 0))
        table.release(reader)
        XCTAssertEqual(try flags(memory, ref: 13), ABI.flagPermitAccess | ABI.flagReadOnly)
    }

    /// A grant for another domain is refused to domain 0, and granted to that domain.
    func testGrantForAnotherDomainIsRefused() throws {
        let (memory, table) = try makeTable()
        try grant(memory, ref: 14, flags: ABI.flagPermitAccess, domid: 3)
        XCTAssertEqual(refusal { _ = try table.acquire(ref: 14, write: false) }, .generalError)
        XCTAssertEqual(try flags(memory, ref: 14), ABI.flagPermitAccess)
        XCTAssertNoThrow(try table.acquire(ref: 14, write: false, grantee: 3))
    }

    /// Refs past the table are badGrantRef; refs in a frame the table has but the guest has not
    /// placed are generalError (Xen's fresh frames hold no permission); a granted frame outside
    /// guest memory is badPage and leaves no in-use flag behind.
    func testRefRangeAndFrameChecks() throws {
        let (memory, table) = try makeTable()
        for ref: UInt32 in [512, 513, 0x7FFF_FFFF, .max] {
            XCTAssertEqual(refusal { _ = try table.acquire(ref: ref, write: false) }, .badGrantRef)
        }
        XCTAssertNil(table.placeFrame(index: 2, at: 0x32000))
        XCTAssertEqual(table.frameCount, 3)
        XCTAssertEqual(refusal { _ = try table.acquire(ref: 600, write: false) }, .generalError)
        XCTAssertEqual(refusal { _ = try table.acquire(ref: 1536, write: false) }, .badGrantRef)

        try grant(memory, ref: 15, flags: ABI.flagPermitAccess, frame: 0x400)
        XCTAssertEqual(refusal { _ = try table.acquire(ref: 15, write: true) }, .badPage)
        XCTAssertEqual(try flags(memory, ref: 15), ABI.flagPermitAccess)
        XCTAssertTrue(table.activeUses(ref: 15) == (0, 0))
    }

    /// Random entries and refs: every answer is a grant or a refusal, nothing crashes, and once
    /// every use is released no entry keeps an in-use flag.
    func testHostileEntriesNeverCrashAndLeaveNoFlags() throws {
        let (memory, table) = try makeTable()
        var rng = EventChannelTestRandom(seed: 0xC0FFEE)
        var held: [GrantAccess] = []
        for _ in 0..<20_000 {
            let ref = UInt32(truncatingIfNeeded: rng.next() % 3 == 0 ? rng.next() : rng.next() % 40)
            if rng.next() % 4 == 0, ref < 512 {
                let raw = rng.next()
                try grant(memory, ref: ref, flags: UInt16(truncatingIfNeeded: raw) & ~(ABI.flagReading | ABI.flagWriting),
                          domid: raw >> 16 & 1 == 0 ? 0 : UInt16(truncatingIfNeeded: raw >> 20),
                          frame: UInt32(truncatingIfNeeded: raw >> 32) % 0x800)
            }
            if let access = try? table.acquire(ref: ref, write: rng.next() % 2 == 0) { held.append(access) }
            if !held.isEmpty, rng.next() % 2 == 0 { table.release(held.remove(at: Int(rng.next() % UInt64(held.count)))) }
        }
        for access in held { table.release(access) }
        for ref: UInt32 in 0..<512 {
            XCTAssertEqual(try flags(memory, ref: ref) & (ABI.flagReading | ABI.flagWriting), 0, "ref \(ref)")
            XCTAssertTrue(table.activeUses(ref: ref) == (0, 0))
        }
    }

    // MARK: frames

    /// Frame placement: v2 status frames, indices past the limit and unbacked or unaligned
    /// addresses are -EINVAL; the first placement zeroes the frame, a move carries its entries.
    func testPlaceFrame() throws {
        let (memory, table) = try makeTable()
        XCTAssertEqual(table.placeFrame(index: ABI.statusFrameIndexFlag, at: 0x40000), .EINVAL)
        XCTAssertEqual(table.placeFrame(index: 4, at: 0x40000), .EINVAL)
        XCTAssertEqual(table.placeFrame(index: .max, at: 0x40000), .EINVAL)
        XCTAssertEqual(table.placeFrame(index: 1, at: 0x40010), .EINVAL)
        XCTAssertEqual(table.placeFrame(index: 1, at: 4 << 20), .EINVAL)
        XCTAssertEqual(table.frameCount, 1)

        try memory.fill(0x41000, count: 4096, with: 0x5A)
        XCTAssertNil(table.placeFrame(index: 1, at: 0x41000))
        XCTAssertEqual(try memory.read(0x41000, count: 4096), Array(repeating: 0, count: 4096))

        try grant(memory, ref: 20, flags: ABI.flagPermitAccess)
        XCTAssertNil(table.placeFrame(index: 0, at: 0x50000))
        XCTAssertEqual(table.frameAddress(index: 0), 0x50000)
        XCTAssertEqual(table.entry(20)?.frame, Self.dataFrame)
        XCTAssertEqual(try table.acquire(ref: 20, write: false).frameAddress, UInt64(Self.dataFrame) << 12)
        XCTAssertEqual(try memory.read16(0x50000 + 20 * ABI.entrySize), ABI.flagPermitAccess | ABI.flagReading)
        table.resetDomain()
        XCTAssertEqual(table.frameCount, 0)
        XCTAssertEqual(refusal { _ = try table.acquire(ref: 20, write: false) }, .badGrantRef)
    }

    // MARK: hypercalls

    private func hypercall(_ table: GrantTable, _ memory: GuestMemory, _ op: UInt64, _ bytes: [UInt8], count: UInt64 = 1) throws -> XenErrno? {
        try memory.write(bytes, at: Self.argument)
        return table.hypercall(command: op, argument: Self.argument, count: count)
    }

    /// query_size answers frames and limit for the guest itself, a status for other domains,
    /// and takes exactly one structure.
    func testQuerySize() throws {
        let (memory, table) = try makeTable()
        let blank = Array(repeating: UInt8(0xEE), count: 14)
        XCTAssertNil(try hypercall(table, memory, ABI.opQuerySize, EventChannelArgBytes.u16(EventChannelABI.domidSelf) + blank))
        XCTAssertEqual(try memory.read32(Self.argument + 4), 1)
        XCTAssertEqual(try memory.read32(Self.argument + 8), 4)
        XCTAssertEqual(try memory.read16(Self.argument + 12), 0)
        XCTAssertNil(try hypercall(table, memory, ABI.opQuerySize, EventChannelArgBytes.u16(0) + blank))
        XCTAssertEqual(Int16(bitPattern: try memory.read16(Self.argument + 12)), GrantStatus.permissionDenied.rawValue)
        XCTAssertNil(try hypercall(table, memory, ABI.opQuerySize, EventChannelArgBytes.u16(7) + blank))
        XCTAssertEqual(Int16(bitPattern: try memory.read16(Self.argument + 12)), GrantStatus.badDomain.rawValue)
        XCTAssertEqual(try hypercall(table, memory, ABI.opQuerySize, EventChannelArgBytes.u16(1) + blank, count: 2), .EINVAL)
        XCTAssertEqual(try hypercall(table, memory, ABI.opQuerySize, EventChannelArgBytes.u16(1) + blank, count: 0), .EINVAL)
        XCTAssertEqual(table.hypercall(command: ABI.opQuerySize, argument: memory.size - 8, count: 1), .EFAULT)
    }

    /// set_version: 1 is accepted, 2 is -ENOSYS (v2 not offered), others -EINVAL; the structure
    /// always comes back saying 1. get_version answers 1 for the guest itself.
    func testVersions() throws {
        let (memory, table) = try makeTable()
        for (requested, expected) in [(UInt32(1), XenErrno?.none), (2, .ENOSYS), (0, .EINVAL), (3, .EINVAL), (.max, .EINVAL)] {
            XCTAssertEqual(try hypercall(table, memory, ABI.opSetVersion, EventChannelArgBytes.u32(requested)), expected, "version \(requested)")
            XCTAssertEqual(try memory.read32(Self.argument), 1)
        }
        XCTAssertEqual(try hypercall(table, memory, ABI.opSetVersion, EventChannelArgBytes.u32(1), count: 3), .EINVAL)
        XCTAssertNil(try hypercall(table, memory, ABI.opGetVersion, EventChannelArgBytes.u16(EventChannelABI.domidSelf) + [0, 0] + EventChannelArgBytes.u32(0)))
        XCTAssertEqual(try memory.read32(Self.argument + 4), 1)
        XCTAssertEqual(try hypercall(table, memory, ABI.opGetVersion, EventChannelArgBytes.u16(0) + [0, 0] + EventChannelArgBytes.u32(0)), .EPERM)
        XCTAssertEqual(try hypercall(table, memory, ABI.opGetVersion, EventChannelArgBytes.u16(9) + [0, 0] + EventChannelArgBytes.u32(0)), .ESRCH)
        XCTAssertEqual(table.hypercall(command: ABI.opSetVersion, argument: .max, count: 1), .EFAULT)
    }

    /// Grantee operations (map, copy, setup_table, …) and unknown numbers are -ENOSYS.
    func testOtherOperationsAreENOSYS() throws {
        let (memory, table) = try makeTable()
        for op: UInt64 in [ABI.opMapGrantRef, ABI.opUnmapGrantRef, ABI.opSetupTable, ABI.opCopy, 11, 12, 99, .max] {
            XCTAssertEqual(try hypercall(table, memory, op, Array(repeating: 0, count: 40)), .ENOSYS, "op \(op)")
            XCTAssertNil(GrantTable.argumentSize(op))
        }
        XCTAssertEqual(GrantTable.argumentSize(ABI.opQuerySize), 16)
        XCTAssertEqual(GrantTable.argumentSize(ABI.opSetVersion), 4)
        XCTAssertEqual(GrantTable.argumentSize(ABI.opGetVersion), 8)
    }
}

/// GNTTABOP_copy structures: fields at the header's offsets and Xen's argument checks.
final class GrantCopyRequestTests: XCTestCase {
    private func bytes(sourceRef: UInt64, sourceDom: UInt16, sourceOffset: UInt16,
                       destFrame: UInt64, destDom: UInt16, destOffset: UInt16, length: UInt16, flags: UInt16) -> [UInt8] {
        func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
        return le64(sourceRef) + EventChannelArgBytes.u16(sourceDom) + EventChannelArgBytes.u16(sourceOffset) + [0, 0, 0, 0]
            + le64(destFrame) + EventChannelArgBytes.u16(destDom) + EventChannelArgBytes.u16(destOffset) + [0, 0, 0, 0]
            + EventChannelArgBytes.u16(length) + EventChannelArgBytes.u16(flags) + [0xEE, 0xEE, 0, 0, 0, 0]
    }

    func testDecodesFieldsAtHeaderOffsets() throws {
        let raw = bytes(sourceRef: 0xABCD_0000_0000_0042, sourceDom: 1, sourceOffset: 512,
                        destFrame: 0x1_2345, destDom: EventChannelABI.domidSelf, destOffset: 8, length: 100,
                        flags: GrantTableABI.copySourceIsGrant)
        let request = try XCTUnwrap(GrantCopyRequest(bytes: raw))
        XCTAssertEqual(request.source, .init(refOrFrame: 0x42, domid: 1, offset: 512, isGrant: true))
        XCTAssertEqual(request.dest, .init(refOrFrame: 0x1_2345, domid: EventChannelABI.domidSelf, offset: 8, isGrant: false))
        XCTAssertEqual(request.length, 100)
        XCTAssertNil(request.check())
        XCTAssertNil(GrantCopyRequest(bytes: Array(raw.prefix(39))))
    }

    func testChecksPageBoundsAndFrameOwnership() throws {
        let grants = GrantTableABI.copySourceIsGrant | GrantTableABI.copyDestIsGrant
        let past = try XCTUnwrap(GrantCopyRequest(bytes: bytes(sourceRef: 8, sourceDom: 1, sourceOffset: 4000, destFrame: 9,
                                                               destDom: 1, destOffset: 0, length: 97, flags: grants)))
        XCTAssertEqual(past.check(), .badCopyArgument)
        let edge = try XCTUnwrap(GrantCopyRequest(bytes: bytes(sourceRef: 8, sourceDom: 1, sourceOffset: 4000, destFrame: 9,
                                                               destDom: 1, destOffset: 0, length: 96, flags: grants)))
        XCTAssertNil(edge.check())
        let huge = try XCTUnwrap(GrantCopyRequest(bytes: bytes(sourceRef: 8, sourceDom: 1, sourceOffset: .max, destFrame: 9,
                                                               destDom: 1, destOffset: .max, length: .max, flags: grants)))
        XCTAssertEqual(huge.check(), .badCopyArgument)
        let foreignFrame = try XCTUnwrap(GrantCopyRequest(bytes: bytes(sourceRef: 8, sourceDom: 1, sourceOffset: 0, destFrame: 9,
                                                                       destDom: 1, destOffset: 0, length: 16,
                                                                       flags: GrantTableABI.copySourceIsGrant)))
        XCTAssertEqual(foreignFrame.check(), .permissionDenied)
    }
}
