import MachineCore
import X86Decoder

/// Decoded instructions keyed by guest-physical address (docs/ARCHITECTURE.md, "Decoded-code cache").
///
/// Entries live in a pool, allocated in the order they are decoded: straight-line code that
/// was decoded as it first ran sits in consecutive entries, so the run loop steps to the next
/// instruction by moving one entry on, and the next record is usually in the line the
/// hardware prefetcher has already brought in. (A table indexed directly by physical address
/// put consecutive instructions `length` cache lines apart, and that miss was the run loop's
/// largest single cost.) A direct-mapped index from the low bits of the physical address
/// finds the entry of any address; every live entry is in the index, so forgetting a page's
/// index slots forgets all of its code.
///
/// A bitmap marks the physical pages that hold decoded code; writes to them take the slow
/// path, which invalidates the page (self-modifying code works).
///
/// An instruction that runs into the next page depends on two translations, and the pool's
/// physical-address key names only the first. Such instructions live apart, in `crossing`,
/// keyed by both physical pages: every fetch of one translates the second page again through
/// the TLB (with its execute and U/S checks), so a mapping change there is seen as the
/// processor would see it (SDM Vol. 3A §4.10.2: an instruction fetch that crosses a page
/// boundary uses the translation of each page).
final class DecodedCodeCache {
    struct Entry {
        /// Physical address << 2 | bitness code (1: 16, 2: 32, 3: 64); 0 = empty.
        var tag: UInt64 = 0
        var displacement: Int64 = 0
        var immediate: UInt64 = 0
        var immediate2: UInt64 = 0
        var form: UInt16 = 0
        var mnemonic: UInt16 = 0
        var prefixes: UInt16 = 0
        var length: UInt8 = 0
        var operandSize: UInt8 = 0
        var addressSize: UInt8 = 0
        var rex: UInt8 = 0
        var segment: UInt8 = 0
        var opcode: UInt8 = 0
        var modrm: UInt8 = 0
        var reg: UInt8 = 0
        var rm: UInt8 = 0
        var memoryBase: UInt8 = 0
        var memoryIndex: UInt8 = 0
        var memoryScale: UInt8 = 0
        var hasMemory = false
        /// From the form's FormInfo, so that execution never touches the ISA tables.
        var map: UInt8 = 0
        var encoding: UInt8 = 0
        /// `FastPath` handler picked at decode time (0: the general dispatch), its operand
        /// size in bytes and one more operand (ALU operation, condition code).
        var handler: UInt8 = 0
        var size: UInt8 = 0
        var aux: UInt8 = 0
        /// Pool slot where the last taken branch from here to the same page went (a guess,
        /// checked against the target's tag; 0 = none).
        var branchSlot: UInt32 = 0
        /// The block translator's view of this instruction (`JITEngine.compiledBit` etc.): how
        /// often the interpreter reached it, or the block translated from it. It also pads the
        /// entry to 64 bytes: one cache line (checked by a test).
        var jitState: UInt32 = 0

        /// Takes the decoder's result (the decode-time fields are set by the caller).
        mutating func load(_ d: DecodedInstruction) {
            displacement = d.displacement
            immediate = d.immediate
            immediate2 = d.immediate2
            form = d.form
            mnemonic = d.mnemonic
            prefixes = d.prefixes
            length = d.length
            operandSize = d.operandSize
            addressSize = d.addressSize
            rex = d.rex
            segment = d.segment
            opcode = d.opcode
            modrm = d.modrm
            reg = d.reg
            rm = d.rm
            memoryBase = d.memoryBase
            memoryIndex = d.memoryIndex
            memoryScale = d.memoryScale
            hasMemory = d.hasMemory
        }
    }

    /// Pool size: a full pool is emptied and filled again (a Linux boot decodes a few hundred
    /// thousand instructions; its hot loops stay far below this).
    static let poolCount = 1 << 18
    /// Index size: physical addresses this far apart share an index slot.
    static let indexCount = 1 << 21
    static let indexMask: UInt64 = UInt64(indexCount - 1)
    /// Pool slot of the instruction at each physical address (low bits); 0 = none (slot 0 is
    /// never used).
    let index: UnsafeMutablePointer<UInt32>
    let pool: UnsafeMutablePointer<Entry>
    /// The next pool slot to hand out.
    private(set) var nextSlot = 1
    /// Counts `invalidateAll()` calls: translated blocks made before a change are stale.
    private(set) var generation: UInt64 = 0
    /// Counts invalidations of any kind (translated code found through the JIT's jump cache
    /// is trusted only while this stays the same).
    private(set) var invalidations: UInt64 = 0
    /// Where an instruction that may not be cached (it ends at a fault boundary or comes from
    /// MMIO) is decoded each time it runs; its tag stays 0.
    let scratch: UnsafeMutablePointer<Entry>
    /// One byte per physical page of RAM below `trackedLimit`: 1 when decoded code came from it.
    let codePages: UnsafeMutablePointer<UInt8>
    let trackedPages: Int
    /// Page-crossing instructions (direct-mapped by their first byte's physical address); their
    /// tag stays 0, so the run loop never steps to them by tag or translates them into blocks.
    static let crossingCount = 256
    let crossing: UnsafeMutablePointer<Entry>
    /// Each crossing slot's key: the pool-style tag of its first byte (0 = empty), and the
    /// physical page its last bytes came from.
    let crossingTag: UnsafeMutablePointer<UInt64>
    let crossingSecondPage: UnsafeMutablePointer<UInt64>

    init(memory: GuestMemory) {
        // Aligned so that each entry is one cache line.
        func entries(_ n: Int) -> UnsafeMutablePointer<Entry> {
            let p = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<Entry>.stride, alignment: 64)
                .bindMemory(to: Entry.self, capacity: n)
            p.initialize(repeating: Entry(), count: n)
            return p
        }
        pool = entries(DecodedCodeCache.poolCount)
        scratch = entries(1)
        // One spare entry, tag 0 for good: the run loop may look at the entry after the current.
        crossing = entries(DecodedCodeCache.crossingCount + 1)
        crossingTag = .allocate(capacity: DecodedCodeCache.crossingCount)
        crossingTag.initialize(repeating: 0, count: DecodedCodeCache.crossingCount)
        crossingSecondPage = .allocate(capacity: DecodedCodeCache.crossingCount)
        crossingSecondPage.initialize(repeating: 0, count: DecodedCodeCache.crossingCount)
        index = .allocate(capacity: DecodedCodeCache.indexCount)
        index.initialize(repeating: 0, count: DecodedCodeCache.indexCount)
        var top: UInt64 = 0x1_0000_0000
        for r in memory.regions where !r.readOnly { top = max(top, r.guestEnd) }
        trackedPages = Int(top >> 12)
        codePages = .allocate(capacity: trackedPages)
        codePages.initialize(repeating: 0, count: trackedPages)
    }

    deinit {
        pool.deallocate()
        scratch.deallocate()
        crossing.deallocate()
        crossingTag.deallocate()
        crossingSecondPage.deallocate()
        index.deallocate()
        codePages.deallocate()
    }

    @inline(__always) static func tag(physical: UInt64, bits: Int) -> UInt64 {
        (physical << 2) | UInt64(bits == 64 ? 3 : (bits == 32 ? 2 : 1))
    }

    /// The entry for `physical` if it holds the instruction decoded there with `tag`.
    @inline(__always) func lookup(_ physical: UInt64, tag: UInt64) -> UnsafeMutablePointer<Entry>? {
        let entry = pool + Int(index[Int(physical & DecodedCodeCache.indexMask)])
        return entry.pointee.tag == tag ? entry : nil
    }

    /// Stores a decoded instruction (its tag set) in the next pool slot and indexes it there.
    /// The entry it displaces from the index is forgotten, so that it cannot be reached by
    /// stepping from its neighbour after its page is invalidated.
    /// Call `makeRoom()` before decoding the instruction (it may empty the cache).
    func insert(_ decoded: Entry, physical: UInt64) -> UnsafeMutablePointer<Entry> {
        let slot = index + Int(physical & DecodedCodeCache.indexMask)
        if slot.pointee != 0 { pool[Int(slot.pointee)].tag = 0 }
        let entry = pool + nextSlot
        entry.pointee = decoded
        slot.pointee = UInt32(nextSlot)
        nextSlot += 1
        return entry
    }

    /// The crossing slot of the instruction whose first byte is at `physical` (they all start
    /// in a page's last 14 bytes, so the page number picks the slot).
    @inline(__always) static func crossingSlot(_ physical: UInt64) -> Int {
        Int(truncatingIfNeeded: ((physical >> 12) &* 16 &+ (physical & 0xF)) & UInt64(crossingCount - 1))
    }

    /// The page-crossing instruction decoded at `physical` with `tag` whose later bytes came
    /// from `secondPage`, if it is still cached.
    @inline(__always) func lookupCrossing(_ physical: UInt64, tag: UInt64, secondPage: UInt64) -> UnsafeMutablePointer<Entry>? {
        let i = DecodedCodeCache.crossingSlot(physical)
        return crossingTag[i] == tag && crossingSecondPage[i] == secondPage ? crossing + i : nil
    }

    /// Whether some page-crossing instruction decoded at `physical` with `tag` is cached (its
    /// second page is to be translated again).
    @inline(__always) func hasCrossing(_ physical: UInt64, tag: UInt64) -> Bool {
        crossingTag[DecodedCodeCache.crossingSlot(physical)] == tag
    }

    /// Stores a page-crossing instruction; it is returned with tag 0 (see `crossing`).
    func insertCrossing(_ decoded: Entry, physical: UInt64, tag: UInt64, secondPage: UInt64) -> UnsafeMutablePointer<Entry> {
        let i = DecodedCodeCache.crossingSlot(physical)
        crossing[i] = decoded
        crossing[i].tag = 0
        crossingTag[i] = tag
        crossingSecondPage[i] = secondPage
        return crossing + i
    }

    /// Empties the cache when the pool is full. Called before an instruction is decoded, so
    /// that the code pages it marks stay marked.
    func makeRoom() {
        if nextSlot == DecodedCodeCache.poolCount { invalidateAll() }
    }

    @inline(__always) func isCodePage(_ page: UInt64) -> Bool {
        page < UInt64(trackedPages) && codePages[Int(page)] != 0
    }

    @inline(__always) func markCodePage(_ page: UInt64) {
        if page < UInt64(trackedPages) { codePages[Int(page)] = 1 }
    }

    /// Forgets every instruction decoded from physical page `page`.
    func invalidate(page: UInt64) {
        guard page < UInt64(trackedPages), codePages[Int(page)] != 0 else { return }
        codePages[Int(page)] = 0
        invalidations &+= 1
        forget(from: page << 12, count: 4096, page: page)
        // Instructions that run into this page from whichever page precedes it linearly.
        for i in 0..<DecodedCodeCache.crossingCount where crossingTag[i] != 0 {
            if crossingTag[i] >> 14 == page || crossingSecondPage[i] == page { crossingTag[i] = 0 }
        }
    }

    /// Forgets the instructions of page `page` indexed at `count` addresses from `start`.
    private func forget(from start: UInt64, count: Int, page: UInt64) {
        for k in 0..<UInt64(count) {
            let slot = index + Int((start &+ k) & DecodedCodeCache.indexMask)
            guard slot.pointee != 0 else { continue }
            let entry = pool + Int(slot.pointee)
            if entry.pointee.tag >> 14 == page {
                entry.pointee.tag = 0
                slot.pointee = 0
            }
        }
    }

    func invalidateAll() {
        generation &+= 1
        invalidations &+= 1
        for i in 0..<nextSlot { pool[i].tag = 0 }
        index.update(repeating: 0, count: DecodedCodeCache.indexCount)
        crossingTag.update(repeating: 0, count: DecodedCodeCache.crossingCount)
        nextSlot = 1
        codePages.update(repeating: 0, count: trackedPages)
    }
}
