import MachineCore
import X86Decoder

/// The x87 FPU: escape opcodes D8-DF (SDM Vol. 2D Appendix A.4), WAIT, and the register-stack
/// data movement instructions. Arithmetic, transcendental and environment instructions live
/// in the other X86CPU+X87*.swift files.
extension X86CPU {
    // MARK: entry points

    /// WAIT/FWAIT: #NM when CR0.MP and CR0.TS are both set (SDM Vol. 3A Table 2-2), then any
    /// pending unmasked x87 exception is reported.
    func executeWait() throws(CPUException) {
        if cr0 & (CR0.mp | CR0.ts) == (CR0.mp | CR0.ts) { throw CPUException(CPUException.Vector.deviceNotAvailable) }
        if x87.fsw & FSW.es != 0 { try x87PendingException() }
    }

    /// Reports a pending unmasked x87 exception at a waiting instruction (SDM Vol. 1 §8.7):
    /// #MF when CR0.NE = 1; else the legacy path asserts FERR#, which the machine routes to
    /// IRQ13 through `platform.ferr`, and the instruction proceeds (as with IGNNE# asserted).
    func x87PendingException() throws(CPUException) {
        if cr0 & CR0.ne != 0 { throw CPUException(CPUException.Vector.x87) }
        if !ferrAsserted {
            ferrAsserted = true
            platform.ferr?.set(true)
            sliceEnd = true
        }
    }

    /// One x87 instruction (opcodes D8-DF).
    func executeX87(_ d: InstructionRef) throws(CPUException) {
        // CR0.EM or CR0.TS: #NM for every x87 instruction (SDM Vol. 3A Table 2-2).
        if cr0 & (CR0.em | CR0.ts) != 0 { throw CPUException(CPUException.Vector.deviceNotAvailable) }
        let op = d.opcode
        let modrm = d.modrm
        if d.hasMemory {
            let r = Int(d.reg & 7)
            // The non-waiting control instructions: FNSTENV, FNSTCW, FNSAVE, FNSTSW.
            switch (op, r) {
            case (0xD9, 6): try storeEnvironment(d); return
            case (0xD9, 7): try write(Int(d.segment), effectiveAddress(d), 2, UInt64(x87.fcw)); return
            case (0xDD, 6): try saveState(d); return
            case (0xDD, 7): try write(Int(d.segment), effectiveAddress(d), 2, UInt64(x87.fsw)); return
            default: break
            }
            if x87.fsw & FSW.es != 0 { try x87PendingException() }
            switch (op, r) {
            case (0xD9, 4): try loadEnvironment(d); return
            case (0xD9, 5):
                let cw = try read(Int(d.segment), effectiveAddress(d), 2)
                x87.fcw = (UInt16(truncatingIfNeeded: cw) & FCW.writable) | FCW.reservedOne
                x87UpdateSummary()
                return
            case (0xDD, 4): try restoreState(d); return
            default: break
            }
            recordX87Pointers(d, memory: true)
            try executeX87Memory(d, op, r)
        } else {
            switch (op, modrm) {
            case (0xDF, 0xE0): setReg(0, 2, UInt64(x87.fsw)); return     // FNSTSW AX
            case (0xDB, 0xE2): x87.fsw &= ~(FSW.exceptions | FSW.sf | FSW.es | FSW.busy); x87UpdateSummary(); return // FNCLEX
            case (0xDB, 0xE3): x87Initialize(); return                   // FNINIT
            case (0xDB, 0xE0), (0xDB, 0xE1), (0xDB, 0xE4): return        // FNENI, FNDISI, FNSETPM: no-ops since the 387
            default: break
            }
            if x87.fsw & FSW.es != 0 { try x87PendingException() }
            recordX87Pointers(d, memory: false)
            try executeX87Register(d, op, modrm)
        }
    }

    /// FIP/FCS/FOP (and FDP/FDS for a memory operand) of the last non-control instruction
    /// (SDM Vol. 1 §8.1.8, §8.1.9).
    @inline(__always)
    func recordX87Pointers(_ d: InstructionRef, memory: Bool) {
        let start = rip &- UInt64(d.length)
        x87.fip = codeBits == 64 ? start : start & (codeBits == 32 ? 0xFFFF_FFFF : 0xFFFF)
        x87.fcs = segs[Seg.cs].selector
        x87.fop = (UInt16(d.opcode & 7) << 8) | UInt16(d.modrm)
        if memory {
            x87.fdp = effectiveAddress(d)
            x87.fds = segs[Int(d.segment)].selector
        }
    }

    /// FNINIT (SDM Vol. 2A FINIT/FNINIT).
    func x87Initialize() {
        x87.fcw = FCW.initial
        x87.fsw = 0
        x87.ftw = 0xFFFF
        x87.fop = 0; x87.fip = 0; x87.fcs = 0; x87.fdp = 0; x87.fds = 0
        x87UpdateSummary()
    }

    // MARK: memory forms

    func executeX87Memory(_ d: InstructionRef, _ op: UInt8, _ r: Int) throws(CPUException) {
        let m = X87Operand(self, d)
        switch op {
        case 0xD8:
            let bits = try read(m.seg, m.at(0), 4)
            try x87ArithmeticMemory(r, X87Math.widen(bits, fraction: 23, exponentBits: 8))
        case 0xDC:
            let bits = try read(m.seg, m.at(0), 8)
            try x87ArithmeticMemory(r, X87Math.widen(bits, fraction: 52, exponentBits: 11))
        case 0xDA:
            let v = Int64(Int32(truncatingIfNeeded: try read(m.seg, m.at(0), 4)))
            try x87ArithmeticMemory(r, (X87Math.fromInteger(v), false))
        case 0xDE:
            let v = Int64(Int16(truncatingIfNeeded: try read(m.seg, m.at(0), 2)))
            try x87ArithmeticMemory(r, (X87Math.fromInteger(v), false))
        case 0xD9:
            switch r {
            case 0: try x87LoadReal(try read(m.seg, m.at(0), 4), fraction: 23, exponentBits: 8)
            case 2, 3: try x87StoreReal(m, format: .single, fraction: 23, exponentBits: 8, pop: r == 3)
            default: throw unimplementedInstruction(d)
            }
        case 0xDD:
            switch r {
            case 0: try x87LoadReal(try read(m.seg, m.at(0), 8), fraction: 52, exponentBits: 11)
            case 1: try x87StoreInteger(m, bytes: 8, truncate: true, pop: true)
            case 2, 3: try x87StoreReal(m, format: .double, fraction: 52, exponentBits: 11, pop: r == 3)
            default: throw unimplementedInstruction(d)
            }
        case 0xDB:
            switch r {
            case 0: x87LoadInteger(Int64(Int32(truncatingIfNeeded: try read(m.seg, m.at(0), 4))))
            case 1: try x87StoreInteger(m, bytes: 4, truncate: true, pop: true)
            case 2, 3: try x87StoreInteger(m, bytes: 4, truncate: false, pop: r == 3)
            case 5:
                let v = try x87Read80(m)
                if !stIsEmpty(7) { x87StackOverflow(); return }
                setC1(false)
                x87PushValue(v)
            case 7:
                if stIsEmpty(0) {
                    if x87StackUnderflow() { try x87Write80(m, .indefinite); x87Pop() }
                    return
                }
                try x87Write80(m, st(0))
                setC1(false)
                x87Pop()
            default: throw unimplementedInstruction(d)
            }
        case 0xDF:
            switch r {
            case 0: x87LoadInteger(Int64(Int16(truncatingIfNeeded: try read(m.seg, m.at(0), 2))))
            case 1: try x87StoreInteger(m, bytes: 2, truncate: true, pop: true)
            case 2, 3: try x87StoreInteger(m, bytes: 2, truncate: false, pop: r == 3)
            case 4: try x87LoadBCD(m)
            case 5: x87LoadInteger(Int64(bitPattern: try read(m.seg, m.at(0), 8)))
            case 6: try x87StoreBCD(m)
            case 7: try x87StoreInteger(m, bytes: 8, truncate: false, pop: true)
            default: throw unimplementedInstruction(d)
            }
        default:
            throw unimplementedInstruction(d)
        }
    }

    func x87Read80(_ m: X87Operand) throws(CPUException) -> X87Register {
        let sig = try read(m.seg, m.at(0), 8)
        let se = try read(m.seg, m.at(8), 2)
        return X87Register(significand: sig, signExponent: UInt16(truncatingIfNeeded: se))
    }

    func x87Write80(_ m: X87Operand, _ v: X87Register) throws(CPUException) {
        // The last bytes first: a fault on the far end leaves memory unchanged.
        try write(m.seg, m.at(8), 2, UInt64(v.signExponent))
        try write(m.seg, m.at(0), 8, v.significand)
    }

    /// FLD m32/m64: widened exactly; DE for a denormal, IE and quieting for an SNaN.
    func x87LoadReal(_ bits: UInt64, fraction: Int, exponentBits: Int) throws(CPUException) {
        if !stIsEmpty(7) { x87StackOverflow(); return }
        var env = X87Env(fcw: x87.fcw)
        var (v, denormal) = X87Math.widen(bits, fraction: fraction, exponentBits: exponentBits)
        if denormal { env.flags |= FSW.de }
        if v.isSignalingNaN { env.flags |= FSW.ie; v = v.quieted }
        x87Raise(env.flags)
        // An unmasked IE (SNaN) suppresses the load; an unmasked DE does not (the operand is
        // exactly representable, as the hardware shows).
        if env.flags & ~env.masks & FSW.ie != 0 { return }
        setC1(false)
        x87PushValue(v)
    }

    /// FST/FSTP m32/m64.
    func x87StoreReal(_ m: X87Operand, format: X87Format, fraction: Int, exponentBits: Int, pop: Bool) throws(CPUException) {
        let size = format.bias == 127 ? 4 : 8
        if stIsEmpty(0) {
            if x87StackUnderflow() {
                var env = X87Env(fcw: x87.fcw)
                let bits = X87Math.narrow(.indefinite, format, fraction: fraction, exponentBits: exponentBits, &env) ?? 0
                try write(m.seg, m.at(0), size, bits)
                if pop { x87Pop() }
            }
            return
        }
        var env = X87Env(fcw: x87.fcw)
        let result = X87Math.narrow(st(0), format, fraction: fraction, exponentBits: exponentBits, &env)
        if let bits = result { try write(m.seg, m.at(0), size, bits) }
        setC1(env.roundedUp)
        x87Raise(env.flags)
        if result != nil && pop { x87Pop() }
    }

    /// FILD m16/m32/m64: exact.
    func x87LoadInteger(_ v: Int64) {
        if !stIsEmpty(7) { x87StackOverflow(); return }
        setC1(false)
        x87PushValue(X87Math.fromInteger(v))
    }

    /// FIST/FISTP/FISTTP m16/m32/m64; out of range, NaN or infinity store the integer
    /// indefinite (the most negative integer) when IE is masked (SDM Vol. 2A FIST/FISTP).
    func x87StoreInteger(_ m: X87Operand, bytes: Int, truncate: Bool, pop: Bool) throws(CPUException) {
        let indefinite = UInt64(1) << UInt64(bytes * 8 - 1)
        if stIsEmpty(0) {
            if x87StackUnderflow() {
                try write(m.seg, m.at(0), bytes, indefinite)
                if pop { x87Pop() }
            }
            return
        }
        var env = X87Env(fcw: x87.fcw)
        let result = X87Math.toInteger(st(0), bits: bytes * 8, truncate: truncate, &env)
        if env.flags & ~env.masks & (FSW.ie | FSW.de) != 0 {
            x87Raise(env.flags)
            return
        }
        try write(m.seg, m.at(0), bytes, result.map { UInt64(bitPattern: $0) } ?? indefinite)
        setC1(env.roundedUp)
        x87Raise(env.flags)
        if pop { x87Pop() }
    }

    /// FBLD: 18 packed BCD digits and a sign byte (SDM Vol. 1 §4.7), converted exactly.
    func x87LoadBCD(_ m: X87Operand) throws(CPUException) {
        let low = try read(m.seg, m.at(0), 8)
        let high = try read(m.seg, m.at(8), 2)
        if !stIsEmpty(7) { x87StackOverflow(); return }
        var value: Int64 = 0
        let digits = (UInt64(high & 0xFF), low)
        for k in stride(from: 8, through: 0, by: -1) {
            let byte = k == 8 ? digits.0 : (digits.1 >> UInt64(k * 8)) & 0xFF
            value = value &* 100 &+ Int64((byte >> 4) * 10 + (byte & 0xF))
        }
        var v = X87Math.fromInteger(value)
        if high & 0x8000 != 0 { v = v.negated }
        setC1(false)
        x87PushValue(v)
    }

    /// FBSTP: rounds by RC to an integer of at most 18 digits; the masked invalid response
    /// is the BCD indefinite FFFF C000 0000 0000 0000 (SDM Vol. 2A FBSTP).
    func x87StoreBCD(_ m: X87Operand) throws(CPUException) {
        let indefiniteLow: UInt64 = 0xC000_0000_0000_0000, indefiniteHigh: UInt64 = 0xFFFF
        if stIsEmpty(0) {
            if x87StackUnderflow() {
                try write(m.seg, m.at(8), 2, indefiniteHigh)
                try write(m.seg, m.at(0), 8, indefiniteLow)
                x87Pop()
            }
            return
        }
        let a = st(0)
        var env = X87Env(fcw: x87.fcw)
        var magnitude: UInt64? = nil
        if !a.isSpecial {
            var local = env
            if let m = X87Math.integerMagnitude(a, truncate: false, &local), m <= 999_999_999_999_999_999 {
                magnitude = m
                env = local
            }
        }
        if magnitude == nil { env.flags |= FSW.ie }
        if env.flags & ~env.masks & (FSW.ie | FSW.de) != 0 { x87Raise(env.flags); return }
        if var rest = magnitude {
            var low: UInt64 = 0, high: UInt64 = 0
            for k in 0..<9 {
                let pair = rest % 100
                rest /= 100
                let byte = ((pair / 10) << 4) | (pair % 10)
                if k == 8 { high = byte } else { low |= byte << UInt64(k * 8) }
            }
            if a.sign { high |= 0x8000 }
            try write(m.seg, m.at(8), 2, high)
            try write(m.seg, m.at(0), 8, low)
        } else {
            try write(m.seg, m.at(8), 2, indefiniteHigh)
            try write(m.seg, m.at(0), 8, indefiniteLow)
        }
        setC1(env.roundedUp)
        x87Raise(env.flags)
        x87Pop()
    }

    // MARK: register forms

    func executeX87Register(_ d: InstructionRef, _ op: UInt8, _ modrm: UInt8) throws(CPUException) {
        let i = Int(modrm & 7)
        let r = Int((modrm >> 3) & 7)
        switch op {
        case 0xD8:
            if r == 2 || r == 3 { x87CompareRegisters(i, kind: .ordered, pops: r == 3 ? 1 : 0, eflags: false) }
            else { x87ArithmeticRegister(r, destination: 0, source: i, pop: false) }
        case 0xDC:
            if r == 2 || r == 3 { x87CompareRegisters(i, kind: .ordered, pops: r == 3 ? 1 : 0, eflags: false) }
            else { x87ArithmeticRegister(r >= 4 ? r ^ 1 : r, destination: i, source: 0, pop: false) }
        case 0xDE:
            if r == 2 { x87CompareRegisters(i, kind: .ordered, pops: 1, eflags: false) }
            else if r == 3 {
                guard i == 1 else { throw unimplementedInstruction(d) }
                x87CompareRegisters(1, kind: .ordered, pops: 2, eflags: false)  // FCOMPP
            } else { x87ArithmeticRegister(r >= 4 ? r ^ 1 : r, destination: i, source: 0, pop: true) }
        case 0xD9:
            switch r {
            case 0: x87LoadRegister(i)
            case 1: x87Exchange(i)
            case 2: break  // FNOP (D9 D0)
            case 3: x87StoreRegister(i, pop: true)  // FSTP1 alias
            default: try x87Miscellaneous(d, modrm)
            }
        case 0xDA:
            if r <= 3 { x87ConditionalMove(i, cc: [2, 4, 6, 10][r]) }
            else if modrm == 0xE9 { x87CompareRegisters(1, kind: .unordered, pops: 2, eflags: false) } // FUCOMPP
            else { throw unimplementedInstruction(d) }
        case 0xDB:
            switch r {
            case 0...3: x87ConditionalMove(i, cc: [3, 5, 7, 11][r])
            case 5: x87CompareRegisters(i, kind: .unordered, pops: 0, eflags: true)  // FUCOMI
            case 6: x87CompareRegisters(i, kind: .ordered, pops: 0, eflags: true)    // FCOMI
            default: throw unimplementedInstruction(d)
            }
        case 0xDD:
            switch r {
            case 0: setPhysicalTag(stPhysical(i), X87Tag.empty)  // FFREE
            case 1: x87Exchange(i)
            case 2: x87StoreRegister(i, pop: false)
            case 3: x87StoreRegister(i, pop: true)
            case 4: x87CompareRegisters(i, kind: .unordered, pops: 0, eflags: false)  // FUCOM
            case 5: x87CompareRegisters(i, kind: .unordered, pops: 1, eflags: false)  // FUCOMP
            default: throw unimplementedInstruction(d)
            }
        case 0xDF:
            switch r {
            case 0: setPhysicalTag(stPhysical(i), X87Tag.empty); x87Pop()  // FFREEP
            case 1: x87Exchange(i)
            case 2, 3: x87StoreRegister(i, pop: true)
            case 5: x87CompareRegisters(i, kind: .unordered, pops: 1, eflags: true)  // FUCOMIP
            case 6: x87CompareRegisters(i, kind: .ordered, pops: 1, eflags: true)    // FCOMIP
            default: throw unimplementedInstruction(d)
            }
        default:
            throw unimplementedInstruction(d)
        }
    }

    /// FLD ST(i).
    func x87LoadRegister(_ i: Int) {
        if !stIsEmpty(7) { x87StackOverflow(); return }
        if stIsEmpty(i) {
            if x87StackUnderflow() { x87PushValue(.indefinite) }
            return
        }
        let v = st(i)
        setC1(false)
        x87PushValue(v)
    }

    /// FST/FSTP ST(i): a register copy, no rounding.
    func x87StoreRegister(_ i: Int, pop: Bool) {
        if stIsEmpty(0) {
            if x87StackUnderflow() {
                setST(i, .indefinite)
                if pop { x87Pop() }
            }
            return
        }
        setST(i, st(0))
        setC1(false)
        if pop { x87Pop() }
    }

    /// FXCH ST(i): an empty operand becomes the QNaN indefinite when IE is masked.
    func x87Exchange(_ i: Int) {
        if stIsEmpty(0) || stIsEmpty(i) {
            guard x87StackUnderflow() else { return }
            if stIsEmpty(0) { setST(0, .indefinite) }
            if stIsEmpty(i) { setST(i, .indefinite) }
        } else {
            setC1(false)
        }
        let a = st(0)
        setST(0, st(i))
        setST(i, a)
    }

    /// FCMOVcc ST(0), ST(i) (SDM Vol. 2A FCMOVcc): the EFLAGS condition `cc` in Jcc numbering.
    func x87ConditionalMove(_ i: Int, cc: UInt8) {
        if stIsEmpty(0) || stIsEmpty(i) {
            if x87StackUnderflow() { setST(0, .indefinite) }
            return
        }
        setC1(false)
        if condition(cc) { setST(0, st(i)) }
    }
}

/// A memory operand of several parts (m80, BCD, environment images): the segment, the
/// offset, and the address-size mask that later parts wrap with.
struct X87Operand {
    let seg: Int
    let offset: UInt64
    let mask: UInt64

    init(_ cpu: X86CPU, _ d: InstructionRef) {
        seg = Int(d.segment)
        offset = cpu.effectiveAddress(d)
        mask = d.addressSize == 16 ? 0xFFFF : (d.addressSize == 32 ? 0xFFFF_FFFF : ~0)
    }

    @inline(__always) func at(_ k: Int) -> UInt64 { (offset &+ UInt64(k)) & mask }
}
