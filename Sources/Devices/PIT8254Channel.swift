import MachineCore

/// Register layout of the 8254 programmable interval timer (Intel 8254 datasheet, "Control
/// Word Format", "Read-Back Command", "Status Byte").
public enum PITReg {
    /// Counter 0-2 data ports, then the control word port.
    public static let counter0: UInt16 = 0
    public static let counter1: UInt16 = 1
    public static let counter2: UInt16 = 2
    public static let control: UInt16 = 3
    public static let portCount = 4
    public static let base: UInt16 = 0x40

    /// Input clock of the PC's 8254, in Hz (14.31818 MHz / 12).
    public static let frequency: UInt64 = 1_193_182

    // Control word fields.
    /// SC1:SC0, bits 7:6: counter select; 11 = read-back command.
    public static let selectShift: UInt8 = 6
    public static let selectReadBack: UInt8 = 3
    /// RW1:RW0, bits 5:4: 00 = counter latch command, 01 = LSB, 10 = MSB, 11 = LSB then MSB.
    public static let accessMask: UInt8 = 0x30
    public static let accessShift: UInt8 = 4
    public static let accessLatch: UInt8 = 0
    public static let accessLSB: UInt8 = 1
    public static let accessMSB: UInt8 = 2
    public static let accessWord: UInt8 = 3
    /// M2:M0, bits 3:1: mode (6 and 7 alias modes 2 and 3).
    public static let modeMask: UInt8 = 0x0E
    public static let modeShift: UInt8 = 1
    /// Bit 0: BCD counting.
    public static let bcd: UInt8 = 0x01

    // Read-back command (SC = 11).
    /// Bit 5 clear: latch the count of the selected counters.
    public static let readBackNoCount: UInt8 = 0x20
    /// Bit 4 clear: latch the status of the selected counters.
    public static let readBackNoStatus: UInt8 = 0x10
    /// Bits 3:1 select counters 2, 1, 0.
    public static let readBackCounter0: UInt8 = 0x02
    public static let readBackCounter1: UInt8 = 0x04
    public static let readBackCounter2: UInt8 = 0x08

    // Status byte.
    /// Bit 7: state of the OUT pin.
    public static let statusOutput: UInt8 = 0x80
    /// Bit 6: null count (the last count written has not been loaded into the counter yet).
    public static let statusNullCount: UInt8 = 0x40
}

/// Arithmetic between machine nanoseconds and 8254 input clock ticks, exact for any time.
enum PITClock {
    /// Whole ticks in `nanoseconds`.
    static func ticks(_ nanoseconds: UInt64) -> UInt64 {
        TickConversion.ticks(nanoseconds, hz: PITReg.frequency)
    }

    /// Earliest nanosecond offset at which `ticks` whole ticks have elapsed.
    static func nanoseconds(_ ticks: UInt64) -> UInt64 {
        TickConversion.nanoseconds(ticks, hz: PITReg.frequency)
    }
}

/// One counter of the 8254.
///
/// Counts are computed from elapsed time, never ticked: a counting "frame" starts when the
/// counting element is loaded (`startTime`), and the counter value and OUT level at any instant
/// are functions of the ticks elapsed since (`elapsed`). A low gate freezes the frame where
/// the mode says counting is suspended. The one-clock delay between writing a count and its
/// load into the counting element is not modelled: the count loads at once.
final class PITChannel {
    let index: Int
    /// Mode as programmed (0-7), for the status byte; `mode` is the effective one (0-5).
    var modeBits: UInt8 = 0
    var mode: Int { Int(modeBits > 5 ? modeBits - 4 : modeBits) }
    var access: UInt8 = PITReg.accessWord
    var bcd = false

    var gate: Bool
    var nullCount = true

    // Count register writes and output latch reads.
    var writeMSBNext = false
    var pendingLSB: UInt8 = 0
    var readMSBNext = false
    var latchedCount: UInt16?
    var latchedReadMSBNext = false
    var latchedStatus: UInt8?

    // Counting frame.
    var frameActive = false
    var running = false
    var startTime: UInt64 = 0
    var elapsedBase: UInt64 = 0
    /// N: initial count in ticks (1...65536, or 1...10000 in BCD).
    var period: UInt64 = 65536
    /// Count loaded in modes 1 and 5, used at the next gate trigger.
    var armedCount: UInt64?
    /// Modes 2 and 3: a count written while counting takes effect at the end of the current
    /// period (8254 datasheet, mode 2 and mode 3 descriptions).
    var pendingReload: (count: UInt64, atTick: UInt64)?
    /// The value shown while no frame is active (after a control word, before a count).
    var heldCount: UInt16 = 0
    /// Rising OUT edges of the current frame already delivered to the IRQ line.
    var deliveredRisingEdges: UInt64 = 0

    init(index: Int, gate: Bool) {
        self.index = index
        self.gate = gate
    }

    var modulus: UInt64 { bcd ? 10_000 : 65_536 }

    /// Ticks of the current frame elapsed at `now`.
    func elapsed(_ now: UInt64) -> UInt64 {
        guard running else { return elapsedBase }
        return elapsedBase &+ PITClock.ticks(now &- startTime)
    }

    /// Machine time at which `tick` of the running frame begins.
    func time(ofTick tick: UInt64) -> UInt64 {
        guard tick > elapsedBase else { return startTime }
        let offset = PITClock.nanoseconds(tick - elapsedBase)
        return offset > .max - startTime ? .max : startTime + offset
    }

    /// A raw count register value as a number of ticks (0 means the maximum).
    func ticks(forCount raw: UInt16) -> UInt64 {
        if !bcd { return raw == 0 ? 65_536 : UInt64(raw) }
        var value: UInt64 = 0
        for shift in stride(from: 12, through: 0, by: -4) {
            value = value * 10 + UInt64(min((raw >> UInt16(shift)) & 0xF, 9))
        }
        return value == 0 ? 10_000 : value
    }

    func encode(_ count: UInt64) -> UInt16 {
        let c = count % modulus
        if !bcd { return UInt16(c) }
        var value: UInt16 = 0
        var rest = c
        for shift in stride(from: 0, through: 12, by: 4) {
            value |= UInt16(rest % 10) << UInt16(shift)
            rest /= 10
        }
        return value
    }

    // MARK: Mode functions of elapsed ticks (8254 datasheet, "Modes of Operation")

    /// Modes 2 and 3 with N = 1 are illegal; they behave as N = 2 here.
    var cyclePeriod: UInt64 { max(period, 2) }

    func output(at e: UInt64) -> Bool {
        guard frameActive else { return mode != 0 }
        switch mode {
        case 0, 1: return e >= period
        case 2:
            // A low gate forces OUT high in modes 2 and 3.
            return !gate || e % cyclePeriod != cyclePeriod - 1
        case 3: return !gate || e % cyclePeriod < (cyclePeriod + 1) / 2
        default: return e != period // 4, 5: one-tick low strobe at terminal count
        }
    }

    func count(at e: UInt64) -> UInt16 {
        guard frameActive else { return heldCount }
        switch mode {
        case 2:
            return encode(cyclePeriod - e % cyclePeriod)
        case 3:
            // Decrements by two; the high half lasts (N+1)/2 clocks, the low half N/2.
            let n = cyclePeriod
            let phase = e % n
            let half = (n + 1) / 2
            let intoHalf = phase < half ? phase : phase - half
            let start = n & ~1
            return encode(start > 2 * intoHalf ? start - 2 * intoHalf : 2)
        default:
            let m = modulus
            return encode((period % m + m - e % m) % m)
        }
    }

    /// Rising edges of OUT in the current frame up to tick `e`.
    func risingEdges(upTo e: UInt64) -> UInt64 {
        guard frameActive else { return 0 }
        switch mode {
        case 0, 1: return e >= period ? 1 : 0
        case 2, 3: return e / cyclePeriod
        default: return e > period ? 1 : 0
        }
    }

    /// The first tick after `e` at which OUT changes or a rising edge happens, if any.
    func nextEventTick(after e: UInt64) -> UInt64? {
        guard frameActive, running else { return nil }
        switch mode {
        case 0, 1: return e < period ? period : nil
        case 2:
            let n = cyclePeriod
            let phase = e % n
            return phase < n - 1 ? e + (n - 1 - phase) : e + 1
        case 3:
            let n = cyclePeriod
            let phase = e % n
            let half = (n + 1) / 2
            return phase < half ? e + (half - phase) : e + (n - phase)
        default:
            if e < period { return period }
            return e == period ? period + 1 : nil
        }
    }

    /// Starts counting from `n` ticks at `now`.
    func startFrame(_ n: UInt64, now: UInt64) {
        frameActive = true
        running = true
        period = n
        startTime = now
        elapsedBase = 0
        pendingReload = nil
        deliveredRisingEdges = 0
    }

    func freeze(now: UInt64) {
        guard running else { return }
        elapsedBase = elapsed(now)
        running = false
    }

    func statusByte(now: UInt64) -> UInt8 {
        var status = modeBits << PITReg.modeShift | access << PITReg.accessShift
        if bcd { status |= PITReg.bcd }
        if output(at: elapsed(now)) { status |= PITReg.statusOutput }
        if nullCount { status |= PITReg.statusNullCount }
        return status
    }
}

extension PITChannel {
    typealias Values = PIT8254.State.Counter

    var values: Values {
        Values(modeBits: modeBits, access: access, bcd: bcd, gate: gate, nullCount: nullCount, writeMSBNext: writeMSBNext,
               pendingLSB: pendingLSB, readMSBNext: readMSBNext, latchedCount: latchedCount,
               latchedReadMSBNext: latchedReadMSBNext, latchedStatus: latchedStatus, frameActive: frameActive,
               running: running, startTime: startTime, elapsedBase: elapsedBase, period: period, armedCount: armedCount,
               pendingReloadCount: pendingReload?.count, pendingReloadTick: pendingReload?.atTick ?? 0,
               heldCount: heldCount, deliveredRisingEdges: deliveredRisingEdges)
    }

    /// Why the values cannot be a counter's, or nil: a mode above 7, the latch command as
    /// an access mode, a count outside 1...65536 (1...10000 in BCD; 8254 datasheet, "Counter
    /// Loading").
    static func invalidReason(_ v: Values) -> String? {
        if v.modeBits > 7 { return "mode \(v.modeBits)" }
        if !(PITReg.accessLSB...PITReg.accessWord).contains(v.access) { return "access mode \(v.access)" }
        let limit: UInt64 = v.bcd ? 10_000 : 65_536
        for count in [v.period, v.armedCount ?? 1, v.pendingReloadCount ?? 1] where !(1...limit).contains(count) {
            return "count \(count) ticks"
        }
        return nil
    }

    func apply(_ v: Values) {
        modeBits = v.modeBits; access = v.access; bcd = v.bcd; gate = v.gate; nullCount = v.nullCount
        writeMSBNext = v.writeMSBNext; pendingLSB = v.pendingLSB; readMSBNext = v.readMSBNext
        latchedCount = v.latchedCount; latchedReadMSBNext = v.latchedReadMSBNext; latchedStatus = v.latchedStatus
        frameActive = v.frameActive; running = v.running; startTime = v.startTime; elapsedBase = v.elapsedBase
        period = v.period; armedCount = v.armedCount
        pendingReload = v.pendingReloadCount.map { ($0, v.pendingReloadTick) }
        heldCount = v.heldCount; deliveredRisingEdges = v.deliveredRisingEdges
    }
}
