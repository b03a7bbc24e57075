/// A translated block: its host code and the linear address it was translated for (RIP-
/// relative operands and branch targets are built in, so another mapping of the same
/// physical code needs its own translation).
struct JITBlock {
    var code: UnsafeRawPointer
    var linear: UInt64
    /// It holds SSE instructions: it runs only while they would not fault (#UD/#NM).
    var usesSIMD: Bool
}

/// The block translator's state for one CPU: executable memory, the entry and exit stubs,
/// the blocks made so far and the context blocks run against (BlockTranslator.swift).
final class JITEngine {
    /// `DecodedCodeCache.Entry.jitState` values: below `compiledBit` a count of visits (up to
    /// the threshold) or `untranslatable`; with `compiledBit` set, an index into `blocks`.
    static let compiledBit: UInt32 = 0x8000_0000
    static let untranslatable: UInt32 = 0x7FFF_FFFF
    /// Longest block, in guest instructions.
    static let maxInstructions = 48
    static let blockCapacity = 1 << 18
    static let codeCapacity = 64 << 20
    /// Jump cache: blocks by linear RIP, for translated code to go from block to block
    /// without returning to the run loop. Entry = (RIP << 16 | epoch low bits, code address).
    static let jumpCacheEntries = 1 << 15

    typealias Enter = @convention(c) (UnsafeMutableRawPointer, UnsafeRawPointer) -> Void

    let buffer: HostCodeBuffer
    let context: UnsafeMutableRawPointer
    let enter: Enter
    let leaveAddress: UInt64
    private let stubBytes: Int
    let blocks: UnsafeMutablePointer<JITBlock>
    let jumpCache: UnsafeMutablePointer<UInt64>
    /// The epoch the jump cache was last emptied at: keys hold 16 bits of the epoch, so the
    /// cache is emptied before they could repeat.
    private var jumpCacheEpoch: UInt64 = 0
    private(set) var blockCount = 0
    /// The decoded-code cache's generation the blocks belong to (an emptied cache drops them).
    var cacheGeneration: UInt64 = 0
    /// Visits of an instruction before a block is translated from it.
    var threshold: UInt32 = 16
    /// Statistics for `--stats`.
    var blocksTranslated = 0
    var instructionsRun: UInt64 = 0

    init?() {
        guard let buffer = HostCodeBuffer(capacity: JITEngine.codeCapacity) else { return nil }
        self.buffer = buffer
        context = .allocate(byteCount: JITContext.byteCount, alignment: 64)
        context.initializeMemory(as: UInt8.self, repeating: 0, count: JITContext.byteCount)
        blocks = .allocate(capacity: JITEngine.blockCapacity)
        jumpCache = .allocate(capacity: 2 * JITEngine.jumpCacheEntries)
        jumpCache.initialize(repeating: 0, count: 2 * JITEngine.jumpCacheEntries)
        context.storeBytes(of: UInt64(UInt(bitPattern: jumpCache)), toByteOffset: Int(JITContext.jumpCache), as: UInt64.self)
        // The entry stub: save the host's callee-saved registers, load the block registers
        // from the context (rdi) and jump to the block (rsi). The exit stub undoes it.
        var a = HostAssembler()
        let saved = [HostReg.rbx, HostReg.rbp, HostReg.r12, HostReg.r13, HostReg.r14, HostReg.r15]
        for r in saved { a.push(r) }
        a.movRegReg(HostReg.r14, HostReg.rdi)
        let loads: [(UInt8, Int32)] = [(HostReg.r15, JITContext.registers), (HostReg.r11, JITContext.generation),
                                       (HostReg.r12, JITContext.readTag), (HostReg.r13, JITContext.readHost),
                                       (HostReg.rbx, JITContext.writeTag), (HostReg.rbp, JITContext.writeHost)]
        for (r, offset) in loads { a.load(r, .memory(BlockTranslator.context(offset)), size: 8) }
        a.jmpRegister(HostReg.rsi)
        let leaveOffset = a.offset
        for r in saved.reversed() { a.pop(r) }
        a.ret()
        guard let stub = buffer.append(a.bytes) else { return nil }
        enter = unsafeBitCast(stub, to: Enter.self)
        leaveAddress = UInt64(UInt(bitPattern: stub + leaveOffset))
        stubBytes = buffer.used
    }

    deinit {
        context.deallocate()
        blocks.deallocate()
        jumpCache.deallocate()
    }

    /// Makes `epoch` the current one (an epoch ends at every TLB flush and every
    /// invalidation of decoded code: a linear address may then lead to other code).
    @inline(__always)
    func setEpoch(_ epoch: UInt64) {
        if epoch &- jumpCacheEpoch >= 0xFFFF { clearJumpCache(epoch) }
        setContext(JITContext.epoch, epoch & 0xFFFF)
    }

    private func clearJumpCache(_ epoch: UInt64) {
        jumpCache.update(repeating: 0, count: 2 * JITEngine.jumpCacheEntries)
        jumpCacheEpoch = epoch
    }

    /// Records that `code` is the block for `rip` in the current epoch.
    @inline(__always)
    func remember(_ rip: UInt64, _ code: UnsafeRawPointer) {
        let i = Int(truncatingIfNeeded: (rip ^ (rip >> 14)) & UInt64(JITEngine.jumpCacheEntries - 1))
        jumpCache[2 * i] = (rip << 16) | contextValue(JITContext.epoch)
        jumpCache[2 * i + 1] = UInt64(UInt(bitPattern: code))
    }

    func setContext(_ offset: Int32, _ value: UInt64) {
        context.storeBytes(of: value, toByteOffset: Int(offset), as: UInt64.self)
    }

    func contextValue(_ offset: Int32) -> UInt64 {
        context.load(fromByteOffset: Int(offset), as: UInt64.self)
    }

    /// Where the next block's code will start.
    var nextOrigin: UInt64 { UInt64(UInt(bitPattern: buffer.base)) + UInt64((buffer.used + 15) & ~15) }

    /// Stores a translated block; nil when the code buffer or the block table is full.
    func add(_ code: [UInt8], linear: UInt64, usesSIMD: Bool) -> UInt32? {
        guard blockCount < JITEngine.blockCapacity, let p = buffer.append(code) else { return nil }
        blocks[blockCount] = JITBlock(code: UnsafeRawPointer(p), linear: linear, usesSIMD: usesSIMD)
        blockCount += 1
        blocksTranslated += 1
        return UInt32(blockCount - 1) | JITEngine.compiledBit
    }

    /// Forgets every block (the caller makes sure no entry still names one).
    func reset(generation: UInt64) {
        buffer.reset(keeping: stubBytes)
        blockCount = 0
        clearJumpCache(jumpCacheEpoch)
        cacheGeneration = generation
    }
}
