import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MachineCore

/// `--migrate-every`: the vCPU alternates between KVM and a standby interpreter. Both engines
/// sit on the same memory, buses and `VCPUPlatform`, and both observe the memory, so a device
/// write reaches the standby engine's decoded code as well as the running one's.
extension Machine {
    /// Moves the vCPU to the standby engine: its whole architectural state goes across.
    func switchEngines() throws(MachineError) {
        guard let standby = standbyEngine else { return }
        let state = try engine.getState()
        try standby.setState(state)
        standbyEngine = engine
        engine = standby
        engineSwitches += 1
    }

    /// Asks for an engine switch every `interval` seconds until `done` is set.
    func startMigrationTicker(_ interval: Double, done: SharedFlag) {
        let engines = allEngines
        let due = migrationDue
        let t = Thread {
            while !done.isSet {
                usleep(UInt32(max(interval, 0.001) * 1_000_000))
                due.set()
                for e in engines { e.requestStop() }
            }
        }
        t.start()
    }
}
