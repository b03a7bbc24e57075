import X86Decoder

/// The general-purpose instructions: moves, ALU, shifts, multiply and divide, bit scans and
/// tests, CMPXCHG/XCHG, stack operations and near branches (the branches end the block).
extension BlockTranslator {
    /// ALU `kind` on `dst` (r/m when `dstIsRM`, else the ModRM.reg register) with a source
    /// already in r9. CMP writes nothing back.
    private mutating func aluOperation(_ d: DecodedCodeCache.Entry, kind: Int, size: Int, dstIsRM: Bool, dstRegister: UInt8) {
        let dst: HostOperand = dstIsRM ? rm(d, size) : .memory(Self.guestRegister(dstRegister, size))
        code.load(HostReg.r8, dst, size: size)
        if kind == 2 || kind == 3 { needFlagsInHost() }
        code.alu(kind, .register(HostReg.r8), HostReg.r9, size: size)
        wroteFlags()
        guard kind != 7 else { return }
        if dstIsRM { storeRM(d, HostReg.r8, size: size) } else { storeRegister(dstRegister, HostReg.r8, size: size) }
    }

    mutating func translateOneByte(_ d: DecodedCodeCache.Entry, op: UInt8, osz: Int, rip: UInt64, next: UInt64) -> Outcome {
        let byteForm = op & 1 == 0
        switch op {
        case 0x00...0x3F where op & 7 < 6:
            let kind = Int(op >> 3)
            let size = byteForm ? 1 : osz
            switch op & 7 {
            case 0, 1: // op r/m, reg
                if d.hasMemory && !memory(d, write: kind != 7, size: size, rip: rip, next: next) { return .unsupported }
                code.load(HostReg.r9, .memory(Self.guestRegister(d.reg, size)), size: size)
                aluOperation(d, kind: kind, size: size, dstIsRM: true, dstRegister: 0)
            case 2, 3: // op reg, r/m
                if d.hasMemory && !memory(d, write: false, size: size, rip: rip, next: next) { return .unsupported }
                code.load(HostReg.r9, rm(d, size), size: size)
                aluOperation(d, kind: kind, size: size, dstIsRM: false, dstRegister: d.reg)
            default: // op AL/eAX/rAX, imm
                let size = op & 1 == 0 ? 1 : osz
                code.movImmediate(HostReg.r9, d.immediate)
                aluOperation(d, kind: kind, size: size, dstIsRM: false, dstRegister: 0)
            }
            return .translated
        case 0x80, 0x81, 0x83:
            let kind = Int(d.reg & 7)
            let size = op == 0x80 ? 1 : osz
            if d.hasMemory && !memory(d, write: kind != 7, size: size, rip: rip, next: next) { return .unsupported }
            code.movImmediate(HostReg.r9, d.immediate)
            aluOperation(d, kind: kind, size: size, dstIsRM: true, dstRegister: 0)
            return .translated
        case 0x84, 0x85:
            let size = byteForm ? 1 : osz
            if d.hasMemory && !memory(d, write: false, size: size, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r9, .memory(Self.guestRegister(d.reg, size)), size: size)
            code.load(HostReg.r8, rm(d, size), size: size)
            code.test(.register(HostReg.r8), HostReg.r9, size: size)
            wroteFlags()
            return .translated
        case 0xA8, 0xA9:
            let size = op == 0xA8 ? 1 : osz
            code.movImmediate(HostReg.r9, d.immediate)
            code.load(HostReg.r8, .memory(Self.guestRegister(0, size)), size: size)
            code.test(.register(HostReg.r8), HostReg.r9, size: size)
            wroteFlags()
            return .translated
        case 0x88, 0x89:
            let size = byteForm ? 1 : osz
            if d.hasMemory && !memory(d, write: true, size: size, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r9, .memory(Self.guestRegister(d.reg, size)), size: size)
            storeRM(d, HostReg.r9, size: size)
            return .translated
        case 0x8A, 0x8B:
            let size = op == 0x8A ? 1 : osz
            if d.hasMemory && !memory(d, write: false, size: size, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r9, rm(d, size), size: size)
            storeRegister(d.reg, HostReg.r9, size: size)
            return .translated
        case 0xC6, 0xC7:
            guard d.reg & 7 == 0 else { return .unsupported }
            let size = op == 0xC6 ? 1 : osz
            if d.hasMemory && !memory(d, write: true, size: size, rip: rip, next: next) { return .unsupported }
            code.movImmediate(HostReg.r9, d.immediate)
            storeRM(d, HostReg.r9, size: size)
            return .translated
        case 0xB0...0xBF:
            let size = op < 0xB8 ? 1 : osz
            code.movImmediate(HostReg.r9, d.immediate)
            storeRegister(d.rm, HostReg.r9, size: size)
            return .translated
        case 0x8D:
            guard d.hasMemory, address(d, next: next, segmentBase: false) else { return .unsupported }
            storeRegister(d.reg, HostReg.rsi, size: osz)
            return .translated
        case 0x63:
            guard osz == 8 else { return .unsupported }
            if d.hasMemory && !memory(d, write: false, size: 4, rip: rip, next: next) { return .unsupported }
            code.loadSigned(HostReg.r9, rm(d, 4), size: 4)
            storeRegister(d.reg, HostReg.r9, size: 8)
            return .translated
        case 0x69, 0x6B:
            guard osz > 1 else { return .unsupported }
            if d.hasMemory && !memory(d, write: false, size: osz, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r8, rm(d, osz), size: osz)
            code.movImmediate(HostReg.r9, d.immediate)
            code.imul(HostReg.r8, .register(HostReg.r9), size: osz)
            wroteFlags()
            storeRegister(d.reg, HostReg.r8, size: osz)
            return .translated
        case 0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3:
            let operation = d.reg & 7
            guard operation != 2 && operation != 3 else { return .unsupported }  // RCL/RCR
            let size = byteForm ? 1 : osz
            let byCL = op >= 0xD2
            let count: UInt8 = op >= 0xD0 ? 1 : UInt8(truncatingIfNeeded: d.immediate)
            let masked = count & (size == 8 ? 63 : 31)
            if !byCL && masked == 0 { return .unsupported }
            if d.hasMemory && !memory(d, write: true, size: size, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r8, rm(d, size), size: size)
            // Rotates keep SF/ZF/AF/PF, and a count of 0 keeps every flag.
            if byCL || operation < 2 { needFlagsInHost() }
            let hostOperation = operation == 6 ? 4 : operation
            if byCL {
                code.load(HostReg.rcx, .memory(Self.guestRegister(1, 1)), size: 1)
                code.shiftByCL(hostOperation, .register(HostReg.r8), size: size)
            } else {
                code.shiftImmediate(hostOperation, .register(HostReg.r8), count, size: size)
            }
            wroteFlags()
            storeRM(d, HostReg.r8, size: size)
            return .translated
        case 0xF6, 0xF7:
            let size = byteForm ? 1 : osz
            let operation = d.reg & 7
            switch operation {
            case 0, 1: // TEST r/m, imm
                if d.hasMemory && !memory(d, write: false, size: size, rip: rip, next: next) { return .unsupported }
                code.load(HostReg.r8, rm(d, size), size: size)
                code.movImmediate(HostReg.r9, d.immediate)
                code.test(.register(HostReg.r8), HostReg.r9, size: size)
                wroteFlags()
            case 2, 3: // NOT, NEG
                if d.hasMemory && !memory(d, write: true, size: size, rip: rip, next: next) { return .unsupported }
                code.load(HostReg.r8, rm(d, size), size: size)
                code.unary(operation, .register(HostReg.r8), size: size)
                if operation == 3 { wroteFlags() }
                storeRM(d, HostReg.r8, size: size)
            case 4, 5, 6: // MUL, IMUL rDX:rAX = rAX * r/m; DIV rDX:rAX / r/m (not 8-bit)
                guard size > 1 else { return .unsupported }
                if d.hasMemory && !memory(d, write: false, size: size, rip: rip, next: next) { return .unsupported }
                code.load(HostReg.r9, rm(d, size), size: size)
                if operation == 6 {
                    // #DE (a zero divisor, or a quotient too wide: rDX >= divisor) is the
                    // interpreter's to raise. DIV's flags are undefined: the guest keeps its own.
                    willClobberFlags()
                    code.load(HostReg.rdx, .memory(Self.guestRegister(2, size)), size: size)
                    code.alu(7, .register(HostReg.rdx), HostReg.r9, size: size)
                    sideExit(HostCondition.ae, rip: rip)
                } else {
                    saveFlagsIfNeeded()
                }
                code.load(HostReg.rax, .memory(Self.guestRegister(0, size)), size: size)
                code.instruction([0xF7], size: size, reg: operation, .register(HostReg.r9))
                // DIV's flags are undefined: the guest's stay saved in the context (willClobberFlags).
                if operation != 6 { wroteFlags() }
                storeRegister(0, HostReg.rax, size: size)
                storeRegister(2, HostReg.rdx, size: size)
            default:
                return .unsupported
            }
            return .translated
        case 0xFE, 0xFF:
            let size = byteForm ? 1 : osz
            switch d.reg & 7 {
            case 0, 1: // INC, DEC (CF kept)
                if d.hasMemory && !memory(d, write: true, size: size, rip: rip, next: next) { return .unsupported }
                code.load(HostReg.r8, rm(d, size), size: size)
                needFlagsInHost()
                code.unary(d.reg & 7, .register(HostReg.r8), size: size)
                wroteFlags()
                storeRM(d, HostReg.r8, size: size)
                return .translated
            case 2 where op == 0xFF, 4 where op == 0xFF: // CALL r/m64, JMP r/m64 (a 16-bit form: interpreter)
                guard osz != 2 else { return .unsupported }
                if d.hasMemory && !memory(d, write: false, size: 8, rip: rip, next: next) { return .unsupported }
                code.load(HostReg.r8, rm(d, 8), size: 8)
                willClobberFlags()
                // A non-canonical target is #GP at the branch itself (SDM Vol. 2A "CALL", "JMP").
                canonicalCheck(HostReg.r8, rip: rip)
                if d.reg & 7 == 2 { push(value: nil, returnAddress: next, rip: rip) }
                chain(toRegister: HostReg.r8)
                return .endsBlock
            default:
                return .unsupported
            }
        case 0x50...0x57:
            guard osz == 8 else { return .unsupported }
            code.load(HostReg.r9, .memory(Self.guestRegister(d.rm, 8)), size: 8)
            push(value: HostReg.r9, returnAddress: 0, rip: rip)
            return .translated
        case 0x68, 0x6A:
            guard osz == 8 else { return .unsupported }
            code.movImmediate(HostReg.r9, d.immediate)
            push(value: HostReg.r9, returnAddress: 0, rip: rip)
            return .translated
        case 0x58...0x5F:
            guard osz == 8 else { return .unsupported }
            pop(rip: rip)
            code.store(Self.guestRegister(d.rm, 8), HostReg.r9, size: 8)
            return .translated
        case 0x90...0x97:
            if op == 0x90 && d.rm == 0 { return .translated }  // NOP / PAUSE
            // XCHG rAX, reg
            code.load(HostReg.r8, .memory(Self.guestRegister(0, osz)), size: osz)
            code.load(HostReg.r9, .memory(Self.guestRegister(d.rm, osz)), size: osz)
            storeRegister(d.rm, HostReg.r8, size: osz)
            storeRegister(0, HostReg.r9, size: osz)
            return .translated
        case 0x86, 0x87:
            let size = byteForm ? 1 : osz
            if d.hasMemory {
                // XCHG with memory (locked on hardware; one vCPU needs no atomicity).
                guard memory(d, write: true, size: size, rip: rip, next: next) else { return .unsupported }
                code.load(HostReg.r8, rm(d, size), size: size)
                code.load(HostReg.r9, .memory(Self.guestRegister(d.reg, size)), size: size)
                storeRM(d, HostReg.r9, size: size)
                storeRegister(d.reg, HostReg.r8, size: size)
                return .translated
            }
            code.load(HostReg.r8, .memory(Self.guestRegister(d.reg, size)), size: size)
            code.load(HostReg.r9, .memory(Self.guestRegister(d.rm, size)), size: size)
            storeRegister(d.rm, HostReg.r8, size: size)
            storeRegister(d.reg, HostReg.r9, size: size)
            return .translated
        case 0x98: // CBW/CWDE/CDQE
            guard osz > 1 else { return .unsupported }
            code.loadSigned(HostReg.r8, .memory(Self.guestRegister(0, osz / 2)), size: osz / 2)
            storeRegister(0, HostReg.r8, size: osz)
            return .translated
        case 0x99: // CWD/CDQ/CQO
            guard osz > 1 else { return .unsupported }
            code.loadSigned(HostReg.r8, .memory(Self.guestRegister(0, osz)), size: osz)
            willClobberFlags()
            code.shiftImmediate(7, .register(HostReg.r8), 63, size: 8)
            storeRegister(2, HostReg.r8, size: osz)
            return .translated
        case 0x70...0x7F:
            conditionalBranch(op & 0xF, target: next &+ d.immediate, next: next)
            return .endsBlock
        case 0xEB, 0xE9:
            saveFlagsIfNeeded()
            chain(to: next &+ d.immediate)
            return .endsBlock
        case 0xE8:
            willClobberFlags()
            push(value: nil, returnAddress: next, rip: rip)
            chain(to: next &+ d.immediate)
            return .endsBlock
        case 0xC3:
            pop(rip: rip, canonicalTarget: true)
            chain(toRegister: HostReg.r9)
            return .endsBlock
        default:
            return .unsupported
        }
    }

    mutating func translateTwoByte(_ d: DecodedCodeCache.Entry, op: UInt8, osz: Int, rip: UInt64, next: UInt64) -> Outcome {
        switch op {
        case 0x80...0x8F:
            conditionalBranch(op & 0xF, target: next &+ d.immediate, next: next)
            return .endsBlock
        case 0xB6, 0xB7, 0xBE, 0xBF:
            let width = op & 1 == 0 ? 1 : 2
            if d.hasMemory && !memory(d, write: false, size: width, rip: rip, next: next) { return .unsupported }
            if op >= 0xBE {
                code.loadSigned(HostReg.r9, rm(d, width), size: width)
            } else {
                code.load(HostReg.r9, rm(d, width), size: width)
            }
            storeRegister(d.reg, HostReg.r9, size: osz)
            return .translated
        case 0xAF:
            if d.hasMemory && !memory(d, write: false, size: osz, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r9, rm(d, osz), size: osz)
            code.load(HostReg.r8, .memory(Self.guestRegister(d.reg, osz)), size: osz)
            code.imul(HostReg.r8, .register(HostReg.r9), size: osz)
            wroteFlags()
            storeRegister(d.reg, HostReg.r8, size: osz)
            return .translated
        case 0x40...0x4F:
            if d.hasMemory && !memory(d, write: false, size: osz, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r9, rm(d, osz), size: osz)
            code.load(HostReg.r8, .memory(Self.guestRegister(d.reg, 8)), size: 8)
            needFlagsInHost()
            code.cmov(op & 0xF, HostReg.r8, .register(HostReg.r9), size: osz)
            storeRegister(d.reg, HostReg.r8, size: osz == 4 ? 4 : 8)
            return .translated
        case 0x90...0x9F:
            if d.hasMemory && !memory(d, write: true, size: 1, rip: rip, next: next) { return .unsupported }
            needFlagsInHost()
            code.setcc(op & 0xF, HostReg.r8)
            storeRM(d, HostReg.r8, size: 1)
            return .translated
        case 0x18...0x1F:
            // Hint NOPs (prefetch, ENDBR64 and the reserved NOP space): no effect, no access.
            return .translated
        case 0xBC, 0xBD: // BSF, BSR (F3: TZCNT/LZCNT where the model has them: interpreter)
            guard d.prefixes & PrefixBits.rep == 0, osz > 1 else { return .unsupported }
            if d.hasMemory && !memory(d, write: false, size: osz, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r9, rm(d, osz), size: osz)
            // A zero source leaves the whole destination as it was (the 64-bit store keeps it).
            code.load(HostReg.r8, .memory(Self.guestRegister(d.reg, 8)), size: 8)
            code.instruction([0x0F, op], size: osz, reg: HostReg.r8, .register(HostReg.r9))
            wroteFlags()
            code.store(Self.guestRegister(d.reg, 8), HostReg.r8, size: 8)
            return .translated
        case 0xA3, 0xAB, 0xB3, 0xBB: // BT/BTS/BTR/BTC r/m, reg: registers only (bit strings in memory: interpreter)
            guard !d.hasMemory, osz > 1 else { return .unsupported }
            code.load(HostReg.r8, rm(d, osz), size: osz)
            code.load(HostReg.r9, .memory(Self.guestRegister(d.reg, osz)), size: osz)
            // Only CF is defined; ZF and the rest keep their values, as the interpreter's do.
            needFlagsInHost()
            code.instruction([0x0F, op], size: osz, reg: HostReg.r9, .register(HostReg.r8))
            wroteFlags()
            if op != 0xA3 { storeRM(d, HostReg.r8, size: osz) }
            return .translated
        case 0xBA: // BT/BTS/BTR/BTC r/m, imm8
            let operation = d.reg & 7
            guard operation >= 4, osz > 1 else { return .unsupported }
            if d.hasMemory && !memory(d, write: operation != 4, size: osz, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r8, rm(d, osz), size: osz)
            needFlagsInHost()
            code.instruction([0x0F, 0xBA], size: osz, reg: operation, .register(HostReg.r8))
            code.byte(UInt8(truncatingIfNeeded: d.immediate))
            wroteFlags()
            if operation != 4 { storeRM(d, HostReg.r8, size: osz) }
            return .translated
        case 0xB0, 0xB1: // CMPXCHG m, reg (register destinations: interpreter)
            let size = op == 0xB0 ? 1 : osz
            guard d.hasMemory, memory(d, write: true, size: size, rip: rip, next: next) else { return .unsupported }
            code.load(HostReg.r8, rm(d, size), size: size)
            code.load(HostReg.r9, .memory(Self.guestRegister(d.reg, size)), size: size)
            code.load(HostReg.rax, .memory(Self.guestRegister(0, 8)), size: 8)
            code.instruction([0x0F, op], size: size, reg: HostReg.r9, .register(HostReg.r8))
            wroteFlags()
            // The host wrote rAX as the hardware does (only on a mismatch, zero-extending a
            // 32-bit value); the destination is written either way.
            code.store(Self.guestRegister(0, 8), HostReg.rax, size: 8)
            storeRM(d, HostReg.r8, size: size)
            return .translated
        case 0xC8...0xCF: // BSWAP
            guard osz > 2 else { return .unsupported }
            code.load(HostReg.r8, .memory(Self.guestRegister(d.rm, osz)), size: osz)
            code.byte(osz == 8 ? 0x49 : 0x41)
            code.byte(0x0F); code.byte(0xC8)
            storeRegister(d.rm, HostReg.r8, size: osz)
            return .translated
        default:
            return .unsupported
        }
    }

    // MARK: stack and branches

    /// Side exit unless the 64-bit value in `r` is canonical (bits 63:47 equal).
    private mutating func canonicalCheck(_ r: UInt8, rip: UInt64) {
        code.movRegReg(HostReg.rdx, r)
        code.shiftImmediate(7, .register(HostReg.rdx), 47, size: 8)
        code.aluImmediate(0, .register(HostReg.rdx), 1, size: 8)
        code.aluImmediate(7, .register(HostReg.rdx), 1, size: 8)
        sideExit(HostCondition.a, rip: rip)
    }

    /// PUSH of a 64-bit value: `value` (a host register other than rsi/rax/rcx/rdx/r10),
    /// or `returnAddress` when `value` is nil. RSP moves only after the store succeeded.
    private mutating func push(value: UInt8?, returnAddress: UInt64, rip: UInt64) {
        willClobberFlags()
        code.load(HostReg.rsi, .memory(Self.guestRegister(4, 8)), size: 8)
        code.lea(HostReg.rsi, HostMemory(base: HostReg.rsi, displacement: -8))
        lookup(write: true, size: 8, rip: rip)
        if let value {
            code.store(HostMemory(base: HostReg.r10), value, size: 8)
        } else {
            code.movImmediate(HostReg.r9, returnAddress)
            code.store(HostMemory(base: HostReg.r10), HostReg.r9, size: 8)
        }
        code.store(Self.guestRegister(4, 8), HostReg.rsi, size: 8)
    }

    /// POP of a 64-bit value into r9; RSP moves after the read (and the target check for RET).
    private mutating func pop(rip: UInt64, canonicalTarget: Bool = false) {
        willClobberFlags()
        code.load(HostReg.rsi, .memory(Self.guestRegister(4, 8)), size: 8)
        lookup(write: false, size: 8, rip: rip)
        code.load(HostReg.r9, .memory(HostMemory(base: HostReg.r10)), size: 8)
        if canonicalTarget { canonicalCheck(HostReg.r9, rip: rip) }
        code.lea(HostReg.rsi, HostMemory(base: HostReg.rsi, displacement: 8))
        code.store(Self.guestRegister(4, 8), HostReg.rsi, size: 8)
    }

    private mutating func conditionalBranch(_ cc: UInt8, target: UInt64, next: UInt64) {
        saveFlagsIfNeeded()
        needFlagsInHost()
        let taken = code.jcc(cc)
        chain(to: next)
        code.bind(taken)
        chain(to: target)
    }
}
