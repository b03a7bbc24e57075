import MachineCore

/// The guest's grant table, version 1 (public/grant_table.h; Xen common/grant_table.c for the
/// checks): frames of `grant_entry_v1` that the guest places in its physical address space with
/// XENMEM_add_to_physmap(XENMAPSPACE_grant_table), and through which it lets domain 0 — the
/// VMM's backends — reach chosen frames of its memory.
///
/// The VMM could reach all guest memory without asking; backends still go through `acquire`
/// so that a frontend's mistake (a revoked or read-only grant, a grant for another domain)
/// fails as it does on Xen, and so that the guest sees GTF_reading / GTF_writing while a backend
/// uses the frame (Linux waits for them to clear before reusing a grant).
public final class GrantTable: @unchecked Sendable {
    /// The guest domain's id.
    public let domainID: UInt16
    /// Most frames the guest may place (`max_nr_frames` of GNTTABOP_query_size).
    public let maxFrames: Int
    let memory: GuestMemory
    let lock = Lock()

    // Guarded by `lock`.
    /// Guest-physical address of each table frame; the count is Xen's `nr_grant_frames` (the
    /// table grows to cover the highest index placed) and an index not placed yet is nil.
    var frames: [UInt64?] = []
    /// Xen's active entries: grants a backend holds now, with the frame captured when the first
    /// use began (the guest cannot retarget a grant in use).
    var active: [UInt32: ActiveGrant] = [:]

    struct ActiveGrant {
        var frame: UInt32
        var readers = 0
        var writers = 0
    }

    public init(memory: GuestMemory, domainID: UInt16 = 1, maxFrames: Int = GrantTableABI.defaultMaxFrames) {
        precondition(maxFrames >= 1 && maxFrames <= 4096, "grant frame limit out of range")
        self.memory = memory
        self.domainID = domainID
        self.maxFrames = maxFrames
    }

    /// Frames the table has now (`nr_frames` of GNTTABOP_query_size).
    public var frameCount: Int { lock.withLock { frames.count } }

    /// Where table frame `index` is, nil when not placed.
    public func frameAddress(index: Int) -> UInt64? {
        lock.withLock { index >= 0 && index < frames.count ? frames[index] : nil }
    }

    /// Guest-physical addresses of the placed frames.
    public var placedFrames: [UInt64] { lock.withLock { frames.compactMap { $0 } } }

    /// Whether some table frame is placed at guest-physical `address`.
    public func hasFrame(at address: UInt64) -> Bool {
        lock.withLock { frames.contains(address) }
    }

    /// XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx, gpfn): table frame `index` appears at
    /// guest-physical `address`, which the caller has backed with memory (a frame outside RAM
    /// included). The table grows to `index + 1` frames (Xen `gnttab_grow_table`). A frame's
    /// contents move with it; a frame placed for the first time starts zeroed, as Xen's do.
    /// -EINVAL for a v2 status-frame index, an index at or past `maxFrames`, or an address that
    /// is not a backed, page-aligned page.
    public func placeFrame(index: UInt64, at address: UInt64) -> XenErrno? {
        let size = Int(GrantTableABI.frameSize)
        guard index & GrantTableABI.statusFrameIndexFlag == 0, index < UInt64(maxFrames),
              GuestAtomics.isAligned(address, to: GrantTableABI.frameSize),
              let page = memory.pointer(address, length: size) else { return .EINVAL }
        lock.withLock {
            if Int(index) >= frames.count { frames += Array(repeating: nil, count: Int(index) + 1 - frames.count) }
            if let old = frames[Int(index)] {
                if old != address, let source = memory.pointer(old, length: size) { page.copyMemory(from: source, byteCount: size) }
            } else {
                page.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            }
            frames[Int(index)] = address
        }
        memory.noteDeviceWrite(physical: address, length: size)
        return nil
    }

    /// Forgets the table (machine reset): no frames, no grant in use.
    public func resetDomain() {
        lock.withLock { frames = []; active = [:] }
    }

    /// Grant references the table holds now (512 per frame).
    var entryCountLocked: UInt32 { UInt32(frames.count) * GrantTableABI.entriesPerFrame }

    /// Guest-physical address of entry `ref`'s first byte, nil when its frame is not placed.
    func entryAddressLocked(_ ref: UInt32) -> UInt64? {
        let index = Int(ref / GrantTableABI.entriesPerFrame)
        guard index < frames.count, let frame = frames[index] else { return nil }
        return frame + UInt64(ref % GrantTableABI.entriesPerFrame) * GrantTableABI.entrySize
    }

    /// The entry's fields as the guest wrote them (tests, the monitor); nil when `ref` is
    /// outside the table or its frame is not placed.
    public func entry(_ ref: UInt32) -> (flags: UInt16, domid: UInt16, frame: UInt32)? {
        lock.withLock {
            guard ref < entryCountLocked, let address = entryAddressLocked(ref),
                  let p = memory.pointer(address, length: Int(GrantTableABI.entrySize)) else { return nil }
            let word = GuestAtomics.load32(p)
            let frame = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: Int(GrantTableABI.entryFrame), as: UInt32.self))
            return (UInt16(truncatingIfNeeded: word), UInt16(truncatingIfNeeded: word >> 16), frame)
        }
    }
}
