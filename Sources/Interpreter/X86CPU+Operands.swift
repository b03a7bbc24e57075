import MachineCore
import X86Decoder

/// Register and ModRM operand access for decoded instructions.
extension X86CPU {
    // MARK: general registers by size

    /// Reads register `n` as `size` bytes. For size 1, numbers 16-19 are AH, CH, DH, BH
    /// (the decoder's numbering when no REX prefix is present).
    @inline(__always)
    func reg(_ n: UInt8, _ size: Int) -> UInt64 {
        switch size {
        case 1:
            if n >= 16 { return (regs[Int(n - 16)] >> 8) & 0xFF }
            return regs[Int(n)] & 0xFF
        case 2: return regs[Int(n)] & 0xFFFF
        case 4: return regs[Int(n)] & 0xFFFF_FFFF
        default: return regs[Int(n)]
        }
    }

    /// Writes register `n`: 8- and 16-bit writes keep the other bits, 32-bit writes zero the
    /// upper half (SDM Vol. 1 §3.4.1.1).
    @inline(__always)
    func setReg(_ n: UInt8, _ size: Int, _ v: UInt64) {
        switch size {
        case 1:
            if n >= 16 {
                let i = Int(n - 16)
                regs[i] = (regs[i] & ~0xFF00) | ((v & 0xFF) << 8)
            } else {
                regs[Int(n)] = (regs[Int(n)] & ~0xFF) | (v & 0xFF)
            }
        case 2: regs[Int(n)] = (regs[Int(n)] & ~0xFFFF) | (v & 0xFFFF)
        case 4: regs[Int(n)] = v & 0xFFFF_FFFF
        default: regs[Int(n)] = v
        }
    }

    // MARK: ModRM operands

    /// The effective address (offset within the segment) of the memory operand
    /// (SDM Vol. 2A §2.1.5), truncated to the address size.
    @inline(__always)
    func effectiveAddress(_ d: InstructionRef) -> UInt64 {
        var ea = UInt64(bitPattern: d.displacement)
        if d.memoryBase == Register.rip {
            ea = ea &+ rip  // rip already points at the next instruction
        } else if d.memoryBase != Register.none {
            ea = ea &+ regs[Int(d.memoryBase)]
        }
        if d.memoryIndex != Register.none {
            ea = ea &+ (regs[Int(d.memoryIndex)] &* UInt64(d.memoryScale))
        }
        switch d.addressSize {
        case 16: return ea & 0xFFFF
        case 32: return ea & 0xFFFF_FFFF
        default: return ea
        }
    }

    /// Reads the r/m operand (register or memory) as `size` bytes.
    @inline(__always)
    func readRM(_ d: InstructionRef, _ size: Int) throws(CPUException) -> UInt64 {
        if !d.hasMemory { return reg(d.rm, size) }
        return try readMemoryOperand(d, size)
    }

    @inline(__always)
    func writeRM(_ d: InstructionRef, _ size: Int, _ v: UInt64) throws(CPUException) {
        if !d.hasMemory { setReg(d.rm, size, v); return }
        try writeMemoryOperand(d, size, v)
    }

    /// The memory side of an r/m operand, out of line (callers inline the register side).
    @inline(never)
    func readMemoryOperand(_ d: InstructionRef, _ size: Int) throws(CPUException) -> UInt64 {
        try read(Int(d.segment), effectiveAddress(d), size)
    }

    @inline(never)
    func writeMemoryOperand(_ d: InstructionRef, _ size: Int, _ v: UInt64) throws(CPUException) {
        try write(Int(d.segment), effectiveAddress(d), size, v)
    }

    /// Operand size in bytes from the decoder's operand size in bits.
    @inline(__always) func opBytes(_ d: InstructionRef) -> Int { Int(d.operandSize) >> 3 }

    // MARK: stack (SDM Vol. 1 §6.2)

    @inline(__always) var stackMask: UInt64 {
        stackBits == 64 ? ~0 : (stackBits == 32 ? 0xFFFF_FFFF : 0xFFFF)
    }

    @inline(__always)
    func push(_ v: UInt64, _ size: Int) throws(CPUException) {
        let sp = (regs[4] &- UInt64(size)) & stackMask
        try write(Seg.ss, sp, size, v)
        setStackPointer(sp)
    }

    @inline(__always)
    func pop(_ size: Int) throws(CPUException) -> UInt64 {
        let sp = regs[4] & stackMask
        let v = try read(Seg.ss, sp, size)
        setStackPointer(sp &+ UInt64(size))
        return v
    }

    /// Reads the stack at SP + `offset` without moving SP.
    @inline(__always)
    func peek(_ offset: UInt64, _ size: Int) throws(CPUException) -> UInt64 {
        try read(Seg.ss, (regs[4] &+ offset) & stackMask, size)
    }

    /// Writes SP with the stack's width: a 16-bit stack keeps the upper bits of ESP.
    @inline(__always)
    func setStackPointer(_ v: UInt64) {
        switch stackBits {
        case 16: regs[4] = (regs[4] & ~0xFFFF) | (v & 0xFFFF)
        case 32: regs[4] = v & 0xFFFF_FFFF
        default: regs[4] = v
        }
    }

    /// A near branch to a computed target (JMP/CALL r/m, RET): in 64-bit mode a non-canonical
    /// target raises #GP(0) at the branch itself (SDM Vol. 2A "JMP", "CALL"; Vol. 2B "RET").
    @inline(__always)
    func checkBranchTarget(_ target: UInt64, _ size: Int) throws(CPUException) {
        if size == 8 && Int64(bitPattern: target << 16) >> 16 != Int64(bitPattern: target) { throw .gp() }
    }

    /// Sets RIP for a near transfer with the operand size's truncation.
    @inline(__always)
    func setIP(_ target: UInt64, _ size: Int) {
        switch size {
        case 2: rip = target & 0xFFFF
        case 4: rip = target & 0xFFFF_FFFF
        default: rip = target
        }
    }
}
