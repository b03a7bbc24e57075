import MachineCore
import X86Decoder

/// Segment loading and descriptor tables (SDM Vol. 3A §3.4-3.5, §5.5-5.8).
extension X86CPU {
    /// A segment descriptor as read from the GDT/LDT (8 bytes; system descriptors in long
    /// mode have a second quadword with the upper base).
    struct Descriptor {
        var low: UInt64
        var high: UInt64 = 0

        var base: UInt64 { ((low >> 16) & 0xFF_FFFF) | ((low >> 32) & 0xFF00_0000) | (high & 0xFFFF_FFFF) << 32 }
        var rawLimit: UInt32 { UInt32((low & 0xFFFF) | ((low >> 32) & 0xF_0000)) }
        var g: Bool { low & (1 << 55) != 0 }
        var limit: UInt32 { g ? (rawLimit << 12) | 0xFFF : rawLimit }
        var type: UInt8 { UInt8((low >> 40) & 0xF) }
        var s: Bool { low & (1 << 44) != 0 }
        var dpl: UInt8 { UInt8((low >> 45) & 3) }
        var present: Bool { low & (1 << 47) != 0 }
        var avl: Bool { low & (1 << 52) != 0 }
        var l: Bool { low & (1 << 53) != 0 }
        var db: Bool { low & (1 << 54) != 0 }
        var isCode: Bool { s && type & 8 != 0 }
        var isConforming: Bool { isCode && type & 4 != 0 }
        var isReadable: Bool { !isCode || type & 2 != 0 }
        var isWritableData: Bool { s && type & 8 == 0 && type & 2 != 0 }

        /// Gate fields (call, interrupt, trap gates).
        var gateSelector: UInt16 { UInt16((low >> 16) & 0xFFFF) }
        var gateOffset: UInt64 { (low & 0xFFFF) | ((low >> 32) & 0xFFFF_0000) | (high & 0xFFFF_FFFF) << 32 }
        var gateParameterCount: Int { Int((low >> 32) & 0x1F) }
        var gateIST: Int { Int((low >> 32) & 7) }

        func segment(selector: UInt16) -> SegmentRegister {
            SegmentRegister(selector: selector, base: s ? base & 0xFFFF_FFFF : base, limit: limit, type: type, s: s,
                            dpl: dpl, present: present, avl: avl, l: l, db: db, g: g, unusable: false)
        }
    }

    /// Reads the descriptor for `selector`; #GP(selector) when outside its table.
    func readDescriptor(_ selector: UInt16, wide: Bool = false, fault: (UInt32) -> CPUException = { .gp($0) }) throws(CPUException) -> Descriptor {
        let index = UInt64(selector & 0xFFF8)
        let table: (base: UInt64, limit: UInt64)
        if selector & 4 != 0 {
            let ldt = segs[Seg.ldtr]
            guard !ldt.unusable, ldt.present else { throw fault(UInt32(selector & 0xFFFC)) }
            table = (ldt.base, UInt64(ldt.limit))
        } else {
            table = (gdtr.base, UInt64(gdtr.limit))
        }
        let size: UInt64 = wide ? 16 : 8
        guard index + size - 1 <= table.limit else { throw fault(UInt32(selector & 0xFFFC)) }
        var d = Descriptor(low: try readSystem(table.base &+ index, 8))
        if wide { d.high = try readSystem(table.base &+ index &+ 8, 8) }
        return d
    }

    /// Sets the accessed bit of a code/data descriptor (SDM Vol. 3A §3.4.5.1).
    func markAccessed(_ selector: UInt16, _ d: Descriptor) throws(CPUException) {
        guard d.s, d.type & 1 == 0 else { return }
        let base = selector & 4 != 0 ? segs[Seg.ldtr].base : gdtr.base
        let address = base &+ UInt64(selector & 0xFFF8) &+ 5
        try writeSystem(address, 1, UInt64((d.low >> 40) & 0xFF) | 1)
    }

    /// MOV/POP to a data or stack segment register (SDM Vol. 2B, "MOV", "POP").
    func loadSegment(_ seg: Int, _ selector: UInt16) throws(CPUException) {
        if !protectedMode || v86Mode {
            var s = segs[seg]
            s.selector = selector
            s.base = UInt64(selector) << 4
            if v86Mode {
                s = SegmentRegister(selector: selector, base: UInt64(selector) << 4, limit: 0xFFFF,
                                    type: seg == Seg.cs ? 0xB : 0x3, dpl: 3)
            }
            s.unusable = false
            segs[seg] = s
            if seg == Seg.ss || seg == Seg.cs { updateMode() }
            return
        }
        let rpl = UInt8(selector & 3)
        if selector & 0xFFFC == 0 {
            if seg == Seg.ss && !(codeBits == 64 && cpl < 3 && rpl == cpl) { throw .gp() }
            var s = SegmentRegister(selector: selector)
            s.unusable = true
            s.present = false
            if seg == Seg.ss { s.dpl = cpl; s.db = false }
            segs[seg] = s
            if seg == Seg.ss { updateMode() }
            return
        }
        let d = try readDescriptor(selector)
        let code = UInt32(selector & 0xFFFC)
        if seg == Seg.ss {
            guard d.isWritableData, rpl == cpl, d.dpl == cpl else { throw .gp(code) }
            guard d.present else { throw .ss(code) }
        } else {
            guard d.s, d.isReadable else { throw .gp(code) }
            if !d.isConforming && (rpl > d.dpl || cpl > d.dpl) { throw .gp(code) }
            guard d.present else { throw .np(code) }
        }
        try markAccessed(selector, d)
        segs[seg] = d.segment(selector: selector)
        if seg == Seg.ss { updateMode() }
    }

    /// Loads CS for a far transfer to a code segment (privilege checks done by the caller).
    func loadCodeSegment(_ selector: UInt16, _ d: Descriptor, cpl newCPL: UInt8) throws(CPUException) {
        try markAccessed(selector, d)
        var s = d.segment(selector: (selector & 0xFFFC) | UInt16(newCPL))
        s.dpl = d.dpl
        segs[Seg.cs] = s
        // CPL is CS.RPL for conforming segments; keep it in the cached DPL field's place.
        if d.isConforming { segs[Seg.cs].dpl = newCPL }
        updateMode()
    }

    /// Checks a code-segment descriptor as the target of a JMP/CALL (SDM Vol. 3A §5.8.1).
    func checkDirectCodeTarget(_ selector: UInt16, _ d: Descriptor) throws(CPUException) {
        let code = UInt32(selector & 0xFFFC)
        let rpl = UInt8(selector & 3)
        guard d.isCode else { throw .gp(code) }
        if d.isConforming {
            guard d.dpl <= cpl else { throw .gp(code) }
        } else {
            guard rpl <= cpl, d.dpl == cpl else { throw .gp(code) }
        }
        guard d.present else { throw .np(code) }
        if inLongMode && d.l && d.db { throw .gp(code) }
    }

    // MARK: far transfers

    func jumpFar(selector: UInt16, offset: UInt64, _ osz: Int) throws(CPUException) {
        if !protectedMode || v86Mode {
            try loadSegment(Seg.cs, selector)
            setIP(offset, osz)
            return
        }
        guard selector & 0xFFFC != 0 else { throw .gp() }
        let d = try readDescriptor(selector, wide: inLongMode)
        if d.s {
            try checkDirectCodeTarget(selector, d)
            try loadCodeSegment(selector, d, cpl: cpl)
            setIP(offset, d.l && inLongMode ? 8 : osz)
            sliceEnd = true
            return
        }
        if d.type == 0x4 || d.type == 0xC {
            // Call gate: JMP only to the same privilege.
            let gate = try checkedCallGate(selector, d)
            let target = try readDescriptor(gate.gateSelector, wide: inLongMode)
            try checkGateTarget(gate.gateSelector, target)
            guard target.isConforming || target.dpl == cpl else { throw .gp(UInt32(gate.gateSelector & 0xFFFC)) }
            try loadCodeSegment(gate.gateSelector, target, cpl: cpl)
            rip = inLongMode ? gate.gateOffset : (d.type == 0xC ? gate.gateOffset & 0xFFFF_FFFF : gate.gateOffset & 0xFFFF)
            sliceEnd = true
            return
        }
        if try switchTaskForFarTransfer(selector, d, .jump) { return }
        throw .gp(UInt32(selector & 0xFFFC))
    }

    /// JMP/CALL to a TSS descriptor or a task gate (SDM Vol. 3A §7.3): privilege checks, then
    /// the switch. Returns false when the descriptor is neither.
    func switchTaskForFarTransfer(_ selector: UInt16, _ d: Descriptor, _ source: TaskSwitchSource) throws(CPUException) -> Bool {
        guard !inLongMode else { return false }
        let code = UInt32(selector & 0xFFFC)
        let rpl = UInt8(selector & 3)
        if d.type == TSSType.taskGate {
            guard d.dpl >= cpl, d.dpl >= rpl else { throw .gp(code) }
            guard d.present else { throw .np(code) }
            try taskSwitch(to: d.gateSelector, source: source)
            return true
        }
        if d.type == TSSType.available16 || d.type == TSSType.available32 || d.type == TSSType.busy16 || d.type == TSSType.busy32 {
            guard d.dpl >= cpl, d.dpl >= rpl else { throw .gp(code) }
            try taskSwitch(to: selector, source: source)
            return true
        }
        return false
    }

    func callFar(selector: UInt16, offset: UInt64, _ osz: Int) throws(CPUException) {
        if !protectedMode || v86Mode {
            let savedSP = regs[4]
            do {
                try push(UInt64(segs[Seg.cs].selector), osz)
                try push(rip, osz)
            } catch { regs[4] = savedSP; throw error }
            try loadSegment(Seg.cs, selector)
            setIP(offset, osz)
            return
        }
        guard selector & 0xFFFC != 0 else { throw .gp() }
        let d = try readDescriptor(selector, wide: inLongMode)
        let savedSP = regs[4]
        if d.s {
            try checkDirectCodeTarget(selector, d)
            let size = inLongMode && codeBits == 64 && osz == 4 ? 8 : osz
            do {
                try push(UInt64(segs[Seg.cs].selector), size)
                try push(rip, size)
            } catch { regs[4] = savedSP; throw error }
            try loadCodeSegment(selector, d, cpl: cpl)
            setIP(offset, d.l && inLongMode ? 8 : size)
            sliceEnd = true
            return
        }
        if d.type == 0x4 || d.type == 0xC {
            try callThroughGate(selector, d)
            return
        }
        if try switchTaskForFarTransfer(selector, d, .call) { return }
        throw .gp(UInt32(selector & 0xFFFC))
    }

    func checkedCallGate(_ selector: UInt16, _ d: Descriptor) throws(CPUException) -> Descriptor {
        let code = UInt32(selector & 0xFFFC)
        guard d.dpl >= cpl, d.dpl >= UInt8(selector & 3) else { throw .gp(code) }
        guard d.present else { throw .np(code) }
        if inLongMode && d.type != 0xC { throw .gp(code) }
        return d
    }

    func checkGateTarget(_ selector: UInt16, _ d: Descriptor) throws(CPUException) {
        let code = UInt32(selector & 0xFFFC)
        guard selector & 0xFFFC != 0 else { throw .gp() }
        guard d.isCode, d.dpl <= cpl else { throw .gp(code) }
        guard d.present else { throw .np(code) }
        if inLongMode && !(d.l && !d.db) { throw .gp(code) }
    }

    /// CALL through a call gate, with a stack switch when it goes to a more privileged
    /// non-conforming segment (SDM Vol. 3A §5.8.5).
    func callThroughGate(_ selector: UInt16, _ gateDescriptor: Descriptor) throws(CPUException) {
        let gate = try checkedCallGate(selector, gateDescriptor)
        let target = try readDescriptor(gate.gateSelector, wide: inLongMode)
        try checkGateTarget(gate.gateSelector, target)
        let gateSize = inLongMode ? 8 : (gate.type == 0xC ? 4 : 2)
        let returnCS = UInt64(segs[Seg.cs].selector), returnIP = rip
        if !target.isConforming && target.dpl < cpl {
            let newCPL = target.dpl
            let oldSS = UInt64(segs[Seg.ss].selector), oldSP = regs[4]
            let (newSS, newSP) = try stackFromTSS(newCPL)
            // Parameters are copied from the old stack (legacy mode only).
            var parameters: [UInt64] = []
            if !inLongMode {
                for i in 0..<gate.gateParameterCount {
                    parameters.append(try read(Seg.ss, (oldSP &+ UInt64(i * gateSize)) & stackMask, gateSize))
                }
            }
            let savedSS = segs[Seg.ss]
            let savedCS = segs[Seg.cs]
            let savedCPL = cpl
            do {
                try switchStack(newSS, newSP, newCPL)
                try push(oldSS, gateSize)
                try push(oldSP, gateSize)
                for p in parameters.reversed() { try push(p, gateSize) }
                try push(returnCS, gateSize)
                try push(returnIP, gateSize)
            } catch {
                segs[Seg.ss] = savedSS; segs[Seg.cs] = savedCS; cpl = savedCPL; regs[4] = oldSP
                updateMode()
                throw error
            }
            try loadCodeSegment(gate.gateSelector, target, cpl: newCPL)
        } else {
            let savedSP = regs[4]
            do {
                try push(returnCS, gateSize)
                try push(returnIP, gateSize)
            } catch { regs[4] = savedSP; throw error }
            try loadCodeSegment(gate.gateSelector, target, cpl: cpl)
        }
        rip = inLongMode ? gate.gateOffset : gate.gateOffset & (gateSize == 4 ? 0xFFFF_FFFF : 0xFFFF)
        sliceEnd = true
    }

    /// The stack for privilege level `level` from the current TSS (SDM Vol. 3A §7.2.1, §7.7).
    func stackFromTSS(_ level: UInt8, ist: Int = 0) throws(CPUException) -> (UInt16, UInt64) {
        let tr = segs[Seg.tr]
        let trCode = UInt32(tr.selector & 0xFFFC)
        if inLongMode {
            let offset: UInt64 = ist > 0 ? 0x24 + UInt64(ist - 1) * 8 : 4 + UInt64(level) * 8
            guard offset + 7 <= UInt64(tr.limit) else { throw .ts(trCode) }
            let rsp = try readSystem(tr.base &+ offset, 8)
            return (UInt16(level), rsp)
        }
        if tr.type & 8 != 0 {
            let offset = 4 + UInt64(level) * 8
            guard offset + 5 <= UInt64(tr.limit) else { throw .ts(trCode) }
            let esp = try readSystem(tr.base &+ offset, 4)
            let ss = try readSystem(tr.base &+ offset &+ 4, 2)
            return (UInt16(ss), esp)
        }
        let offset = 2 + UInt64(level) * 4
        guard offset + 3 <= UInt64(tr.limit) else { throw .ts(trCode) }
        let sp = try readSystem(tr.base &+ offset, 2)
        let ss = try readSystem(tr.base &+ offset &+ 2, 2)
        return (UInt16(ss), sp)
    }

    /// Loads SS:rSP for an inner-privilege transfer; in long mode SS becomes a null selector
    /// with RPL = the new CPL.
    func switchStack(_ selector: UInt16, _ sp: UInt64, _ newCPL: UInt8) throws(CPUException) {
        if inLongMode {
            var s = SegmentRegister(selector: UInt16(newCPL))
            s.unusable = true
            s.dpl = newCPL
            segs[Seg.ss] = s
            cpl = newCPL
            stackBits = 64
            regs[4] = sp & ~0xF
            return
        }
        let code = UInt32(selector & 0xFFFC)
        guard selector & 0xFFFC != 0 else { throw .ts(code) }
        let d = try readDescriptor(selector, fault: { .ts($0) })
        guard UInt8(selector & 3) == newCPL, d.dpl == newCPL, d.isWritableData else { throw .ts(code) }
        guard d.present else { throw .ss(code) }
        segs[Seg.ss] = d.segment(selector: selector)
        cpl = newCPL
        stackBits = d.db ? 32 : 16
        setStackPointer(sp)
    }

    /// RETF (SDM Vol. 2B, "RET"): same-privilege or to an outer privilege level.
    func returnFar(_ osz: Int, release: UInt64) throws(CPUException) {
        let size = codeBits == 64 && osz == 4 ? 4 : osz
        if !protectedMode || v86Mode {
            let ip = try peek(0, size)
            let cs = try peek(UInt64(size), size)
            try loadSegment(Seg.cs, UInt16(truncatingIfNeeded: cs))
            setStackPointer((regs[4] &+ UInt64(2 * size) &+ release) & stackMask)
            setIP(ip, size)
            return
        }
        let ip = try peek(0, size)
        let selector = UInt16(truncatingIfNeeded: try peek(UInt64(size), size))
        let rpl = UInt8(selector & 3)
        guard selector & 0xFFFC != 0 else { throw .gp() }
        guard rpl >= cpl else { throw .gp(UInt32(selector & 0xFFFC)) }
        let d = try readDescriptor(selector)
        let code = UInt32(selector & 0xFFFC)
        guard d.isCode else { throw .gp(code) }
        if d.isConforming { guard d.dpl <= rpl else { throw .gp(code) } } else { guard d.dpl == rpl else { throw .gp(code) } }
        guard d.present else { throw .np(code) }
        if rpl == cpl {
            try loadCodeSegment(selector, d, cpl: cpl)
            setStackPointer((regs[4] &+ UInt64(2 * size) &+ release) & stackMask)
            setIP(ip, d.l && inLongMode ? 8 : size)
        } else {
            let sp = try peek(UInt64(2 * size) &+ release, size)
            let ss = UInt16(truncatingIfNeeded: try peek(UInt64(3 * size) &+ release, size))
            try loadCodeSegment(selector, d, cpl: rpl)
            try loadSegment(Seg.ss, ss)
            setStackPointer((sp &+ release) & stackMask)
            setIP(ip, d.l && inLongMode ? 8 : size)
            clearDataSegmentsForOuterLevel()
        }
        sliceEnd = true
    }

    /// After a return to an outer level, data segment registers the new CPL may not use are
    /// made null (SDM Vol. 2B, "RET", "IRET").
    func clearDataSegmentsForOuterLevel() {
        for seg in [Seg.es, Seg.ds, Seg.fs, Seg.gs] {
            let s = segs[seg]
            let conformingCode = s.s && s.type & 0xC == 0xC
            if !s.unusable && !conformingCode && s.dpl < cpl {
                var n = SegmentRegister(selector: 0)
                n.unusable = true
                n.present = false
                segs[seg] = n
            }
        }
    }

    /// ARPL (SDM Vol. 2A): raises the RPL of the destination selector to the source's.
    func arpl(_ d: InstructionRef) throws(CPUException) {
        guard protectedMode && !v86Mode else { throw .invalidOpcode }
        let dest = try readRM(d, 2)
        let src = reg(d.reg, 2)
        if dest & 3 < src & 3 {
            try writeRM(d, 2, (dest & ~3) | (src & 3))
            setFlags(RFLAGS.zf, mask: RFLAGS.zf)
        } else {
            setFlags(0, mask: RFLAGS.zf)
        }
    }
}
