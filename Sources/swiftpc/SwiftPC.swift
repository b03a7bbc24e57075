import ArgumentParser
import MachineCore
#if canImport(Glibc)
import Glibc
#endif

struct SwiftPC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftpc",
        abstract: "An x86 PC emulator and KVM virtualizer.",
        version: "0.1.0",
        subcommands: [Run.self, Disasm.self, ConformanceCommand.self, Bench.self])
}

enum ExitCodes {
    static let badArguments: Int32 = ExitStatus.badArguments
}

/// Unbuffered writes to stderr for the one-line error messages.
enum FileHandleStderr {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
