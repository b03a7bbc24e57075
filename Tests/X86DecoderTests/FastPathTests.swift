import XCTest
@testable import X86Decoder

/// The decoder reads without bounds checks when at least `X86Decoder.directMinimum` bytes are
/// readable, and decodes shorter input from a zero-padded copy. Both paths must give the same
/// answer, and truncated input must fail exactly where the bytes run out.
final class FastPathTests: XCTestCase {
    /// Deterministic generator (SplitMix64) so a failure reproduces.
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    }

    /// Random bytes biased toward prefixes, escapes and VEX/EVEX so every path is reached.
    static func sequence(_ r: inout Rng) -> [UInt8] {
        let prefixes: [UInt8] = [0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x40, 0x48, 0x4F]
        var out: [UInt8] = []
        for _ in 0..<Int(r.next() % 4) { out.append(prefixes[Int(r.next() % UInt64(prefixes.count))]) }
        switch r.next() % 6 {
        case 0: out.append(0x0F)
        case 1: out += [0x0F, [0x38, 0x3A, 0x0F][Int(r.next() % 3)]]
        case 2: out.append([0xC4, 0xC5, 0x62][Int(r.next() % 3)])
        default: break
        }
        while out.count < 15 { out.append(r.byte()) }
        return Array(out.prefix(15))
    }

    static func fields(_ d: DecodedInstruction) -> [Int64] {
        [Int64(d.form), Int64(d.mnemonic), Int64(d.length), Int64(d.bitness), Int64(d.operandSize),
         Int64(d.addressSize), Int64(d.prefixes), Int64(d.rex), Int64(d.segment), Int64(d.segmentOverride),
         Int64(d.opcode), Int64(d.modrm), Int64(d.sib), Int64(d.reg), Int64(d.rm), Int64(d.vvvv), Int64(d.opmask),
         Int64(d.vectorLength), Int64(d.evex), Int64(d.memoryBase), Int64(d.memoryIndex), Int64(d.memoryScale),
         d.hasMemory ? 1 : 0, d.displacement, Int64(bitPattern: d.immediate), Int64(bitPattern: d.immediate2)]
    }

    func decode(_ dec: X86Decoder, _ bytes: [UInt8], count: Int) -> DecodedInstruction {
        var d = DecodedInstruction()
        bytes.withUnsafeBufferPointer { _ = dec.decode($0.baseAddress!, count: count, into: &d) }
        return d
    }

    func testDirectAndPaddedPathsAgree() {
        var r = Rng(s: 0x5EED)
        var valid = 0
        for bits in [16, 32, 64] {
            let dec = X86Decoder(bitness: bits)!
            for _ in 0..<20_000 {
                let seq = FastPathTests.sequence(&r)
                // Direct: the 15 bytes followed by junk (which must not matter).
                var long = seq
                for _ in 0..<(X86Decoder.directMinimum + 1) { long.append(r.byte()) }
                let direct = decode(dec, long, count: long.count)
                let padded = decode(dec, seq, count: seq.count)
                XCTAssertEqual(direct.form, padded.form, "\(bits)-bit \(seq)")
                XCTAssertEqual(direct.length, padded.length, "\(bits)-bit \(seq)")
                if direct.isValid {
                    valid += 1
                    XCTAssertEqual(FastPathTests.fields(direct), FastPathTests.fields(padded), "\(bits)-bit \(seq)")
                }
                // Truncated: the same instruction when it fits, else invalid at the end of input.
                let n = Int(r.next() % 15)
                let cut = decode(dec, Array(seq.prefix(n)) + [0], count: n)
                if padded.isValid && Int(padded.length) <= n {
                    XCTAssertEqual(FastPathTests.fields(cut), FastPathTests.fields(padded), "\(bits)-bit \(seq) cut \(n)")
                } else if padded.isValid {
                    XCTAssertFalse(cut.isValid, "\(bits)-bit \(seq) cut \(n)")
                    XCTAssertEqual(Int(cut.length), max(1, n), "\(bits)-bit \(seq) cut \(n)")
                }
            }
        }
        XCTAssertGreaterThan(valid, 10_000, "the generator should produce mostly valid instructions")
    }

    func testLengthLimitOnTheDirectPath() {
        let dec = X86Decoder(bitness: 64)!
        // 14 prefixes + NOP is 15 bytes: valid; one more prefix makes it too long.
        let ok = [UInt8](repeating: 0x66, count: 14) + [0x90] + [UInt8](repeating: 0x90, count: 40)
        XCTAssertEqual(decode(dec, ok, count: ok.count).length, 15)
        let long = [UInt8](repeating: 0x66, count: 15) + [0x90] + [UInt8](repeating: 0x90, count: 40)
        let d = decode(dec, long, count: long.count)
        XCTAssertFalse(d.isValid)
        XCTAssertEqual(d.length, 15)
        // MOV RAX, imm64 after 6 prefixes needs 16 bytes: invalid even though bytes follow.
        let mov = [UInt8](repeating: 0x66, count: 6) + [0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8] + [UInt8](repeating: 0, count: 40)
        XCTAssertFalse(decode(dec, mov, count: mov.count).isValid)
        XCTAssertTrue(decode(dec, Array(mov.dropFirst()), count: mov.count - 1).isValid)
    }
}
