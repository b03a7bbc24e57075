/// Exact conversion between machine nanoseconds and whole cycles of a device's input clock
/// (the PIT's 1.193182 MHz, the RTC's 32.768 kHz), without overflow for any 64-bit time.
enum TickConversion {
    /// Whole cycles of a `hz` clock elapsed in `nanoseconds`.
    static func ticks(_ nanoseconds: UInt64, hz: UInt64) -> UInt64 {
        let product = nanoseconds.multipliedFullWidth(by: hz)
        guard product.high < 1_000_000_000 else { return .max }
        return UInt64(1_000_000_000).dividingFullWidth(product).quotient
    }

    /// Earliest nanosecond offset at which `ticks` whole cycles of a `hz` clock have elapsed.
    static func nanoseconds(_ ticks: UInt64, hz: UInt64) -> UInt64 {
        let product = ticks.multipliedFullWidth(by: 1_000_000_000)
        guard product.high < hz else { return .max }
        let (q, r) = hz.dividingFullWidth(product)
        return r == 0 ? q : (q == .max ? q : q + 1)
    }
}
