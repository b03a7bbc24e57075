import MachineCore
import X86Decoder

/// The block translator's place in the run loop: 64-bit code that runs often is translated
/// into host code (JIT/BlockTranslator.swift) and run from there; everything it does not
/// translate, and every fault, is the interpreter's.
extension X86CPU {
    /// Turns the block translator on or off. Off, or on a host that refuses executable
    /// memory, everything is interpreted. Returns whether it is on.
    @discardableResult
    public func setBlockTranslation(enabled: Bool, threshold: UInt32 = 16) -> Bool {
        codeCache.invalidateAll()
        guard enabled else { jit = nil; return false }
        if jit == nil { jit = JITEngine() }
        guard let jit else { return false }
        jit.threshold = min(threshold, JITEngine.untranslatable - 1)
        jit.reset(generation: codeCache.generation)
        // Where blocks find the guest's registers and the software TLB (fixed for this CPU).
        jit.setContext(JITContext.registers, UInt64(UInt(bitPattern: regs)))
        jit.setContext(JITContext.readTag, UInt64(UInt(bitPattern: tlb.readTag)))
        jit.setContext(JITContext.readHost, UInt64(UInt(bitPattern: tlb.readHost)))
        jit.setContext(JITContext.writeTag, UInt64(UInt(bitPattern: tlb.writeTag)))
        jit.setContext(JITContext.writeHost, UInt64(UInt(bitPattern: tlb.writeHost)))
        jit.setContext(JITContext.xmm, UInt64(UInt(bitPattern: xmmBase)))
        return true
    }

    public var blockTranslationEnabled: Bool { jit != nil }
    /// Blocks translated and guest instructions run in translated code (for `--stats`).
    public var translatedBlocks: Int { jit?.blocksTranslated ?? 0 }
    public var translatedInstructions: UInt64 { jit?.instructionsRun ?? 0 }

    /// Called by the run loop for each instruction it is about to interpret in 64-bit mode
    /// (`entry` at RIP, cached). Runs translated code from here when there is some, or
    /// translates once the instruction has been reached often enough. Returns the number of
    /// instructions the translated code ran (0: interpret this one).
    @inline(never)
    func runTranslated(_ entry: UnsafeMutablePointer<DecodedCodeCache.Entry>, _ jit: JITEngine, budget: Int) -> Int {
        var state = entry.pointee.jitState
        if state < JITEngine.compiledBit {
            if state < jit.threshold {
                entry.pointee.jitState = state &+ 1
                return 0
            }
            guard state == jit.threshold else { return 0 }
            state = translateBlock(entry, jit, simdAllowed: simdAllowed)
            entry.pointee.jitState = state
            guard state >= JITEngine.compiledBit else { return 0 }
        }
        let block = jit.blocks[Int(state & ~JITEngine.compiledBit)]
        // Translated SSE code does not check CR0.EM/TS or CR4.OSFXSR: such blocks wait while
        // SSE instructions would fault (the interpreter raises #UD/#NM as it should).
        if block.usesSIMD && !simdAllowed { return 0 }
        guard block.linear == rip else {
            // The same physical code at another linear address: translate it afresh.
            entry.pointee.jitState = jit.threshold
            return 0
        }
        // Blocks with SSE are remembered only while SSE is usable, and the jump cache's
        // epoch changes with that, so no chain leads into them otherwise.
        jit.setEpoch((tlbFlushes &+ codeCache.invalidations) << 1 | (simdAllowed ? 1 : 0))
        jit.remember(rip, block.code)
        return runBlock(block.code, jit, budget: budget)
    }

    /// SSE instructions would run without #UD or #NM (SDM Vol. 3A §13.1, Table 2-2).
    var simdAllowed: Bool { (cr0 & (CR0.em | CR0.ts)) | (~cr4 & CR4.osfxsr) == 0 }

    /// Runs translated code from `code` until a block leaves; returns instructions run.
    func runBlock(_ code: UnsafeRawPointer, _ jit: JITEngine, budget: Int) -> Int {
        materializeFlags()
        let f = flagsBase
        let saved = ((f & 0xD5) | 2) << 8 | (f & RFLAGS.of != 0 ? 1 : 0)
        jit.setContext(JITContext.flags, saved)
        jit.setContext(JITContext.budget, UInt64(budget))
        jit.setContext(JITContext.generation, tlb.tag(0))
        jit.setContext(JITContext.fsBase, segs[Seg.fs].base)
        jit.setContext(JITContext.gsBase, segs[Seg.gs].base)
        jit.enter(jit.context, code)
        rip = jit.contextValue(JITContext.rip)
        let out = jit.contextValue(JITContext.flags)
        flagsBase = (flagsBase & ~arithmeticFlagsMask) | ((out >> 8) & 0xD5) | (out & 1 != 0 ? RFLAGS.of : 0)
        let ran = budget - Int(Int64(bitPattern: jit.contextValue(JITContext.budget)))
        jit.instructionsRun &+= UInt64(ran)
        return ran
    }

    /// Translates the block that starts at `entry` (RIP); returns the entry's new `jitState`.
    func translateBlock(_ entry: UnsafeMutablePointer<DecodedCodeCache.Entry>, _ jit: JITEngine, simdAllowed: Bool) -> UInt32 {
        if jit.cacheGeneration != codeCache.generation { jit.reset(generation: codeCache.generation) }
        let generation = codeCache.generation
        let start = rip
        // A block lives on one page: the jump cache trusts it while the TLB is not flushed,
        // which says nothing of a second page (page-crossing instructions are never cached
        // with a tag, so they should not get here).
        guard Int(start & 0xFFF) + Int(entry.pointee.length) <= 4096 else { return JITEngine.untranslatable }
        var translator = BlockTranslator(origin: jit.nextOrigin, leaveAddress: jit.leaveAddress, startRIP: start,
                                         simdAllowed: simdAllowed)
        var linear = start
        var current = entry
        var endedWithBranch = false
        while translator.count < JITEngine.maxInstructions {
            let form = Int(current.pointee.form)
            let outcome = translator.translate(current.pointee, rip: linear, simdPrefix: form == 0 ? 0 : simdPrefix(InstructionRef(entry: current)))
            if outcome == .unsupported { break }
            linear &+= UInt64(current.pointee.length)
            if outcome == .endsBlock { endedWithBranch = true; break }
            // The next instruction must lie wholly on this page, decoded and cached.
            guard linear & 0xFFF != 0, linear >> 12 == start >> 12,
                  let next = try? fetchDecoded(linear, 64),
                  codeCache.generation == generation, next.pointee.tag != 0,
                  Int(linear & 0xFFF) + Int(next.pointee.length) <= 4096 else { break }
            current = next
        }
        // Decoding the rest of the block may have emptied the cache (and this entry with it).
        guard codeCache.generation == generation else { return 0 }
        guard translator.count > 0 else { return JITEngine.untranslatable }
        let code = endedWithBranch ? translator.finishAfterBranch() : translator.finish(fallThrough: linear)
        if let state = jit.add(code, linear: start, usesSIMD: translator.usesSIMD) { return state }
        // Out of room: start again with an empty cache (every entry naming a block goes too).
        codeCache.invalidateAll()
        jit.reset(generation: codeCache.generation)
        return 0
    }
}
