import MachineCore
import X86Decoder

/// The frequent integer instructions get a handler chosen once, when they are decoded, with
/// their operand size and sub-operation precomputed: execution is one jump-table switch
/// instead of the opcode-map decode of the general dispatch. These handlers are the only
/// implementation of their opcodes (the general dispatch no longer has them); everything else
/// takes the general path (docs/ARCHITECTURE.md, "Decoded-code cache").
enum FastPath {
    static let none: UInt8 = 0
    /// The four ALU forms take eight handler numbers each, one per operation in opcode order
    /// (ADD OR ADC SBB AND SUB XOR CMP), so that the operation is known where the handler runs.
    /// ALU r/m, reg (00-3F, op & 7 in 0...1).
    static let aluRMReg: UInt8 = 1
    /// ALU reg, r/m (op & 7 in 2...3).
    static let aluRegRM: UInt8 = 9
    /// ALU r/m, imm (80-83 and the accumulator forms 04/05/0C/...: rm = 0).
    static let aluRMImm: UInt8 = 17
    static let movRMReg: UInt8 = 33
    static let movRegRM: UInt8 = 34
    static let movRegImm: UInt8 = 35
    /// Jcc rel8/rel32; aux = condition.
    static let jcc: UInt8 = 36
    static let jmpRel: UInt8 = 37
    static let callRel: UInt8 = 38
    static let retNear: UInt8 = 39
    static let pushReg: UInt8 = 40
    static let popReg: UInt8 = 41
    static let incRM: UInt8 = 42
    static let decRM: UInt8 = 43
    static let lea: UInt8 = 44
    static let testRMReg: UInt8 = 45
    static let movzx: UInt8 = 46
    /// Group 2 by an immediate count or by 1 (C0/C1/D0/D1); aux = operation, count in the
    /// immediate (1 for D0/D1).
    static let shiftImm: UInt8 = 47
    /// IMUL reg, r/m, imm (69/6B).
    static let imulImm: UInt8 = 48
    /// MOV r/m, imm (C6/C7 /0).
    static let movRMImm: UInt8 = 49
    /// IMUL reg, r/m (0F AF).
    static let imulRegRM: UInt8 = 50
    /// ALU AL/eAX/rAX, imm (04, 05, 0C, ...).
    static let aluAccImm: UInt8 = 25
    /// Group 2 by CL (D2/D3); aux = operation.
    static let shiftCL: UInt8 = 51
    /// ADD r/m, reg with its carry inverted: only chosen under `InjectedDefect.addCarryFlip`.
    static let defectiveAdd: UInt8 = 52
}

extension X86CPU {
    /// Picks the fast-path handler for a freshly decoded instruction (or leaves 0).
    func classifyFastPath(_ entry: UnsafeMutablePointer<DecodedCodeCache.Entry>) {
        entry.pointee.handler = FastPath.none
        let d = entry.pointee
        // LOCKed forms take the same handlers: one CPU makes every read-modify-write atomic, and
        // the decoder has already rejected LOCK where it is not allowed.
        guard d.form != 0, entry.pointee.encoding == 0 else { return }
        let osz = UInt8(d.operandSize >> 3)
        let op = d.opcode
        func set(_ h: UInt8, _ size: UInt8, _ aux: UInt8 = 0) {
            entry.pointee.handler = h
            entry.pointee.size = size
            entry.pointee.aux = aux
        }
        if entry.pointee.map == 1 {
            switch op {
            case 0x80...0x8F: set(FastPath.jcc, osz, op & 0xF)
            case 0xAF: set(FastPath.imulRegRM, osz)
            case 0xB6: set(FastPath.movzx, osz, 1)
            case 0xB7: set(FastPath.movzx, osz, 2)
            default: break
            }
            return
        }
        guard entry.pointee.map == 0 else { return }
        switch op {
        case 0x00...0x3F where op & 7 < 6:
            let kind = op >> 3
            let size = op & 1 == 0 ? 1 : osz
            switch op & 7 {
            case 0, 1:
                set(FastPath.aluRMReg + kind, size, kind)
                if op == 0x01 && injectedDefect == .addCarryFlip { set(FastPath.defectiveAdd, size, kind) }
            case 2, 3: set(FastPath.aluRegRM + kind, size, kind)
            default: set(FastPath.aluAccImm + kind, size, kind)
            }
        case 0x80...0x83:
            // 82 is the 16/32-bit alias of 80 (the decoder rejects it in 64-bit mode).
            set(FastPath.aluRMImm + (d.reg & 7), op == 0x81 || op == 0x83 ? osz : 1, d.reg & 7)
        case 0x84, 0x85: set(FastPath.testRMReg, op == 0x84 ? 1 : osz)
        case 0xC0, 0xC1, 0xD0, 0xD1: set(FastPath.shiftImm, op & 1 == 0 ? 1 : osz, d.reg & 7)
        case 0xD2, 0xD3: set(FastPath.shiftCL, op & 1 == 0 ? 1 : osz, d.reg & 7)
        case 0x69, 0x6B: set(FastPath.imulImm, osz)
        case 0xC6 where d.reg & 7 == 0: set(FastPath.movRMImm, 1)
        case 0xC7 where d.reg & 7 == 0: set(FastPath.movRMImm, osz)
        case 0x88, 0x89: set(FastPath.movRMReg, op == 0x88 ? 1 : osz)
        case 0x8A, 0x8B: set(FastPath.movRegRM, op == 0x8A ? 1 : osz)
        case 0x8D: if d.hasMemory { set(FastPath.lea, osz) }
        case 0xB0...0xB7: set(FastPath.movRegImm, 1)
        case 0xB8...0xBF: set(FastPath.movRegImm, osz)
        case 0x70...0x7F: set(FastPath.jcc, osz, op & 0xF)
        case 0xE9, 0xEB: set(FastPath.jmpRel, osz)
        case 0xE8: set(FastPath.callRel, osz)
        case 0xC3: set(FastPath.retNear, osz)
        case 0x50...0x57: set(FastPath.pushReg, osz)
        case 0x58...0x5F: set(FastPath.popReg, osz)
        case 0x40...0x47: set(FastPath.incRM, osz)  // only decoded outside 64-bit mode
        case 0x48...0x4F: set(FastPath.decRM, osz)
        case 0xFE where d.reg & 7 < 2: set(d.reg & 7 == 0 ? FastPath.incRM : FastPath.decRM, 1)
        case 0xFF where d.reg & 7 < 2: set(d.reg & 7 == 0 ? FastPath.incRM : FastPath.decRM, osz)
        default: break
        }
    }

    @inline(__always)
    func executeFastPath(_ d: InstructionRef) throws(CPUException) {
        let size = d.size
        // Register operands are handled inline; memory operands go through the out-of-line
        // accessors (the common register-register forms then cost no call at all).
        switch d.handler {
        case FastPath.aluRMReg + 0: try aluRMRegOperation(d, size, 0)
        case FastPath.aluRMReg + 1: try aluRMRegOperation(d, size, 1)
        case FastPath.aluRMReg + 2: try aluRMRegOperation(d, size, 2)
        case FastPath.aluRMReg + 3: try aluRMRegOperation(d, size, 3)
        case FastPath.aluRMReg + 4: try aluRMRegOperation(d, size, 4)
        case FastPath.aluRMReg + 5: try aluRMRegOperation(d, size, 5)
        case FastPath.aluRMReg + 6: try aluRMRegOperation(d, size, 6)
        case FastPath.aluRMReg + 7: try aluRMRegOperation(d, size, 7)
        case FastPath.aluRegRM + 0: try aluRegRMOperation(d, size, 0)
        case FastPath.aluRegRM + 1: try aluRegRMOperation(d, size, 1)
        case FastPath.aluRegRM + 2: try aluRegRMOperation(d, size, 2)
        case FastPath.aluRegRM + 3: try aluRegRMOperation(d, size, 3)
        case FastPath.aluRegRM + 4: try aluRegRMOperation(d, size, 4)
        case FastPath.aluRegRM + 5: try aluRegRMOperation(d, size, 5)
        case FastPath.aluRegRM + 6: try aluRegRMOperation(d, size, 6)
        case FastPath.aluRegRM + 7: try aluRegRMOperation(d, size, 7)
        case FastPath.aluRMImm + 0: try aluRMImmOperation(d, size, 0)
        case FastPath.aluRMImm + 1: try aluRMImmOperation(d, size, 1)
        case FastPath.aluRMImm + 2: try aluRMImmOperation(d, size, 2)
        case FastPath.aluRMImm + 3: try aluRMImmOperation(d, size, 3)
        case FastPath.aluRMImm + 4: try aluRMImmOperation(d, size, 4)
        case FastPath.aluRMImm + 5: try aluRMImmOperation(d, size, 5)
        case FastPath.aluRMImm + 6: try aluRMImmOperation(d, size, 6)
        case FastPath.aluRMImm + 7: try aluRMImmOperation(d, size, 7)
        case FastPath.aluAccImm + 0: try aluAccImmOperation(d, size, 0)
        case FastPath.aluAccImm + 1: try aluAccImmOperation(d, size, 1)
        case FastPath.aluAccImm + 2: try aluAccImmOperation(d, size, 2)
        case FastPath.aluAccImm + 3: try aluAccImmOperation(d, size, 3)
        case FastPath.aluAccImm + 4: try aluAccImmOperation(d, size, 4)
        case FastPath.aluAccImm + 5: try aluAccImmOperation(d, size, 5)
        case FastPath.aluAccImm + 6: try aluAccImmOperation(d, size, 6)
        case FastPath.aluAccImm + 7: try aluAccImmOperation(d, size, 7)
        case FastPath.testRMReg:
            let value = d.hasMemory ? try readMemoryOperand(d, size) : reg(d.rm, size)
            _ = alu(4, value, reg(d.reg, size), size)
        case FastPath.movRMReg:
            if !d.hasMemory { setReg(d.rm, size, reg(d.reg, size)) } else { try writeMemoryOperand(d, size, reg(d.reg, size)) }
        case FastPath.movRegRM:
            setReg(d.reg, size, d.hasMemory ? try readMemoryOperand(d, size) : reg(d.rm, size))
        case FastPath.movRegImm:
            setReg(d.rm, size, d.immediate)
        case FastPath.lea:
            setReg(d.reg, size, effectiveAddress(d))
        case FastPath.shiftImm:
            let count: UInt64 = d.opcode >= 0xD0 ? 1 : d.immediate
            if !d.hasMemory {
                setReg(d.rm, size, shift(Int(d.aux), reg(d.rm, size), count, size))
            } else {
                try writeMemoryOperand(d, size, shift(Int(d.aux), try readMemoryOperand(d, size), count, size))
            }
        case FastPath.shiftCL:
            let count = reg(1, 1)
            if !d.hasMemory {
                setReg(d.rm, size, shift(Int(d.aux), reg(d.rm, size), count, size))
            } else {
                try writeMemoryOperand(d, size, shift(Int(d.aux), try readMemoryOperand(d, size), count, size))
            }
        case FastPath.imulImm:
            let value = d.hasMemory ? try readMemoryOperand(d, size) : reg(d.rm, size)
            setReg(d.reg, size, imulTruncating(value, d.immediate, size))
        case FastPath.imulRegRM:
            let value = d.hasMemory ? try readMemoryOperand(d, size) : reg(d.rm, size)
            setReg(d.reg, size, imulTruncating(reg(d.reg, size), value, size))
        case FastPath.movRMImm:
            if !d.hasMemory { setReg(d.rm, size, d.immediate) } else { try writeMemoryOperand(d, size, d.immediate) }
        case FastPath.movzx:
            let width = Int(d.aux)
            setReg(d.reg, size, d.hasMemory ? try readMemoryOperand(d, width) : reg(d.rm, width))
        case FastPath.jcc:
            if condition(d.aux) { jumpRelative(d) }
        case FastPath.jmpRel:
            jumpRelative(d)
        case FastPath.callRel:
            let width = nearBranchSize(d)
            try push(rip, width)
            jumpRelative(d)
        case FastPath.retNear:
            let width = nearBranchSize(d)
            let target = try pop(width)
            if width == 8 && Int64(bitPattern: target << 16) >> 16 != Int64(bitPattern: target) {
                regs[4] &-= 8       // the fault leaves RSP as it was (SDM Vol. 2B "RET")
                throw .gp()
            }
            setIP(target, width)
        case FastPath.pushReg:
            try push(reg(d.rm, size), size)
        case FastPath.popReg:
            let v = try pop(size)
            setReg(d.rm, size, v)
        case FastPath.incRM:
            if !d.hasMemory { setReg(d.rm, size, inc(reg(d.rm, size), size)) } else {
                try writeMemoryOperand(d, size, inc(try readMemoryOperand(d, size), size))
            }
        case FastPath.decRM:
            if !d.hasMemory { setReg(d.rm, size, dec(reg(d.rm, size), size)) } else {
                try writeMemoryOperand(d, size, dec(try readMemoryOperand(d, size), size))
            }
        case FastPath.defectiveAdd:
            try executeDefectiveAdd(d, size)
        default:
            throw unimplementedInstruction(d)
        }
    }

    // The ALU forms, inlined into each handler with a constant operation.

    @_transparent
    func aluRMRegOperation(_ d: InstructionRef, _ size: Int, _ kind: Int) throws(CPUException) {
        if !d.hasMemory {
            let r = alu(kind, reg(d.rm, size), reg(d.reg, size), size)
            if kind != 7 { setReg(d.rm, size, r) }
        } else {
            let r = alu(kind, try readMemoryOperand(d, size), reg(d.reg, size), size)
            if kind != 7 { try writeMemoryOperand(d, size, r) }
        }
    }

    @_transparent
    func aluRegRMOperation(_ d: InstructionRef, _ size: Int, _ kind: Int) throws(CPUException) {
        let source = d.hasMemory ? try readMemoryOperand(d, size) : reg(d.rm, size)
        let r = alu(kind, reg(d.reg, size), source, size)
        if kind != 7 { setReg(d.reg, size, r) }
    }

    @_transparent
    func aluRMImmOperation(_ d: InstructionRef, _ size: Int, _ kind: Int) throws(CPUException) {
        if !d.hasMemory {
            let r = alu(kind, reg(d.rm, size), d.immediate, size)
            if kind != 7 { setReg(d.rm, size, r) }
        } else {
            let r = alu(kind, try readMemoryOperand(d, size), d.immediate, size)
            if kind != 7 { try writeMemoryOperand(d, size, r) }
        }
    }

    @_transparent
    func aluAccImmOperation(_ d: InstructionRef, _ size: Int, _ kind: Int) throws(CPUException) {
        let r = alu(kind, reg(0, size), d.immediate, size)
        if kind != 7 { setReg(0, size, r) }
    }
}
