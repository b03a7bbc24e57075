import X86Decoder

/// The layout of the context a translated block runs against (X86CPU+JIT.swift fills it).
/// Offsets in bytes; the host register r14 points at it while blocks run.
enum JITContext {
    /// Pointer to the guest's RAX..R15 (host r15 while blocks run).
    static let registers: Int32 = 0
    /// RIP where the blocks stopped.
    static let rip: Int32 = 8
    /// Instructions the blocks may still run (signed); each block takes its length on entry.
    static let budget: Int32 = 16
    /// The guest's arithmetic flags as LAHF (AH) and OF (AL, 0 or 1) left them.
    static let flags: Int32 = 24
    /// The software TLB's current generation (host r11), its tag and host-pointer arrays
    /// (r12, r13 for reads; rbx, rbp for writes).
    static let generation: Int32 = 32
    static let readTag: Int32 = 40
    static let readHost: Int32 = 48
    static let writeTag: Int32 = 56
    static let writeHost: Int32 = 64
    /// FS and GS bases (the only segment bases that apply in 64-bit mode).
    static let fsBase: Int32 = 72
    static let gsBase: Int32 = 80
    /// The jump cache (JITEngine.swift) and the current epoch (low 16 bits) its keys carry.
    static let jumpCache: Int32 = 88
    static let epoch: Int32 = 96
    /// The guest's XMM register file (16 bytes a register).
    static let xmm: Int32 = 104
    static let byteCount = 128
}

/// Translates a run of decoded 64-bit-mode instructions into host x86-64 code.
///
/// The host executes the same operation the guest asked for, on guest values loaded from
/// the register file into scratch registers, so results and flags are the hardware's own.
/// Guest flags live either in the host's RFLAGS (`flagsInHost`) or in the context
/// (`flagsSaved`); every path that leaves the block finds them in the context.
///
/// Nothing here raises a guest exception. A memory access whose page has no software-TLB
/// entry (not mapped yet, not writable, MMIO, code page, page-crossing), a non-canonical
/// branch target, or too small a budget leaves the block before the instruction changes any
/// state, with RIP at that instruction: the interpreter then runs it and raises whatever it
/// raises. Instructions the translator does not know end the block before them the same way.
struct BlockTranslator {
    var code = HostAssembler()
    /// Address the code will run at (relative jumps to the exit stub depend on it).
    let origin: UInt64
    /// Where blocks leave for the caller (the epilogue that restores host registers).
    let leaveAddress: UInt64
    private var flagsInHost = false
    private var flagsSaved = true
    private var sideExits: [(use: HostLabelUse, rip: UInt64, index: Int)] = []
    private var budgetPatch = 0
    private var budgetExit: HostLabelUse
    /// Guest instructions translated so far.
    private(set) var count = 0
    let startRIP: UInt64
    /// SSE instructions may be translated (CR0.EM/TS clear, CR4.OSFXSR set now); the block
    /// then runs only while that holds (`usesSIMD`).
    let simdAllowed: Bool
    private(set) var usesSIMD = false

    init(origin: UInt64, leaveAddress: UInt64, startRIP: UInt64, simdAllowed: Bool) {
        self.simdAllowed = simdAllowed
        self.origin = origin
        self.leaveAddress = leaveAddress
        self.startRIP = startRIP
        // sub qword [r14 + budget], N (N patched at the end); jl out
        code.instruction([0x81], size: 8, reg: 5, .memory(Self.context(JITContext.budget)))
        budgetPatch = code.offset
        code.int32(0)
        budgetExit = code.jcc(HostCondition.l)
    }

    static func context(_ offset: Int32) -> HostMemory { HostMemory(base: HostReg.r14, displacement: offset) }

    /// The guest register's slot (AH..BH are byte 1 of RAX..RBX).
    static func guestRegister(_ n: UInt8, _ size: Int) -> HostMemory {
        if size == 1 && n >= Register.ah { return HostMemory(base: HostReg.r15, displacement: Int32(n - Register.ah) * 8 + 1) }
        return HostMemory(base: HostReg.r15, displacement: Int32(n & 15) * 8)
    }

    // MARK: flags bookkeeping

    private mutating func saveFlagsIfNeeded() {
        if flagsInHost && !flagsSaved {
            code.saveFlags(to: Self.context(JITContext.flags))
            flagsSaved = true
        }
    }

    /// Before code that changes host flags (TLB checks, helper arithmetic).
    private mutating func willClobberFlags() {
        saveFlagsIfNeeded()
        flagsInHost = false
    }

    /// Before a host instruction that reads guest flags (or keeps some of them).
    private mutating func needFlagsInHost() {
        if !flagsInHost {
            code.restoreFlags(from: Self.context(JITContext.flags))
            flagsInHost = true
        }
    }

    private mutating func wroteFlags() {
        flagsInHost = true
        flagsSaved = false
    }

    // MARK: exits

    private mutating func jumpToLeave() {
        code.byte(0xE9)
        let rel = Int64(bitPattern: leaveAddress &- (origin &+ UInt64(code.offset) &+ 4))
        code.int32(Int32(truncatingIfNeeded: rel))
    }

    /// Leaves with RIP = `rip` (flags already saved).
    private mutating func exit(to rip: UInt64) {
        code.movImmediate(HostReg.rax, rip)
        code.store(Self.context(JITContext.rip), HostReg.rax, size: 8)
        jumpToLeave()
    }

    /// Goes on at guest `rip` (flags already saved): straight into its block when the jump
    /// cache has one for this epoch, else back to the run loop.
    private mutating func chain(to rip: UInt64) {
        code.movImmediate(HostReg.r9, rip)
        chain(toRegister: HostReg.r9)
    }

    /// The same for a target computed at run time, in `r` (not rax, rcx or rdx).
    private mutating func chain(toRegister r: UInt8) {
        code.store(Self.context(JITContext.rip), r, size: 8)
        // index = (rip ^ rip >> 14) mod size, 16 bytes an entry; key = rip << 16 | epoch.
        code.movRegReg(HostReg.rcx, r)
        code.shiftImmediate(5, .register(HostReg.rcx), 14, size: 8)
        code.alu(6, .register(HostReg.rcx), r, size: 8)
        code.aluImmediate(4, .register(HostReg.rcx), Int32(JITEngine.jumpCacheEntries - 1), size: 4)
        code.shiftImmediate(4, .register(HostReg.rcx), 4, size: 4)
        code.movRegReg(HostReg.rdx, r)
        code.shiftImmediate(4, .register(HostReg.rdx), 16, size: 8)
        code.instruction([0x0B], size: 8, reg: HostReg.rdx, .memory(Self.context(JITContext.epoch)))
        code.load(HostReg.rax, .memory(Self.context(JITContext.jumpCache)), size: 8)
        code.instruction([0x3B], size: 8, reg: HostReg.rdx, .memory(HostMemory(base: HostReg.rax, index: HostReg.rcx)))
        code.jccAbsolute(HostCondition.ne, target: leaveAddress, origin: origin)
        code.instruction([0xFF], size: 4, reg: 4, .memory(HostMemory(base: HostReg.rax, index: HostReg.rcx, displacement: 8)))
    }

    /// Leaves the block before instruction `count` when the host flags say `cc`.
    private mutating func sideExit(_ cc: UInt8, rip: UInt64) {
        sideExits.append((code.jcc(cc), rip, count))
    }

    /// Finishes the block after the last translated instruction: falls through to `next`.
    mutating func finish(fallThrough next: UInt64) -> [UInt8] {
        saveFlagsIfNeeded()
        chain(to: next)
        return close()
    }

    /// Finishes a block whose last instruction was a branch (its exits are emitted).
    mutating func finishAfterBranch() -> [UInt8] { close() }

    private mutating func close() -> [UInt8] {
        for e in sideExits {
            code.bind(e.use)
            let remaining = Int32(count - e.index)
            if remaining != 0 { code.aluImmediate(0, .memory(Self.context(JITContext.budget)), remaining, size: 8) }
            exit(to: e.rip)
        }
        code.bind(budgetExit)
        code.aluImmediate(0, .memory(Self.context(JITContext.budget)), Int32(count), size: 8)
        exit(to: startRIP)
        let n = UInt32(count)
        var bytes = code.bytes
        for k in 0..<4 { bytes[budgetPatch + k] = UInt8(truncatingIfNeeded: n >> UInt32(k * 8)) }
        return bytes
    }

    // MARK: operands

    /// The linear address of the memory operand into rsi, without touching host flags.
    /// False when the form is not handled (32-bit addressing).
    private mutating func address(_ d: DecodedCodeCache.Entry, next: UInt64, segmentBase: Bool = true) -> Bool {
        guard d.addressSize == 64 else { return false }
        var displacement = d.displacement
        if d.memoryBase == Register.rip {
            code.movImmediate(HostReg.rsi, next &+ UInt64(bitPattern: displacement))
            displacement = 0
        } else if d.memoryBase != Register.none {
            code.load(HostReg.rsi, .memory(Self.guestRegister(d.memoryBase, 8)), size: 8)
        } else {
            code.movImmediate(HostReg.rsi, UInt64(bitPattern: displacement))
            displacement = 0
        }
        if d.memoryIndex != Register.none {
            code.load(HostReg.rdi, .memory(Self.guestRegister(d.memoryIndex, 8)), size: 8)
            code.lea(HostReg.rsi, HostMemory(base: HostReg.rsi, index: HostReg.rdi, scale: d.memoryScale, displacement: Int32(displacement)))
        } else if displacement != 0 {
            code.lea(HostReg.rsi, HostMemory(base: HostReg.rsi, displacement: Int32(displacement)))
        }
        if segmentBase && (d.segment == Segment.fs || d.segment == Segment.gs) {
            code.load(HostReg.rdi, .memory(Self.context(d.segment == Segment.fs ? JITContext.fsBase : JITContext.gsBase)), size: 8)
            code.lea(HostReg.rsi, HostMemory(base: HostReg.rsi, index: HostReg.rdi))
        }
        return true
    }

    /// The software-TLB lookup for the linear address in rsi: host pointer into r10, or a side
    /// exit (SoftwareTLB.swift: tag = generation | linear page, one host page pointer).
    private mutating func lookup(write: Bool, size: Int, rip: UInt64, aligned: Bool = false) {
        if aligned {
            // Legacy SSE m128 operands must be 16-byte aligned (#GP otherwise): the interpreter's.
            code.instruction([0xF7], size: 4, reg: 0, .register(HostReg.rsi))
            code.int32(15)
            sideExit(HostCondition.ne, rip: rip)
        }
        let tags = write ? HostReg.rbx : HostReg.r12
        let hosts = write ? HostReg.rbp : HostReg.r13
        code.movRegReg(HostReg.rdx, HostReg.rsi)
        code.shiftImmediate(5, .register(HostReg.rdx), 12, size: 8)
        code.movRegReg(HostReg.rcx, HostReg.rdx, size: 4)
        code.aluImmediate(4, .register(HostReg.rcx), Int32(SoftwareTLB.indexMask), size: 4)
        code.alu(1, .register(HostReg.rdx), HostReg.r11, size: 8)
        code.instruction([0x3B], size: 8, reg: HostReg.rdx, .memory(HostMemory(base: tags, index: HostReg.rcx, scale: 8)))
        sideExit(HostCondition.ne, rip: rip)
        code.movRegReg(HostReg.rax, HostReg.rsi, size: 4)
        code.aluImmediate(4, .register(HostReg.rax), 0xFFF, size: 4)
        if size > 1 {
            code.aluImmediate(7, .register(HostReg.rax), Int32(4096 - size), size: 4)
            sideExit(HostCondition.a, rip: rip)
        }
        code.load(HostReg.r10, .memory(HostMemory(base: hosts, index: HostReg.rcx, scale: 8)), size: 8)
        code.alu(0, .register(HostReg.r10), HostReg.rax, size: 8)
    }

    /// Computes and looks up the instruction's memory operand; afterwards `rm(...)` names it.
    private mutating func memory(_ d: DecodedCodeCache.Entry, write: Bool, size: Int, rip: UInt64, next: UInt64,
                                 aligned: Bool = false) -> Bool {
        guard address(d, next: next) else { return false }
        willClobberFlags()
        lookup(write: write, size: size, rip: rip, aligned: aligned)
        return true
    }

    /// The r/m operand as a host memory operand: the guest register's slot, or the guest
    /// memory found by `memory(...)` (r10).
    private func rm(_ d: DecodedCodeCache.Entry, _ size: Int) -> HostOperand {
        d.hasMemory ? .memory(HostMemory(base: HostReg.r10)) : .memory(Self.guestRegister(d.rm, size))
    }

    /// Writes `value` (a host register) to guest register `n` as an instruction of `size`
    /// bytes does: 8- and 16-bit writes keep the rest, 32-bit writes zero the upper half.
    private mutating func storeRegister(_ n: UInt8, _ value: UInt8, size: Int) {
        if size == 4 {
            code.movRegReg(value, value, size: 4)
            code.store(Self.guestRegister(n, 8), value, size: 8)
        } else {
            code.store(Self.guestRegister(n, size), value, size: size)
        }
    }

    private mutating func storeRM(_ d: DecodedCodeCache.Entry, _ value: UInt8, size: Int) {
        if d.hasMemory {
            code.store(HostMemory(base: HostReg.r10), value, size: size)
        } else {
            storeRegister(d.rm, value, size: size)
        }
    }

    // MARK: instructions

    enum Outcome { case translated, endsBlock, unsupported }

    /// Translates one instruction at `rip` (its decoded record `d`). `.unsupported` emits
    /// nothing; `.endsBlock` has emitted the block's exits (a branch).
    /// `simdPrefix` is the form's mandatory-prefix class (SIMDPrefix).
    mutating func translate(_ d: DecodedCodeCache.Entry, rip: UInt64, simdPrefix: UInt8) -> Outcome {
        guard d.form != 0, d.encoding == 0 else { return .unsupported }
        let next = rip &+ UInt64(d.length)
        let osz = Int(d.operandSize) >> 3
        let op = d.opcode
        let outcome: Outcome
        if d.map == 1, simdAllowed, let simd = translateSIMD(d, prefix: simdPrefix, rip: rip, next: next) {
            outcome = simd
            usesSIMD = true
        } else if d.map == 1 {
            outcome = translateTwoByte(d, op: op, osz: osz, rip: rip, next: next)
        } else if d.map >= 2 {
            outcome = simdAllowed ? translateSIMD(d, prefix: simdPrefix, rip: rip, next: next) ?? .unsupported : .unsupported
            if outcome != .unsupported { usesSIMD = true }
        } else if d.map == 0 {
            outcome = translateOneByte(d, op: op, osz: osz, rip: rip, next: next)
        } else {
            outcome = .unsupported
        }
        if outcome != .unsupported { count += 1 }
        return outcome
    }

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

    private mutating func translateOneByte(_ d: DecodedCodeCache.Entry, op: UInt8, osz: Int, rip: UInt64, next: UInt64) -> Outcome {
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
                if operation == 6 { flagsInHost = false } else { wroteFlags() }
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

    private mutating func translateTwoByte(_ d: DecodedCodeCache.Entry, op: UInt8, osz: Int, rip: UInt64, next: UInt64) -> Outcome {
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

    // MARK: SSE (integer and bitwise forms: no MXCSR dependence)

    /// The guest XMM register's slot; rdi must hold the register file's address.
    private static func guestXMM(_ n: UInt8) -> HostMemory { HostMemory(base: HostReg.rdi, displacement: Int32(n & 15) * 16) }

    /// Host bytes of the form's opcode without its ModRM: escape bytes for map 1-3.
    private static func opcodeBytes(_ d: DecodedCodeCache.Entry) -> [UInt8] {
        switch d.map {
        case 2: return [0x0F, 0x38, d.opcode]
        case 3: return [0x0F, 0x3A, d.opcode]
        default: return [0x0F, d.opcode]
        }
    }

    /// Translates the SSE forms below; nil for anything else in maps 1-3 (so that the
    /// general-purpose 0F forms get their turn).
    private mutating func translateSIMD(_ d: DecodedCodeCache.Entry, prefix: UInt8, rip: UInt64, next: UInt64) -> Outcome? {
        let op = d.opcode
        let p66 = prefix == SIMDPrefix.p66
        let hostPrefix: UInt8? = p66 ? 0x66 : (prefix == SIMDPrefix.pF3 ? 0xF3 : (prefix == SIMDPrefix.pF2 ? 0xF2 : nil))
        enum Kind { case binary(aligned: Bool, immediate: Bool, flags: Bool, count: Bool), load(aligned: Bool), store(aligned: Bool) }
        let kind: Kind
        switch (d.map, op) {
        case (1, 0x60...0x6D), (1, 0x74...0x76), (1, 0xD1...0xD5), (1, 0xD8...0xDF), (1, 0xE0...0xE5),
             (1, 0xE8...0xEF), (1, 0xF1...0xF6), (1, 0xF8...0xFE):
            guard p66 else { return nil }
            kind = .binary(aligned: true, immediate: false, flags: false, count: false)
        case (1, 0x54...0x57):
            guard p66 || prefix == SIMDPrefix.none else { return nil }
            kind = .binary(aligned: true, immediate: false, flags: false, count: false)
        case (1, 0x70):
            guard prefix != SIMDPrefix.none else { return nil }
            kind = .binary(aligned: true, immediate: true, flags: false, count: false)
        case (1, 0x6F):
            guard p66 || prefix == SIMDPrefix.pF3 else { return nil }
            kind = .load(aligned: p66)
        case (1, 0x7F):
            guard p66 || prefix == SIMDPrefix.pF3 else { return nil }
            kind = .store(aligned: p66)
        case (1, 0x28), (1, 0x10):
            guard p66 || prefix == SIMDPrefix.none else { return nil }
            kind = .load(aligned: op == 0x28)
        case (1, 0x29), (1, 0x11):
            guard p66 || prefix == SIMDPrefix.none else { return nil }
            kind = .store(aligned: op == 0x29)
        case (1, 0xD7):
            guard p66, !d.hasMemory else { return nil }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.rm))
            code.instruction([0x0F, 0xD7], size: 4, reg: HostReg.r8, .register(0), prefix: 0x66)
            storeRegister(d.reg, HostReg.r8, size: 4)
            return .translated
        case (1, 0x6E), (1, 0x7E), (1, 0xD6):
            return translateSIMDScalarMove(d, prefix: prefix, rip: rip, next: next)
        case (1, 0x71...0x73):
            guard p66, !d.hasMemory else { return nil }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.rm))
            code.instruction([0x0F, op], size: 4, reg: d.reg & 7, .register(0), prefix: 0x66)
            code.byte(UInt8(truncatingIfNeeded: d.immediate))
            code.storeXMM(Self.guestXMM(d.rm), 0)
            return .translated
        case (2, 0x00...0x0B), (2, 0x1C...0x1E), (2, 0x28), (2, 0x29), (2, 0x2B), (2, 0x37...0x40):
            guard p66 else { return nil }
            kind = .binary(aligned: true, immediate: false, flags: false, count: false)
        case (2, 0x17): // PTEST
            guard p66 else { return nil }
            kind = .binary(aligned: true, immediate: false, flags: true, count: false)
        case (3, 0x0E), (3, 0x0F): // PBLENDW, PALIGNR
            guard p66 else { return nil }
            kind = .binary(aligned: true, immediate: true, flags: false, count: false)
        case (3, 0x63): // PCMPISTRI: unaligned operands, ECX and flags
            guard p66 else { return nil }
            kind = .binary(aligned: false, immediate: true, flags: true, count: true)
        default:
            return nil
        }
        switch kind {
        case .binary(let aligned, let immediate, let flags, let count):
            if d.hasMemory && !memory(d, write: false, size: 16, rip: rip, next: next, aligned: aligned) { return .unsupported }
            if flags { willClobberFlags() }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.reg))
            code.loadXMM(1, d.hasMemory ? HostMemory(base: HostReg.r10) : Self.guestXMM(d.rm))
            code.instruction(Self.opcodeBytes(d), size: 4, reg: 0, .register(1), prefix: hostPrefix)
            if immediate { code.byte(UInt8(truncatingIfNeeded: d.immediate)) }
            if op != 0x17 && !count { code.storeXMM(Self.guestXMM(d.reg), 0) }
            if count { storeRegister(1, HostReg.rcx, size: 4) }
            if flags { wroteFlags() }
        case .load(let aligned):
            if d.hasMemory && !memory(d, write: false, size: 16, rip: rip, next: next, aligned: aligned) { return .unsupported }
            simdRegisters()
            code.loadXMM(0, d.hasMemory ? HostMemory(base: HostReg.r10) : Self.guestXMM(d.rm))
            code.storeXMM(Self.guestXMM(d.reg), 0)
        case .store(let aligned):
            if d.hasMemory && !memory(d, write: true, size: 16, rip: rip, next: next, aligned: aligned) { return .unsupported }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.reg))
            code.storeXMM(d.hasMemory ? HostMemory(base: HostReg.r10) : Self.guestXMM(d.rm), 0)
        }
        return .translated
    }

    /// rdi = the guest XMM register file.
    private mutating func simdRegisters() {
        code.load(HostReg.rdi, .memory(Self.context(JITContext.xmm)), size: 8)
    }

    /// MOVD/MOVQ between XMM and general registers or memory (66 0F 6E/7E), MOVQ xmm,
    /// xmm/m64 (F3 0F 7E) and MOVQ xmm/m64, xmm (66 0F D6).
    private mutating func translateSIMDScalarMove(_ d: DecodedCodeCache.Entry, prefix: UInt8, rip: UInt64, next: UInt64) -> Outcome? {
        let width = d.operandSize == 64 ? 8 : 4
        switch (d.opcode, prefix) {
        case (0x6E, SIMDPrefix.p66): // xmm <- r/m32/64, zero-extended
            if d.hasMemory && !memory(d, write: false, size: width, rip: rip, next: next) { return .unsupported }
            code.load(HostReg.r9, rm(d, width), size: width)
            simdRegisters()
            code.instruction([0x0F, 0x6E], size: 8, reg: 0, .register(HostReg.r9), prefix: 0x66)
            code.storeXMM(Self.guestXMM(d.reg), 0)
        case (0x7E, SIMDPrefix.p66): // r/m32/64 <- xmm
            if d.hasMemory && !memory(d, write: true, size: width, rip: rip, next: next) { return .unsupported }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.reg))
            code.instruction([0x0F, 0x7E], size: 8, reg: 0, .register(HostReg.r9), prefix: 0x66)
            storeRM(d, HostReg.r9, size: width)
        case (0x7E, SIMDPrefix.pF3): // xmm <- xmm/m64, upper half zeroed
            if d.hasMemory {
                if !memory(d, write: false, size: 8, rip: rip, next: next) { return .unsupported }
                code.load(HostReg.r9, .memory(HostMemory(base: HostReg.r10)), size: 8)
                simdRegisters()
                code.instruction([0x0F, 0x6E], size: 8, reg: 0, .register(HostReg.r9), prefix: 0x66)
            } else {
                simdRegisters()
                code.loadXMM(1, Self.guestXMM(d.rm))
                code.instruction([0x0F, 0x7E], size: 4, reg: 0, .register(1), prefix: 0xF3)
            }
            code.storeXMM(Self.guestXMM(d.reg), 0)
        case (0xD6, SIMDPrefix.p66): // xmm/m64 <- low quadword of xmm
            if d.hasMemory && !memory(d, write: true, size: 8, rip: rip, next: next) { return .unsupported }
            simdRegisters()
            code.loadXMM(0, Self.guestXMM(d.reg))
            if d.hasMemory {
                code.instruction([0x0F, 0x7E], size: 8, reg: 0, .register(HostReg.r9), prefix: 0x66)
                code.store(HostMemory(base: HostReg.r10), HostReg.r9, size: 8)
            } else {
                code.instruction([0x0F, 0x7E], size: 4, reg: 1, .register(0), prefix: 0xF3)
                code.storeXMM(Self.guestXMM(d.rm), 1)
            }
        default:
            return nil
        }
        return .translated
    }
}
