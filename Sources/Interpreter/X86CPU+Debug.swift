import MachineCore

/// The enabled data and I/O breakpoints of DR0-DR3, decoded from DR7 (SDM Vol. 3B §17.2.4-17.2.5)
/// so that the memory slow paths test a few scalars instead of decoding DR7 on every access.
struct DataBreakpoints {
    /// Bit i: slot i is an enabled breakpoint on data writes (R/W = 01 or 11).
    var writeMask: UInt8 = 0
    /// Bit i: slot i is an enabled breakpoint on data reads (R/W = 11; reads alone cannot be watched).
    var readMask: UInt8 = 0
    /// Bit i: slot i is an enabled I/O breakpoint (R/W = 10 with CR4.DE).
    var ioMask: UInt8 = 0
    /// First address (port for I/O breakpoints) of each slot, with the bits below LEN cleared.
    var start: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    /// Last address of each slot (start + LEN - 1).
    var end: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// Some memory breakpoint is enabled: the software TLB must leave its pages unmapped.
    var watchesMemory: Bool { (writeMask | readMask) != 0 }
    /// Some data or I/O breakpoint is enabled: the run loop checks for hits after each instruction.
    var armed: Bool { (writeMask | readMask | ioMask) != 0 }

    func range(_ i: Int) -> (start: UInt64, end: UInt64) {
        switch i {
        case 0: return (start.0, end.0)
        case 1: return (start.1, end.1)
        case 2: return (start.2, end.2)
        default: return (start.3, end.3)
        }
    }

    /// DR6.B0-B3 bits of the slots in `mask` whose range overlaps [first, last].
    func hits(_ mask: UInt8, _ first: UInt64, _ last: UInt64) -> UInt64 {
        var bits: UInt64 = 0
        for i in 0..<4 where mask & (1 << i) != 0 {
            let r = range(i)
            if first <= r.end && r.start <= last { bits |= 1 << UInt64(i) }
        }
        return bits
    }

    /// Whether linear page `page` holds a byte of a slot in `mask` (a range never crosses a
    /// page: it is at most 8 bytes and aligned to its length).
    func watches(page: UInt64, _ mask: UInt8) -> Bool {
        for i in 0..<4 where mask & (1 << i) != 0 && range(i).start >> 12 == page { return true }
        return false
    }
}

/// Debug-register breakpoints on data and I/O accesses (SDM Vol. 3B §17.2, §17.3.1.2).
///
/// The hot path stays free of checks: while a data breakpoint is enabled, the linear pages
/// holding a watched range never get a software-TLB entry for the watched kind of access, so
/// those accesses take `readLinearSlow` / `writeLinearSlow`, which compare them with the
/// ranges and collect the hits in `dataBreakpointHit`. The execution loop then raises #DB as
/// a trap after the instruction (its results kept, RIP at the next instruction).
///
/// Choices where the SDM leaves room:
/// - R/W = 10 without CR4.DE is undefined (SDM Vol. 3B §17.2.4): such a slot is ignored.
/// - Accesses the CPU makes while delivering an event (IVT or IDT reads, the pushes of the
///   frame) and its implicit supervisor accesses (descriptor tables, TSS) do not report data
///   breakpoints; nor does an instruction that faults (its hits are dropped with it).
/// - LEN = 10 means 8 bytes, as on every processor with long mode.
/// - The data-breakpoint #DB of an instruction that loads SS is held back to the end of the
///   next instruction (SDM Vol. 3A §6.8.3; X86CPU+Execute.swift). DR7.GD makes MOV DRn a
///   #DB fault with DR6.BD (X86CPU+System.swift).
extension X86CPU {
    /// DR7 bit fields (SDM Vol. 3B §17.2.4, Figure 17-1).
    enum DR7 {
        /// L0/G0 for slot 0; slot i uses bits 2i (local) and 2i+1 (global).
        static func enableBits(_ slot: Int) -> UInt64 { 3 << UInt64(slot * 2) }
        /// R/W field of slot i: 00 execute, 01 write, 10 I/O (CR4.DE), 11 read or write.
        static func rw(_ dr7: UInt64, _ slot: Int) -> UInt64 { (dr7 >> UInt64(16 + slot * 4)) & 3 }
        /// LEN field of slot i: 00 one byte, 01 two, 11 four, 10 eight.
        static func len(_ dr7: UInt64, _ slot: Int) -> UInt64 { (dr7 >> UInt64(18 + slot * 4)) & 3 }
        /// L0-L3 and LE: cleared by a task switch (SDM Vol. 3B §17.2.4).
        static let localEnables: UInt64 = 0x55 | (1 << 8)
        static let rwExecute: UInt64 = 0, rwWrite: UInt64 = 1, rwIO: UInt64 = 2, rwReadWrite: UInt64 = 3
        /// GD: MOV to or from a debug register raises #DB (SDM Vol. 3B §17.2.4).
        static let generalDetect: UInt64 = 1 << 13
    }

    /// DR6 status bits (SDM Vol. 3B §17.2.3).
    enum DR6 {
        /// BD: the #DB is a general-detect fault.
        static let bd: UInt64 = 1 << 13
        /// BS: the #DB is a single-step trap.
        static let bs: UInt64 = 1 << 14
    }

    /// Called after any change of DR0-DR3, DR7 or CR4.DE: recomputes which breakpoints are
    /// armed, and flushes the TLB when memory breakpoints were or are enabled so that no page
    /// of a watched range keeps (or is left without) a direct mapping.
    func debugRegistersChanged() {
        breakpointsArmed = instructionBreakpointMask != 0
        let before = dataBreakpoints
        var b = DataBreakpoints()
        let addresses = [dr.0, dr.1, dr.2, dr.3]
        var starts: [UInt64] = [0, 0, 0, 0], ends: [UInt64] = [0, 0, 0, 0]
        for i in 0..<4 where dr7 & DR7.enableBits(i) != 0 {
            let rw = DR7.rw(dr7, i)
            let length: UInt64
            switch DR7.len(dr7, i) {
            case 0: length = 1
            case 1: length = 2
            case 2: length = 8
            default: length = 4
            }
            // Address bits below LEN are ignored: the range is aligned (SDM Vol. 3B §17.2.5).
            starts[i] = addresses[i] & ~(length - 1)
            ends[i] = starts[i] &+ length &- 1
            switch rw {
            case DR7.rwWrite: b.writeMask |= 1 << i
            case DR7.rwReadWrite: b.writeMask |= 1 << i; b.readMask |= 1 << i
            case DR7.rwIO where cr4 & CR4.de != 0:
                starts[i] &= 0xFFFF
                ends[i] = starts[i] &+ length &- 1
                b.ioMask |= 1 << i
            default: break
            }
        }
        b.start = (starts[0], starts[1], starts[2], starts[3])
        b.end = (ends[0], ends[1], ends[2], ends[3])
        dataBreakpoints = b
        if before.watchesMemory || b.watchesMemory { tlb.flushAll() }
    }

    /// Whether reads of linear page `page` may get a TLB entry (no read breakpoint on it).
    @inline(__always)
    func readTLBAllowed(_ page: UInt64) -> Bool {
        dataBreakpoints.readMask == 0 || !dataBreakpoints.watches(page: page, dataBreakpoints.readMask)
    }

    /// Whether writes of linear page `page` may get a TLB entry (no write breakpoint on it).
    @inline(__always)
    func writeTLBAllowed(_ page: UInt64) -> Bool {
        dataBreakpoints.writeMask == 0 || !dataBreakpoints.watches(page: page, dataBreakpoints.writeMask)
    }

    /// Records the breakpoints a data access of `size` bytes at `linear` hits.
    @inline(__always)
    func checkDataBreakpoints(_ linear: UInt64, _ size: Int, write: Bool) {
        let mask = write ? dataBreakpoints.writeMask : dataBreakpoints.readMask
        guard mask != 0 else { return }
        dataBreakpointHit |= dataBreakpoints.hits(mask, linear, linear &+ UInt64(size) &- 1)
    }

    /// Records the I/O breakpoints an IN/OUT/INS/OUTS of `size` bytes at `port` hits.
    @inline(__always)
    func checkIOBreakpoints(_ port: UInt16, _ size: Int) {
        guard dataBreakpoints.ioMask != 0 else { return }
        dataBreakpointHit |= dataBreakpoints.hits(dataBreakpoints.ioMask, UInt64(port), UInt64(port) &+ UInt64(size) &- 1)
    }

    /// The #DB trap after an instruction that hit data or I/O breakpoints: DR6.Bn, then
    /// vector 1 with RIP at the next instruction (SDM Vol. 3B §17.3.1.2), or at a REP string
    /// instruction stopped after the iteration that hit (it set RF, which the frame carries).
    /// When the instruction also single-steps, the one #DB of the single-step trap reports
    /// both (DR6.BS and Bn), so only DR6 is written here.
    func dataBreakpointTrap(deferredToSingleStep: Bool) {
        dr6 = (dr6 & ~0xF) | dataBreakpointHit
        dataBreakpointHit = 0
        guard !deferredToSingleStep else { return }
        deliverException(CPUException(CPUException.Vector.debug))
    }
}
