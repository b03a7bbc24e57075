/// Why a machine stopped running guest code. Devices request these; the engine's run loop
/// sees the request after the access that made it and returns to the machine.
public enum MachineStopReason: Equatable, Sendable {
    /// The guest powered off (ACPI S5, or a BIOS/APM poweroff).
    case powerOff
    /// The guest asked for a reset (i8042 pulse, port 0x92, 0xCF9, triple fault when rebooting).
    case reset
    /// The guest wrote `value` to the debug-exit port (QEMU's isa-debug-exit convention).
    case debugExit(UInt32)
    /// The CPU shut down (triple fault).
    case shutdown(String)
    /// The guest told the hypervisor it crashed (Xen SCHEDOP_shutdown with SHUTDOWN_crash); the
    /// string says how it put it.
    case guestCrashed(String)
    /// The engine failed; the string says how (one line).
    case engineFailure(String)
    /// Stopped from outside (signal, window closed, test harness).
    case external
}

/// The channel from devices (and the host side: signals, the UI) to the vCPU loop.
/// Thread-safe: devices call it on a vCPU thread, signal handlers on another.
public final class MachineControl: @unchecked Sendable {
    private let lock = Lock()
    private var reason: MachineStopReason?
    /// Called after a stop is requested, to kick vCPUs out of the engine (set by the machine).
    public var onStopRequested: (() -> Void)?

    public init() {}

    /// Records the first stop request; later ones are ignored until `clear()`.
    public func requestStop(_ why: MachineStopReason) {
        let first: Bool = lock.withLock {
            if reason == nil { reason = why; return true }
            return false
        }
        if first { onStopRequested?() }
    }

    public var stopReason: MachineStopReason? { lock.withLock { reason } }

    public var isStopRequested: Bool { lock.withLock { reason != nil } }

    /// Forgets the request (after a reset has been carried out).
    public func clear() { lock.withLock { reason = nil } }
}

/// Exit statuses of `swiftpc run` (docs/ARCHITECTURE.md, "Exit status"). Odd values belong to the
/// debug-exit port; even values are ours.
public enum ExitStatus {
    public static let poweredOff: Int32 = 0
    public static let badArguments: Int32 = 2
    public static let tripleFault: Int32 = 4
    public static let engineFailure: Int32 = 6
    /// The guest asked for a reset while `--no-reboot` was given.
    public static let resetRequested: Int32 = 8
    /// The guest reported a crash to the hypervisor (Xen SHUTDOWN_crash or SHUTDOWN_watchdog).
    public static let guestCrashed: Int32 = 10

    /// Status for a write of `value` to the debug-exit port: `(value << 1) | 1`, truncated to 8 bits as the OS does.
    public static func debugExit(_ value: UInt32) -> Int32 { Int32(truncatingIfNeeded: ((value << 1) | 1) & 0xff) }
}
