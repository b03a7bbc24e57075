import Foundation
import MachineCore
import Devices

/// `swiftpc bench`: runs the built-in integer workloads on the interpreter and reports guest
/// MIPS (instructions retired per second of wall time). Prints figures; never fails on a time.
public enum CPUBenchmark {
    public static let workloads = ["alu", "memory", "sieve", "calls"]

    public struct Result {
        public let workload: String
        public let instructions: UInt64
        public let seconds: Double
        public var mips: Double { Double(instructions) / seconds / 1e6 }
    }

    /// `blockTranslation`: 64-bit code runs translated (the default of `swiftpc run`).
    public static func run(_ workload: String, blockTranslation: Bool = true) throws(MachineError) -> Result {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-bench-\(getpid()).bin").path
        guard FileManager.default.createFile(atPath: path, contents: Data(benchWorkloadImage)) else {
            throw .unreadableFile(path: path, reason: "cannot write the benchmark guest")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        var config = MachineConfig()
        config.accel = .interp
        config.memorySize = 64 << 20
        config.kernel = path
        config.commandLine = workload
        config.serial = .none
        config.blockTranslation = blockTranslation
        let machine = try Machine(config: config, serialBackend: NullSerialBackend())
        let start = MachineClock.monotonicNanoseconds()
        let outcome = machine.run()
        let seconds = Double(MachineClock.monotonicNanoseconds() - start) / 1e9
        guard outcome.exitStatus == ExitStatus.debugExit(0), let retired = machine.engine.statistics.instructionsRetired else {
            throw .engineFailure("benchmark workload \(workload) failed: status \(outcome.exitStatus) \(outcome.message ?? "")")
        }
        return Result(workload: workload, instructions: retired, seconds: seconds)
    }
}
