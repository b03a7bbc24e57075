// Decoder benchmark (not a test): linear sweep over a corpus of x86-64 machine code.
// Built by scripts/decoder/benchmark.sh together with Sources/X86Decoder in one -O module.
import Foundation

@main
struct DecoderBenchmark {
    static func main() {
        let args = CommandLine.arguments
        guard args.count >= 2, let data = FileManager.default.contents(atPath: args[1]) else {
            FileHandle.standardError.write("usage: bench CORPUS [ROUNDS]\n".data(using: .utf8)!)
            exit(2)
        }
        let rounds = args.count >= 3 ? Int(args[2]) ?? 3 : 3
        guard let dec = X86Decoder(bitness: 64) else { exit(2) }
        _ = ISATables.shared  // unpack the tables before timing
        var best = Double.infinity
        var count = 0, invalid = 0
        data.withUnsafeBytes { raw in
            let base = raw.bindMemory(to: UInt8.self).baseAddress!
            let n = raw.count
            var d = DecodedInstruction()
            for _ in 0..<rounds {
                count = 0; invalid = 0
                var off = 0
                let t0 = DispatchTime.now().uptimeNanoseconds
                while off < n {
                    if !dec.decode(base + off, count: n - off, into: &d) { invalid += 1 }
                    off += Int(d.length)
                    count += 1
                }
                let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                best = min(best, dt)
            }
        }
        print(String(format: "swiftpc X86Decoder: %d instructions (%d invalid) from %d bytes, best of %d: %.3f s, %.1f M instructions/s",
                     count, invalid, data.count, rounds, best, Double(count) / best / 1e6))
    }
}
