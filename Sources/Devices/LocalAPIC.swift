import MachineCore

/// The local APIC of the one vCPU, for engines without an in-kernel APIC (SDM Vol. 3A ch. 11):
/// the xAPIC register page, the x2APIC MSRs, interrupt acceptance with IRR/ISR/TMR and the
/// task and processor priorities, EOI (forwarded to the IOAPIC for level-triggered vectors),
/// the timer in one-shot, periodic and TSC-deadline modes, LINT0 as the 8259's ExtINT
/// input, and IPIs to itself (fixed, lowest priority, NMI). Accessed with the machine lock held.
public final class LocalAPIC: MMIODevice {
    public static let defaultBase: UInt64 = 0xFEE0_0000
    public static let pageSize: UInt64 = 0x1000
    /// Version 0x14 (an integrated APIC), six LVT entries (max LVT index 5 in bits 23:16): no
    /// LVT CMCI (SDM §11.5.1: it exists only where the version reports a seventh entry), no
    /// EOI-broadcast suppression (bit 24).
    public static let versionValue: UInt32 = 0x0005_0014
    /// Physical address bits of the CPU model (CPUID 80000008H): IA32_APIC_BASE bits 63:40
    /// are reserved.
    public static let physicalAddressBits: UInt64 = 40
    /// The timer's input clock before the divider: 1 GHz, one count per nanosecond.
    public static let busHz: UInt64 = 1_000_000_000

    public let id: UInt32
    private let timers: TimerQueue
    private var timer: TimerQueue.Handle!

    /// IA32_APIC_BASE as the CPU last wrote it.
    public private(set) var baseMSR: UInt64
    private var tpr: UInt32 = 0
    private var ldr: UInt32 = 0
    private var dfr: UInt32 = 0xFFFF_FFFF
    private var svr: UInt32 = 0xFF
    private var esr: UInt32 = 0
    private var icr: UInt64 = 0
    /// LVT entries: timer, thermal, performance, LINT0, LINT1, error.
    private var lvt: [UInt32]
    private var divide: UInt32 = 0
    private var initialCount: UInt32 = 0
    /// When the current count was last `initialCount` (machine-clock ns), while counting.
    private var countStart: UInt64 = 0
    private var counting = false
    public private(set) var tscDeadline: UInt64 = 0
    /// 256-bit vectors as four words each.
    private var irr = [UInt64](repeating: 0, count: 4)
    private var isr = [UInt64](repeating: 0, count: 4)
    private var tmr = [UInt64](repeating: 0, count: 4)

    /// The 8259's INTR output and INTA cycle, reached through LINT0 in ExtINT mode.
    public var extINTRequested: () -> Bool = { false }
    public var extINTAcknowledge: () -> UInt8 = { 0 }
    /// EOI of a level-triggered vector: the IOAPIC clears its remote IRR.
    public var onLevelEOI: (UInt8) -> Void = { _ in }
    /// An NMI sent to this APIC (an IPI in NMI delivery mode), not yet taken by the CPU.
    public private(set) var nmiPending = false
    /// Called when an IPI to itself made an interrupt or an NMI pending, so that the CPU
    /// looks at the APIC before its next instruction rather than at its next routine check
    /// (an IPI is delivered as soon as the ICR write completes).
    public var onSelfIPI: () -> Void = {}
    /// The CPU's TSC now and its rate, for the TSC-deadline mode.
    public var currentTSC: () -> UInt64 = { 0 }
    public var tscKHz: UInt64 = 1_000_000

    private enum LVTIndex {
        static let timer = 0, thermal = 1, performance = 2, lint0 = 3, lint1 = 4, error = 5
        static let count = Int((LocalAPIC.versionValue >> 16) & 0xFF) + 1
    }

    /// ESR bits (SDM §11.5.3, Figure 11-9).
    private enum ESRBit {
        static let sendIllegalVector: UInt32 = 1 << 5
        static let receiveIllegalVector: UInt32 = 1 << 6
    }

    /// Bits software may set in a register (SDM §11.12.1.3: in x2APIC mode a WRMSR with any
    /// other bit set raises #GP). The LVT masks include the read-only status bits (delivery
    /// status, remote IRR), which software writes back as it read them and which are ignored.
    private enum Writable {
        static let tpr: UInt32 = 0xFF
        static let svr: UInt32 = 0x13FF
        static let divide: UInt32 = 0xB
        static let lvtTimer: UInt32 = 0x7_10FF
        static let lvtThermal: UInt32 = 0x1_07FF
        static let lvtPerformance: UInt32 = 0x1_07FF
        static let lvtLINT: UInt32 = 0x1_A7FF
        static let lvtError: UInt32 = 0x1_00FF
        static let lvtStatus: UInt32 = LVT.deliveryStatus | LVT.remoteIRR
        /// ICR: vector, delivery mode, destination mode, level, trigger mode, shorthand (the
        /// x2APIC ICR has no delivery status bit) and the 32-bit destination.
        static let x2APICICR: UInt64 = 0xFFFF_FFFF_000C_CFFF
    }

    public init(id: UInt32 = 0, timers: TimerQueue) {
        self.id = id
        self.timers = timers
        baseMSR = LocalAPIC.defaultBase | APICBase.globalEnable | APICBase.bsp
        lvt = []
        lvt = resetLVT()
        timer = timers.makeTimer { [unowned self] in self.timerExpired() }
    }

    /// The power-on state, with LINT0 in ExtINT (virtual-wire) mode as on the bootstrap
    /// processor of a PC, so the 8259 reaches the CPU before the OS programs the APIC.
    private func resetLVT() -> [UInt32] {
        var entries = [UInt32](repeating: LVT.masked, count: LVTIndex.count)
        entries[LVTIndex.lint0] = APICDeliveryMode.extINT << LVT.deliveryModeShift
        entries[LVTIndex.lint1] = APICDeliveryMode.nmi << LVT.deliveryModeShift
        return entries
    }

    public func reset() {
        baseMSR = LocalAPIC.defaultBase | APICBase.globalEnable | APICBase.bsp
        tpr = 0; ldr = 0; dfr = 0xFFFF_FFFF; svr = 0xFF; esr = 0; icr = 0; nmiPending = false
        lvt = resetLVT()
        divide = 0; initialCount = 0; counting = false; countStart = 0; tscDeadline = 0
        for i in 0..<4 { irr[i] = 0; isr[i] = 0; tmr[i] = 0 }
        timers.disarm(timer)
    }

    public func attach(to bus: MMIOBus, name: String = "local-apic") throws(MachineError) {
        _ = try bus.claim(base: LocalAPIC.defaultBase, size: LocalAPIC.pageSize, device: self, name: name)
    }

    public var globallyEnabled: Bool { baseMSR & APICBase.globalEnable != 0 }
    public var x2APICMode: Bool { globallyEnabled && baseMSR & APICBase.x2APICEnable != 0 }
    /// SVR bit 8 (SDM §11.4.7.2).
    public var softwareEnabled: Bool { svr & 0x100 != 0 }

    /// A write of IA32_APIC_BASE by the CPU. Returns false (#GP) for a reserved bit or an
    /// invalid mode transition (SDM §11.12.5, Figure 11-27): EXTD without EN, x2APIC straight
    /// back to xAPIC, and disabled straight to x2APIC; x2APIC is left only by disabling.
    public func writeBaseMSR(_ value: UInt64) -> Bool {
        let reserved = ~(APICBase.addressMask | APICBase.bsp | APICBase.x2APICEnable | APICBase.globalEnable)
        if value & reserved != 0 { return false }
        let modeBits = APICBase.x2APICEnable | APICBase.globalEnable
        let from = baseMSR & modeBits, to = value & modeBits
        if to == APICBase.x2APICEnable { return false }
        if from == modeBits && to == APICBase.globalEnable { return false }
        if from == 0 && to == modeBits { return false }
        let wasEnabled = globallyEnabled
        baseMSR = value
        if wasEnabled && !globallyEnabled {
            // Globally disabling the APIC resets it to its power-up state (SDM §11.4.3).
            let keep = baseMSR
            reset()
            baseMSR = keep
            lvt = [UInt32](repeating: LVT.masked, count: LVTIndex.count)
        }
        return true
    }

    // MARK: interrupts in

    /// Accepts a fixed-mode interrupt (from the IOAPIC, a self-IPI or the local timer).
    public func acceptInterrupt(vector: UInt8, levelTriggered: Bool) {
        guard globallyEnabled, vector >= 16 else {
            if vector < 16 { esr |= 1 << 6 }  // "received illegal vector"
            return
        }
        setBit(&irr, vector, true)
        setBit(&tmr, vector, levelTriggered)
    }

    /// Whether an IOAPIC message with this destination is for this APIC (SDM §11.6.2).
    public func matchesDestination(_ destination: UInt32, logical: Bool) -> Bool {
        if x2APICMode {
            if !logical { return destination == 0xFFFF_FFFF || destination == id }
            return destination & logicalID != 0 && destination >> 16 == logicalID >> 16
        }
        let d = destination & 0xFF
        if !logical { return d == 0xFF || d == id }
        let mine = ldr >> 24
        if dfr >> 28 == 0xF { return d & mine != 0 }           // flat model
        return d >> 4 == mine >> 4 && d & mine & 0xF != 0       // cluster model
    }

    private var logicalID: UInt32 { x2APICMode ? ((id >> 4) << 16) | (1 << (id & 0xF)) : ldr }

    // MARK: the CPU side

    /// An interrupt is ready for the CPU: LINT0's ExtINT from the 8259, or the highest
    /// requested vector above the processor priority (SDM §11.8.3.1).
    public var interruptRequested: Bool {
        if acceptsExtINT && extINTRequested() { return true }
        guard globallyEnabled, softwareEnabled, let v = highest(irr) else { return false }
        return UInt32(v) & 0xF0 > processorPriority & 0xF0
    }

    /// The INTA cycle: the vector the CPU takes, moved from IRR to ISR.
    public func acknowledge() -> UInt8 {
        if acceptsExtINT && extINTRequested() { return extINTAcknowledge() }
        guard let v = highest(irr), UInt32(v) & 0xF0 > processorPriority & 0xF0 else { return UInt8(svr & 0xFF) }
        setBit(&irr, v, false)
        setBit(&isr, v, true)
        return v
    }

    /// The 8259 reaches the CPU with the APIC globally disabled (LINT0 is then the INTR pin),
    /// or through an unmasked LINT0 in ExtINT mode.
    private var acceptsExtINT: Bool {
        if !globallyEnabled { return true }
        let l = lvt[LVTIndex.lint0]
        return l & LVT.masked == 0 && (l & LVT.deliveryModeMask) >> LVT.deliveryModeShift == APICDeliveryMode.extINT
    }

    /// PPR (SDM §11.8.3.1): the task priority or the in-service class, whichever is higher.
    private var processorPriority: UInt32 {
        let isrv = UInt32(highest(isr) ?? 0)
        return tpr & 0xF0 >= isrv & 0xF0 ? tpr & 0xFF : isrv & 0xF0
    }

    private func endOfInterrupt() {
        guard let v = highest(isr) else { return }
        setBit(&isr, v, false)
        if bit(tmr, v) { onLevelEOI(v) }
    }

    // MARK: register access

    /// The register page answers only in xAPIC mode: globally disabled, the APIC is as if
    /// absent (SDM §11.4.3), and in x2APIC mode the page behaves as when disabled (§11.12.2).
    private var pageEnabled: Bool { globallyEnabled && !x2APICMode }

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        // Registers are 32 bits on 16-byte boundaries; other bytes read as zero.
        guard pageEnabled, offset & 0xF == 0 else { return 0 }
        return UInt64(read(offset) ?? 0) & allOnes(size: size)
    }

    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        guard pageEnabled, offset & 0xF == 0, size == 4 else { return }
        write(offset, UInt32(truncatingIfNeeded: value))
    }

    /// An x2APIC MSR read (0x800-0x8FF); nil raises #GP (not in x2APIC mode, a reserved or
    /// write-only register).
    public func readMSR(_ index: UInt32) -> UInt64? {
        guard x2APICMode, index >= APICMSR.x2APICFirst, index <= APICMSR.x2APICLast else { return nil }
        let offset = UInt64(index - APICMSR.x2APICFirst) << 4
        switch offset {
        case LAPICReg.icrLow: return icr
        case LAPICReg.icrHigh, LAPICReg.dfr, LAPICReg.eoi, LAPICReg.selfIPI, LAPICReg.apr, LAPICReg.rrd: return nil
        case LAPICReg.id: return UInt64(id)
        case LAPICReg.ldr: return UInt64(logicalID)
        default: return read(offset).map(UInt64.init)
        }
    }

    /// An x2APIC MSR write; false raises #GP: not in x2APIC mode, a register that does not
    /// exist or is read-only in x2APIC mode, or a reserved bit set (SDM §11.12.1.2, Table 11-6;
    /// §11.12.1.3).
    public func writeMSR(_ index: UInt32, _ value: UInt64) -> Bool {
        guard x2APICMode, index >= APICMSR.x2APICFirst, index <= APICMSR.x2APICLast else { return false }
        let offset = UInt64(index - APICMSR.x2APICFirst) << 4
        // Every register but the ICR is 32 bits: bits 63:32 are reserved.
        if offset != LAPICReg.icrLow && value >> 32 != 0 { return false }
        let v = UInt32(truncatingIfNeeded: value)
        func checked(_ writable: UInt32) -> Bool {
            guard v & ~writable == 0 else { return false }
            write(offset, v)
            return true
        }
        switch offset {
        case LAPICReg.icrLow:
            guard value & ~Writable.x2APICICR == 0 else { return false }
            icr = value
            sendIPI()
            return true
        case LAPICReg.selfIPI:
            // SELF IPI: the vector in bits 7:0, the rest reserved (SDM §11.12.11).
            guard value >> 8 == 0 else { return false }
            deliverToSelf(mode: APICDeliveryMode.fixed, vector: UInt8(v))
            return true
        // EOI and ESR accept only 0 (Table 11-6; §11.5.3).
        case LAPICReg.eoi, LAPICReg.esr: return checked(0)
        case LAPICReg.tpr: return checked(Writable.tpr)
        case LAPICReg.svr: return checked(Writable.svr)
        case LAPICReg.timerInitialCount: return checked(~0)
        case LAPICReg.timerDivide: return checked(Writable.divide)
        case LAPICReg.lvtTimer: return checked(Writable.lvtTimer | Writable.lvtStatus)
        case LAPICReg.lvtThermal: return checked(Writable.lvtThermal | Writable.lvtStatus)
        case LAPICReg.lvtPerformance: return checked(Writable.lvtPerformance | Writable.lvtStatus)
        case LAPICReg.lvtLINT0, LAPICReg.lvtLINT1: return checked(Writable.lvtLINT | Writable.lvtStatus)
        case LAPICReg.lvtError: return checked(Writable.lvtError | Writable.lvtStatus)
        default:
            // Read-only (ID, version, LDR, PPR, ISR/TMR/IRR, current count) or not an x2APIC
            // register (APR, RRD, DFR, ICR high, LVT CMCI here, the gaps).
            return false
        }
    }

    /// IA32_TSC_DEADLINE (SDM §11.5.4.1): takes effect only in TSC-deadline mode; 0 disarms.
    public func writeTSCDeadline(_ value: UInt64) {
        guard timerMode == LVT.timerTSCDeadline else { return }
        tscDeadline = value
        armDeadline()
    }

    private func read(_ offset: UInt64) -> UInt32? {
        switch offset {
        case LAPICReg.id: return id << 24
        case LAPICReg.version: return LocalAPIC.versionValue
        case LAPICReg.tpr: return tpr
        case LAPICReg.apr, LAPICReg.ppr: return processorPriority
        case LAPICReg.eoi, LAPICReg.rrd: return 0
        case LAPICReg.ldr: return ldr
        case LAPICReg.dfr: return dfr
        case LAPICReg.svr: return svr
        case LAPICReg.esr: return esr
        case LAPICReg.icrLow: return UInt32(truncatingIfNeeded: icr)
        case LAPICReg.icrHigh: return UInt32(truncatingIfNeeded: icr >> 32)
        case LAPICReg.lvtTimer: return lvt[LVTIndex.timer]
        case LAPICReg.lvtThermal: return lvt[LVTIndex.thermal]
        case LAPICReg.lvtPerformance: return lvt[LVTIndex.performance]
        case LAPICReg.lvtLINT0: return lvt[LVTIndex.lint0]
        case LAPICReg.lvtLINT1: return lvt[LVTIndex.lint1]
        case LAPICReg.lvtError: return lvt[LVTIndex.error]
        case LAPICReg.timerInitialCount: return initialCount
        case LAPICReg.timerCurrentCount: return currentCount
        case LAPICReg.timerDivide: return divide
        case LAPICReg.isrBase..<LAPICReg.tmrBase: return word(isr, offset - LAPICReg.isrBase)
        case LAPICReg.tmrBase..<LAPICReg.irrBase: return word(tmr, offset - LAPICReg.tmrBase)
        case LAPICReg.irrBase..<LAPICReg.esr: return word(irr, offset - LAPICReg.irrBase)
        default: return nil
        }
    }

    private func write(_ offset: UInt64, _ value: UInt32) {
        switch offset {
        case LAPICReg.tpr: tpr = value & Writable.tpr
        case LAPICReg.eoi: endOfInterrupt()
        case LAPICReg.ldr: ldr = value & 0xFF00_0000
        case LAPICReg.dfr: dfr = value | 0x0FFF_FFFF
        case LAPICReg.svr:
            svr = value & Writable.svr
            if !softwareEnabled {
                // Software disable masks every LVT entry (SDM §11.4.7.2).
                for i in lvt.indices { lvt[i] |= LVT.masked }
            }
        case LAPICReg.esr: esr = 0  // a write clears the accumulated errors
        case LAPICReg.icrLow:
            icr = (icr & 0xFFFF_FFFF_0000_0000) | UInt64(value)
            sendIPI()
        case LAPICReg.icrHigh: icr = (icr & 0xFFFF_FFFF) | (UInt64(value & 0xFF00_0000) << 32)
        case LAPICReg.lvtTimer: writeLVT(LVTIndex.timer, value, writable: Writable.lvtTimer)
        case LAPICReg.lvtThermal: writeLVT(LVTIndex.thermal, value, writable: Writable.lvtThermal)
        case LAPICReg.lvtPerformance: writeLVT(LVTIndex.performance, value, writable: Writable.lvtPerformance)
        case LAPICReg.lvtLINT0: writeLVT(LVTIndex.lint0, value, writable: Writable.lvtLINT)
        case LAPICReg.lvtLINT1: writeLVT(LVTIndex.lint1, value, writable: Writable.lvtLINT)
        case LAPICReg.lvtError: writeLVT(LVTIndex.error, value, writable: Writable.lvtError)
        case LAPICReg.timerInitialCount:
            guard timerMode != LVT.timerTSCDeadline else { return }
            initialCount = value
            startCounting()
        case LAPICReg.timerDivide: divide = value & Writable.divide
        default: break  // read-only or reserved: ignored
        }
    }

    private func writeLVT(_ index: Int, _ value: UInt32, writable: UInt32) {
        var v = value & writable
        if !softwareEnabled { v |= LVT.masked }
        let oldMode = timerMode
        lvt[index] = (lvt[index] & ~writable & LVT.remoteIRR) | v
        if index == LVTIndex.timer && timerMode != oldMode {
            // A mode change stops the timer (SDM §11.5.4.1).
            timers.disarm(timer)
            counting = false
            initialCount = 0
            tscDeadline = 0
        }
    }

    // MARK: timer

    private var timerMode: UInt32 { (lvt[LVTIndex.timer] & LVT.timerModeMask) >> LVT.timerModeShift }

    /// Divide configuration (bits 3, 1:0) as a divisor: 2, 4, ... 128, or 1 for 0b1011.
    private var divisor: UInt64 {
        let code = ((divide >> 1) & 4) | (divide & 3)
        return UInt64(1) << UInt64((code + 1) & 7)
    }

    private var nanosecondsPerCount: UInt64 { divisor * 1_000_000_000 / LocalAPIC.busHz }

    private func startCounting() {
        timers.disarm(timer)
        counting = initialCount != 0
        guard counting else { return }
        countStart = timers.clock.now
        timers.arm(timer, at: countStart &+ UInt64(initialCount) * nanosecondsPerCount)
    }

    private var currentCount: UInt32 {
        guard counting, timerMode != LVT.timerTSCDeadline else { return 0 }
        let elapsed = (timers.clock.now &- countStart) / nanosecondsPerCount
        let period = UInt64(initialCount)
        if timerMode == LVT.timerPeriodic { return UInt32(period - elapsed % period) }
        return elapsed >= period ? 0 : UInt32(period - elapsed)
    }

    private func armDeadline() {
        timers.disarm(timer)
        guard tscDeadline != 0 else { return }
        let now = currentTSC()
        let ticks = tscDeadline > now ? tscDeadline - now : 0
        let nanoseconds = UInt64((Double(ticks) * 1_000_000 / Double(max(tscKHz, 1))).rounded(.up))
        timers.arm(timer, at: timers.clock.now &+ nanoseconds)
    }

    private func timerExpired() {
        let entry = lvt[LVTIndex.timer]
        switch timerMode {
        case LVT.timerPeriodic:
            guard counting else { return }
            countStart = countStart &+ UInt64(initialCount) * nanosecondsPerCount
            // Catch up without a burst after a long host stall: one interrupt, next period from now.
            let now = timers.clock.now
            if countStart &+ UInt64(initialCount) * nanosecondsPerCount <= now { countStart = now }
            timers.arm(timer, at: countStart &+ UInt64(initialCount) * nanosecondsPerCount)
        case LVT.timerTSCDeadline:
            guard tscDeadline != 0 else { return }
            tscDeadline = 0
        default:
            guard counting else { return }
            counting = false
        }
        if entry & LVT.masked == 0 { acceptInterrupt(vector: UInt8(entry & LVT.vectorMask), levelTriggered: false) }
    }

    // MARK: IPIs

    /// ICR writes (SDM §11.6.1). With one vCPU an IPI reaches this APIC or nobody: the
    /// shorthands self and all-including-self, or a destination that names it; all-excluding-
    /// self and other destinations go nowhere.
    private func sendIPI() {
        let low = UInt32(truncatingIfNeeded: icr)
        let mode = (low >> 8) & 7
        let shorthand = (low >> 18) & 3
        let toSelf: Bool
        switch shorthand {
        case 1, 2: toSelf = true                 // self, all including self
        case 3: toSelf = false                   // all excluding self
        default:
            let destination = x2APICMode ? UInt32(icr >> 32) : UInt32(icr >> 56)
            toSelf = matchesDestination(destination, logical: low & (1 << 11) != 0)
        }
        if toSelf { deliverToSelf(mode: mode, vector: UInt8(low & 0xFF)) }
    }

    /// An IPI this APIC sent itself, by delivery mode (SDM §11.6.1, Figure 11-12):
    /// - fixed and lowest priority (one candidate: this one) set the vector's IRR bit; a vector
    ///   below 16 sets "send illegal vector" in the ESR and is not delivered (§11.5.3);
    /// - NMI makes an NMI pending (the vector is ignored);
    /// - SMI has no handler on this machine (no SMM), INIT and start-up to itself are not
    ///   allowed (the self shorthand is invalid for them) and take no effect on the one
    ///   processor that is running, ExtINT is reserved for IPIs: none of these is delivered.
    private func deliverToSelf(mode: UInt32, vector: UInt8) {
        switch mode {
        case APICDeliveryMode.fixed, APICDeliveryMode.lowestPriority:
            guard vector >= 16 else {
                esr |= ESRBit.sendIllegalVector | ESRBit.receiveIllegalVector
                return
            }
            acceptInterrupt(vector: vector, levelTriggered: false)
        case APICDeliveryMode.nmi:
            nmiPending = true
        default:
            return
        }
        onSelfIPI()
    }

    /// The CPU takes the pending NMI (its NMI input was raised).
    public func takeNMI() -> Bool {
        defer { nmiPending = false }
        return nmiPending
    }

    // MARK: 256-bit registers

    private func bit(_ r: [UInt64], _ v: UInt8) -> Bool { r[Int(v >> 6)] & (1 << UInt64(v & 63)) != 0 }

    private func setBit(_ r: inout [UInt64], _ v: UInt8, _ on: Bool) {
        let mask: UInt64 = 1 << UInt64(v & 63)
        if on { r[Int(v >> 6)] |= mask } else { r[Int(v >> 6)] &= ~mask }
    }

    private func highest(_ r: [UInt64]) -> UInt8? {
        for i in stride(from: 3, through: 0, by: -1) where r[i] != 0 {
            return UInt8(i * 64 + 63 - r[i].leadingZeroBitCount)
        }
        return nil
    }

    /// The 32-bit word at `byteOffset` (16 bytes per word) of a 256-bit register.
    private func word(_ r: [UInt64], _ byteOffset: UInt64) -> UInt32 {
        let n = Int(byteOffset >> 4)
        return UInt32(truncatingIfNeeded: r[n >> 1] >> UInt64((n & 1) * 32))
    }
}

extension LocalAPIC: StatefulDevice {
    /// The register page, IA32_APIC_BASE and the timer as values: the timer's count start
    /// and TSC deadline stand in for the host timer, which `restore` re-arms from them.
    public struct State: Equatable, Sendable {
        /// The APIC ID, fixed by the board: a state saved from another APIC is refused.
        public var id: UInt32
        public var baseMSR: UInt64
        public var tpr: UInt32
        public var ldr: UInt32
        public var dfr: UInt32
        public var svr: UInt32
        public var esr: UInt32
        public var icr: UInt64
        /// Timer, thermal, performance, LINT0, LINT1, error.
        public var lvt: [UInt32]
        public var divide: UInt32
        public var initialCount: UInt32
        /// While counting (one-shot or periodic): when the count was last the initial count,
        /// in machine-clock nanoseconds.
        public var counting: Bool
        public var countStart: UInt64
        public var tscDeadline: UInt64
        /// 256-bit IRR, ISR and TMR as four words each, vector 0 in bit 0 of word 0.
        public var irr: [UInt64]
        public var isr: [UInt64]
        public var tmr: [UInt64]
        public var nmiPending: Bool
    }

    public var state: State {
        State(id: id, baseMSR: baseMSR, tpr: tpr, ldr: ldr, dfr: dfr, svr: svr, esr: esr, icr: icr, lvt: lvt,
              divide: divide, initialCount: initialCount, counting: counting, countStart: countStart,
              tscDeadline: tscDeadline, irr: irr, isr: isr, tmr: tmr, nmiPending: nmiPending)
    }

    /// Refuses what no local APIC holds (SDM Vol. 3A ch. 11): another APIC's ID, reserved
    /// bits in IA32_APIC_BASE or x2APIC mode without the global enable (§11.12.5), bits
    /// software cannot set in TPR, SVR, the divide configuration, LDR, DFR or an LVT entry,
    /// a register array of the wrong size, a timer counting from zero. The timer is re-armed
    /// for the saved expiry (one-shot and periodic from the count start, TSC-deadline from
    /// the deadline and the CPU's TSC now).
    public func restore(_ state: State) throws(MachineError) {
        func refuse(_ reason: String) -> MachineError { .invalidDeviceState(device: "local APIC \(id)", reason: reason) }
        guard state.id == id else { throw refuse("state of APIC \(state.id)") }
        guard state.lvt.count == LVTIndex.count else { throw refuse("\(state.lvt.count) LVT entries, not \(LVTIndex.count)") }
        guard state.irr.count == 4, state.isr.count == 4, state.tmr.count == 4 else { throw refuse("IRR/ISR/TMR not 256 bits") }
        let reserved = ~(APICBase.addressMask | APICBase.bsp | APICBase.x2APICEnable | APICBase.globalEnable)
        guard state.baseMSR & reserved == 0 else { throw refuse("reserved bits in IA32_APIC_BASE") }
        let modeBits = APICBase.x2APICEnable | APICBase.globalEnable
        guard state.baseMSR & modeBits != APICBase.x2APICEnable else { throw refuse("x2APIC mode while disabled") }
        guard state.tpr & ~Writable.tpr == 0, state.svr & ~Writable.svr == 0, state.divide & ~Writable.divide == 0,
              state.ldr & 0x00FF_FFFF == 0, state.dfr | 0xF000_0000 == 0xFFFF_FFFF else {
            throw refuse("bits software cannot set in TPR, SVR, LDR, DFR or the divide configuration")
        }
        let lvtWritable = [Writable.lvtTimer, Writable.lvtThermal, Writable.lvtPerformance,
                           Writable.lvtLINT, Writable.lvtLINT, Writable.lvtError]
        for (i, entry) in state.lvt.enumerated() where entry & ~(lvtWritable[i] | Writable.lvtStatus) != 0 {
            throw refuse("reserved bits in LVT entry \(i)")
        }
        guard !state.counting || state.initialCount != 0 else { throw refuse("timer counting from an initial count of 0") }
        let savedMode = (state.lvt[LVTIndex.timer] & LVT.timerModeMask) >> LVT.timerModeShift
        guard !(state.counting && savedMode == LVT.timerTSCDeadline) else {
            throw refuse("the count-down timer runs in TSC-deadline mode")
        }
        baseMSR = state.baseMSR
        tpr = state.tpr; ldr = state.ldr; dfr = state.dfr; svr = state.svr; esr = state.esr; icr = state.icr
        lvt = state.lvt
        divide = state.divide; initialCount = state.initialCount
        counting = state.counting; countStart = state.countStart; tscDeadline = state.tscDeadline
        irr = state.irr; isr = state.isr; tmr = state.tmr
        nmiPending = state.nmiPending
        if timerMode == LVT.timerTSCDeadline {
            armDeadline()
        } else if counting {
            timers.arm(timer, at: countStart &+ UInt64(initialCount) * nanosecondsPerCount)
        } else {
            timers.disarm(timer)
        }
    }
}
