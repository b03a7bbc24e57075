#if canImport(Glibc)
import Glibc
#endif

/// The machine's notion of time, in nanoseconds since the machine was built.
///
/// `host` follows CLOCK_MONOTONIC. `virtual` advances only when the engine says so
/// (`advance(by:)`, driven by instructions retired), which makes a run reproducible.
public final class MachineClock: @unchecked Sendable {
    public enum Mode: Sendable { case host, virtual }
    public let mode: Mode
    private let start: UInt64
    private var virtualNow: UInt64 = 0

    public init(mode: Mode = .host) {
        self.mode = mode
        start = MachineClock.monotonicNanoseconds()
    }

    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Nanoseconds of machine time since construction.
    public var now: UInt64 {
        switch mode {
        case .host: return MachineClock.monotonicNanoseconds() &- start
        case .virtual: return virtualNow
        }
    }

    /// Advances a virtual clock; ignored by a host clock.
    public func advance(by nanoseconds: UInt64) {
        if mode == .virtual { virtualNow &+= nanoseconds }
    }
}

/// Timers that devices arm on the machine clock. Whoever runs the machine calls
/// `runExpired()` often enough (the interpreter between blocks, the KVM machine from its
/// event thread) and may sleep until `nextDeadline`.
public final class TimerQueue: @unchecked Sendable {
    public struct Handle: Hashable, Sendable { let id: Int }

    private struct Entry {
        let id: Int
        var deadline: UInt64?
        let callback: () -> Void
    }

    public let clock: MachineClock
    private var entries: [Entry] = []

    public init(clock: MachineClock) { self.clock = clock }

    /// Creates a disarmed timer that calls `callback` when it expires.
    public func makeTimer(_ callback: @escaping () -> Void) -> Handle {
        entries.append(Entry(id: entries.count, deadline: nil, callback: callback))
        return Handle(id: entries.count - 1)
    }

    /// Arms a timer to fire at machine time `deadline` (ns); re-arming replaces the old deadline.
    public func arm(_ handle: Handle, at deadline: UInt64) { entries[handle.id].deadline = deadline }

    public func disarm(_ handle: Handle) { entries[handle.id].deadline = nil }

    public func isArmed(_ handle: Handle) -> Bool { entries[handle.id].deadline != nil }

    /// Earliest armed deadline, if any.
    public var nextDeadline: UInt64? {
        var best: UInt64?
        for e in entries { if let d = e.deadline, best == nil || d < best! { best = d } }
        return best
    }

    /// Fires every timer whose deadline has passed. A callback may re-arm its own timer.
    /// Returns the number of timers fired.
    @discardableResult
    public func runExpired() -> Int {
        let now = clock.now
        var fired = 0
        for i in entries.indices {
            if let d = entries[i].deadline, d <= now {
                entries[i].deadline = nil
                entries[i].callback()
                fired += 1
            }
        }
        return fired
    }
}
