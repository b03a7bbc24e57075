import MachineCore
import X86Decoder

/// Decoded instructions keyed by guest-physical address (DESIGN.md, "decode once").
///
/// Direct-mapped on the low bits of the physical address, so the entries of one 4 KiB page
/// are one contiguous run: invalidating a page when the guest writes to it clears that run.
/// A bitmap marks the physical pages that hold decoded code; writes to them take the slow
/// path, which invalidates the page (self-modifying code works).
final class DecodedCodeCache {
    /// One decoded instruction, laid out in exactly one 64-byte cache line: the fields of the
    /// decoder's `DecodedInstruction` that execution reads, and what decode time adds.
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
        /// Pads the entry to 64 bytes: one cache line, and a shift instead of a multiply to
        /// step between entries (checked by a test).
        var reserved: UInt64 = 0

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

    static let entryCount = 1 << 16
    static let indexMask: UInt64 = UInt64(entryCount - 1)
    let entries: UnsafeMutablePointer<Entry>
    /// One byte per physical page of RAM below `trackedLimit`: 1 when decoded code came from it.
    let codePages: UnsafeMutablePointer<UInt8>
    let trackedPages: Int

    init(memory: GuestMemory) {
        // Aligned so that each entry is one cache line.
        entries = UnsafeMutableRawPointer.allocate(byteCount: DecodedCodeCache.entryCount * MemoryLayout<Entry>.stride,
                                                   alignment: 64).bindMemory(to: Entry.self, capacity: DecodedCodeCache.entryCount)
        entries.initialize(repeating: Entry(), count: DecodedCodeCache.entryCount)
        var top: UInt64 = 0x1_0000_0000
        for r in memory.regions where !r.readOnly { top = max(top, r.guestEnd) }
        trackedPages = Int(top >> 12)
        codePages = .allocate(capacity: trackedPages)
        codePages.initialize(repeating: 0, count: trackedPages)
    }

    deinit {
        entries.deallocate()
        codePages.deallocate()
    }

    @inline(__always) static func tag(physical: UInt64, bits: Int) -> UInt64 {
        (physical << 2) | UInt64(bits == 64 ? 3 : (bits == 32 ? 2 : 1))
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
        let start = Int((page << 12) & DecodedCodeCache.indexMask)
        for i in start..<(start + 4096) where entries[i].tag >> 14 == page { entries[i].tag = 0 }
        // Instructions that start at the end of the previous page and run into this one.
        let previous = Int(((page &- 1) << 12 | 0xFF1) & DecodedCodeCache.indexMask)
        for i in previous..<(previous + 15) where entries[i].tag >> 14 == page &- 1 { entries[i].tag = 0 }
    }

    func invalidateAll() {
        for i in 0..<DecodedCodeCache.entryCount { entries[i].tag = 0 }
        codePages.update(repeating: 0, count: trackedPages)
    }
}
