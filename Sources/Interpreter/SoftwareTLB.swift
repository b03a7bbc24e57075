/// A direct-mapped software TLB from guest linear pages to host pointers
/// (docs/ARCHITECTURE.md, "Software TLB").
///
/// An entry caches one 4 KiB linear page for one access kind. Pages that are not plain RAM
/// (MMIO, ROM for writes, pages holding decoded code for writes) and pages holding a range
/// watched by a data breakpoint (for the watched kind of access, X86CPU+Debug.swift) never
/// get an entry, so their accesses take the slow path.
final class SoftwareTLB {
    static let entries = 4096
    static let indexMask: UInt64 = UInt64(entries - 1)
    /// A tag is the linear page number (52 bits) with the flush generation in bits 63:52, so
    /// a full flush is a generation step instead of clearing every entry (0 = empty).
    static let generationShift: UInt64 = 52
    static let pageMask: UInt64 = (1 << generationShift) - 1
    static let generationLimit: UInt64 = 1 << (64 - generationShift)
    /// The current generation in the tag's top bits (behind a pointer: read on every access).
    private let generationBits: UnsafeMutablePointer<UInt64>
    /// Tags for reads (and fetches while NX is off) and writes.
    let readTag: UnsafeMutablePointer<UInt64>
    let writeTag: UnsafeMutablePointer<UInt64>
    /// Host address of the page's first byte.
    let readHost: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let writeHost: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// Guest-physical page of each write entry (to drop entries of a page that gains code).
    let writePhysicalPage: UnsafeMutablePointer<UInt64>
    /// Instruction fetches: pages the last walk found executable (NX, SMEP applied).
    let fetchTag: UnsafeMutablePointer<UInt64>
    let fetchPhysicalPage: UnsafeMutablePointer<UInt64>
    /// The privilege the entries were filled for: user-mode accesses need user pages.
    var filledForUser = false

    /// The tag of linear page `page` in the current generation.
    @inline(__always) func tag(_ page: UInt64) -> UInt64 { generationBits.pointee | (page & SoftwareTLB.pageMask) }

    /// The host address of `linear` from its entry for reads (or fetches) or writes, or nil
    /// when there is none (the caller's slow path walks, checks and faults).
    @inline(__always) func hostAddress(_ linear: UInt64, write: Bool) -> UnsafeMutableRawPointer? {
        let page = linear >> 12
        let i = Int(page & SoftwareTLB.indexMask)
        let host = write ? (writeTag[i] == tag(page) ? writeHost[i] : nil) : (readTag[i] == tag(page) ? readHost[i] : nil)
        return host.map { $0 + Int(linear & 0xFFF) }
    }

    init() {
        let n = SoftwareTLB.entries
        readTag = .allocate(capacity: n); readTag.initialize(repeating: 0, count: n)
        writeTag = .allocate(capacity: n); writeTag.initialize(repeating: 0, count: n)
        readHost = .allocate(capacity: n); readHost.initialize(repeating: nil, count: n)
        writeHost = .allocate(capacity: n); writeHost.initialize(repeating: nil, count: n)
        writePhysicalPage = .allocate(capacity: n); writePhysicalPage.initialize(repeating: 0, count: n)
        fetchTag = .allocate(capacity: n); fetchTag.initialize(repeating: 0, count: n)
        fetchPhysicalPage = .allocate(capacity: n); fetchPhysicalPage.initialize(repeating: 0, count: n)
        generationBits = .allocate(capacity: 1)
        generationBits.initialize(to: 1 << SoftwareTLB.generationShift)
    }

    deinit {
        readTag.deallocate(); writeTag.deallocate(); readHost.deallocate(); writeHost.deallocate()
        writePhysicalPage.deallocate()
        fetchTag.deallocate(); fetchPhysicalPage.deallocate(); generationBits.deallocate()
    }

    /// Called on every flush (the CPU drops its fetch-page shortcut).
    var onFlush: (() -> Void)?

    func flushAll() {
        onFlush?()
        let next = (generationBits.pointee >> SoftwareTLB.generationShift) &+ 1
        if next < SoftwareTLB.generationLimit {
            generationBits.pointee = next << SoftwareTLB.generationShift
        } else {
            // Generations used up: clear for real and start again.
            readTag.update(repeating: 0, count: SoftwareTLB.entries)
            writeTag.update(repeating: 0, count: SoftwareTLB.entries)
            fetchTag.update(repeating: 0, count: SoftwareTLB.entries)
            generationBits.pointee = 1 << SoftwareTLB.generationShift
        }
    }

    /// Drops the entries for one linear page (INVLPG).
    func flush(linearPage: UInt64) {
        onFlush?()
        let i = Int(linearPage & SoftwareTLB.indexMask)
        let t = tag(linearPage)
        if readTag[i] == t { readTag[i] = 0 }
        if writeTag[i] == t { writeTag[i] = 0 }
        if fetchTag[i] == t { fetchTag[i] = 0 }
    }

    /// Drops every write entry that maps physical page `page` (it now holds decoded code).
    func dropWrites(physicalPage page: UInt64) {
        for i in 0..<SoftwareTLB.entries where writePhysicalPage[i] == page && writeTag[i] != 0 {
            writeTag[i] = 0
        }
    }
}
