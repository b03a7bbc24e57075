import MachineCore
import X86Decoder

/// Segment register numbers, in encoding order, plus the system segment registers.
enum Seg {
    static let es = 0, cs = 1, ss = 2, ds = 3, fs = 4, gs = 5, ldtr = 6, tr = 7
}

/// Bits of `X86CPU.loopExit`.
enum LoopExit {
    /// The engine should look at the machine (end the slice).
    static let sliceEnd: UInt8 = 1
    /// CS, the mode or the address space changed: fetch the next instruction from scratch.
    static let refetch: UInt8 = 2
}

/// The interpreter's CPU: the architectural state of one vCPU and the machinery to execute
/// x86 code against guest memory and the machine's buses.
///
/// Hot state lives behind unsafe pointers or in plain stored scalars of this final class, never
/// in Swift collections (docs/ARCHITECTURE.md, "How the interpreter is built to be fast").
public final class X86CPU {
    // MARK: machine connections
    public let memory: GuestMemory
    public let portBus: PortIOBus
    public let mmioBus: MMIOBus
    public let lock: Lock
    public var model: CPUModel
    /// The board's side of the platform contract: interrupt controller, platform MSRs, FERR#,
    /// hypercalls (MachineCore/VCPUPlatform.swift). Read between slices and on the slow paths.
    public let platform: VCPUPlatform
    /// A deliberate defect for the conformance suite's self-test (InjectedDefect.swift). Read
    /// only when an instruction is decoded, never per execution; setting it drops decoded code.
    public var injectedDefect: InjectedDefect = .none { didSet { codeCache.invalidateAll() } }

    // MARK: architectural registers
    /// RAX..R15.
    let regs: UnsafeMutablePointer<UInt64>
    var rip: UInt64 = 0
    /// RFLAGS with the arithmetic flags valid only when `lazy.op == .none`.
    var flagsBase: UInt64 = 2
    var lazy = LazyFlags()
    /// ES, CS, SS, DS, FS, GS, LDTR, TR with their descriptor caches.
    let segs: UnsafeMutablePointer<SegmentRegister>
    var gdtr = DescriptorTableRegister()
    var idtr = DescriptorTableRegister(base: 0, limit: 0x3FF)
    var cr0: UInt64 = 0x6000_0010
    var cr2: UInt64 = 0
    var cr3: UInt64 = 0
    var cr4: UInt64 = 0
    var cr8: UInt64 = 0
    var dr: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0) { didSet { debugRegistersChanged() } }
    var dr6: UInt64 = 0xFFFF_0FF0
    var dr7: UInt64 = 0x400 {
        didSet {
            debugRegistersChanged()
            sliceEnd = true
        }
    }
    /// Some DR7-enabled breakpoint is an instruction breakpoint (R/W = 00): the loop checks RIP.
    var breakpointsArmed = false
    /// The enabled data and I/O breakpoints (X86CPU+Debug.swift), recomputed from DR0-DR3,
    /// DR7 and CR4.DE whenever one of them changes.
    var dataBreakpoints = DataBreakpoints()
    /// DR6.B0-B3 bits of data or I/O breakpoints the current instruction hit; the loop raises
    /// the #DB trap after the instruction when this is non-zero.
    var dataBreakpointHit: UInt64 = 0
    var msr = ModelSpecificRegisters()
    var fpu = FPUState()
    /// x87 physical registers R0..R7, the hot copy of `fpu.st` (X87Registers.swift).
    let x87Regs: UnsafeMutablePointer<X87Register>
    /// x87 control/status/tag words and pointers, the hot copy of those fields of `fpu`.
    let x87: X87ControlRef
    /// FERR# is asserted (CR0.NE = 0 and a waiting x87 instruction met a pending exception).
    var ferrAsserted = false
    var xcr0: UInt64 = 1
    /// XMM0-XMM15, MXCSR and scratch slots (XMMRegisters.swift), the hot copy of `fpu.xmm`
    /// and `fpu.mxcsr`.
    let xmmBase: UnsafeMutableRawPointer
    /// Guest TSC = host-derived TSC + offset (WRMSR to IA32_TSC sets the offset).
    var tscOffset: UInt64 = 0

    // MARK: derived mode (recomputed by `updateMode()` whenever CR0, EFER, CS or RFLAGS.VM change)
    /// Code bitness: 16, 32 or 64.
    var codeBits = 16
    /// 16 or 32 (SS.B), 64 in 64-bit mode.
    var stackBits = 16
    var cpl: UInt8 = 0
    var inLongMode = false
    var protectedMode: Bool { cr0 & CR0.pe != 0 }
    var v86Mode: Bool { flagsBase & RFLAGS.vm != 0 }
    var pagingEnabled: Bool { cr0 & CR0.pg != 0 }

    // MARK: events
    /// Turning it on ends the run loop's uninterrupted stretch (as do the other event fields).
    var halted = false { didSet { if halted { sliceEnd = true } else { blockedInHypercall = false } } }
    /// The halt is a hypercall's block (HypercallOutcome.handledThenBlock): any interrupt
    /// request wakes it, even with RFLAGS.IF clear. Cleared whenever the CPU leaves the halt.
    public internal(set) var blockedInHypercall = false
    /// Interrupts are inhibited until after the next instruction (STI, MOV SS, POP SS).
    var interruptShadow = false { didSet { if interruptShadow { sliceEnd = true } } }
    var nmiPending = false
    /// An NMI handler is running: further NMIs stay pending until the next IRET
    /// (SDM Vol. 3A §6.7.1).
    var nmiBlocked = false
    /// The interrupt shadow was set by STI (not MOV SS / POP SS): it blocks INTR but not NMI.
    var shadowFromSTI = false
    /// The software interrupt the current instruction delivered (`SoftwareEvent`), read by the
    /// careful step for the single-step rules (X86CPU+Execute.swift).
    var softwareEvent: UInt8 = 0
    /// DR6.B0-B3 of data breakpoints a MOV SS / POP SS hit, held back until the end of the
    /// next instruction (SDM Vol. 3A §6.8.3).
    var heldBreakpointHits: UInt64 = 0
    /// Exception being delivered, for the double-fault rules.
    var deliveringVector: Int = -1
    /// Why the uninterrupted run loop must stop after the current instruction (`LoopExit`
    /// bits); one byte so that the loop tests a single load per instruction.
    var loopExit: UInt8 = 0
    /// Set by a handler to end the current run slice (HLT, I/O that stopped the machine, ...).
    var sliceEnd: Bool {
        @inline(__always) get { loopExit & LoopExit.sliceEnd != 0 }
        @inline(__always) set { if newValue { loopExit |= LoopExit.sliceEnd } else { loopExit &= ~LoopExit.sliceEnd } }
    }
    /// Set when the CPU shut down (triple fault).
    public internal(set) var shutdownReason: String? { didSet { sliceEnd = true } }

    /// The vector of the last exception or interrupt delivered (for conformance runners).
    public var lastDeliveredVector: UInt8?
    public var isHalted: Bool { halted }

    /// Writes one byte of guest-physical memory as a device or a test harness would,
    /// invalidating decoded code from that page.
    public func pokePhysical(_ address: UInt64, _ byte: UInt8) {
        physicalWrite(address, size: 1, value: UInt64(byte))
    }

    // MARK: statistics
    public internal(set) var instructionsRetired: UInt64 = 0
    /// Valid encodings the interpreter does not implement, by mnemonic; each raised #UD.
    public internal(set) var unimplemented: [String: Int] = [:]
    public internal(set) var unimplementedCount = 0
    /// Page-table walks and software-TLB flushes (for `swiftpc run --stats` and profiling).
    public internal(set) var pageWalks: UInt64 = 0
    /// The memory's A20 mask and write-protected low pages, copied here when they change
    /// (`guestMemoryAttributesChanged`) so that translation reads a plain stored field.
    var a20Mask: UInt64 = ~0
    var writeProtectedLowPages = LowMemoryPageMask()
    public internal(set) var tlbFlushes: UInt64 = 0

    // MARK: caches
    /// The linear page instructions were last fetched from (+1; 0 = none) and its physical
    /// page base: consecutive instructions on one page skip the TLB. Cleared with the TLB.
    var fetchPageTag: UInt64 = 0
    var fetchPagePhysical: UInt64 = 0

    let tlb: SoftwareTLB
    let codeCache: DecodedCodeCache
    /// The block translator (JIT/), when it is on and the host gives executable memory.
    var jit: JITEngine?
    let decoders: (X86Decoder, X86Decoder, X86Decoder)
    /// The ISA table's per-form records (read at decode time only).
    let formTable: UnsafeMutablePointer<FormInfo>
    /// RDMSR/WRMSR of MSRs the CPU does not have (#GP raised), by index, and their total.
    /// Last: new fields here leave the hot fields' offsets (and cache lines) as they were.
    public internal(set) var unknownMSRs: [UInt32: Int] = [:]
    public internal(set) var unknownMSRCount = 0

    public init(memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus, lock: Lock, model: CPUModel = .swiftpc,
                platform: VCPUPlatform = VCPUPlatform()) {
        self.memory = memory
        self.platform = platform
        self.portBus = portBus
        self.mmioBus = mmioBus
        self.lock = lock
        self.model = model
        regs = .allocate(capacity: 16)
        regs.initialize(repeating: 0, count: 16)
        segs = .allocate(capacity: 8)
        segs.initialize(repeating: SegmentRegister(), count: 8)
        x87Regs = .allocate(capacity: 8)
        x87Regs.initialize(repeating: X87Register(), count: 8)
        x87 = .allocate()
        xmmBase = XMMFile.allocate()
        tlb = SoftwareTLB()
        codeCache = DecodedCodeCache(memory: memory)
        decoders = (X86Decoder(bitness: 16)!, X86Decoder(bitness: 32)!, X86Decoder(bitness: 64)!)
        formTable = ISATables.shared.forms
        tlb.onFlush = { [unowned self] in
            self.tlbFlushes &+= 1
            self.fetchPageTag = 0
            self.loopExit |= LoopExit.refetch
        }
        setState(CPUState())
        a20Mask = memory.a20Mask
        writeProtectedLowPages = memory.writeProtectedLowPages
        memory.addObserver(self)
    }

    deinit {
        regs.deallocate()
        segs.deallocate()
        x87Regs.deallocate()
        x87.p.deallocate()
        xmmBase.deallocate()
    }

    // MARK: CPUState in and out

    public func setState(_ s: CPUState) {
        for i in 0..<16 { regs[i] = s.gpr[i] }
        rip = s.rip
        lazy.op = .none
        flagsBase = (s.rflags & 0x3F_7FD7) | 2
        let all = [s.es, s.cs, s.ss, s.ds, s.fs, s.gs, s.ldtr, s.tr]
        for i in 0..<8 { segs[i] = all[i] }
        gdtr = s.gdtr
        idtr = s.idtr
        cr0 = s.cr0; cr2 = s.cr2; cr3 = s.cr3; cr4 = s.cr4; cr8 = s.cr8
        dr = (s.dr[0], s.dr[1], s.dr[2], s.dr[3])
        dr6 = s.dr6; dr7 = s.dr7
        msr = s.msr
        tscOffset = s.msr.tsc &- hostTSC()
        fpu = s.fpu
        loadX87State()
        loadSIMDState()
        xcr0 = s.fpu.xcr0
        halted = s.halted
        interruptShadow = s.interruptShadow
        // CPUState has one shadow bit: restore it as the MOV SS kind, which also holds off an
        // NMI for one instruction (never wrong by more than that instruction).
        shadowFromSTI = false
        nmiPending = s.nmiPending
        nmiBlocked = false
        dataBreakpointHit = 0
        heldBreakpointHits = 0
        shutdownReason = nil
        updateMode()
        tlb.flushAll()
    }

    public func getState() -> CPUState {
        var s = CPUState()
        for i in 0..<16 { s.gpr[i] = regs[i] }
        s.rip = rip
        s.rflags = rflags
        s.es = segs[Seg.es]; s.cs = segs[Seg.cs]; s.ss = segs[Seg.ss]; s.ds = segs[Seg.ds]
        s.fs = segs[Seg.fs]; s.gs = segs[Seg.gs]; s.ldtr = segs[Seg.ldtr]; s.tr = segs[Seg.tr]
        s.gdtr = gdtr; s.idtr = idtr
        s.cr0 = cr0; s.cr2 = cr2; s.cr3 = cr3; s.cr4 = cr4; s.cr8 = cr8
        s.dr = [dr.0, dr.1, dr.2, dr.3]
        s.dr6 = dr6; s.dr7 = dr7
        s.msr = msr
        s.msr.tsc = currentTSC()
        s.fpu = fpu
        storeX87State(into: &s.fpu)
        storeSIMDState(into: &s.fpu)
        s.fpu.xcr0 = xcr0
        // A hypercall's block is not architectural state: saved, it is a (spurious) wake-up.
        s.halted = halted && !blockedInHypercall
        s.interruptShadow = interruptShadow
        s.nmiPending = nmiPending
        return s
    }

    /// Recomputes the derived mode after a change of CR0, EFER, CS, SS or RFLAGS.VM.
    func updateMode() {
        // The run loop's cached CS base, limit and bitness are stale now.
        loopExit |= LoopExit.refetch
        inLongMode = msr.efer & EFER.lma != 0
        let cs = segs[Seg.cs]
        if inLongMode && cs.l {
            codeBits = 64
        } else if protectedMode && !v86Mode {
            codeBits = cs.db ? 32 : 16
        } else {
            codeBits = 16
        }
        if !protectedMode {
            cpl = 0
        } else if v86Mode {
            cpl = 3
        } else {
            cpl = cs.dpl
        }
        // TLB entries carry no privilege: refill them when user/supervisor changes.
        if (cpl == 3) != tlb.filledForUser {
            tlb.flushAll()
            tlb.filledForUser = cpl == 3
        }
        stackBits = codeBits == 64 ? 64 : (segs[Seg.ss].db && protectedMode && !v86Mode ? 32 : 16)
    }

    @inline(__always)
    func decoder(for bits: Int) -> X86Decoder {
        bits == 64 ? decoders.2 : (bits == 32 ? decoders.1 : decoders.0)
    }

    /// Records a valid encoding that the interpreter does not implement, and raises #UD.
    func unimplementedInstruction(_ d: InstructionRef) -> CPUException {
        let name = ISATables.shared.mnemonicNames[Int(d.mnemonic)]
        unimplemented[name, default: 0] += 1
        unimplementedCount += 1
        return .invalidOpcode
    }
}
