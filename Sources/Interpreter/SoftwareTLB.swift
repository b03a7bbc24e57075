/// A direct-mapped software TLB from guest linear pages to host pointers
/// (DESIGN.md, "a software TLB that maps a guest virtual page straight to a host pointer").
///
/// An entry caches one 4 KiB linear page for one access kind. Pages that are not plain RAM
/// (MMIO, ROM for writes, pages holding decoded code for writes) and pages holding a range
/// watched by a data breakpoint (for the watched kind of access, X86CPU+Debug.swift) never
/// get an entry, so their accesses take the slow path.
final class SoftwareTLB {
    static let entries = 512
    static let indexMask: UInt64 = UInt64(entries - 1)
    /// Tag: linear page number + 1 (0 = empty), for reads, writes and fetches.
    let readTag: UnsafeMutablePointer<UInt64>
    let writeTag: UnsafeMutablePointer<UInt64>
    /// Host address of the page's first byte.
    let readHost: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let writeHost: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// Guest-physical page of each write entry (to drop entries of a page that gains code).
    let writePhysicalPage: UnsafeMutablePointer<UInt64>
    /// Guest-physical page of each read entry (instruction fetches need the physical address).
    let readPhysicalPage: UnsafeMutablePointer<UInt64>
    /// The privilege the entries were filled for: user-mode accesses need user pages.
    var filledForUser = false

    init() {
        let n = SoftwareTLB.entries
        readTag = .allocate(capacity: n); readTag.initialize(repeating: 0, count: n)
        writeTag = .allocate(capacity: n); writeTag.initialize(repeating: 0, count: n)
        readHost = .allocate(capacity: n); readHost.initialize(repeating: nil, count: n)
        writeHost = .allocate(capacity: n); writeHost.initialize(repeating: nil, count: n)
        writePhysicalPage = .allocate(capacity: n); writePhysicalPage.initialize(repeating: 0, count: n)
        readPhysicalPage = .allocate(capacity: n); readPhysicalPage.initialize(repeating: 0, count: n)
    }

    deinit {
        readTag.deallocate(); writeTag.deallocate(); readHost.deallocate(); writeHost.deallocate()
        writePhysicalPage.deallocate(); readPhysicalPage.deallocate()
    }

    /// Called on every flush (the CPU drops its fetch-page shortcut).
    var onFlush: (() -> Void)?

    func flushAll() {
        onFlush?()
        readTag.update(repeating: 0, count: SoftwareTLB.entries)
        writeTag.update(repeating: 0, count: SoftwareTLB.entries)
    }

    /// Drops the entries for one linear page (INVLPG).
    func flush(linearPage: UInt64) {
        onFlush?()
        let i = Int(linearPage & SoftwareTLB.indexMask)
        if readTag[i] == linearPage &+ 1 { readTag[i] = 0 }
        if writeTag[i] == linearPage &+ 1 { writeTag[i] = 0 }
    }

    /// Drops every write entry that maps physical page `page` (it now holds decoded code).
    func dropWrites(physicalPage page: UInt64) {
        for i in 0..<SoftwareTLB.entries where writeTag[i] != 0 && writePhysicalPage[i] == page {
            writeTag[i] = 0
        }
    }
}
