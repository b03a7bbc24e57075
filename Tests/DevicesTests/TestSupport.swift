import MachineCore
@testable import Devices

/// Reads and writes one byte register of a port device.
extension PortIODevice {
    func read8(_ offset: UInt16) -> UInt8 { UInt8(truncatingIfNeeded: portRead(offset: offset, size: 1)) }
    func write8(_ offset: UInt16, _ value: UInt8) { portWrite(offset: offset, size: 1, value: UInt32(value)) }
}

/// A virtual clock and its timer queue, advanced by hand.
final class VirtualTime {
    let clock = MachineClock(mode: .virtual)
    lazy var timers = TimerQueue(clock: clock)

    /// Advances the clock by `nanoseconds` in steps no longer than `step`, firing expired
    /// timers after each step (as a run loop would).
    func advance(by nanoseconds: UInt64, step: UInt64 = .max) {
        var left = nanoseconds
        while left > 0 {
            let d = min(left, step)
            clock.advance(by: d)
            left -= d
            timers.runExpired()
        }
    }

    /// Advances to the next armed deadline (if any, and not past `limit` ns from now) and fires it.
    @discardableResult
    func runToNextDeadline(limit: UInt64 = 10_000_000_000) -> Bool {
        guard let d = timers.nextDeadline, d <= clock.now + limit else { return false }
        if d > clock.now { clock.advance(by: d - clock.now) }
        timers.runExpired()
        return true
    }
}
