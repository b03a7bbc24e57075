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

    mutating func saveFlagsIfNeeded() {
        if flagsInHost && !flagsSaved {
            code.saveFlags(to: Self.context(JITContext.flags))
            flagsSaved = true
        }
    }

    /// Before code that changes host flags (TLB checks, helper arithmetic).
    mutating func willClobberFlags() {
        saveFlagsIfNeeded()
        flagsInHost = false
    }

    /// Before a host instruction that reads guest flags (or keeps some of them).
    mutating func needFlagsInHost() {
        if !flagsInHost {
            code.restoreFlags(from: Self.context(JITContext.flags))
            flagsInHost = true
        }
    }

    mutating func wroteFlags() {
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
    mutating func exit(to rip: UInt64) {
        code.movImmediate(HostReg.rax, rip)
        code.store(Self.context(JITContext.rip), HostReg.rax, size: 8)
        jumpToLeave()
    }

    /// Goes on at guest `rip` (flags already saved): straight into its block when the jump
    /// cache has one for this epoch, else back to the run loop.
    mutating func chain(to rip: UInt64) {
        code.movImmediate(HostReg.r9, rip)
        chain(toRegister: HostReg.r9)
    }

    /// The same for a target computed at run time, in `r` (not rax, rcx or rdx).
    mutating func chain(toRegister r: UInt8) {
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
    mutating func sideExit(_ cc: UInt8, rip: UInt64) {
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
    mutating func address(_ d: DecodedCodeCache.Entry, next: UInt64, segmentBase: Bool = true) -> Bool {
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
    mutating func lookup(write: Bool, size: Int, rip: UInt64, aligned: Bool = false) {
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
    mutating func memory(_ d: DecodedCodeCache.Entry, write: Bool, size: Int, rip: UInt64, next: UInt64,
                                 aligned: Bool = false) -> Bool {
        guard address(d, next: next) else { return false }
        willClobberFlags()
        lookup(write: write, size: size, rip: rip, aligned: aligned)
        return true
    }

    /// The r/m operand as a host memory operand: the guest register's slot, or the guest
    /// memory found by `memory(...)` (r10).
    func rm(_ d: DecodedCodeCache.Entry, _ size: Int) -> HostOperand {
        d.hasMemory ? .memory(HostMemory(base: HostReg.r10)) : .memory(Self.guestRegister(d.rm, size))
    }

    /// Writes `value` (a host register) to guest register `n` as an instruction of `size`
    /// bytes does: 8- and 16-bit writes keep the rest, 32-bit writes zero the upper half.
    mutating func storeRegister(_ n: UInt8, _ value: UInt8, size: Int) {
        if size == 4 {
            code.movRegReg(value, value, size: 4)
            code.store(Self.guestRegister(n, 8), value, size: 8)
        } else {
            code.store(Self.guestRegister(n, size), value, size: size)
        }
    }

    mutating func storeRM(_ d: DecodedCodeCache.Entry, _ value: UInt8, size: Int) {
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
}
