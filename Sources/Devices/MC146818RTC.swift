#if canImport(Glibc)
import Glibc
#endif
import MachineCore

/// The MC146818A real-time clock and CMOS RAM at 0x70-0x71, interrupting on IRQ8.
///
/// Guest time is `startEpoch + machine clock + offset`: it follows the machine clock (so a
/// virtual clock gives a reproducible RTC), starts at the host's wall-clock time unless a
/// start time is injected, and the guest moves it by writing the time registers (an offset
/// in whole seconds is kept; the sub-second phase of updates stays that of the host).
///
/// Updates happen once per second at the guest-second boundary; UIP reads as set during the
/// 244 µs before it. The flags of register C (periodic, alarm, update-ended) are brought up to
/// date whenever they are looked at, so they are right even with interrupts disabled; timers
/// are armed only for enabled interrupts.
public final class MC146818RTC: ByteRegisterDevice {
    private let irq: IRQLine
    private let timers: TimerQueue
    private var updateTimer: TimerQueue.Handle!
    private var periodicTimer: TimerQueue.Handle!

    private var cmos = [UInt8](repeating: 0, count: RTCReg.cmosSize)
    private var index: UInt8 = 0
    /// Bit 7 of the last index write: NMI disabled. Kept for the board; no NMI source exists yet.
    public private(set) var nmiMasked = false

    /// Nanoseconds since the Unix epoch at machine time 0.
    private var startEpochNanoseconds: Int64
    /// Whole seconds the guest has moved its clock by.
    private var offsetSeconds: Int64 = 0

    /// Register C flags (PF, AF, UF) not yet read.
    private var flags: UInt8 = 0
    /// Guest second up to which update cycles have been processed.
    private var lastUpdateSecond: Int64 = 0
    /// Periodic-interrupt index (in periods since machine time 0) last processed.
    private var lastPeriodicIndex: UInt64 = 0

    /// `startEpochNanoseconds`: wall-clock time at machine time 0, in nanoseconds since the
    /// Unix epoch; nil takes the host's current time. Tests inject a fixed value.
    public init(irq: IRQLine, timers: TimerQueue, startEpochNanoseconds: Int64? = nil) {
        self.irq = irq
        self.timers = timers
        if let start = startEpochNanoseconds {
            self.startEpochNanoseconds = start
        } else {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            self.startEpochNanoseconds = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec) - Int64(timers.clock.now)
        }
        cmos[RTCReg.regA] = RTCReg.aDivider32kHz | 0x06 // 1024 Hz, as a BIOS leaves it
        cmos[RTCReg.regB] = RTCReg.b24Hour
        cmos[RTCReg.regD] = RTCReg.dVRT
        updateTimer = timers.makeTimer { [weak self] in self?.timerFired() }
        periodicTimer = timers.makeTimer { [weak self] in self?.timerFired() }
        lastUpdateSecond = guestSecond(at: timers.clock.now)
        lastPeriodicIndex = periodicIndex(at: timers.clock.now) ?? 0
    }

    public static let portRanges = [PortRange(base: RTCReg.base, count: 2)]

    public func attach(to bus: PortIOBus, name: String = "rtc") throws(MachineError) {
        try bus.claim(Self.portRanges, device: self, name: name)
    }

    private var now: UInt64 { timers.clock.now }
    private var regA: UInt8 { cmos[RTCReg.regA] }
    private var regB: UInt8 { cmos[RTCReg.regB] }

    // MARK: Time base

    /// Time is frozen while SET is set or the divider chain is held in reset.
    private var frozen: Bool {
        regB & RTCReg.bSET != 0 || regA & RTCReg.aDividerResetMask == RTCReg.aDividerResetMask
    }

    /// Guest wall-clock nanoseconds since the epoch, without the whole-second offset.
    private func baseNanoseconds(at t: UInt64) -> Int64 { startEpochNanoseconds &+ Int64(bitPattern: t) }

    private func guestSecond(at t: UInt64) -> Int64 {
        floorDiv(baseNanoseconds(at: t), 1_000_000_000) &+ offsetSeconds
    }

    /// Nanoseconds into the current guest second.
    private func subsecond(at t: UInt64) -> UInt64 {
        let ns = baseNanoseconds(at: t)
        return UInt64(ns - floorDiv(ns, 1_000_000_000) * 1_000_000_000)
    }

    /// The guest's current time (the registers' value while frozen).
    public var guestTime: Int64 {
        frozen ? registersToSeconds() : guestSecond(at: now)
    }

    // MARK: Register encoding

    private var binary: Bool { regB & RTCReg.bDM != 0 }

    private func encode(_ value: Int) -> UInt8 {
        let v = UInt8(truncatingIfNeeded: value)
        return binary ? v : (v / 10) << 4 | v % 10
    }

    private func decode(_ value: UInt8) -> Int {
        binary ? Int(value) : Int(value >> 4) * 10 + Int(value & 0x0F)
    }

    private func encodeHours(_ hour: Int) -> UInt8 {
        if regB & RTCReg.b24Hour != 0 { return encode(hour) }
        let h12 = hour % 12 == 0 ? 12 : hour % 12
        return encode(h12) | (hour >= 12 ? RTCReg.hoursPM : 0)
    }

    private func decodeHours(_ value: UInt8) -> Int {
        if regB & RTCReg.b24Hour != 0 { return decode(value) }
        let h = decode(value & ~RTCReg.hoursPM) % 12
        return h + (value & RTCReg.hoursPM != 0 ? 12 : 0)
    }

    /// The time registers for guest second `t`, keyed by CMOS index.
    private func timeRegisters(for t: Int64) -> [(Int, UInt8)] {
        let c = CivilTime(secondsSinceEpoch: t)
        return [
            (RTCReg.seconds, encode(c.second)),
            (RTCReg.minutes, encode(c.minute)),
            (RTCReg.hours, encodeHours(c.hour)),
            (RTCReg.dayOfWeek, encode(c.weekday)),
            (RTCReg.dayOfMonth, encode(c.day)),
            (RTCReg.month, encode(c.month)),
            (RTCReg.year, encode(c.year % 100)),
            (RTCReg.century, encode(c.year / 100)),
        ]
    }

    private static let timeIndices: Set<Int> = [
        RTCReg.seconds, RTCReg.minutes, RTCReg.hours, RTCReg.dayOfWeek,
        RTCReg.dayOfMonth, RTCReg.month, RTCReg.year, RTCReg.century,
    ]

    private func storeTimeRegisters(for t: Int64) {
        for (i, v) in timeRegisters(for: t) { cmos[i] = v }
    }

    private func registersToSeconds() -> Int64 {
        let year = decode(cmos[RTCReg.century]) * 100 + decode(cmos[RTCReg.year])
        let c = CivilTime(year: year, month: decode(cmos[RTCReg.month]), day: decode(cmos[RTCReg.dayOfMonth]),
                          hour: decodeHours(cmos[RTCReg.hours]), minute: decode(cmos[RTCReg.minutes]),
                          second: decode(cmos[RTCReg.seconds]))
        return c.secondsSinceEpoch
    }

    /// Makes the running clock show the time now held in the registers.
    private func adoptRegisters(at t: UInt64) {
        offsetSeconds = registersToSeconds() - floorDiv(baseNanoseconds(at: t), 1_000_000_000)
        lastUpdateSecond = guestSecond(at: t)
    }

    // MARK: Flags and interrupts

    /// Processes the update cycles and periodic ticks that happened up to `t`.
    private func catchUp(to t: UInt64) {
        if !frozen {
            let current = guestSecond(at: t)
            if current > lastUpdateSecond {
                flags |= RTCReg.cUF
                // Alarm: compare each second that ended; a day covers every alarm setting.
                let first = max(lastUpdateSecond + 1, current - 86_400)
                var s = first
                while s <= current {
                    if alarmMatches(s) {
                        flags |= RTCReg.cAF
                        break
                    }
                    s += 1
                }
            }
            lastUpdateSecond = current
        }
        if let index = periodicIndex(at: t) {
            if index > lastPeriodicIndex { flags |= RTCReg.cPF }
            lastPeriodicIndex = index
        }
    }

    private func alarmMatches(_ second: Int64) -> Bool {
        let regs = timeRegisters(for: second)
        func matches(_ alarm: Int, _ field: Int) -> Bool {
            let a = cmos[alarm]
            if a & RTCReg.alarmDontCare == RTCReg.alarmDontCare { return true }
            return regs.first { $0.0 == field }?.1 == a
        }
        return matches(RTCReg.secondsAlarm, RTCReg.seconds)
            && matches(RTCReg.minutesAlarm, RTCReg.minutes)
            && matches(RTCReg.hoursAlarm, RTCReg.hours)
    }

    /// Length of a periodic interrupt period in 32.768 kHz cycles (datasheet table 5: RS 1 and 2
    /// repeat the rates of RS 8 and 9; RS 0 is off). Nil when the divider is not running.
    private var periodicCycles: UInt64? {
        let rs = regA & RTCReg.aRateMask
        guard rs != 0, regA & RTCReg.aDividerResetMask != RTCReg.aDividerResetMask else { return nil }
        return rs <= 2 ? UInt64(1) << UInt64(rs + 6) : UInt64(1) << UInt64(rs - 1)
    }

    private func periodicIndex(at t: UInt64) -> UInt64? {
        guard let cycles = periodicCycles else { return nil }
        return TickConversion.ticks(t, hz: RTCReg.timeBaseHz) / cycles
    }

    private var enabledFlags: UInt8 { regB & (RTCReg.bPIE | RTCReg.bAIE | RTCReg.bUIE) }

    private func updateInterrupt() {
        irq.set(flags & enabledFlags != 0)
    }

    private func rearm(at t: UInt64) {
        if !frozen, regB & (RTCReg.bUIE | RTCReg.bAIE) != 0 {
            // Next guest-second boundary, in machine time.
            timers.arm(updateTimer, at: t &+ (1_000_000_000 - subsecond(at: t)))
        } else {
            timers.disarm(updateTimer)
        }
        if regB & RTCReg.bPIE != 0, let cycles = periodicCycles, let index = periodicIndex(at: t) {
            timers.arm(periodicTimer, at: TickConversion.nanoseconds((index + 1) * cycles, hz: RTCReg.timeBaseHz))
        } else {
            timers.disarm(periodicTimer)
        }
    }

    private func timerFired() {
        let t = now
        catchUp(to: t)
        updateInterrupt()
        rearm(at: t)
    }

    // MARK: Ports

    public func readByte(offset: UInt16) -> UInt8 {
        switch offset {
        case RTCReg.indexOffset: return 0xFF // write-only
        case RTCReg.dataOffset: return readRegister(Int(index))
        default: return 0xFF
        }
    }

    public func writeByte(offset: UInt16, value: UInt8) {
        switch offset {
        case RTCReg.indexOffset:
            index = value & RTCReg.indexMask
            nmiMasked = value & RTCReg.nmiMask != 0
        case RTCReg.dataOffset:
            writeRegister(Int(index), value)
        default:
            break
        }
    }

    /// Reads CMOS byte `i` (0-127) as the guest would.
    public func readRegister(_ i: Int) -> UInt8 {
        guard cmos.indices.contains(i) else { return 0xFF }
        let t = now
        switch i {
        case _ where Self.timeIndices.contains(i):
            if frozen { return cmos[i] }
            return timeRegisters(for: guestSecond(at: t)).first { $0.0 == i }?.1 ?? 0
        case RTCReg.regA:
            var value = regA & ~RTCReg.aUIP
            if !frozen, subsecond(at: t) >= 1_000_000_000 - RTCReg.uipLeadNanoseconds { value |= RTCReg.aUIP }
            return value
        case RTCReg.regC:
            catchUp(to: t)
            var value = flags
            if flags & enabledFlags != 0 { value |= RTCReg.cIRQF }
            flags = 0
            updateInterrupt()
            return value
        case RTCReg.regD:
            return RTCReg.dVRT
        default:
            return cmos[i]
        }
    }

    /// Writes CMOS byte `i` (0-127) as the guest would.
    public func writeRegister(_ i: Int, _ value: UInt8) {
        guard cmos.indices.contains(i) else { return }
        let t = now
        catchUp(to: t)
        switch i {
        case _ where Self.timeIndices.contains(i):
            if frozen {
                cmos[i] = value
            } else {
                // A write while running sets that field of the running clock.
                storeTimeRegisters(for: guestSecond(at: t))
                cmos[i] = value
                adoptRegisters(at: t)
            }
        case RTCReg.regA:
            let wasFrozen = frozen
            cmos[i] = value & ~RTCReg.aUIP
            freezeTransition(from: wasFrozen, at: t)
            lastPeriodicIndex = periodicIndex(at: t) ?? 0
        case RTCReg.regB:
            let wasFrozen = frozen
            var newValue = value
            // Setting SET clears UIE (MC146818A, register B: "UIE is cleared by SET going high").
            if newValue & RTCReg.bSET != 0 { newValue &= ~RTCReg.bUIE }
            cmos[i] = newValue
            freezeTransition(from: wasFrozen, at: t)
        case RTCReg.regC, RTCReg.regD:
            break // read-only
        default:
            cmos[i] = value
        }
        updateInterrupt()
        rearm(at: t)
    }

    private func freezeTransition(from wasFrozen: Bool, at t: UInt64) {
        if !wasFrozen && frozen {
            storeTimeRegisters(for: guestSecond(at: t))
        } else if wasFrozen && !frozen {
            adoptRegisters(at: t)
        }
    }

    // MARK: NVRAM for the board

    /// Reads a CMOS byte without side effects (no flag clearing).
    public func cmosByte(_ i: Int) -> UInt8 {
        cmos.indices.contains(i) ? cmos[i] : 0xFF
    }

    /// Sets a RAM byte of CMOS (index 0x0E-0x7F) and keeps the checksum right.
    public func setCMOSByte(_ i: Int, _ value: UInt8) {
        guard (0x0E..<RTCReg.cmosSize).contains(i), i != RTCReg.century else { return }
        cmos[i] = value
        if CMOSLayout.checksumRange.contains(i) { updateChecksum() }
    }

    /// Fills the memory-size bytes a BIOS reads for `bytes` of RAM. Memory from
    /// `pciHoleStart` up to 4 GiB is not RAM on the board; RAM that would sit there is placed
    /// above 4 GiB.
    public func setMemorySize(bytes: UInt64, pciHoleStart: UInt64 = 0xE000_0000) {
        let mib: UInt64 = 1 << 20
        let below4G = min(bytes, pciHoleStart)
        let above4G = bytes - below4G
        func put16(_ low: Int, _ value: UInt64) {
            let v = min(value, 0xFFFF)
            cmos[low] = UInt8(v & 0xFF)
            cmos[low + 1] = UInt8(v >> 8)
        }
        put16(CMOSLayout.baseMemoryLow, 640)
        let extendedKiB = below4G > mib ? (below4G - mib) / 1024 : 0
        put16(CMOSLayout.extendedMemoryLow, extendedKiB)
        put16(CMOSLayout.extendedMemoryLow2, extendedKiB)
        let above16M = below4G > 16 * mib ? (below4G - 16 * mib) / 65_536 : 0
        put16(CMOSLayout.memoryAbove16MLow, above16M)
        let high = min(above4G / 65_536, 0xFF_FFFF)
        cmos[CMOSLayout.memoryAbove4G] = UInt8(high & 0xFF)
        cmos[CMOSLayout.memoryAbove4G + 1] = UInt8((high >> 8) & 0xFF)
        cmos[CMOSLayout.memoryAbove4G + 2] = UInt8(high >> 16)
        updateChecksum()
    }

    /// Recomputes the checksum over 0x10-0x2D (stored big-endian at 0x2E/0x2F).
    public func updateChecksum() {
        var sum: UInt16 = 0
        for i in CMOSLayout.checksumRange { sum &+= UInt16(cmos[i]) }
        cmos[CMOSLayout.checksumHigh] = UInt8(sum >> 8)
        cmos[CMOSLayout.checksumLow] = UInt8(sum & 0xFF)
    }
}

extension MC146818RTC: StatefulDevice {
    /// The CMOS bytes, the index latch and what ties the guest's clock to the machine clock.
    /// Timer deadlines are not kept: they follow from register B and the clock.
    public struct State: Equatable, Sendable {
        /// All 128 bytes. The time bytes hold the frozen time while SET is set and are
        /// recomputed from the clock otherwise; register C's live copy is `flags`.
        public var cmos: [UInt8]
        /// The index latched at 0x70 and its NMI mask bit.
        public var index: UInt8
        public var nmiMasked: Bool
        /// Guest wall-clock time at machine time 0, in nanoseconds since the Unix epoch, and
        /// the whole seconds the guest moved its clock by: guest time is their sum with the
        /// machine clock. A restore onto a machine clock that was put back too resumes the
        /// guest's time exactly.
        public var startEpochNanoseconds: Int64
        public var offsetSeconds: Int64
        /// Register C's PF, AF and UF not yet read.
        public var flags: UInt8
        /// The guest second whose update cycle was last processed, and the periodic tick.
        public var lastUpdateSecond: Int64
        public var lastPeriodicIndex: UInt64
    }

    public var state: State {
        State(cmos: cmos, index: index, nmiMasked: nmiMasked, startEpochNanoseconds: startEpochNanoseconds,
              offsetSeconds: offsetSeconds, flags: flags, lastUpdateSecond: lastUpdateSecond,
              lastPeriodicIndex: lastPeriodicIndex)
    }

    /// Refuses a CMOS of the wrong size, an index beyond the 128 bytes (0x70 bits 6:0) and
    /// register C bits other than PF, AF and UF (IRQF is computed). IRQ8 is driven from the
    /// restored flags and enables and the update and periodic timers re-armed from them.
    public func restore(_ state: State) throws(MachineError) {
        func refuse(_ reason: String) -> MachineError { .invalidDeviceState(device: "MC146818 RTC", reason: reason) }
        guard state.cmos.count == RTCReg.cmosSize else { throw refuse("\(state.cmos.count) CMOS bytes, not \(RTCReg.cmosSize)") }
        guard state.index & ~RTCReg.indexMask == 0 else { throw refuse("index 0x\(String(state.index, radix: 16)) beyond the CMOS") }
        guard state.flags & ~(RTCReg.cPF | RTCReg.cAF | RTCReg.cUF) == 0 else { throw refuse("register C flags 0x\(String(state.flags, radix: 16))") }
        guard state.cmos[RTCReg.regA] & RTCReg.aUIP == 0 else { throw refuse("UIP is computed, never stored") }
        cmos = state.cmos
        index = state.index
        nmiMasked = state.nmiMasked
        startEpochNanoseconds = state.startEpochNanoseconds
        offsetSeconds = state.offsetSeconds
        flags = state.flags
        lastUpdateSecond = state.lastUpdateSecond
        lastPeriodicIndex = state.lastPeriodicIndex
        updateInterrupt()
        rearm(at: now)
    }

    /// The RESET pin (MC146818A datasheet, "RESET"): PIE, AIE, UIE and SQWE of register B are
    /// cleared, and IRQF, PF, AF and UF of register C, so IRQ8 is released. The time, the
    /// calendar, the alarm, register A, the rest of register B and the CMOS RAM are kept: a
    /// reset is not a loss of power.
    public func reset() {
        catchUp(to: now)
        cmos[RTCReg.regB] &= ~(RTCReg.bPIE | RTCReg.bAIE | RTCReg.bUIE | RTCReg.bSQWE)
        flags = 0
        updateInterrupt()
        rearm(at: now)
    }
}
