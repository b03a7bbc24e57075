import MachineCore
import X86Decoder

/// The fetch-decode-execute loop over the decoded-code cache.
extension X86CPU {
    /// Runs at most `budget` instructions; stops early when a handler ends the slice (HLT,
    /// a change that needs the engine's attention) or the CPU shuts down.
    /// Returns the number of instructions executed.
    @discardableResult
    public func runSlice(_ budget: Int) -> Int {
        var executed = 0
        loopExit = 0
        while executed < budget && !halted && shutdownReason == nil {
            if needsCarefulStep {
                executed += 1
                if carefulStep() { break }
                continue
            }
            executed += runUninterrupted(budget &- executed)
            if loopExit & LoopExit.sliceEnd != 0 {
                sliceEnd = false
                // STI / MOV SS ended the run: the next instruction still runs in the shadow.
                if !interruptShadow { break }
            }
        }
        instructionsRetired &+= UInt64(executed)
        return executed
    }

    /// Something that must be looked at around every instruction: the STI / MOV SS shadow,
    /// TF, RF, or an armed debug breakpoint. Each of these also sets `sliceEnd` when it turns
    /// on, so the uninterrupted loop hands over at once.
    @inline(__always) var needsCarefulStep: Bool {
        interruptShadow || breakpointsArmed || dataBreakpoints.armed || flagsBase & (RFLAGS.tf | RFLAGS.rf) != 0
    }

    /// Runs up to `limit` instructions with no per-instruction event checks, until a handler
    /// sets `loopExit` or an exception is delivered. Returns the number executed.
    ///
    /// Code that stays on one page follows the decoded-code cache directly: the next
    /// instruction's physical address is the current entry's plus the distance RIP moved, so
    /// finding its entry depends on the current entry alone, not on the segment or the TLB.
    @inline(__always)
    func runUninterrupted(_ limit: Int) -> Int {
        loopExit &= ~LoopExit.refetch
        let bits = codeBits
        let ripMask: UInt64 = bits == 64 ? ~0 : (bits == 32 ? 0xFFFF_FFFF : 0xFFFF)
        // Fetches past the CS limit take the general path, which raises #GP.
        let csLimit: UInt64 = bits == 64 ? ~0 : UInt64(segs[Seg.cs].limit)
        let pool = codeCache.pool
        var entry: UnsafeMutablePointer<DecodedCodeCache.Entry>
        do {
            entry = try fetchAtRIP(bits)
        } catch {
            deliverException(error)
            return 1
        }
        var n = 0
        // 64-bit code may run from translated blocks (X86CPU+JIT.swift).
        let translator = bits == 64 ? jit : nil
        while true {
            if let translator, entry.pointee.tag != 0 {
                let ran = runTranslated(entry, translator, budget: limit &- n)
                if ran > 0 {
                    n &+= ran
                    if n >= limit || loopExit != 0 { return n }
                    do {
                        entry = try fetchAtRIP(bits)
                    } catch {
                        deliverException(error)
                        return n &+ 1
                    }
                    continue
                }
            }
            let start = rip
            let length = UInt64(entry.pointee.length)
            let next = start &+ length
            rip = next & ripMask
            do {
                try execute(InstructionRef(entry: entry))
            } catch {
                rip = start
                deliverException(error)
                return n &+ 1
            }
            n &+= 1
            if n >= limit || loopExit != 0 { return n }
            let entryTag = entry.pointee.tag
            let offsetInPage = Int(truncatingIfNeeded: entryTag >> 2) & 0xFFF
            // The next instruction is on the same page (fall-through, or a branch that stays on
            // it): its physical address is known, so its tag is too. Fall-through code decoded
            // in order sits in the next entry; anything else is found through the index.
            if rip == next {
                if offsetInPage &+ Int(length) < 0x1000, next <= csLimit {
                    let nextTag = entryTag &+ (length << 2)
                    let candidate = entry + 1
                    if candidate.pointee.tag == nextTag {
                        entry = candidate
                        continue
                    }
                    if entryTag != 0, let found = codeCache.lookup(nextTag >> 2, tag: nextTag) {
                        entry = found
                        continue
                    }
                }
            } else {
                let delta = Int(bitPattern: UInt(rip &- start))
                if UInt(bitPattern: offsetInPage &+ delta) < 0x1000, rip <= csLimit, entryTag != 0 {
                    let targetTag = entryTag &+ (UInt64(bitPattern: Int64(delta)) << 2)
                    let guess = pool + Int(entry.pointee.branchSlot)
                    if guess.pointee.tag == targetTag {
                        entry = guess
                        continue
                    }
                    if let found = codeCache.lookup(targetTag >> 2, tag: targetTag) {
                        entry.pointee.branchSlot = UInt32(truncatingIfNeeded: found - pool)
                        entry = found
                        continue
                    }
                }
            }
            do {
                entry = try fetchAtRIP(bits)
            } catch {
                deliverException(error)
                return n &+ 1
            }
        }
    }

    /// The decoded instruction at CS:RIP (limit check, TLB, cache).
    @inline(__always)
    func fetchAtRIP(_ bits: Int) throws(CPUException) -> UnsafeMutablePointer<DecodedCodeCache.Entry> {
        if bits != 64, rip > UInt64(segs[Seg.cs].limit) { throw .gp() }
        let linear = bits == 64 ? rip : (segs[Seg.cs].base &+ rip) & 0xFFFF_FFFF
        return try fetchDecoded(linear, bits)
    }

    /// One instruction with the breakpoint, RF, single-step and interrupt-shadow rules.
    /// Returns true when the slice should end.
    func carefulStep() -> Bool {
        let start = rip
        if breakpointsArmed, checkInstructionBreakpoint() { return true }
        // RF suppresses instruction breakpoints for one instruction only (SDM Vol. 3A §17.3.1.1).
        flagsBase &= ~RFLAGS.rf
        let shadowed = interruptShadow
        // This instruction runs in a MOV SS / POP SS shadow (not an STI one).
        let afterMovSS = shadowed && !shadowFromSTI
        // Single-step: TF set when the instruction starts traps after it (SDM Vol. 3A §17.3.1.4).
        let singleStep = flagsBase & RFLAGS.tf != 0
        softwareEvent = SoftwareEvent.none
        do {
            try step()
            // MOV SS / POP SS hold a single-step trap back until after the next instruction,
            // which starts with TF still set and traps then (SDM Vol. 3A §6.8.3); STI does not.
            let movSSShadow = !shadowed && interruptShadow && !shadowFromSTI
            var trap = singleStep && !movSSShadow
            switch softwareEvent {
            case SoftwareEvent.int1:
                // INT1 is itself a trap-like #DB (SDM Vol. 3A §17.3.1, Table 17-2): it clears
                // TF and takes a trap held back by MOV SS with it, one #DB with DR6 as it was.
                trap = false
            case SoftwareEvent.interrupt:
                // INT n / INT3 / INTO clear TF as they enter the handler: no single-step trap
                // of their own; one held back by MOV SS is delivered after the transfer, at
                // the handler's first instruction (SDM Vol. 3A §6.8.3).
                trap = trap && afterMovSS
            default:
                break
            }
            if movSSShadow {
                // The data breakpoints MOV SS / POP SS hit wait with its single-step trap for
                // the end of the next instruction (SDM Vol. 3A §6.8.3).
                heldBreakpointHits = dataBreakpointHit
                dataBreakpointHit = 0
            } else if heldBreakpointHits != 0 {
                // INT1's own #DB takes them with it, as it does a held single-step trap;
                // after INT n / INT3 / INTO they are delivered at the handler's first
                // instruction (kvm-unit-tests x86/debug.c "MOV SS + watchpoint").
                if softwareEvent != SoftwareEvent.int1 { dataBreakpointHit |= heldBreakpointHits }
                heldBreakpointHits = 0
            }
            // Data/I/O breakpoints hit by the instruction: #DB trap after it (X86CPU+Debug.swift).
            if dataBreakpointHit != 0 { dataBreakpointTrap(deferredToSingleStep: trap) }
            if trap { singleStepTrap() }
        } catch {
            rip = start
            // A fault ends the instruction and the traps it held (SDM Vol. 3A §6.9, Table 6-2).
            heldBreakpointHits = 0
            deliverException(error)
        }
        if shadowed {
            // The instruction after STI / MOV SS has run: interrupts may be taken again,
            // so give the engine the chance now.
            interruptShadow = false
            if flagsBase & RFLAGS.if != 0 { sliceEnd = false; return true }
        }
        if sliceEnd {
            sliceEnd = false
            return !interruptShadow
        }
        return false
    }

    /// Enabled DR0-DR3 slots whose R/W field is 00 (instruction execution), one bit each.
    var instructionBreakpointMask: Int {
        var mask = 0
        for i in 0..<4 where (dr7 >> UInt64(i * 2)) & 3 != 0 && (dr7 >> UInt64(16 + i * 4)) & 3 == 0 { mask |= 1 << i }
        return mask
    }

    /// An instruction breakpoint on the next instruction raises #DB as a fault, before it runs,
    /// unless RF is set (SDM Vol. 3A §17.3.1.1, §17.2.4). Returns true when it fired.
    func checkInstructionBreakpoint() -> Bool {
        guard flagsBase & RFLAGS.rf == 0 else { return false }
        let linear = (codeBits == 64 ? 0 : segs[Seg.cs].base) &+ rip
        let mask = instructionBreakpointMask
        var hits: UInt64 = 0
        let addresses = [dr.0, dr.1, dr.2, dr.3]
        for i in 0..<4 where mask & (1 << i) != 0 && addresses[i] == linear { hits |= 1 << UInt64(i) }
        guard hits != 0 else { return false }
        dr6 = (dr6 & ~0xF) | hits
        deliverException(CPUException(CPUException.Vector.debug))
        return true
    }

    /// The #DB trap after an instruction executed with TF set: DR6.BS, then vector 1.
    func singleStepTrap() {
        dr6 |= DR6.bs
        deliverException(CPUException(CPUException.Vector.debug))
    }

    /// Executes one instruction.
    @inline(__always)
    func step() throws(CPUException) {
        let bits = codeBits
        // Executed in place from the cache: copying the decoded record costs more than most
        // instructions (an invalidation only clears an entry's tag, never its contents).
        let entry = try fetchAtRIP(bits)
        let next = rip &+ UInt64(entry.pointee.length)
        rip = bits == 64 ? next : (bits == 32 ? next & 0xFFFF_FFFF : next & 0xFFFF)
        try execute(InstructionRef(entry: entry))
    }

    /// The decoded instruction at linear address `linear`, from the cache or decoded now.
    @inline(__always)
    func fetchDecoded(_ linear: UInt64, _ bits: Int) throws(CPUException) -> UnsafeMutablePointer<DecodedCodeCache.Entry> {
        let page = linear >> 12
        if page &+ 1 == fetchPageTag {
            let physical = fetchPagePhysical | (linear & 0xFFF)
            if let entry = codeCache.lookup(physical, tag: DecodedCodeCache.tag(physical: physical, bits: bits)) { return entry }
        }
        return try fetchDecodedSlow(linear, bits)
    }

    /// Out of line: the run loop inlines `fetchDecoded`, and this path (a new page, a miss,
    /// a decode) must not weigh on its register allocation.
    @inline(never)
    func fetchDecodedSlow(_ linear: UInt64, _ bits: Int) throws(CPUException) -> UnsafeMutablePointer<DecodedCodeCache.Entry> {
        let page = linear >> 12
        let physicalPage = try codeFrame(linear)
        let physical = (physicalPage << 12) | (linear & 0xFFF)
        fetchPageTag = page &+ 1
        fetchPagePhysical = physicalPage << 12
        let codeTag = DecodedCodeCache.tag(physical: physical, bits: bits)
        if let entry = codeCache.lookup(physical, tag: codeTag) { return entry }
        // A cached instruction that runs into the next page is good only while that page still
        // maps the same frame and may be fetched from: translate it again (its #PF has CR2 at
        // the page start and RIP at the instruction, as on hardware).
        let secondLinear = nextCodePage(linear, bits)
        if codeCache.hasCrossing(physical, tag: codeTag) {
            let second = try codeFrame(secondLinear)
            if let entry = codeCache.lookupCrossing(physical, tag: codeTag, secondPage: second) { return entry }
        }
        codeCache.makeRoom()
        let scratch = codeCache.scratch
        let cacheable = try decodeInto(scratch, linear: linear, physical: physical, bits: bits)
        let form = scratch.pointee.form
        if form != 0 {
            let info = formTable[Int(form)]
            scratch.pointee.map = info.map
            scratch.pointee.encoding = info.encoding
        }
        classifyFastPath(scratch)
        guard cacheable else { return scratch }
        if Int(linear & 0xFFF) + Int(scratch.pointee.length) > 4096 {
            let second = try codeFrame(secondLinear)
            guard memory.isRAM(second << 12) else { return scratch }
            return codeCache.insertCrossing(scratch.pointee, physical: physical, tag: codeTag, secondPage: second)
        }
        scratch.pointee.tag = codeTag
        let entry = codeCache.insert(scratch.pointee, physical: physical)
        scratch.pointee.tag = 0
        return entry
    }

    /// The physical page an instruction fetch at `linear` reads, through the TLB's fetch
    /// entries (the walk checks execute permission: NX, U/S at CPL 3, SMEP; its #PF reports
    /// `linear` in CR2).
    @inline(__always)
    func codeFrame(_ linear: UInt64) throws(CPUException) -> UInt64 {
        let page = linear >> 12
        let i = Int(page & SoftwareTLB.indexMask)
        let tag = tlb.tag(page)
        if tlb.fetchTag[i] == tag { return tlb.fetchPhysicalPage[i] }
        let physicalPage = try translate(linear, .fetch, user: userAccess) >> 12
        tlb.fetchTag[i] = tag
        tlb.fetchPhysicalPage[i] = physicalPage
        return physicalPage
    }

    /// The linear address of the page after the one holding `linear` (outside 64-bit mode
    /// linear addresses wrap at 4 GiB).
    @inline(__always) func nextCodePage(_ linear: UInt64, _ bits: Int) -> UInt64 {
        let next = (linear | 0xFFF) &+ 1
        return bits == 64 ? next : next & 0xFFFF_FFFF
    }

    /// Decodes into `entry`; returns whether the result may be cached.
    func decodeInto(_ entry: UnsafeMutablePointer<DecodedCodeCache.Entry>, linear: UInt64, physical: UInt64, bits: Int) throws(CPUException) -> Bool {
        entry.pointee.tag = 0
        let decoder = decoder(for: bits)
        let offsetInPage = Int(linear & 0xFFF)
        if offsetInPage <= 4096 - 15, let host = hostPage(physical >> 12, forWrite: false) {
            let p = (host + offsetInPage).assumingMemoryBound(to: UInt8.self)
            // The rest of the page is readable: the decoder's unchecked fast path applies (it
            // still reads at most 15 bytes of instruction).
            var decoded = DecodedInstruction()
            _ = decoder.decode(UnsafePointer(p), count: 4096 - offsetInPage, into: &decoded)
            entry.pointee.load(decoded)
            markCode(physical >> 12)
            return true
        } else {
            // Crosses a page, or not RAM: gather the bytes through the MMU.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(15)
            var pending: CPUException?
            for k in 0..<15 {
                do {
                    bytes.append(UInt8(try readLinearSlow(linear &+ UInt64(k), 1, .fetch)))
                } catch {
                    pending = error
                    break
                }
            }
            let count = bytes.count
            if count == 0 { bytes.append(0) }
            var decoded = DecodedInstruction()
            bytes.withUnsafeBytes { _ = decoder.decode($0, into: &decoded) }
            entry.pointee.load(decoded)
            if let pending, decoded.form == 0 || Int(decoded.length) > count {
                throw pending
            }
            markCode(physical >> 12)
            let crosses = offsetInPage + Int(decoded.length) > 4096
            if crosses, let second = try? translate(nextCodePage(linear, bits), .read, user: false) { markCode(second >> 12) }
            // Complete here (a fetch fault past its end does not matter); not cacheable when
            // it comes from MMIO: decode each time. One that crosses a page is cached apart
            // (see `fetchDecodedSlow`).
            return memory.isRAM(physical)
        }
    }

    func markCode(_ physicalPage: UInt64) {
        if !codeCache.isCodePage(physicalPage) {
            codeCache.markCodePage(physicalPage)
            tlb.dropWrites(physicalPage: physicalPage)
        }
    }
}
