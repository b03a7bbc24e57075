/// One `struct gnttab_copy` (GNTTABOP_copy, public/grant_table.h): copy `length` bytes between
/// two page-bounded places, each named by a grant reference of a domain or, for the caller's own
/// memory, by a frame number. Decoded here for callers that receive such requests; the checks
/// are those Xen makes before touching memory (common/grant_table.c `gnttab_copy_one`).
public struct GrantCopyRequest: Equatable, Sendable {
    public struct Side: Equatable, Sendable {
        /// A grant reference when `isGrant`, else a frame number of the caller.
        public var refOrFrame: UInt64
        public var domid: UInt16
        public var offset: UInt16
        public var isGrant: Bool
    }

    public var source: Side
    public var dest: Side
    public var length: UInt16
    public var flags: UInt16

    /// Decodes the 40-byte structure; nil when `bytes` is shorter.
    public init?(bytes: [UInt8]) {
        guard bytes.count >= GrantTableABI.copySize else { return nil }
        func u16(_ at: UInt64) -> UInt16 { UInt16(bytes[Int(at)]) | UInt16(bytes[Int(at) + 1]) << 8 }
        func u64(_ at: UInt64) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[Int(at) + $1]) << (8 * UInt64($1)) } }
        flags = u16(GrantTableABI.copyFlags)
        length = u16(GrantTableABI.copyLength)
        func side(_ base: UInt64, grant: Bool) -> Side {
            // The union holds a u32 ref or a 64-bit frame: a ref uses only the low half.
            let raw = u64(base)
            return Side(refOrFrame: grant ? raw & 0xFFFF_FFFF : raw, domid: u16(base + GrantTableABI.copyPointerDomid),
                        offset: u16(base + GrantTableABI.copyPointerOffset), isGrant: grant)
        }
        source = side(GrantTableABI.copySource, grant: flags & GrantTableABI.copySourceIsGrant != 0)
        dest = side(GrantTableABI.copyDest, grant: flags & GrantTableABI.copyDestIsGrant != 0)
    }

    /// Xen's argument checks, in its order: either side running past its page is
    /// `badCopyArgument`; a side named by frame number must be the caller's own memory
    /// (DOMID_SELF), else `permissionDenied`. Nil when the request may proceed to the grants.
    public func check() -> GrantStatus? {
        let page = GrantTableABI.frameSize
        if UInt64(source.offset) + UInt64(length) > page || UInt64(dest.offset) + UInt64(length) > page { return .badCopyArgument }
        for side in [source, dest] where !side.isGrant && side.domid != EventChannelABI.domidSelf { return .permissionDenied }
        return nil
    }
}
