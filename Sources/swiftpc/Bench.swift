import ArgumentParser
import Foundation
import KVMAccel
import Machine
import MachineCore
#if canImport(Glibc)
import Glibc
#endif

/// `swiftpc bench`: prints figures; never fails on a time.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (print figures).",
        discussion: """
            With no option: the built-in integer workloads on the interpreter, in guest MIPS. \
            --pio-exits N: cost of one port-I/O exit round trip through swiftpc's KVM engine (ns).
            """)

    @Option(help: "Measure N port-I/O exits through the KVM engine and the port bus.")
    var pioExits: Int?

    @Option(help: "Run only this workload (alu, memory, sieve, calls).")
    var workload: String?

    @Option(help: ArgumentHelp("Translate the workloads' 64-bit code into host code (on) or interpret it (off).", valueName: "on|off"))
    var jit = "on"

    func run() throws {
        if let exits = pioExits {
            guard exits > 0 else { fail("--pio-exits must be positive") }
            do {
                let ns = try KVMBenchmarks.portIORoundTrip(exits: exits)
                print("swiftpc port-I/O exit round trip: \(String(format: "%.0f", ns)) ns (\(exits) exits)")
            } catch {
                FileHandleStderr.write("swiftpc: bench: \(error)\n")
                Glibc.exit(ExitStatus.engineFailure)
            }
            return
        }
        guard jit == "on" || jit == "off" else { fail("invalid --jit '\(jit)': use on or off") }
        let names = workload.map { [$0] } ?? CPUBenchmark.workloads
        for name in names where !CPUBenchmark.workloads.contains(name) {
            fail("unknown workload '\(name)': use \(CPUBenchmark.workloads.joined(separator: ", "))")
        }
        var totalInstructions: UInt64 = 0
        var totalSeconds = 0.0
        for name in names {
            do {
                let r = try CPUBenchmark.run(name, blockTranslation: jit == "on")
                totalInstructions += r.instructions
                totalSeconds += r.seconds
                print(name.padding(toLength: 8, withPad: " ", startingAt: 0) + String(format: " %11llu instructions in %6.2f s: %7.1f MIPS", r.instructions, r.seconds, r.mips))
            } catch {
                FileHandleStderr.write("swiftpc: bench: \(error)\n")
                Glibc.exit(ExitStatus.engineFailure)
            }
        }
        if names.count > 1 {
            print(String(format: "total    %11llu instructions in %6.2f s: %7.1f MIPS", totalInstructions, totalSeconds,
                         Double(totalInstructions) / totalSeconds / 1e6))
        }
    }

    func fail(_ message: String) -> Never {
        FileHandleStderr.write("swiftpc: bench: \(message)\n")
        Glibc.exit(ExitStatus.badArguments)
    }
}
