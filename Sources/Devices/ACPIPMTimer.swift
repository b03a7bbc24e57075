import MachineCore

/// The ACPI power-management timer (ACPI spec §4.8.3.3): a free-running 3.579545 MHz counter,
/// read-only, 32 bits wide here (the FADT sets TMR_VAL_EXT). Linux uses it as a clocksource
/// and to calibrate the TSC quickly. At the PIIX4 PM base + 8.
public final class ACPIPMTimer: PortIODevice {
    public static let defaultPort: UInt16 = 0x608
    public static let width = 4
    public static let frequencyHz: UInt64 = 3_579_545

    public let port: UInt16
    private let clock: MachineClock

    public init(clock: MachineClock, port: UInt16 = ACPIPMTimer.defaultPort) {
        self.clock = clock
        self.port = port
    }

    public func attach(to bus: PortIOBus, name: String = "acpi-pm-timer") throws(MachineError) {
        _ = try bus.claim(base: port, count: Self.width, device: self, name: name)
    }

    /// The counter now: machine time in ticks of the 3.579545 MHz clock.
    public var count: UInt32 {
        let ns = clock.now
        // 128-bit product: the 64-bit one would wrap after about 85 minutes.
        let (high, low) = ns.multipliedFullWidth(by: ACPIPMTimer.frequencyHz)
        let ticks = UInt64(1_000_000_000).dividingFullWidth((high, low)).quotient
        return UInt32(truncatingIfNeeded: ticks)
    }

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: UInt64(count) >> UInt64(offset * 8) & allOnes(size: size))
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {}
}

extension ACPIPMTimer: BoardDevice {
    /// Nothing to reset: the counter is a function of the machine clock (ACPI spec §4.8.3.3:
    /// it runs freely and software reads it, never writes it), so it has no register of its
    /// own to put back; its value after a reset is where the clock is.
    public func reset() {}
}
