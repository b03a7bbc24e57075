/// Numbers and layouts of grant tables (public/grant_table.h, memory.h; sizes and offsets
/// checked with gcc against libxen-dev 4.17, x86-64).
public enum GrantTableABI {
    // MARK: HYPERVISOR_grant_table_op operations (`GNTTABOP_*`)
    public static let opMapGrantRef: UInt64 = 0
    public static let opUnmapGrantRef: UInt64 = 1
    public static let opSetupTable: UInt64 = 2
    public static let opDumpTable: UInt64 = 3
    public static let opTransfer: UInt64 = 4
    public static let opCopy: UInt64 = 5
    public static let opQuerySize: UInt64 = 6
    public static let opUnmapAndReplace: UInt64 = 7
    public static let opSetVersion: UInt64 = 8
    public static let opGetStatusFrames: UInt64 = 9
    public static let opGetVersion: UInt64 = 10

    // MARK: the table
    /// `grant_entry_v1`: flags u16 at 0, domid u16 at 2, frame u32 at 4.
    public static let entrySize: UInt64 = 8
    static let entryFlags: UInt64 = 0, entryDomid: UInt64 = 2, entryFrame: UInt64 = 4
    public static let frameSize: UInt64 = 4096
    public static let entriesPerFrame: UInt32 = 512
    /// `GNTTAB_NR_RESERVED_ENTRIES`: refs 0–7 belong to the toolstack (0 console, 1 xenstore);
    /// guests hand out refs from 8 on.
    public static let reservedEntries: UInt32 = 8
    /// Frames the guest may have (QEMU's Xen emulation offers 64 as well): 32768 refs.
    public static let defaultMaxFrames = 64
    /// `XENMAPIDX_grant_table_status` (memory.h): an add_to_physmap index naming a v2 status
    /// frame rather than a table frame.
    public static let statusFrameIndexFlag: UInt64 = 0x8000_0000

    // MARK: entry flags (`GTF_*`)
    public static let flagPermitAccess: UInt16 = 1
    public static let flagTypeMask: UInt16 = 3
    /// The grantee may only read (guest-written).
    public static let flagReadOnly: UInt16 = 1 << 2
    /// The grantee is reading / writing the frame now (hypervisor-written).
    public static let flagReading: UInt16 = 1 << 3
    public static let flagWriting: UInt16 = 1 << 4
    /// Only a part of the frame is granted, for copying (v2 layouts only).
    public static let flagSubPage: UInt16 = 1 << 8

    // MARK: argument structures
    /// `struct gnttab_query_size { domid_t dom; u32 nr_frames; u32 max_nr_frames; i16 status; }`
    public static let querySizeSize = 16
    static let querySizeDom: UInt64 = 0, querySizeFrames: UInt64 = 4, querySizeMaxFrames: UInt64 = 8, querySizeStatus: UInt64 = 12
    /// `struct gnttab_set_version { u32 version; }`
    public static let setVersionSize = 4
    /// `struct gnttab_get_version { domid_t dom; u16 pad; u32 version; }`
    public static let getVersionSize = 8
    static let getVersionDom: UInt64 = 0, getVersionVersion: UInt64 = 4
    /// `struct gnttab_copy`: source and dest `{ union { ref u32; gmfn u64 }; domid u16; offset
    /// u16 }` of 16 bytes each, then len u16 at 32, flags u16 at 34, status i16 at 36.
    public static let copySize = 40
    static let copySource: UInt64 = 0, copyDest: UInt64 = 16, copyPointerDomid: UInt64 = 8, copyPointerOffset: UInt64 = 10
    static let copyLength: UInt64 = 32, copyFlags: UInt64 = 34, copyStatus: UInt64 = 36
    /// `GNTCOPY_source_gref` / `GNTCOPY_dest_gref`: that side names a grant, not a frame.
    public static let copySourceIsGrant: UInt16 = 1
    public static let copyDestIsGrant: UInt16 = 2
}

/// Per-operation status of grant operations (`enum grant_status`, `GNTST_*`).
public enum GrantStatus: Int16, Sendable {
    case okay = 0
    case generalError = -1
    case badDomain = -2
    case badGrantRef = -3
    case badHandle = -4
    case badVirtualAddress = -5
    case badDeviceAddress = -6
    case noDeviceSpace = -7
    case permissionDenied = -8
    case badPage = -9
    case badCopyArgument = -10
    case addressTooBig = -11
    case tryAgain = -12
    case noSpace = -13
}
