/// The block interface's numbers and layouts (public/io/blkif.h, public/io/ring.h; facts
/// §2.9), for the x86_64 ABI ("x86_64-abi"), the one 64-bit frontends speak.
public enum BlkifABI {
    // Request operations.
    public static let opRead: UInt8 = 0
    public static let opWrite: UInt8 = 1
    public static let opWriteBarrier: UInt8 = 2
    public static let opFlushDiskCache: UInt8 = 3
    public static let opDiscard: UInt8 = 5
    public static let opIndirect: UInt8 = 6

    // Response status.
    public static let statusOK: Int16 = 0
    public static let statusError: Int16 = -1
    public static let statusNotSupported: Int16 = -2

    /// Segments a direct request carries (BLKIF_MAX_SEGMENTS_PER_REQUEST).
    public static let maxDirectSegments = 11
    /// Indirect pages one indirect request names (BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST).
    public static let maxIndirectPages = 8
    /// Segment descriptors per indirect page (4096 / sizeof(struct blkif_request_segment)).
    public static let segmentsPerIndirectPage = 512
    /// Segments this backend accepts in an indirect request (`feature-max-indirect-segments`):
    /// 1 MiB per request.
    public static let maxIndirectSegments = 256

    /// The data unit of sector numbers and of first_sect/last_sect, whatever the disk's.
    public static let sectorSize: UInt64 = 512
    /// Sectors of one 4-KiB segment page.
    public static let sectorsPerPage: UInt8 = 8
    public static let pageSize = 4096

    // `struct blkif_request` (112 bytes).
    public static let requestSize = 112
    public static let requestOperation = 0
    public static let requestSegmentCount = 1
    public static let requestHandle = 2
    public static let requestID = 8
    public static let requestSector = 16
    public static let requestSegments = 24
    // `struct blkif_request_indirect`, same slot.
    public static let indirectOperation = 1
    public static let indirectSegmentCount = 2
    public static let indirectID = 8
    public static let indirectSector = 16
    public static let indirectHandle = 24
    public static let indirectGrants = 28
    // `struct blkif_request_segment` (8 bytes).
    public static let segmentSize = 8
    public static let segmentGrant = 0
    public static let segmentFirstSector = 4
    public static let segmentLastSector = 5

    // `struct blkif_response` (16 bytes).
    public static let responseSize = 16
    public static let responseID = 0
    public static let responseOperation = 8
    public static let responseStatus = 10

    // The shared ring header (io/ring.h): free-running indices, then the entries from 64.
    public static let ringRequestProducer = 0
    public static let ringRequestEvent = 4
    public static let ringResponseProducer = 8
    public static let ringResponseEvent = 12
    public static let ringEntries = 64
    /// Entries of a one-page ring: the largest power of two of 112-byte slots after the header.
    public static let ringSlots: UInt32 = 32

    // The disk's `info` node (VDISK_*).
    public static let infoCDROM: UInt32 = 1
    public static let infoRemovable: UInt32 = 2
    public static let infoReadOnly: UInt32 = 4

    /// The one ring protocol served.
    public static let protocol64 = "x86_64-abi"
}
