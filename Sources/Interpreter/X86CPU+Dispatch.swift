import MachineCore
import X86Decoder

/// Instruction dispatch: one switch over the opcode maps (SDM Vol. 2D, Appendix A).
extension X86CPU {
    @inline(__always)
    func execute(_ d: InstructionRef) throws(CPUException) {
        if d.handler != FastPath.none {
            try executeFastPath(d)
            return
        }
        // Invalid encodings, LOCK on a non-lockable form included, have form 0 (the decoder's
        // rule); they never get a fast-path handler.
        guard d.form != 0 else { throw .invalidOpcode }
        if d.encoding != 0 { throw unimplementedInstruction(d) }
        switch d.map {
        case 0: try executeOneByte(d)
        case 1: try executeTwoByte(d)
        case 2: try executeSIMD0F38(d)
        case 3: try executeSIMD0F3A(d)
        default: throw unimplementedInstruction(d)
        }
    }

    /// The one-byte opcode map.
    func executeOneByte(_ d: InstructionRef) throws(CPUException) {
        let op = d.opcode
        let osz = opBytes(d)
        switch op {
        case 0x06, 0x0E, 0x16, 0x1E:
            try push(UInt64(segs[Int(op >> 3)].selector), osz)
        case 0x07, 0x17, 0x1F:
            try popSegment(Int(op >> 3), osz)
        case 0x27: daa()
        case 0x2F: das()
        case 0x37: aaa()
        case 0x3F: aas()
        case 0x60: // PUSHA
            let sp = reg(4, osz)
            for r: UInt8 in [0, 1, 2, 3] { try push(reg(r, osz), osz) }
            try push(sp, osz)
            for r: UInt8 in [5, 6, 7] { try push(reg(r, osz), osz) }
        case 0x61: // POPA
            for r: UInt8 in [7, 6, 5] { setReg(r, osz, try pop(osz)) }
            _ = try pop(osz)
            for r: UInt8 in [3, 2, 1, 0] { setReg(r, osz, try pop(osz)) }
        case 0x62: // BOUND
            let ea = effectiveAddress(d)
            let lower = signExtend(try read(Int(d.segment), ea, osz), osz)
            let upper = signExtend(try read(Int(d.segment), (ea &+ UInt64(osz)) & addressMask(d), osz), osz)
            let index = signExtend(reg(d.reg, osz), osz)
            if index < lower || index > upper { throw CPUException(CPUException.Vector.boundRange) }
        case 0x63:
            if codeBits == 64 { // MOVSXD
                setReg(d.reg, osz, UInt64(bitPattern: signExtend(try readRM(d, 4), 4)))
            } else {
                try arpl(d)
            }
        case 0x68, 0x6A:
            try push(d.immediate, osz)
        case 0x6C, 0x6D, 0x6E, 0x6F, 0xA4...0xA7, 0xAA...0xAF:
            try stringInstruction(d)
        case 0x86, 0x87:
            let size = op & 1 == 0 ? 1 : osz
            let a = try readRM(d, size)
            try writeRM(d, size, reg(d.reg, size))
            setReg(d.reg, size, a)
        case 0x8C:
            let sreg = Int(d.reg & 7)
            guard sreg < 6 else { throw .invalidOpcode }
            let v = UInt64(segs[sreg].selector)
            if d.hasMemory { try writeRM(d, 2, v) } else { setReg(d.rm, osz, v) }
        case 0x8D:
            throw .invalidOpcode  // LEA with a register operand (the memory form is a fast path)
        case 0x8E:
            let sreg = Int(d.reg & 7)
            guard sreg < 6, sreg != Seg.cs else { throw .invalidOpcode }
            try loadSegment(sreg, UInt16(truncatingIfNeeded: try readRM(d, 2)))
            if sreg == Seg.ss { interruptShadow = true; shadowFromSTI = false }
        case 0x8F:
            guard d.reg & 7 == 0 else { throw .invalidOpcode }
            // POP r/m: the address is computed after SP is incremented (SDM Vol. 2B, "POP").
            let v = try peek(0, osz)
            let oldSP = regs[4]
            setStackPointer((regs[4] &+ UInt64(osz)) & stackMask)
            do { try writeRM(d, osz, v) } catch { regs[4] = oldSP; throw error }
        case 0x90...0x97:
            if d.rm == 0 { break } // NOP / PAUSE (90 without REX.B; XCHG EAX,EAX does not zero-extend)
            let a = reg(0, osz)
            setReg(0, osz, reg(d.rm, osz))
            setReg(d.rm, osz, a)
        case 0x98:
            let half = osz / 2
            setReg(0, osz, UInt64(bitPattern: signExtend(reg(0, half), half)))
        case 0x99:
            let negative = reg(0, osz) & signBit(osz) != 0
            setReg(2, osz, negative ? ~0 : 0)
        case 0x9A:
            try callFar(selector: UInt16(truncatingIfNeeded: d.immediate2), offset: d.immediate, osz)
        case 0x9B: try executeWait()
        case 0x9C: try pushFlags(osz)
        case 0x9D: try popFlags(osz)
        case 0x9E: // SAHF
            let ah = reg(ByteRegister.ah, 1)
            setFlags(ah, mask: RFLAGS.sf | RFLAGS.zf | RFLAGS.af | RFLAGS.pf | RFLAGS.cf)
        case 0x9F: // LAHF
            setReg(ByteRegister.ah, 1, (rflags & 0xD5) | 2)
        case 0xA0...0xA3:
            let size = op & 1 == 0 ? 1 : osz
            let offset = d.immediate & addressMask(d)
            if op < 0xA2 {
                setReg(0, size, try read(Int(d.segment), offset, size))
            } else {
                try write(Int(d.segment), offset, size, reg(0, size))
            }
        case 0xA8, 0xA9:
            let size = op & 1 == 0 ? 1 : osz
            _ = alu(4, reg(0, size), d.immediate, size)
        case 0xC2, 0xC3:
            let target = try peek(0, nearBranchSize(d))
            try checkBranchTarget(target, nearBranchSize(d))
            _ = try pop(nearBranchSize(d))
            if op == 0xC2 { setStackPointer((regs[4] &+ (d.immediate & 0xFFFF)) & stackMask) }
            setIP(target, nearBranchSize(d))
        case 0xC4, 0xC5:
            guard d.hasMemory else { throw .invalidOpcode }
            try loadFarPointer(d, op == 0xC4 ? Seg.es : Seg.ds)
        case 0xC6, 0xC7:
            guard d.reg & 7 == 0 else { throw .invalidOpcode }
            try writeRM(d, op == 0xC6 ? 1 : osz, d.immediate)
        case 0xC8: try enter(d)
        case 0xC9: // LEAVE
            let bp = reg(5, stackBits / 8)
            let saved = regs[4]
            setStackPointer(bp)
            do { setReg(5, osz, try pop(osz)) } catch { regs[4] = saved; throw error }
        case 0xCA, 0xCB:
            try returnFar(osz, release: op == 0xCA ? d.immediate & 0xFFFF : 0)
        case 0xCC:
            try softwareInterrupt(3, d)
        case 0xCD:
            try softwareInterrupt(UInt8(truncatingIfNeeded: d.immediate), d)
        case 0xCE:
            if codeBits == 64 { throw .invalidOpcode }
            if flag(RFLAGS.of) { try softwareInterrupt(4, d) }
        case 0xCF:
            try interruptReturn(osz)
        case 0xD4: try aam(UInt8(truncatingIfNeeded: d.immediate))
        case 0xD5: aad(UInt8(truncatingIfNeeded: d.immediate))
        case 0xD6: // SALC (undocumented): AL = CF ? 0xFF : 0
            setReg(0, 1, carryFlag ? 0xFF : 0)
        case 0xD7: // XLAT
            let offset = (reg(3, Int(d.addressSize) / 8) &+ reg(0, 1)) & addressMask(d)
            setReg(0, 1, try read(Int(d.segment), offset, 1))
        case 0xD8...0xDF: try executeX87(d)
        case 0xE0, 0xE1, 0xE2:
            let asz = Int(d.addressSize) / 8
            let count = (reg(1, asz) &- 1) & sizeMask(asz)
            setReg(1, asz, count)
            var taken = count != 0
            if op == 0xE0 { taken = taken && !flag(RFLAGS.zf) }
            if op == 0xE1 { taken = taken && flag(RFLAGS.zf) }
            if taken { jumpRelative(d) }
        case 0xE3:
            if reg(1, Int(d.addressSize) / 8) == 0 { jumpRelative(d) }
        case 0xE4, 0xE5, 0xEC, 0xED:
            let size = op & 1 == 0 ? 1 : min(osz, 4)
            let port = op >= 0xEC ? UInt16(reg(2, 2)) : UInt16(truncatingIfNeeded: d.immediate)
            try checkIOPermission(port, size)
            setReg(0, size, UInt64(portIn(port, size)))
        case 0xE6, 0xE7, 0xEE, 0xEF:
            let size = op & 1 == 0 ? 1 : min(osz, 4)
            let port = op >= 0xEE ? UInt16(reg(2, 2)) : UInt16(truncatingIfNeeded: d.immediate)
            try checkIOPermission(port, size)
            portOut(port, size, UInt32(truncatingIfNeeded: reg(0, size)))
        case 0xEA:
            try jumpFar(selector: UInt16(truncatingIfNeeded: d.immediate2), offset: d.immediate, osz)
        case 0xF1:
            try softwareInterrupt(1, d, icebp: true)
        case 0xF4:
            guard cpl == 0 else { throw .gp() }
            halted = true
            sliceEnd = true
        case 0xF5:
            setFlags(carryFlag ? 0 : RFLAGS.cf, mask: RFLAGS.cf)
        case 0xF6, 0xF7:
            try group3(d, op == 0xF6 ? 1 : osz)
        case 0xF8: setFlags(0, mask: RFLAGS.cf)
        case 0xF9: setFlags(RFLAGS.cf, mask: RFLAGS.cf)
        case 0xFA: try cli()
        case 0xFB: try sti()
        case 0xFC: flagsBase &= ~RFLAGS.df
        case 0xFD: flagsBase |= RFLAGS.df
        case 0xFE:
            switch d.reg & 7 {
            case 0: try writeRM(d, 1, inc(try readRM(d, 1), 1))
            case 1: try writeRM(d, 1, dec(try readRM(d, 1), 1))
            default: throw .invalidOpcode
            }
        case 0xFF:
            try group5(d, osz)
        default:
            throw unimplementedInstruction(d)
        }
    }

    @inline(__always) func addressMask(_ d: InstructionRef) -> UInt64 { sizeMask(Int(d.addressSize) / 8) }

    /// Operand size of near branches: 64 in 64-bit mode (the 66 prefix is ignored on Intel
    /// CPUs there), else the operand size.
    @inline(__always) func nearBranchSize(_ d: InstructionRef) -> Int {
        codeBits == 64 ? 8 : opBytes(d)
    }

    @inline(__always)
    func jumpRelative(_ d: InstructionRef) {
        setIP(rip &+ d.immediate, nearBranchSize(d))
    }

    func group3(_ d: InstructionRef, _ size: Int) throws(CPUException) {
        switch d.reg & 7 {
        case 0, 1: _ = alu(4, try readRM(d, size), d.immediate, size)
        case 2: try writeRM(d, size, ~(try readRM(d, size)) & sizeMask(size))
        case 3: try writeRM(d, size, neg(try readRM(d, size), size))
        case 4: mulAccumulator(try readRM(d, size), size, signed: false)
        case 5: mulAccumulator(try readRM(d, size), size, signed: true)
        case 6: try divide(try readRM(d, size), size, signed: false)
        default: try divide(try readRM(d, size), size, signed: true)
        }
    }

    func group5(_ d: InstructionRef, _ osz: Int) throws(CPUException) {
        switch d.reg & 7 {
        case 0: try writeRM(d, osz, inc(try readRM(d, osz), osz))
        case 1: try writeRM(d, osz, dec(try readRM(d, osz), osz))
        case 2:
            let size = nearBranchSize(d)
            let target = try readRM(d, size)
            try checkBranchTarget(target, size)
            try push(rip, size)
            setIP(target, size)
        case 3, 5:
            guard d.hasMemory else { throw .invalidOpcode }
            let ea = effectiveAddress(d)
            let offset = try read(Int(d.segment), ea, osz)
            let selector = try read(Int(d.segment), (ea &+ UInt64(osz)) & addressMask(d), 2)
            if d.reg & 7 == 3 {
                try callFar(selector: UInt16(selector), offset: offset, osz)
            } else {
                try jumpFar(selector: UInt16(selector), offset: offset, osz)
            }
        case 4:
            let size = nearBranchSize(d)
            let target = try readRM(d, size)
            try checkBranchTarget(target, size)
            setIP(target, size)
        case 6:
            let size = codeBits == 64 && osz == 4 ? 8 : osz
            try push(try readRM(d, size), size)
        default:
            throw .invalidOpcode
        }
    }

    /// POP ES/SS/DS/FS/GS. The stack pointer moves by the operand size with the width of the
    /// stack the selector came from: a 16-bit SS changes only SP, even for POP SS loading a
    /// 32-bit one (SDM Vol. 2B "POP": StackAddrSize is the instruction's, fixed before the
    /// load). The selector is read before and loaded before SP moves, so a fault changes nothing.
    func popSegment(_ seg: Int, _ osz: Int) throws(CPUException) {
        let size = codeBits == 64 && osz == 4 ? 8 : osz
        let v = try peek(0, size)
        let newSP = stackPointer(adding: UInt64(size))
        try loadSegment(seg, UInt16(truncatingIfNeeded: v))
        regs[4] = newSP
        if seg == Seg.ss { interruptShadow = true; shadowFromSTI = false }
    }

    /// The whole RSP after moving it by `delta` with the current stack width (upper bits kept
    /// on a 16-bit stack, cleared on a 32-bit one).
    @inline(__always) func stackPointer(adding delta: UInt64) -> UInt64 {
        switch stackBits {
        case 16: return (regs[4] & ~0xFFFF) | ((regs[4] &+ delta) & 0xFFFF)
        case 32: return (regs[4] &+ delta) & 0xFFFF_FFFF
        default: return regs[4] &+ delta
        }
    }

    /// LES/LDS/LSS/LFS/LGS: offset then selector from memory.
    func loadFarPointer(_ d: InstructionRef, _ seg: Int) throws(CPUException) {
        let osz = opBytes(d)
        let ea = effectiveAddress(d)
        let offset = try read(Int(d.segment), ea, osz)
        let selector = try read(Int(d.segment), (ea &+ UInt64(osz)) & addressMask(d), 2)
        try loadSegment(seg, UInt16(selector))
        setReg(d.reg, osz, offset)
        if seg == Seg.ss { interruptShadow = true; shadowFromSTI = false }
    }

    /// ENTER (SDM Vol. 2A, "ENTER"), with nesting levels.
    func enter(_ d: InstructionRef) throws(CPUException) {
        let osz = codeBits == 64 && opBytes(d) == 4 ? 8 : opBytes(d)
        let frameSize = d.immediate & 0xFFFF
        let level = Int(d.immediate2 & 0x1F)
        let savedSP = regs[4], savedBP = regs[5]
        do {
            try push(reg(5, osz), osz)
            // The frame pointer is the whole stack pointer register: an o32 ENTER on a 16-bit
            // stack moves only SP, yet EBP (and the pushed frame pointer) get all of ESP
            // (SDM Vol. 2A "ENTER": EBP := FrameTemp; i386 manual: frame-ptr := eSP).
            let frameTemp = regs[4]
            if level > 0 {
                var bp = reg(5, stackBits / 8)
                for _ in 1..<level {
                    bp = (bp &- UInt64(osz)) & stackMask
                    try push(try read(Seg.ss, bp, osz), osz)
                }
                try push(frameTemp, osz)
            }
            setReg(5, osz, frameTemp)
            let sp = (reg(4, stackBits / 8) &- frameSize) & stackMask
            // The new top of the stack must be writable.
            _ = try linearAddress(Seg.ss, sp, 1, write: true)
            setStackPointer(sp)
        } catch {
            regs[4] = savedSP; regs[5] = savedBP
            throw error
        }
    }

    // MARK: flags instructions

    func pushFlags(_ osz: Int) throws(CPUException) {
        if v86Mode && iopl < 3 { throw .gp() }
        // VM and RF are never pushed (SDM Vol. 2B, "PUSHF").
        try push(rflags & ~(RFLAGS.vm | RFLAGS.rf), osz == 2 ? 2 : osz)
    }

    func popFlags(_ osz: Int) throws(CPUException) {
        if v86Mode && iopl < 3 { throw .gp() }
        let v = try pop(osz)
        var writable: UInt64 = RFLAGS.cf | RFLAGS.pf | RFLAGS.af | RFLAGS.zf | RFLAGS.sf | RFLAGS.tf | RFLAGS.df
            | RFLAGS.of | RFLAGS.nt
        // RF is not loaded by POPF: it is 0 afterwards (SDM Vol. 2B, "POPF", Operation).
        if osz >= 4 { writable |= RFLAGS.ac | RFLAGS.id }
        if !protectedMode || cpl == 0 { writable |= RFLAGS.iopl }
        if !protectedMode || cpl <= iopl { writable |= RFLAGS.if }
        if osz == 2 { writable &= 0xFFFF }
        let old = rflags
        rflags = (old & ~writable) | (v & writable)
        if old & RFLAGS.if == 0 && flagsBase & RFLAGS.if != 0 { sliceEnd = true }
    }

    var iopl: UInt8 { UInt8((flagsBase >> 12) & 3) }

    func cli() throws(CPUException) {
        if protectedMode && cpl > iopl { throw .gp() }
        flagsBase &= ~RFLAGS.if
    }

    func sti() throws(CPUException) {
        if protectedMode && cpl > iopl { throw .gp() }
        // The STI shadow holds off INTR, not NMI (X86CPU+NMI.swift).
        if flagsBase & RFLAGS.if == 0 { interruptShadow = true; shadowFromSTI = true }
        flagsBase |= RFLAGS.if
    }

    // MARK: I/O

    func portIn(_ port: UInt16, _ size: Int) -> UInt32 {
        if dataBreakpoints.ioMask != 0 { checkIOBreakpoints(port, size) }
        return lock.withLock { portBus.read(port: port, size: size) }
    }

    func portOut(_ port: UInt16, _ size: Int, _ value: UInt32) {
        if dataBreakpoints.ioMask != 0 { checkIOBreakpoints(port, size) }
        lock.withLock { portBus.write(port: port, size: size, value: value) }
        // A device may have stopped the machine (poweroff, debug exit, reset): let the engine look.
        sliceEnd = true
    }

    /// IOPL and the TSS I/O permission bitmap (SDM Vol. 1 §18.5).
    func checkIOPermission(_ port: UInt16, _ size: Int) throws(CPUException) {
        guard protectedMode, cpl > iopl || v86Mode else { return }
        let tr = segs[Seg.tr]
        // Only a 32-bit TSS has an I/O permission bitmap (SDM Vol. 1 §19.5.2).
        guard tr.type & 8 != 0, tr.limit >= 0x67, !tr.unusable else { throw .gp() }
        let bitmapBase = try readSystem(tr.base &+ 0x66, 2)
        let byteOffset = bitmapBase &+ UInt64(port >> 3)
        guard byteOffset &+ 1 <= UInt64(tr.limit) else { throw .gp() }
        let bits = try readSystem(tr.base &+ byteOffset, 2)
        let mask = ((UInt64(1) << UInt64(size)) - 1) << UInt64(port & 7)
        if bits & mask != 0 { throw .gp() }
    }
}
