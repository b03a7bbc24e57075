import MachineCore

/// How a run ended, as the command line reports it.
public struct MachineOutcome: Equatable, Sendable {
    /// The process exit status (docs/ARCHITECTURE.md, "Exit status").
    public let exitStatus: Int32
    /// A line for stderr, when the end is not an ordinary poweroff or debug exit.
    public let message: String?

    public static let poweredOff = MachineOutcome(exitStatus: ExitStatus.poweredOff, message: nil)

    public static func debugExit(_ value: UInt32) -> MachineOutcome {
        MachineOutcome(exitStatus: ExitStatus.debugExit(value), message: nil)
    }

    public static func tripleFault(_ why: String, dump: String?) -> MachineOutcome {
        MachineOutcome(exitStatus: ExitStatus.tripleFault,
                       message: "guest CPU shut down (\(why)); registers:" + (dump.map { "\n" + $0 } ?? ""))
    }

    public static func engineFailure(_ why: String) -> MachineOutcome {
        MachineOutcome(exitStatus: ExitStatus.engineFailure, message: why)
    }

    public static func guestCrashed(_ how: String) -> MachineOutcome {
        MachineOutcome(exitStatus: ExitStatus.guestCrashed, message: "the guest reported a crash to the hypervisor (\(how))")
    }

    public static let resetRequested = MachineOutcome(
        exitStatus: ExitStatus.resetRequested, message: "guest requested a reset; exiting because of --no-reboot")

    public static func signal(_ number: Int32) -> MachineOutcome {
        MachineOutcome(exitStatus: 128 + number, message: "stopped by signal \(number)")
    }
}
