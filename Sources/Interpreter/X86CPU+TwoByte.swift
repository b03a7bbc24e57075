import MachineCore
import X86Decoder

/// The 0F two-byte opcode map: system instructions and the integer extensions.
extension X86CPU {
    func executeTwoByte(_ d: InstructionRef) throws(CPUException) {
        let op = d.opcode
        let osz = opBytes(d)
        switch op {
        // MMX and SSE-SSE3 (X86CPU+SSEDispatch.swift).
        case 0x10...0x17, 0x28...0x2F, 0x50...0x77, 0x7C...0x7F, 0xC2...0xC6, 0xD0...0xFE:
            try executeSIMD0F(d)
        case 0x00: try group6(d)
        case 0x01: try group7(d)
        case 0x02, 0x03: try loadAccessRightsOrLimit(d, limit: op == 0x03)
        case 0x05: try syscall()
        case 0x06: // CLTS
            guard cpl == 0 else { throw .gp() }
            cr0 &= ~CR0.ts
        case 0x07: try sysret(d)
        case 0x08, 0x09: // INVD, WBINVD
            guard cpl == 0 else { throw .gp() }
        case 0x0B: throw .invalidOpcode // UD2
        case 0x0D, 0x18...0x1F: break // prefetch hints and multi-byte NOP
        case 0x20...0x23: try moveControlOrDebug(d)
        case 0x30: try wrmsr()
        case 0x31: try rdtsc()
        case 0x32: try rdmsr()
        // RDPMC: the model has no performance counters (CPUID leaf 0xA reports none), so every
        // counter index is invalid; at CPL > 0 with CR4.PCE clear it is #GP(0) anyway
        // (SDM Vol. 2B "RDPMC").
        case 0x33: throw .gp()
        case 0x34: try sysenter()
        case 0x35: try sysexit(d)
        case 0x40...0x4F:
            let v = try readRM(d, osz)
            if condition(op & 0xF) { setReg(d.reg, osz, v) } else if osz == 4 { setReg(d.reg, 4, reg(d.reg, 4)) }
        case 0x80...0x8F:
            if condition(op & 0xF) { jumpRelative(d) }
        case 0x90...0x9F:
            try writeRM(d, 1, condition(op & 0xF) ? 1 : 0)
        case 0xA0, 0xA8: try push(UInt64(segs[op == 0xA0 ? Seg.fs : Seg.gs].selector), codeBits == 64 && osz == 4 ? 8 : osz)
        case 0xA1, 0xA9: try popSegment(op == 0xA1 ? Seg.fs : Seg.gs, osz)
        case 0xA2: cpuid()
        case 0xA3, 0xAB, 0xB3, 0xBB: try bitTest(d, kind: Int((op >> 3) & 3), bitOffset: reg(d.reg, osz), fromRegister: true)
        case 0xBA:
            guard d.reg & 7 >= 4 else { throw .invalidOpcode }
            try bitTest(d, kind: Int(d.reg & 3), bitOffset: d.immediate, fromRegister: false)
        case 0xA4, 0xA5, 0xAC, 0xAD:
            let count = op & 1 == 0 ? d.immediate : reg(1, 1)
            let r = doubleShift(left: op < 0xAC, try readRM(d, osz), reg(d.reg, osz), count, osz)
            try writeRM(d, osz, r)
        case 0xAE: try group15(d)
        case 0xAF: setReg(d.reg, osz, imulTruncating(reg(d.reg, osz), try readRM(d, osz), osz))
        case 0xB0, 0xB1: try compareExchange(d, op == 0xB0 ? 1 : osz)
        case 0xB2, 0xB4, 0xB5:
            guard d.hasMemory else { throw .invalidOpcode }
            try loadFarPointer(d, op == 0xB2 ? Seg.ss : (op == 0xB4 ? Seg.fs : Seg.gs))
        case 0xB6, 0xB7:
            setReg(d.reg, osz, try readRM(d, op == 0xB6 ? 1 : 2))
        case 0xBE, 0xBF:
            let size = op == 0xBE ? 1 : 2
            setReg(d.reg, osz, UInt64(bitPattern: signExtend(try readRM(d, size), size)))
        case 0xB8:
            guard d.prefixes & PrefixBits.rep != 0 else { throw unimplementedInstruction(d) }
            let v = try readRM(d, osz)
            let r = UInt64(v.nonzeroBitCount)
            setReg(d.reg, osz, r)
            setFlags(v == 0 ? RFLAGS.zf : 0, mask: arithmeticFlagsMask)
        case 0xBC, 0xBD:
            try bitScan(d, reverse: op == 0xBD, osz)
        case 0xC0, 0xC1:
            let size = op == 0xC0 ? 1 : osz
            let a = try readRM(d, size)
            let r = alu(0, a, reg(d.reg, size), size)
            // XADD: SRC <- DEST, then DEST <- sum (SDM Vol. 2B), so with both operands the
            // same register the sum wins. A memory destination is written first so that a
            // fault leaves the register unchanged.
            if d.hasMemory {
                try writeRM(d, size, r)
                setReg(d.reg, size, a)
            } else {
                setReg(d.reg, size, a)
                try writeRM(d, size, r)
            }
        case 0xC7: try group9(d)
        case 0xC8...0xCF:
            let v = reg(d.rm, osz)
            switch osz {
            case 8: setReg(d.rm, 8, v.byteSwapped)
            case 4: setReg(d.rm, 4, UInt64(UInt32(truncatingIfNeeded: v).byteSwapped))
            default: setReg(d.rm, 2, 0) // BSWAP r16 is undefined; hardware gives 0
            }
        default:
            throw unimplementedInstruction(d)
        }
    }

    // MARK: bit instructions

    /// BT/BTS/BTR/BTC (kind 0-3). A register bit offset addresses memory beyond the operand
    /// (SDM Vol. 2A, "BT": bit string addressing).
    func bitTest(_ d: InstructionRef, kind: Int, bitOffset: UInt64, fromRegister: Bool) throws(CPUException) {
        let osz = opBytes(d)
        let bits = UInt64(osz * 8)
        var value: UInt64
        var address: UInt64 = 0
        let bit: UInt64
        if d.hasMemory {
            var ea = effectiveAddress(d)
            if fromRegister {
                let displacement = signExtend(bitOffset, osz) >> Int64(osz == 8 ? 6 : (osz == 4 ? 5 : 4))
                ea = (ea &+ UInt64(bitPattern: displacement &* Int64(osz))) & addressMask(d)
            }
            address = ea
            bit = bitOffset & (bits - 1)
            value = try read(Int(d.segment), address, osz)
        } else {
            bit = bitOffset & (bits - 1)
            value = reg(d.rm, osz)
        }
        let set = (value >> bit) & 1 != 0
        setFlags(set ? RFLAGS.cf : 0, mask: RFLAGS.cf)
        switch kind {
        case 1: value |= 1 << bit
        case 2: value &= ~(1 << bit)
        case 3: value ^= 1 << bit
        default: return
        }
        if d.hasMemory { try write(Int(d.segment), address, osz, value) } else { setReg(d.rm, osz, value) }
    }

    /// BSF/BSR, and TZCNT/LZCNT with an F3 prefix when the model has them. A CPU without
    /// BMI1 (TZCNT) or ABM (LZCNT) runs F3 0F BC/BD as BSF/BSR, the REP prefix ignored;
    /// Linux relies on that ("rep; bsf" in __ffs).
    func bitScan(_ d: InstructionRef, reverse: Bool, _ osz: Int) throws(CPUException) {
        let v = try readRM(d, osz)
        let bits = osz * 8
        if d.prefixes & PrefixBits.rep != 0 && d.prefixes & PrefixBits.mandatory != 0
            && (reverse ? model.ext1ECX & CPUIDBits.abm != 0 : model.leaf7EBX & CPUIDBits.bmi1 != 0) {
            // TZCNT/LZCNT: the count (the operand width for zero); CF = source zero, ZF = result zero.
            let n = reverse ? (v == 0 ? bits : v.leadingZeroBitCount - (64 - bits)) : (v == 0 ? bits : v.trailingZeroBitCount)
            setReg(d.reg, osz, UInt64(n))
            setFlags((v == 0 ? RFLAGS.cf : 0) | (n == 0 ? RFLAGS.zf : 0), mask: RFLAGS.cf | RFLAGS.zf)
            return
        }
        if v == 0 {
            // Destination unchanged (what hardware does), ZF set.
            setFlags(RFLAGS.zf, mask: arithmeticFlagsMask)
            return
        }
        let index = reverse ? UInt64(63 - v.leadingZeroBitCount) : UInt64(v.trailingZeroBitCount)
        setReg(d.reg, osz, index)
        setFlags(parityFlag(index), mask: arithmeticFlagsMask)
    }

    // MARK: CMPXCHG family

    func compareExchange(_ d: InstructionRef, _ size: Int) throws(CPUException) {
        let dest = try readRM(d, size)
        let accumulator = reg(0, size)
        _ = alu(7, accumulator, dest, size)
        if accumulator == dest {
            try writeRM(d, size, reg(d.reg, size))
        } else {
            // A memory destination gets its write cycle back unchanged (the locked RMW); a
            // register destination is not written at all, so a 32-bit one keeps its upper
            // half (SDM Vol. 2A "CMPXCHG": DEST is written only when equal; AMD APM Vol. 3
            // agrees). rAX is loaded, with the 32-bit form's zero extension.
            if d.hasMemory { try writeMemoryOperand(d, size, dest) }
            setReg(0, size, dest)
        }
    }

    /// Group 9: CMPXCHG8B/CMPXCHG16B (RDRAND/RDSEED are not in the model).
    func group9(_ d: InstructionRef) throws(CPUException) {
        guard d.reg & 7 == 1, d.hasMemory else { throw unimplementedInstruction(d) }
        let wide = opBytes(d) == 8
        let ea = effectiveAddress(d)
        let seg = Int(d.segment)
        if wide {
            guard ea & 15 == 0 else { throw .gp() }
            let low = try read(seg, ea, 8), high = try read(seg, (ea &+ 8) & addressMask(d), 8)
            if low == regs[0] && high == regs[2] {
                try write(seg, ea, 8, regs[3]); try write(seg, (ea &+ 8) & addressMask(d), 8, regs[1])
                setFlags(RFLAGS.zf, mask: RFLAGS.zf)
            } else {
                try write(seg, ea, 8, low); try write(seg, (ea &+ 8) & addressMask(d), 8, high)
                regs[0] = low; regs[2] = high
                setFlags(0, mask: RFLAGS.zf)
            }
        } else {
            let value = try read(seg, ea, 8)
            let expected = (reg(2, 4) << 32) | reg(0, 4)
            if value == expected {
                try write(seg, ea, 8, (reg(1, 4) << 32) | reg(3, 4))
                setFlags(RFLAGS.zf, mask: RFLAGS.zf)
            } else {
                try write(seg, ea, 8, value)
                setReg(0, 4, value & 0xFFFF_FFFF); setReg(2, 4, value >> 32)
                setFlags(0, mask: RFLAGS.zf)
            }
        }
    }

    /// Group 15: fences (no-ops for one CPU), the rest is not implemented yet.
    func group15(_ d: InstructionRef) throws(CPUException) {
        switch d.form {
        case FormID.FXSAVE_M, FormID.FXSAVE64_M_o64: try fxsave(d); return
        case FormID.FXRSTOR_M, FormID.FXRSTOR64_M_o64: try fxrstor(d); return
        case FormID.LDMXCSR_Md: try loadMXCSR(d); return
        case FormID.STMXCSR_Md: try storeMXCSR(d); return
        case FormID.XSAVE_M, FormID.XSAVE64_M_o64, FormID.XSAVEOPT_M, FormID.XSAVEOPT64_M_o64:
            if model.leaf1ECX & CPUIDBits.xsave != 0 { try xsave(d); return }
        case FormID.XRSTOR_M, FormID.XRSTOR64_M_o64:
            if model.leaf1ECX & CPUIDBits.xsave != 0 { try xrstor(d); return }
        default: break
        }
        if !d.hasMemory && d.reg & 7 >= 5 { return } // LFENCE, MFENCE, SFENCE
        if d.hasMemory && d.reg & 7 == 7 { return }  // CLFLUSH: caches are not modelled
        throw unimplementedInstruction(d)
    }
}
