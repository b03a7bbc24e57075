import XCTest
@testable import X86Decoder

/// `swiftpc disasm` line logic (docs/ARCHITECTURE.md, "Command line"): LENGTH<TAB>text, LENGTH<TAB>(bad), error lines.
final class DisassemblerTests: XCTestCase {
    func testLinearSweep() {
        XCTAssertEqual(Disassembler.formatLines(hex: "4889c80f05c3", bitness: 64, first: false),
                       ["3\tmov rax, rcx", "2\tsyscall", "1\tret"])
    }

    func testFirstDecodesOneInstructionPerLine() {
        XCTAssertEqual(Disassembler.formatLines(hex: "4889c80f05c3", bitness: 64, first: true), ["3\tmov rax, rcx"])
    }

    func testInvalidEncodingIsBadWithBytesConsumed() {
        XCTAssertEqual(Disassembler.formatLines(hex: "0f0b", bitness: 64, first: true), ["2\tud2"])
        let bad = Disassembler.formatLines(hex: "06", bitness: 64, first: true)
        XCTAssertEqual(bad, ["1\t(bad)"])
        XCTAssertEqual(Disassembler.formatLines(hex: "0f", bitness: 32, first: false), ["1\t(bad)"])
        XCTAssertEqual(Disassembler.formatLines(hex: "06 90", bitness: 64, first: false), ["1\t(bad)", "1\tnop"])
    }

    func testBadInputGivesOneErrorLine() {
        XCTAssertEqual(Disassembler.formatLines(hex: "", bitness: 64, first: true), ["error: empty input line"])
        XCTAssertEqual(Disassembler.formatLines(hex: "   ", bitness: 64, first: false), ["error: empty input line"])
        XCTAssertEqual(Disassembler.formatLines(hex: "0f0", bitness: 64, first: true), ["error: odd number of hex digits (3)"])
        XCTAssertEqual(Disassembler.formatLines(hex: "0fzz", bitness: 64, first: true), ["error: not a hex digit 'z' at column 3"])
        XCTAssertEqual(Disassembler.formatLines(hex: "90", bitness: 8, first: true), ["error: bitness must be 16, 32 or 64"])
    }

    func testHexAllowsSpacesAndUpperCase() {
        XCTAssertEqual(Disassembler.parseHex("0F 05"), .success([0x0F, 0x05]))
    }

    func testIntelSyntaxSamples() {
        // (bitness, bytes, text, encoding space): cases in spaces opcode-maps.txt does not cover
        // yet are listed as skipped.
        let cases: [(Int, String, String, String)] = [
            (64, "f3a4", "rep movsb byte ptr es:[rdi], byte ptr [rsi]", "legacy-nonsimd"),
            (64, "f00fb10a", "lock cmpxchg dword ptr [rdx], ecx", "legacy-nonsimd"),
            (64, "c5f877", "vzeroupper", "vex"),
            (64, "c4e27d18c0", "vbroadcastss ymm0, xmm0", "vex"),
            (32, "8d440a08", "lea eax, [edx+ecx+0x8]", "legacy-nonsimd"),
            (64, "488b44c8f8", "mov rax, qword ptr [rax+rcx*8-0x8]", "legacy-nonsimd"),
            (16, "cd21", "int 0x21", "legacy-nonsimd"),
            (64, "e800000000", "call 0x5", "legacy-nonsimd"),
            (64, "0f01f8", "swapgs", "legacy-nonsimd"),
            (64, "0f01c1", "vmcall", "legacy-simd"),
            (64, "0f01d8", "vmrun", "legacy-simd"),
            (64, "0fae00", "fxsave [rax]", "legacy-simd"),
            (64, "66480f3a44c101", "pclmulqdq xmm0, xmm1, 0x1", "legacy-simd"),
            (64, "660f38dcc1", "aesenc xmm0, xmm1", "legacy-simd"),
            (64, "c4e2f8f2c1", "andn rax, rax, rcx", "vex"),
            (64, "f30fb8c1", "popcnt eax, ecx", "legacy-simd"),
        ]
        var skipped: [String] = []
        for (bits, hex, want, space) in cases {
            if !DifferentialTests.coveredSpaces.contains(space) {
                skipped.append(hex)
                continue
            }
            XCTAssertEqual(Disassembler.formatLines(hex: hex, bitness: bits, first: true).first, "\(hex.count / 2)\t\(want)", hex)
        }
        if !skipped.isEmpty { print("testIntelSyntaxSamples: skipped (space not covered yet): \(skipped.joined(separator: " "))") }
    }
}
