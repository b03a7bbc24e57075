import MachineCore
import X86Decoder

/// Exception and interrupt delivery and IRET (SDM Vol. 3A §6.12-6.14, §6.15 double faults).
extension X86CPU {
    /// How an event reached the CPU: it decides error-code EXT bits, IF/gate-DPL checks and
    /// what return address is pushed.
    enum EventKind {
        case exception, software, external

        /// The EXT bit of an error code raised while delivering this event: set for events
        /// "external to the program, such as an interrupt or an earlier exception", clear for
        /// INT n, INT3 and INTO (SDM Vol. 3A §6.13).
        var ext: UInt32 { self == .software ? 0 : 1 }
    }

    /// Delivers a fault raised while executing an instruction (RIP already points at it),
    /// applying the double-fault rules; a failure to deliver #DF shuts the CPU down.
    func deliverException(_ e: CPUException) {
        // A faulting instruction did not complete: its data-breakpoint hits go with it.
        dataBreakpointHit = 0
        // The RFLAGS image of a fault has RF = 1, so that the restarted instruction raises no
        // instruction breakpoint again; traps (and the instruction-breakpoint #DB) push the
        // current RF (SDM Vol. 3A §17.3.1.1; the classes of Table 6-1).
        if e.isFault { flagsBase |= RFLAGS.rf }
        // Entering the #DB handler clears DR7.GD, so that it may use the debug registers
        // (SDM Vol. 3B §17.2.4).
        if e.vector == CPUException.Vector.debug && dr7 & DR7.generalDetect != 0 { dr7 &= ~DR7.generalDetect }
        do {
            try deliver(vector: e.vector, errorCode: e.errorCode, kind: .exception)
        } catch let second {
            let firstBenign = !(e.isContributory || e.vector == CPUException.Vector.pageFault)
            let secondBenign = !(second.isContributory || second.vector == CPUException.Vector.pageFault)
            if e.vector == CPUException.Vector.doubleFault {
                shutdown("triple fault")
                return
            }
            if firstBenign || secondBenign
                || (e.vector != CPUException.Vector.pageFault && second.vector == CPUException.Vector.pageFault) {
                // Handled serially: deliver the second exception.
                deliverException(second)
                return
            }
            do {
                try deliver(vector: CPUException.Vector.doubleFault, errorCode: 0, kind: .exception)
            } catch {
                shutdown("triple fault")
            }
        }
    }

    func shutdown(_ why: String) {
        shutdownReason = why
        sliceEnd = true
    }

    /// INT n, INT3, INTO, INT1: the gate's DPL is checked against CPL in protected mode and
    /// the pushed return address is the next instruction (SDM Vol. 2A, "INT n").
    func softwareInterrupt(_ vector: UInt8, _ d: InstructionRef, icebp: Bool = false) throws(CPUException) {
        if v86Mode && iopl < 3 && !icebp && cr4 & CR4.vme == 0 { throw .gp() }
        try deliver(vector: vector, errorCode: nil, kind: icebp ? .external : .software)
        softwareEvent = icebp ? SoftwareEvent.int1 : SoftwareEvent.interrupt
    }

    /// What `softwareEvent` records.
    enum SoftwareEvent {
        static let none: UInt8 = 0
        /// INT n, INT3, INTO: a software interrupt delivered through the IDT.
        static let interrupt: UInt8 = 1
        /// INT1 (ICEBP, F1): a trap-like #DB.
        static let int1: UInt8 = 2
    }

    /// An external interrupt (from the PIC), delivered between instructions.
    public func deliverExternalInterrupt(_ vector: UInt8) {
        halted = false
        do {
            try deliver(vector: vector, errorCode: nil, kind: .external)
        } catch {
            deliverException(error)
        }
    }

    /// Can an external interrupt be taken now?
    public var interruptsEnabled: Bool { flagsBase & RFLAGS.if != 0 && !interruptShadow }

    func deliver(vector: UInt8, errorCode: UInt32?, kind: EventKind) throws(CPUException) {
        halted = false
        lastDeliveredVector = vector
        // The CPU's own accesses while delivering (vector table, frame pushes) report no data
        // breakpoints (X86CPU+Debug.swift).
        let breakpointHits = dataBreakpointHit
        defer { dataBreakpointHit = breakpointHits }
        if !protectedMode {
            try deliverRealMode(vector)
        } else if inLongMode {
            try deliverLongMode(vector, errorCode, kind)
        } else {
            try deliverProtectedMode(vector, errorCode, kind)
        }
        sliceEnd = true
    }

    /// Real mode: the IVT at IDTR.base, 4 bytes per vector (SDM Vol. 3A §20.1.4).
    func deliverRealMode(_ vector: UInt8) throws(CPUException) {
        let entry = UInt64(vector) * 4
        guard entry + 3 <= UInt64(idtr.limit) else { throw .gp(UInt32(vector) * 8 + 2) }
        let ip = try readLinear((idtr.base &+ entry) & 0xFFFF_FFFF, 2)
        let cs = try readLinear((idtr.base &+ entry &+ 2) & 0xFFFF_FFFF, 2)
        let savedSP = regs[4]
        do {
            try push(rflags & 0xFFFF, 2)
            try push(UInt64(segs[Seg.cs].selector), 2)
            try push(rip & 0xFFFF, 2)
        } catch { regs[4] = savedSP; throw error }
        flagsBase &= ~(RFLAGS.if | RFLAGS.tf | RFLAGS.ac | RFLAGS.rf)
        try loadSegment(Seg.cs, UInt16(cs))
        rip = ip
    }

    func idtError(_ vector: UInt8, _ kind: EventKind) -> UInt32 {
        UInt32(vector) * 8 + 2 + kind.ext
    }

    /// 32-bit protected mode through an interrupt or trap gate (SDM Vol. 3A §6.12.1).
    func deliverProtectedMode(_ vector: UInt8, _ errorCode: UInt32?, _ kind: EventKind) throws(CPUException) {
        let entry = UInt64(vector) * 8
        guard entry + 7 <= UInt64(idtr.limit) else { throw .gp(idtError(vector, kind)) }
        let gate = Descriptor(low: try readSystem(idtr.base &+ entry, 8))
        let gateType = gate.type
        guard !gate.s, [0x5, 0x6, 0x7, 0xE, 0xF].contains(gateType) else { throw .gp(idtError(vector, kind)) }
        if kind == .software && gate.dpl < cpl { throw .gp(idtError(vector, kind)) }
        guard gate.present else { throw .np(idtError(vector, kind)) }
        if gateType == TSSType.taskGate {
            // A task gate: the event switches tasks; an exception's error code goes on the new stack.
            try taskSwitch(to: gate.gateSelector, source: .interrupt, errorCode: kind == .exception ? errorCode : nil)
            return
        }
        let is32 = gateType & 8 != 0
        let size = is32 ? 4 : 2
        let selector = gate.gateSelector
        guard selector & 0xFFFC != 0 else { throw .gp(kind.ext) }
        let target = try readDescriptor(selector)
        let code = UInt32(selector & 0xFFFC) + kind.ext
        guard target.isCode, target.dpl <= cpl || (v86Mode && target.dpl == 0) else { throw .gp(code) }
        guard target.present else { throw .np(code) }
        let oldFlags = rflags
        let oldCS = UInt64(segs[Seg.cs].selector), oldIP = rip
        let oldSS = UInt64(segs[Seg.ss].selector), oldSP = regs[4]
        let savedSegs = (segs[Seg.ss], segs[Seg.cs])
        let fromV86 = v86Mode
        do throws(CPUException) {
            if !target.isConforming && target.dpl < cpl {
                let newCPL = target.dpl
                if fromV86 && newCPL != 0 { throw CPUException.gp(code) }
                let (ss, sp) = try stackFromTSS(newCPL)
                flagsBase &= ~RFLAGS.vm
                try switchStack(ss, sp, newCPL)
                if fromV86 {
                    for seg in [Seg.gs, Seg.fs, Seg.ds, Seg.es] { try push(UInt64(segs[seg].selector), size) }
                }
                try push(oldSS, size)
                try push(oldSP, size)
            } else if fromV86 {
                throw CPUException.gp(code)
            }
            try push(oldFlags, size)
            try push(oldCS, size)
            try push(oldIP, size)
            if let errorCode { try push(UInt64(errorCode), size) }
        } catch {
            segs[Seg.ss] = savedSegs.0; segs[Seg.cs] = savedSegs.1; regs[4] = oldSP
            rflags = oldFlags
            updateMode()
            throw error
        }
        if fromV86 {
            for seg in [Seg.es, Seg.ds, Seg.fs, Seg.gs] {
                var n = SegmentRegister(selector: 0)
                n.unusable = true
                segs[seg] = n
            }
        }
        try loadCodeSegment(selector, target, cpl: target.isConforming ? cpl : target.dpl)
        rip = is32 ? gate.gateOffset & 0xFFFF_FFFF : gate.gateOffset & 0xFFFF
        materializeFlags()
        flagsBase &= ~(RFLAGS.tf | RFLAGS.nt | RFLAGS.vm | RFLAGS.rf)
        if gateType & 1 == 0 { flagsBase &= ~RFLAGS.if }
        updateMode()
    }

    /// IA-32e mode: 16-byte gates, IST, 64-bit pushes of SS:RSP always (SDM Vol. 3A §6.14).
    func deliverLongMode(_ vector: UInt8, _ errorCode: UInt32?, _ kind: EventKind) throws(CPUException) {
        let entry = UInt64(vector) * 16
        guard entry + 15 <= UInt64(idtr.limit) else { throw .gp(idtError(vector, kind)) }
        var gate = Descriptor(low: try readSystem(idtr.base &+ entry, 8))
        gate.high = try readSystem(idtr.base &+ entry &+ 8, 8)
        guard !gate.s, gate.type == 0xE || gate.type == 0xF else { throw .gp(idtError(vector, kind)) }
        if kind == .software && gate.dpl < cpl { throw .gp(idtError(vector, kind)) }
        guard gate.present else { throw .np(idtError(vector, kind)) }
        let selector = gate.gateSelector
        guard selector & 0xFFFC != 0 else { throw .gp(kind.ext) }
        let target = try readDescriptor(selector)
        let code = UInt32(selector & 0xFFFC) + kind.ext
        guard target.isCode, target.l, !target.db, target.dpl <= cpl else { throw .gp(code) }
        guard target.present else { throw .np(code) }
        let oldFlags = rflags
        let oldCS = UInt64(segs[Seg.cs].selector), oldIP = rip
        let oldSS = UInt64(segs[Seg.ss].selector), oldSP = regs[4]
        let savedSegs = (segs[Seg.ss], segs[Seg.cs])
        let savedStackBits = stackBits, savedCPL = cpl
        let newCPL = target.isConforming ? cpl : target.dpl
        do {
            var newSP: UInt64
            if newCPL < cpl || gate.gateIST != 0 {
                let (_, sp) = try stackFromTSS(newCPL, ist: gate.gateIST)
                if newCPL < cpl {
                    try switchStack(UInt16(newCPL), sp, newCPL)
                }
                newSP = sp
            } else {
                newSP = regs[4]
            }
            regs[4] = newSP & ~0xF
            stackBits = 64
            let savedCodeBits = codeBits
            codeBits = 64  // pushes use 64-bit canonical addressing
            defer { codeBits = savedCodeBits }
            try push(oldSS, 8)
            try push(oldSP, 8)
            try push(oldFlags, 8)
            try push(oldCS, 8)
            try push(oldIP, 8)
            if let errorCode { try push(UInt64(errorCode), 8) }
        } catch {
            segs[Seg.ss] = savedSegs.0; segs[Seg.cs] = savedSegs.1; regs[4] = oldSP
            stackBits = savedStackBits; cpl = savedCPL
            updateMode()
            throw error
        }
        try loadCodeSegment(selector, target, cpl: newCPL)
        rip = gate.gateOffset
        materializeFlags()
        flagsBase &= ~(RFLAGS.tf | RFLAGS.nt | RFLAGS.rf)
        if gate.type == 0xE { flagsBase &= ~RFLAGS.if }
        updateMode()
    }

    /// IRET/IRETD/IRETQ (SDM Vol. 2A, "IRET").
    func interruptReturn(_ osz: Int) throws(CPUException) {
        // IRET ends the blocking of NMIs that began with the delivery of one, even when it
        // faults afterwards (SDM Vol. 3A §6.7.1).
        nmiBlocked = false
        if !protectedMode || v86Mode {
            if v86Mode && iopl < 3 { throw .gp() }
            let ip = try peek(0, osz)
            let cs = try peek(UInt64(osz), osz)
            let flags = try peek(UInt64(2 * osz), osz)
            try loadSegment(Seg.cs, UInt16(truncatingIfNeeded: cs))
            setStackPointer((regs[4] &+ UInt64(3 * osz)) & stackMask)
            rip = ip & (osz == 2 ? 0xFFFF : 0xFFFF_FFFF)
            var writable: UInt64 = 0x7FD5 | (osz == 4 ? 0x25_0000 : 0)
            if v86Mode { writable &= ~RFLAGS.iopl }
            let old = rflags
            rflags = (old & ~writable) | (flags & writable)
            sliceEnd = true
            return
        }
        if flagsBase & RFLAGS.nt != 0 && !inLongMode {
            // Return to the task named by the back link of the current TSS (SDM Vol. 3A §7.4).
            let link = UInt16(try readSystem(segs[Seg.tr].base, 2))
            try taskSwitch(to: link, source: .iret)
            return
        }
        let size = osz
        let ip = try peek(0, size)
        let selector = UInt16(truncatingIfNeeded: try peek(UInt64(size), size))
        let flags = try peek(UInt64(2 * size), size)
        if !inLongMode && flags & RFLAGS.vm != 0 && cpl == 0 && size == 4 {
            try returnToV86(ip: ip, cs: selector, flags: flags)
            return
        }
        let rpl = UInt8(selector & 3)
        guard selector & 0xFFFC != 0 else { throw .gp() }
        let d = try readDescriptor(selector)
        let code = UInt32(selector & 0xFFFC)
        guard d.isCode, rpl >= cpl else { throw .gp(code) }
        if d.isConforming { guard d.dpl <= rpl else { throw .gp(code) } } else { guard d.dpl == rpl else { throw .gp(code) } }
        guard d.present else { throw .np(code) }
        let oldCPL = cpl
        let returnsOuter = rpl > cpl || (inLongMode && codeBits == 64) || size == 8
        var newSP: UInt64 = 0, newSS: UInt16 = 0
        if returnsOuter {
            newSP = try peek(UInt64(3 * size), size)
            newSS = UInt16(truncatingIfNeeded: try peek(UInt64(4 * size), size))
        }
        try loadCodeSegment(selector, d, cpl: rpl)
        // Flags: IOPL only at CPL 0, IF only when CPL <= IOPL (checked with the old CPL).
        var writable: UInt64 = 0x3F_7FD5 & ~(RFLAGS.vm | RFLAGS.vif | RFLAGS.vip)
        if oldCPL != 0 { writable &= ~RFLAGS.iopl }
        if oldCPL > iopl { writable &= ~RFLAGS.if }
        if size == 2 { writable &= 0xFFFF }
        let old = rflags
        rflags = (old & ~writable) | (flags & writable)
        if returnsOuter {
            if newSS & 0xFFFC == 0 && inLongMode && d.l && rpl < 3 {
                var s = SegmentRegister(selector: newSS)
                s.unusable = true
                s.dpl = rpl
                segs[Seg.ss] = s
            } else {
                try loadSegment(Seg.ss, newSS)
            }
            updateMode()
            setStackPointer(newSP)
            if rpl > oldCPL { clearDataSegmentsForOuterLevel() }
        } else {
            setStackPointer((regs[4] &+ UInt64(3 * size)) & stackMask)
        }
        rip = d.l && inLongMode ? ip : ip & (size == 2 ? 0xFFFF : 0xFFFF_FFFF)
        updateMode()
        sliceEnd = true
    }

    /// IRET to virtual-8086 mode (SDM Vol. 3A §20.2.7).
    func returnToV86(ip: UInt64, cs: UInt16, flags: UInt64) throws(CPUException) {
        let sp = try peek(12, 4)
        let ss = try peek(16, 4), es = try peek(20, 4), ds = try peek(24, 4)
        let fs = try peek(28, 4), gs = try peek(32, 4)
        rflags = flags
        flagsBase |= RFLAGS.vm
        updateMode()
        for (seg, v) in [(Seg.cs, UInt64(cs)), (Seg.ss, ss), (Seg.es, es), (Seg.ds, ds), (Seg.fs, fs), (Seg.gs, gs)] {
            try loadSegment(seg, UInt16(truncatingIfNeeded: v))
        }
        updateMode()
        regs[4] = sp & 0xFFFF_FFFF
        rip = ip & 0xFFFF
        sliceEnd = true
    }
}
