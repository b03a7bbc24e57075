import ArgumentParser
import Foundation
import KVMAccel
import MachineCore
#if canImport(Glibc)
import Glibc
#endif

/// `swiftpc bench`: prints figures; never fails on a time.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (print figures).",
        discussion: "--pio-exits N: cost of one port-I/O exit round trip through swiftpc's KVM engine (ns).")

    @Option(help: "Measure N port-I/O exits through the KVM engine and the port bus.")
    var pioExits: Int?

    func run() throws {
        guard let exits = pioExits else {
            FileHandleStderr.write("swiftpc: bench: give --pio-exits N (the interpreter workloads arrive with the interpreter)\n")
            Glibc.exit(ExitStatus.badArguments)
        }
        guard exits > 0 else {
            FileHandleStderr.write("swiftpc: bench: --pio-exits must be positive\n")
            Glibc.exit(ExitStatus.badArguments)
        }
        do {
            let ns = try KVMBenchmarks.portIORoundTrip(exits: exits)
            print("swiftpc port-I/O exit round trip: \(String(format: "%.0f", ns)) ns (\(exits) exits)")
        } catch {
            FileHandleStderr.write("swiftpc: bench: \(error)\n")
            Glibc.exit(ExitStatus.engineFailure)
        }
    }
}
