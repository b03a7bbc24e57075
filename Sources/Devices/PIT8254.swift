import MachineCore

/// The 8254 programmable interval timer at 0x40-0x43, clocked at 1.193182 MHz.
///
/// Counter 0 drives IRQ0 (its OUT pin is the line level; a TimerQueue timer fires at each
/// output change so the IRQ edge arrives on time), counter 1 is the legacy DRAM refresh timer,
/// counter 2 is gated by port 0x61 bit 0 and feeds the speaker and port 0x61 bit 5.
/// Counter values are derived from the machine clock at each access.
public final class PIT8254: ByteRegisterDevice {
    private let timers: TimerQueue
    private let irq0: IRQLine
    private var timer: TimerQueue.Handle!
    let channels: [PITChannel]

    /// `irq` is the line counter 0's output drives (ISA IRQ0).
    public init(irq: IRQLine, timers: TimerQueue) {
        self.irq0 = irq
        self.timers = timers
        // Gates of counters 0 and 1 are tied high on a PC; counter 2's comes from port 0x61.
        channels = (0..<3).map { PITChannel(index: $0, gate: $0 != 2) }
        timer = timers.makeTimer { [weak self] in self?.channel0TimerFired() }
    }

    public static let portRanges = [PortRange(base: PITReg.base, count: PITReg.portCount)]

    public func attach(to bus: PortIOBus, name: String = "pit8254") throws(MachineError) {
        try bus.claim(Self.portRanges, device: self, name: name)
    }

    private var now: UInt64 { timers.clock.now }

    // MARK: Board side

    /// Sets the gate input of `channel` (0-2); on a PC only counter 2's gate moves.
    public func setGate(channel: Int, level: Bool) {
        guard channels.indices.contains(channel) else { return }
        let ch = channels[channel]
        let t = now
        sync(ch, now: t)
        let rising = level && !ch.gate
        ch.gate = level
        switch ch.mode {
        case 0, 4:
            // Counting is suspended while the gate is low.
            if ch.frameActive {
                if !level { ch.freeze(now: t) } else if !ch.running {
                    ch.startTime = t
                    ch.running = true
                }
            }
        case 2, 3:
            // A low gate stops counting (OUT forced high); a rising gate reloads the counter.
            if !level {
                ch.freeze(now: t)
            } else if rising && ch.frameActive {
                ch.startFrame(ch.pendingReload?.count ?? ch.period, now: t)
            }
        default:
            // Modes 1 and 5: a rising gate (re)triggers the counter.
            if rising, let n = ch.armedCount { ch.startFrame(n, now: t) }
        }
        changed(ch, now: t)
    }

    /// The gate input of `channel`.
    public func gate(channel: Int) -> Bool {
        channels.indices.contains(channel) ? channels[channel].gate : false
    }

    /// The OUT pin of `channel` now.
    public func outputLevel(channel: Int) -> Bool {
        guard channels.indices.contains(channel) else { return false }
        let ch = channels[channel]
        let t = now
        sync(ch, now: t)
        return ch.output(at: ch.elapsed(t))
    }

    /// The current count of `channel` as the guest would read it (without latching).
    public func currentCount(channel: Int) -> UInt16 {
        guard channels.indices.contains(channel) else { return 0 }
        let ch = channels[channel]
        let t = now
        sync(ch, now: t)
        return ch.count(at: ch.elapsed(t))
    }

    /// The machine clock, for devices that derive their timing from the PIT's (port 0x61).
    public var clock: MachineClock { timers.clock }

    /// Machine reset: every counter back to its power-on state (mode 0, no count), IRQ0 low.
    public func reset() {
        for ch in channels {
            ch.modeBits = 0
            ch.access = PITReg.accessWord
            ch.bcd = false
            ch.nullCount = true
            ch.writeMSBNext = false
            ch.readMSBNext = false
            ch.latchedCount = nil
            ch.latchedStatus = nil
            ch.frameActive = false
            ch.running = false
            ch.armedCount = nil
            ch.pendingReload = nil
            ch.heldCount = 0
            ch.deliveredRisingEdges = 0
            ch.gate = ch.index != 2
            // Not visible while no frame runs, but reset too: the state is a new counter's.
            ch.pendingLSB = 0
            ch.latchedReadMSBNext = false
            ch.startTime = 0
            ch.elapsedBase = 0
            ch.period = 65_536
        }
        timers.disarm(timer)
        irq0.lower()
    }

    // MARK: Registers

    public func readByte(offset: UInt16) -> UInt8 {
        guard offset < 3 else { return 0xFF } // the control word register is write-only
        let ch = channels[Int(offset)]
        if let status = ch.latchedStatus {
            ch.latchedStatus = nil
            return status
        }
        if let latched = ch.latchedCount {
            let (byte, done) = readHalf(of: latched, access: ch.access, msbNext: &ch.latchedReadMSBNext)
            if done { ch.latchedCount = nil }
            return byte
        }
        let t = now
        sync(ch, now: t)
        let (byte, _) = readHalf(of: ch.count(at: ch.elapsed(t)), access: ch.access, msbNext: &ch.readMSBNext)
        return byte
    }

    /// One byte of a count per the access mode; `done` when the whole value has been read.
    private func readHalf(of value: UInt16, access: UInt8, msbNext: inout Bool) -> (UInt8, done: Bool) {
        switch access {
        case PITReg.accessLSB:
            return (UInt8(truncatingIfNeeded: value), true)
        case PITReg.accessMSB:
            return (UInt8(truncatingIfNeeded: value >> 8), true)
        default:
            if msbNext {
                msbNext = false
                return (UInt8(truncatingIfNeeded: value >> 8), true)
            }
            msbNext = true
            return (UInt8(truncatingIfNeeded: value), false)
        }
    }

    public func writeByte(offset: UInt16, value: UInt8) {
        switch offset {
        case 0..<3: writeCount(channels[Int(offset)], value)
        case PITReg.control: writeControl(value)
        default: break
        }
    }

    private func writeControl(_ value: UInt8) {
        let select = value >> PITReg.selectShift
        let t = now
        if select == PITReg.selectReadBack {
            readBack(value, now: t)
            return
        }
        let ch = channels[Int(select)]
        let access = (value & PITReg.accessMask) >> PITReg.accessShift
        sync(ch, now: t)
        if access == PITReg.accessLatch {
            // Counter latch command: the first latch holds until read (8254 datasheet).
            if ch.latchedCount == nil {
                ch.latchedCount = ch.count(at: ch.elapsed(t))
                ch.latchedReadMSBNext = false
            }
            return
        }
        // A control word resets the counter's logic; OUT goes to its mode's initial level
        // and counting waits for a new count.
        ch.heldCount = ch.count(at: ch.elapsed(t))
        ch.modeBits = (value & PITReg.modeMask) >> PITReg.modeShift
        ch.access = access
        ch.bcd = value & PITReg.bcd != 0
        ch.frameActive = false
        ch.running = false
        ch.armedCount = nil
        ch.pendingReload = nil
        ch.nullCount = true
        ch.writeMSBNext = false
        ch.readMSBNext = false
        ch.latchedCount = nil
        ch.latchedStatus = nil
        ch.deliveredRisingEdges = 0
        changed(ch, now: t)
    }

    /// Read-back command: latch count and/or status of each selected counter; a latch that
    /// is already held is kept (8254 datasheet, "Read-Back Command").
    private func readBack(_ value: UInt8, now t: UInt64) {
        let selects = [PITReg.readBackCounter0, PITReg.readBackCounter1, PITReg.readBackCounter2]
        for (i, bit) in selects.enumerated() where value & bit != 0 {
            let ch = channels[i]
            sync(ch, now: t)
            if value & PITReg.readBackNoStatus == 0, ch.latchedStatus == nil {
                ch.latchedStatus = ch.statusByte(now: t)
            }
            if value & PITReg.readBackNoCount == 0, ch.latchedCount == nil {
                ch.latchedCount = ch.count(at: ch.elapsed(t))
                ch.latchedReadMSBNext = false
            }
        }
    }

    private func writeCount(_ ch: PITChannel, _ value: UInt8) {
        let t = now
        sync(ch, now: t)
        let raw: UInt16
        switch ch.access {
        case PITReg.accessLSB:
            raw = UInt16(value)
        case PITReg.accessMSB:
            raw = UInt16(value) << 8
        default:
            if !ch.writeMSBNext {
                ch.writeMSBNext = true
                ch.pendingLSB = value
                if ch.mode == 0 {
                    // Mode 0: writing the first byte stops counting and sets OUT low.
                    ch.heldCount = ch.count(at: ch.elapsed(t))
                    ch.frameActive = false
                    ch.running = false
                    changed(ch, now: t)
                }
                return
            }
            ch.writeMSBNext = false
            raw = UInt16(ch.pendingLSB) | UInt16(value) << 8
        }
        loadCount(ch, raw, now: t)
        changed(ch, now: t)
    }

    private func loadCount(_ ch: PITChannel, _ raw: UInt16, now t: UInt64) {
        let n = ch.ticks(forCount: raw)
        ch.nullCount = false
        switch ch.mode {
        case 0, 4:
            ch.startFrame(n, now: t)
            if !ch.gate { ch.running = false }
        case 2, 3:
            if ch.frameActive {
                // Takes effect at the end of the current period.
                let e = ch.elapsed(t)
                let boundary = (e / ch.cyclePeriod + 1) * ch.cyclePeriod
                ch.pendingReload = (n, boundary)
            } else {
                ch.startFrame(n, now: t)
                if !ch.gate { ch.running = false }
            }
        default:
            // Modes 1 and 5 wait for a gate trigger.
            ch.armedCount = n
        }
    }

    // MARK: Output and timer

    /// Brings a channel's frame up to `t`: applies a pending reload whose boundary has passed
    /// and delivers counter 0's output edges to IRQ0.
    private func sync(_ ch: PITChannel, now t: UInt64) {
        if let pending = ch.pendingReload, ch.frameActive, ch.running, ch.elapsed(t) >= pending.atTick {
            deliver(ch, upTo: pending.atTick)
            let boundaryTime = ch.time(ofTick: pending.atTick)
            ch.startFrame(pending.count, now: boundaryTime)
        }
        deliver(ch, upTo: ch.elapsed(t))
    }

    /// Drives IRQ0 from counter 0's OUT at tick `e`. A rising edge that happened since the last
    /// delivery is always seen by the PIC, even if OUT is low again by now (a late timer).
    private func deliver(_ ch: PITChannel, upTo e: UInt64) {
        guard ch.index == 0 else { return }
        let rising = ch.risingEdges(upTo: e)
        if rising > ch.deliveredRisingEdges {
            ch.deliveredRisingEdges = rising
            if irq0.level { irq0.lower() }
            irq0.raise()
        }
        irq0.set(ch.output(at: e))
    }

    /// After a state change: update the output and re-arm counter 0's timer.
    private func changed(_ ch: PITChannel, now t: UInt64) {
        deliver(ch, upTo: ch.elapsed(t))
        guard ch.index == 0 else { return }
        let e = ch.elapsed(t)
        var target = ch.nextEventTick(after: e)
        if let pending = ch.pendingReload, ch.running, pending.atTick > e, target.map({ pending.atTick < $0 }) ?? true {
            target = pending.atTick
        }
        if let tick = target {
            timers.arm(timer, at: ch.time(ofTick: tick))
        } else {
            timers.disarm(timer)
        }
    }

    private func channel0TimerFired() {
        let ch = channels[0]
        let t = now
        sync(ch, now: t)
        changed(ch, now: t)
    }
}

extension PIT8254: StatefulDevice {
    /// The three counters. A counting frame is kept as its start time and elapsed base, so a
    /// restored counter goes on from where the saved one was at the same machine time.
    public struct State: Equatable, Sendable {
        /// One counter's registers, latches and counting frame. Times are machine-clock
        /// nanoseconds and counts 8254 input ticks.
        public struct Counter: Equatable, Sendable {
            public var modeBits: UInt8
            public var access: UInt8
            public var bcd: Bool
            public var gate: Bool
            public var nullCount: Bool
            public var writeMSBNext: Bool
            public var pendingLSB: UInt8
            public var readMSBNext: Bool
            public var latchedCount: UInt16?
            public var latchedReadMSBNext: Bool
            public var latchedStatus: UInt8?
            public var frameActive: Bool
            public var running: Bool
            public var startTime: UInt64
            public var elapsedBase: UInt64
            /// The frame's initial count N.
            public var period: UInt64
            public var armedCount: UInt64?
            /// A count written in modes 2 and 3 while counting, and the tick it loads at.
            public var pendingReloadCount: UInt64?
            public var pendingReloadTick: UInt64
            public var heldCount: UInt16
            public var deliveredRisingEdges: UInt64
        }
        public var counters: [Counter]
    }

    public var state: State { State(counters: channels.map(\.values)) }

    /// Refuses anything but three valid counters. Counter 0's OUT then drives IRQ0 and its
    /// timer is re-armed for the next output change, as after a register write.
    public func restore(_ state: State) throws(MachineError) {
        guard state.counters.count == channels.count else {
            throw .invalidDeviceState(device: "8254 PIT", reason: "\(state.counters.count) counters, not \(channels.count)")
        }
        for (i, counter) in state.counters.enumerated() {
            if let reason = PITChannel.invalidReason(counter) {
                throw .invalidDeviceState(device: "8254 PIT counter \(i)", reason: reason)
            }
        }
        for (channel, counter) in zip(channels, state.counters) { channel.apply(counter) }
        changed(channels[0], now: now)
    }
}
