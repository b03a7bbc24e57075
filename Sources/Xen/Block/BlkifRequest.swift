/// One request from a frontend's ring, checked before anything is done with it (Xen
/// blkback `dispatch_rw_block_io`, `xen_blkbk_parse_indirect`): the checks a hostile frontend
/// meets are here, in one place.
public struct BlkifRequest: Equatable, Sendable {
    /// One 4-KiB page of the transfer: sectors `firstSector...lastSector` of granted frame `grant`.
    public struct Segment: Equatable, Sendable {
        public var grant: UInt32
        public var firstSector: UInt8
        public var lastSector: UInt8
        public var sectorCount: UInt64 { UInt64(lastSector - firstSector) + 1 }
    }

    public enum Kind: Equatable, Sendable {
        case read, write
        /// WRITE_BARRIER: earlier requests are on the disk before this write, and it before
        /// later ones; done as flush, write, flush.
        case barrierWrite
        case flush
    }

    public var id: UInt64
    /// The operation the response names: the request's own, or an indirect request's inner one.
    public var operation: UInt8
    public var kind: Kind
    public var sector: UInt64
    public var segments: [Segment]
    /// Indirect pages holding the segment list (empty for a direct request).
    public var indirectGrants: [UInt32]

    /// Sectors the request moves.
    public var sectorCount: UInt64 { segments.reduce(0) { $0 + $1.sectorCount } }

    /// Why a request is answered without being done.
    public enum Rejection: Error, Equatable {
        /// An operation this backend does not offer (BLKIF_RSP_EOPNOTSUPP).
        case unsupported
        /// Nonsense: segment counts, sector ranges (BLKIF_RSP_ERROR).
        case invalid(String)
    }

    /// Reads the request in ring slot `slot` (112 bytes, copied out of the shared page first
    /// so that the frontend cannot change it while it is checked). An indirect request comes
    /// back with its indirect grants and no segments yet (`readIndirectSegments`).
    public static func parse(_ slot: UnsafeRawBufferPointer) -> Result<BlkifRequest, Rejection> {
        precondition(slot.count >= BlkifABI.requestSize)
        let op = slot[BlkifABI.requestOperation]
        func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: slot.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: slot.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: slot.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        switch op {
        case BlkifABI.opRead, BlkifABI.opWrite, BlkifABI.opWriteBarrier, BlkifABI.opFlushDiskCache:
            let id = u64(BlkifABI.requestID)
            let count = Int(slot[BlkifABI.requestSegmentCount])
            let kind: Kind = op == BlkifABI.opRead ? .read : op == BlkifABI.opWrite ? .write
                : op == BlkifABI.opWriteBarrier ? .barrierWrite : .flush
            if kind == .flush {
                // Linux sends flushes with no data; Xen blkback allows none.
                guard count == 0 else { return .failure(.invalid("flush with \(count) segments")) }
                return .success(BlkifRequest(id: id, operation: op, kind: .flush, sector: 0, segments: [], indirectGrants: []))
            }
            guard count >= 1, count <= BlkifABI.maxDirectSegments else {
                return .failure(.invalid("\(count) segments in a direct request"))
            }
            var segments: [Segment] = []
            segments.reserveCapacity(count)
            for k in 0..<count {
                let base = BlkifABI.requestSegments + k * BlkifABI.segmentSize
                segments.append(Segment(grant: u32(base + BlkifABI.segmentGrant), firstSector: slot[base + BlkifABI.segmentFirstSector],
                                        lastSector: slot[base + BlkifABI.segmentLastSector]))
            }
            let request = BlkifRequest(id: id, operation: op, kind: kind, sector: u64(BlkifABI.requestSector), segments: segments, indirectGrants: [])
            return request.checkSegments().map { .failure($0) } ?? .success(request)
        case BlkifABI.opIndirect:
            let inner = slot[BlkifABI.indirectOperation]
            let id = u64(BlkifABI.indirectID)
            guard inner == BlkifABI.opRead || inner == BlkifABI.opWrite else {
                return .failure(.invalid("indirect operation \(inner)"))
            }
            let count = Int(u16(BlkifABI.indirectSegmentCount))
            guard count >= 1, count <= BlkifABI.maxIndirectSegments else {
                return .failure(.invalid("\(count) segments in an indirect request"))
            }
            let pages = (count + BlkifABI.segmentsPerIndirectPage - 1) / BlkifABI.segmentsPerIndirectPage
            let grants = (0..<pages).map { u32(BlkifABI.indirectGrants + $0 * 4) }
            // The response names the inner operation, as Xen's blkback answers (Linux's blkfront
            // disables a disk whose response says INDIRECT).
            var request = BlkifRequest(id: id, operation: inner, kind: inner == BlkifABI.opRead ? .read : .write,
                                       sector: u64(BlkifABI.indirectSector), segments: [], indirectGrants: grants)
            request.segments.reserveCapacity(count)
            request.pendingIndirectSegments = count
            return .success(request)
        default:
            return .failure(.unsupported)
        }
    }

    /// Segments still to read from the indirect pages (0 for a direct request).
    public var pendingIndirectSegments = 0

    /// Fills in an indirect request's segments from its pages, `page(k)` giving the k-th
    /// indirect page's 4096 bytes (nil when its grant is refused).
    public mutating func readIndirectSegments(_ page: (Int) -> UnsafeRawBufferPointer?) -> Rejection? {
        var remaining = pendingIndirectSegments
        for (k, _) in indirectGrants.enumerated() where remaining > 0 {
            guard let bytes = page(k), bytes.count >= BlkifABI.pageSize else { return .invalid("indirect page \(k) not granted") }
            let n = min(remaining, BlkifABI.segmentsPerIndirectPage)
            for i in 0..<n {
                let base = i * BlkifABI.segmentSize
                segments.append(Segment(grant: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: base + BlkifABI.segmentGrant, as: UInt32.self)),
                                        firstSector: bytes[base + BlkifABI.segmentFirstSector],
                                        lastSector: bytes[base + BlkifABI.segmentLastSector]))
            }
            remaining -= n
        }
        pendingIndirectSegments = 0
        return checkSegments()
    }

    /// Each segment's sectors lie inside its page, first before last.
    func checkSegments() -> Rejection? {
        for (k, s) in segments.enumerated() where s.firstSector > s.lastSector || s.lastSector >= BlkifABI.sectorsPerPage {
            return .invalid("segment \(k) covers sectors \(s.firstSector)...\(s.lastSector) of a page")
        }
        return nil
    }

    /// The request's sectors lie inside a disk of `diskSectors` sectors.
    public func fits(diskSectors: UInt64) -> Bool {
        let count = sectorCount
        return sector <= diskSectors && count <= diskSectors - sector
    }
}
