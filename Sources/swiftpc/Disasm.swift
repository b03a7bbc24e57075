import ArgumentParser
import MachineCore
import X86Decoder
#if canImport(Glibc)
import Glibc
#endif

/// `swiftpc disasm`: one line per instruction, `LENGTH<TAB>intel-syntax text` or
/// `LENGTH<TAB>(bad)`; a bad input line gets one `error: ...` line and the next line goes on.
struct Disasm: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Disassemble hex-encoded x86 code.",
        discussion: "With no HEX argument, reads one hex string per line on standard input.")

    @Option(help: "Code size: 16, 32 or 64.")
    var bits: Int = 64

    @Flag(help: "Decode only the first instruction of each input (one output line per input line).")
    var first = false

    @Argument(help: "Hex strings (spaces allowed inside quotes).")
    var hex: [String] = []

    func run() throws {
        guard [16, 32, 64].contains(bits) else {
            FileHandleStderr.write("swiftpc: disasm: --bits must be 16, 32 or 64\n")
            Glibc.exit(ExitStatus.badArguments)
        }
        if hex.isEmpty {
            while let line = readLine(strippingNewline: true) {
                for out in Disassembler.formatLines(hex: line, bitness: bits, first: first) { print(out) }
            }
        } else {
            for h in hex {
                for out in Disassembler.formatLines(hex: h, bitness: bits, first: first) { print(out) }
            }
        }
    }
}
