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
        while executed < budget && !halted && shutdownReason == nil {
            let start = rip
            if breakpointsArmed, checkInstructionBreakpoint() { executed += 1; break }
            // RF suppresses instruction breakpoints for one instruction only (SDM Vol. 3A §17.3.1.1).
            flagsBase &= ~RFLAGS.rf
            let shadowed = interruptShadow
            // Single-step: TF set when the instruction starts traps after it (SDM Vol. 3A §17.3.1.4).
            let singleStep = flagsBase & RFLAGS.tf != 0
            do {
                try step()
                // Data/I/O breakpoints hit by the instruction: #DB trap after it (X86CPU+Debug.swift).
                if dataBreakpointHit != 0 { dataBreakpointTrap(deferredToSingleStep: singleStep) }
                if singleStep { singleStepTrap() }
            } catch {
                rip = start
                deliverException(error)
            }
            executed += 1
            if shadowed {
                // The instruction after STI / MOV SS has run: interrupts may be taken again,
                // so give the engine the chance now.
                interruptShadow = false
                if flagsBase & RFLAGS.if != 0 { break }
            }
            if sliceEnd {
                sliceEnd = false
                break
            }
        }
        instructionsRetired &+= UInt64(executed)
        return executed
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
        dr6 |= 1 << 14
        deliverException(CPUException(CPUException.Vector.debug))
    }

    /// Executes one instruction.
    @inline(__always)
    func step() throws(CPUException) {
        let bits = codeBits
        let csBase = bits == 64 ? 0 : segs[Seg.cs].base
        let linear = (csBase &+ rip) & (bits == 64 ? ~0 : 0xFFFF_FFFF)
        if bits != 64, rip > UInt64(segs[Seg.cs].limit) { throw .gp() }
        // Executed in place from the cache: copying the decoded record costs more than most
        // instructions (an invalidation only clears an entry's tag, never its contents).
        let entry = try fetchDecoded(linear, bits)
        let next = rip &+ UInt64(entry.pointee.instruction.length)
        rip = bits == 64 ? next : (bits == 32 ? next & 0xFFFF_FFFF : next & 0xFFFF)
        try execute(InstructionRef(entry: entry))
    }

    /// The decoded instruction at linear address `linear`, from the cache or decoded now.
    @inline(__always)
    func fetchDecoded(_ linear: UInt64, _ bits: Int) throws(CPUException) -> UnsafeMutablePointer<DecodedCodeCache.Entry> {
        let page = linear >> 12
        if page &+ 1 == fetchPageTag {
            let physical = fetchPagePhysical | (linear & 0xFFF)
            let entry = codeCache.entries + Int(physical & DecodedCodeCache.indexMask)
            if entry.pointee.tag == DecodedCodeCache.tag(physical: physical, bits: bits) { return entry }
        }
        return try fetchDecodedSlow(linear, bits)
    }

    func fetchDecodedSlow(_ linear: UInt64, _ bits: Int) throws(CPUException) -> UnsafeMutablePointer<DecodedCodeCache.Entry> {
        let page = linear >> 12
        let i = Int(page & SoftwareTLB.indexMask)
        var physicalPage: UInt64
        if tlb.readTag[i] == page &+ 1, tlb.readHost[i] != nil, fetchAllowedFromReadTLB {
            physicalPage = tlb.readPhysicalPage[i]
        } else {
            physicalPage = try translate(linear, .fetch, user: userAccess) >> 12
            // No entry for a page under a read breakpoint (X86CPU+Debug.swift).
            if let host = hostPage(physicalPage, forWrite: false), !(pagingEnabled && msr.efer & EFER.nxe != 0), readTLBAllowed(page) {
                tlb.readTag[i] = page &+ 1
                tlb.readHost[i] = host
                tlb.readPhysicalPage[i] = physicalPage
            }
        }
        let physical = (physicalPage << 12) | (linear & 0xFFF)
        fetchPageTag = page &+ 1
        fetchPagePhysical = physicalPage << 12
        let tag = DecodedCodeCache.tag(physical: physical, bits: bits)
        let entry = codeCache.entries + Int(physical & DecodedCodeCache.indexMask)
        if entry.pointee.tag == tag { return entry }
        let cacheable = try decodeInto(entry, linear: linear, physical: physical, bits: bits)
        let form = entry.pointee.instruction.form
        if form != 0 {
            let info = formTable[Int(form)]
            entry.pointee.map = info.map
            entry.pointee.encoding = info.encoding
        }
        classifyFastPath(entry)
        if cacheable { entry.pointee.tag = tag }
        return entry
    }

    /// Instruction fetches may reuse read TLB entries unless NX is in force (a readable page
    /// may be non-executable).
    @inline(__always) var fetchAllowedFromReadTLB: Bool { !(pagingEnabled && msr.efer & EFER.nxe != 0) }

    /// Decodes into `entry`; returns whether the result may be cached.
    func decodeInto(_ entry: UnsafeMutablePointer<DecodedCodeCache.Entry>, linear: UInt64, physical: UInt64, bits: Int) throws(CPUException) -> Bool {
        entry.pointee.tag = 0
        let decoder = decoder(for: bits)
        let offsetInPage = Int(linear & 0xFFF)
        if offsetInPage <= 4096 - 15, let host = hostPage(physical >> 12, forWrite: false) {
            let p = (host + offsetInPage).assumingMemoryBound(to: UInt8.self)
            // The rest of the page is readable: the decoder's unchecked fast path applies (it
            // still reads at most 15 bytes of instruction).
            _ = decoder.decode(UnsafePointer(p), count: 4096 - offsetInPage, into: &entry.pointee.instruction)
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
            bytes.withUnsafeBytes { _ = decoder.decode($0, into: &entry.pointee.instruction) }
            if let pending, entry.pointee.instruction.form == 0 || Int(entry.pointee.instruction.length) > count {
                throw pending
            }
            markCode(physical >> 12)
            if let second = try? translate(linear &+ 14, .read, user: false) { markCode(second >> 12) }
            // Not cacheable when it ends at a fault boundary or comes from MMIO: decode each time.
            return count == 15 && memory.isRAM(physical)
        }
    }

    func markCode(_ physicalPage: UInt64) {
        if !codeCache.isCodePage(physicalPage) {
            codeCache.markCodePage(physicalPage)
            tlb.dropWrites(physicalPage: physicalPage)
        }
    }
}
