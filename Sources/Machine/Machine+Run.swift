import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Devices
import MachineCore

/// The run loop: the vCPU runs on the calling thread, the host event loop (timers, console
/// input, signals) on its own; the loop ends with the outcome the CLI turns into a status.
extension Machine {
    /// Runs until the guest powers off, exits through the debug port, resets (with
    /// --no-reboot), shuts down, or a termination signal arrives.
    public func run() -> MachineOutcome {
        HostEventLoop.blockTerminationSignals()
        let backend = serialBackend
        let pacer = SerialInputPacer(serial: board.console, timers: timers)
        let xen = self.xen
        let events = HostEventLoop(lock: lock, timers: timers, control: control, inputFD: backend.inputFD) {
            let bytes = backend.readAvailableInput()
            if !bytes.isEmpty, xen?.takeInput(bytes) != true { pacer.enqueue(bytes) }
            return backend.inputFD != nil
        }
        if let xen {
            events.onTerminationRequest = {
                guard xen.requestGuestPowerOff() else { return false }
                FileHandle.standardError.write(Data(("swiftpc: SIGTERM: asked the Xen guest to power off; forcing the stop in "
                    + "\(HostEventLoop.cleanShutdownSeconds) s or on a second SIGTERM\n").utf8))
                return true
            }
        }
        let stdio = backend as? StdioSerialBackend
        stdio?.onQuitRequest = { [control] in control.requestStop(.external) }
        stdio?.enterRawMode()
        events.start()
        let tickerDone = SharedFlag()
        if let interval = config.migrationInterval { startMigrationTicker(interval, done: tickerDone) }
        defer {
            tickerDone.set()
            events.stop()
            stdio?.restore()
        }
        while true {
            let exit: VCPUExit
            do { exit = try engine.run() } catch { return .engineFailure(error.description) }
            switch exit {
            case .stopRequested, .haltedForever:
                if exit == .haltedForever, !control.isStopRequested {
                    if let xen {
                        // Under Xen that is the vCPU going down: the domain powers off.
                        xen.vcpuHaltedForever()
                    } else {
                        // Nothing can wake a CPU halted with interrupts off; wait for a signal as hardware would.
                        while !control.isStopRequested { usleep(20_000) }
                    }
                }
                guard let reason = control.stopReason else {
                    if migrationDue.take() {
                        do { try switchEngines() } catch { return .engineFailure(error.description) }
                    }
                    continue
                }
                switch reason {
                case .powerOff: return .poweredOff
                case let .debugExit(value): return .debugExit(value)
                case .reset:
                    if config.noReboot { return .resetRequested }
                    do { try reset() } catch { return .engineFailure(error.description) }
                case let .shutdown(why): return .tripleFault(why, dump: try? engine.getState().dump)
                case let .guestCrashed(how): return .guestCrashed(how)
                case let .engineFailure(why): return .engineFailure(why)
                case .external:
                    // A signal, or the user's Ctrl-A x on the console (a normal quit).
                    return events.receivedSignal.map(MachineOutcome.signal) ?? .poweredOff
                }
            case let .shutdown(why):
                return .tripleFault(why, dump: try? engine.getState().dump)
            }
        }
    }
}
