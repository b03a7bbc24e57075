import MachineCore

/// Hardware task switching through TSS descriptors, task gates and IRET with NT
/// (SDM Vol. 3A §7.3, "Task Switching").
extension X86CPU {
    enum TaskSwitchSource { case jump, call, interrupt, iret }

    /// TSS type field values (SDM Vol. 3A §3.5, Table 3-2).
    enum TSSType {
        static let available16: UInt8 = 0x1, busy16: UInt8 = 0x3
        static let available32: UInt8 = 0x9, busy32: UInt8 = 0xB
        static let taskGate: UInt8 = 0x5
        static let busyBit: UInt8 = 0x2
    }

    /// Switches to the task whose TSS selector is `selector` (a task gate's selector has been
    /// resolved by the caller). `errorCode` is pushed on the new task's stack for exceptions.
    func taskSwitch(to selector: UInt16, source: TaskSwitchSource, errorCode: UInt32? = nil) throws(CPUException) {
        let code = UInt32(selector & 0xFFFC)
        guard selector & 4 == 0, selector & 0xFFFC != 0 else { throw .ts(code) }
        let newDescriptor = try readDescriptor(selector, fault: { .gp($0) })
        let newType = newDescriptor.type
        guard !newDescriptor.s, [TSSType.available16, TSSType.busy16, TSSType.available32, TSSType.busy32].contains(newType) else {
            throw .gp(code)
        }
        let newBusy = newType & TSSType.busyBit != 0
        if source == .iret { guard newBusy else { throw .ts(code) } } else { guard !newBusy else { throw .gp(code) } }
        guard newDescriptor.present else { throw .np(code) }
        let new32 = newType & 8 != 0
        guard newDescriptor.limit >= (new32 ? 0x67 : 0x2B) else { throw .ts(code) }

        // Save the outgoing task's dynamic state in its TSS.
        let oldTR = segs[Seg.tr]
        let old32 = oldTR.type & 8 != 0
        var oldFlags = rflags
        if source == .iret { oldFlags &= ~RFLAGS.nt }
        let base = oldTR.base
        if old32 {
            try writeSystem(base &+ 0x20, 4, rip & 0xFFFF_FFFF)
            try writeSystem(base &+ 0x24, 4, oldFlags & 0xFFFF_FFFF)
            for i in 0..<8 { try writeSystem(base &+ 0x28 &+ UInt64(i * 4), 4, regs[i] & 0xFFFF_FFFF) }
            for (i, seg) in [Seg.es, Seg.cs, Seg.ss, Seg.ds, Seg.fs, Seg.gs].enumerated() {
                try writeSystem(base &+ 0x48 &+ UInt64(i * 4), 2, UInt64(segs[seg].selector))
            }
        } else {
            try writeSystem(base &+ 0x0E, 2, rip & 0xFFFF)
            try writeSystem(base &+ 0x10, 2, oldFlags & 0xFFFF)
            for i in 0..<8 { try writeSystem(base &+ 0x12 &+ UInt64(i * 2), 2, regs[i] & 0xFFFF) }
            for (i, seg) in [Seg.es, Seg.cs, Seg.ss, Seg.ds].enumerated() {
                try writeSystem(base &+ 0x22 &+ UInt64(i * 2), 2, UInt64(segs[seg].selector))
            }
        }
        // JMP and IRET leave the old task; CALL and interrupts keep it busy (it is nested).
        if source == .jump || source == .iret { try setTSSBusy(oldTR.selector, busy: false) }

        // Read the incoming task's state before changing anything visible.
        let nb = newDescriptor.base
        var newState: (ip: UInt64, flags: UInt64, regs: [UInt64], segs: [UInt16], ldt: UInt16, cr3: UInt64?)
        if new32 {
            var r: [UInt64] = []
            for i in 0..<8 { r.append(try readSystem(nb &+ 0x28 &+ UInt64(i * 4), 4)) }
            var s: [UInt16] = []
            for i in 0..<6 { s.append(UInt16(try readSystem(nb &+ 0x48 &+ UInt64(i * 4), 2))) }
            newState = (try readSystem(nb &+ 0x20, 4), try readSystem(nb &+ 0x24, 4), r, s,
                        UInt16(try readSystem(nb &+ 0x60, 2)), try readSystem(nb &+ 0x1C, 4))
        } else {
            var r: [UInt64] = []
            for i in 0..<8 { r.append(try readSystem(nb &+ 0x12 &+ UInt64(i * 2), 2)) }
            var s: [UInt16] = []
            for i in 0..<4 { s.append(UInt16(try readSystem(nb &+ 0x22 &+ UInt64(i * 2), 2))) }
            s.append(0); s.append(0)
            newState = (try readSystem(nb &+ 0x0E, 2), try readSystem(nb &+ 0x10, 2) | 2, r, s,
                        UInt16(try readSystem(nb &+ 0x2A, 2)), nil)
        }
        if source == .call || source == .interrupt {
            newState.flags |= RFLAGS.nt
            try writeSystem(nb, 2, UInt64(oldTR.selector))
        }
        if source != .iret { try setTSSBusy(selector, busy: true) }

        // Commit: TR, CR0.TS, CR3, registers, flags; then the segment loads, which may fault in
        // the context of the new task (SDM Vol. 3A §7.3, step 12).
        var tr = newDescriptor.segment(selector: selector)
        tr.type |= TSSType.busyBit
        segs[Seg.tr] = tr
        cr0 |= CR0.ts
        // The local breakpoint enables belong to the old task (SDM Vol. 3B §17.2.4).
        if dr7 & DR7.localEnables != 0 { dr7 &= ~DR7.localEnables }
        if let cr3Value = newState.cr3, pagingEnabled, cr3Value & ~0xFFF != cr3 & ~0xFFF {
            cr3 = cr3Value
            tlb.flushAll()
        }
        rip = newState.ip
        for i in 0..<8 { setReg(UInt8(i), new32 ? 4 : 2, newState.regs[i]) }
        rflags = newState.flags
        // Segments: loaded with the new CPL = CS.RPL (or as virtual-8086 segments).
        if v86Mode {
            for (i, seg) in [Seg.es, Seg.cs, Seg.ss, Seg.ds, Seg.fs, Seg.gs].enumerated() {
                try loadSegment(seg, newState.segs[i])
            }
        } else {
            let csSelector = newState.segs[1]
            let csDescriptor = try readDescriptor(csSelector, fault: { .ts($0) })
            guard csDescriptor.isCode else { throw .ts(UInt32(csSelector & 0xFFFC)) }
            guard csDescriptor.present else { throw .np(UInt32(csSelector & 0xFFFC)) }
            try loadCodeSegment(csSelector, csDescriptor, cpl: UInt8(csSelector & 3))
            try loadLDT(newState.ldt)
            for (i, seg) in [Seg.es, Seg.cs, Seg.ss, Seg.ds, Seg.fs, Seg.gs].enumerated() where seg != Seg.cs {
                do { try loadSegment(seg, newState.segs[i]) } catch {
                    throw error.vector == CPUException.Vector.generalProtection ? .ts(error.errorCode ?? 0) : error
                }
            }
        }
        updateMode()
        if let errorCode { try push(UInt64(errorCode), new32 ? 4 : 2) }
        sliceEnd = true
    }

    func setTSSBusy(_ selector: UInt16, busy: Bool) throws(CPUException) {
        guard selector & 0xFFFC != 0 else { return }
        let address = gdtr.base &+ UInt64(selector & 0xFFF8) &+ 5
        var access = try readSystem(address, 1)
        access = busy ? access | UInt64(TSSType.busyBit) : access & ~UInt64(TSSType.busyBit)
        try writeSystem(address, 1, access)
    }

    /// Loads LDTR during a task switch (#TS on a bad selector).
    func loadLDT(_ selector: UInt16) throws(CPUException) {
        if selector & 0xFFFC == 0 {
            var s = SegmentRegister(selector: selector, type: 2, s: false)
            s.unusable = true
            segs[Seg.ldtr] = s
            return
        }
        let code = UInt32(selector & 0xFFFC)
        guard selector & 4 == 0 else { throw .ts(code) }
        let d = try readDescriptor(selector, fault: { .ts($0) })
        guard !d.s, d.type == 2 else { throw .ts(code) }
        guard d.present else { throw .ts(code) }
        segs[Seg.ldtr] = d.segment(selector: selector)
    }
}
