import Conformance
import Foundation
import KVMAccel
import MachineCore
import X86Decoder
import XCTest

/// The reference side: KVM. On kvm_pvm the stream runs at CPL 3 natively on the host CPU;
/// on VT-x/AMD-V it runs in guest mode on the host CPU as well.
enum DifferentialKVMEngine {
    static func make() throws -> DifferentialVCPUEngine {
        let system: KVMSystem
        do { system = try KVMSystem() } catch {
            throw XCTSkip("differential test skipped: /dev/kvm not available: \(error)")
        }
        return try DifferentialVCPUEngine(name: "kvm") { memory, ports, control in
            let vm = try KVMVirtualMachine(system: system, memory: memory)
            return try KVMVirtualCPU(vm: vm, id: 0, portIO: ports, mmio: MMIOBus(), lock: Lock(), control: control)
        }
    }
}

final class HostDifferentialTests: XCTestCase {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    /// Fixed seed; DIFFERENTIAL_SEED / DIFFERENTIAL_STREAMS override (scripts/differential.sh).
    static let seed = UInt64(environment["DIFFERENTIAL_SEED"] ?? "") ?? 0x5EED_D1FF
    static let streams = Int(environment["DIFFERENTIAL_STREAMS"] ?? "") ?? 50_000

    func testGeneratorCoversTheIntegerISAWithinTheRules() {
        let g = DifferentialGenerator()
        let names = Set(g.formIDs.map { ISATables.shared.mnemonicNames[Int(ISATables.shared.forms[Int($0)].mnemonic)].uppercased() })
        for expected in ["ADD", "ADC", "SUB", "SBB", "AND", "OR", "XOR", "CMP", "TEST", "INC", "DEC", "NEG", "NOT",
                         "MUL", "IMUL", "SHL", "SHR", "SAR", "ROL", "RCR", "SHLD", "SHRD", "BT", "BTS", "BSF",
                         "BSWAP", "CMOVE", "SETB", "MOVZX", "MOVSX", "MOVSXD", "XCHG", "XADD", "CMPXCHG",
                         "PUSH", "POP", "LEA", "CBW", "CQO", "POPCNT"] {
            XCTAssertTrue(names.contains(expected), "generator lacks \(expected)")
        }
        for excluded in ["JMP", "CALL", "OUT", "CPUID", "HLT", "DIV", "LZCNT", "MOVSB"] {
            XCTAssertFalse(names.contains(excluded), "generator emits \(excluded)")
        }
        // Every instruction of a stream decodes to its form, with usable operands only.
        var rng = DifferentialRandom(seed: 1)
        let decoder = X86Decoder(bitness: 64)!
        for _ in 0..<200 {
            for ins in g.stream(count: 20, &rng) {
                let d = decoder.decode(ins.bytes)
                XCTAssertEqual(d.form, ins.form)
                XCTAssertEqual(Int(d.length), ins.bytes.count)
                if d.hasMemory { XCTAssertEqual(Int(d.memoryBase), DifferentialGuest.dataBaseRegister) }
            }
        }
    }

    func testAWrongResultIsAMismatch() throws {
        // A subject that corrupts RBX must be caught, with a reproducer that names RBX.
        final class Corrupting: DifferentialEngine {
            let inner: DifferentialInterpreterEngine
            init() throws { inner = try DifferentialInterpreterEngine() }
            var name: String { "corrupting" }
            func run(_ c: DifferentialCase) throws -> DifferentialOutcome {
                var o = try inner.run(c)
                o.gpr[3] ^= 1
                return o
            }
        }
        let runner = DifferentialRunner(reference: try DifferentialInterpreterEngine(), subject: try Corrupting())
        let report = try runner.run(seed: 7, count: 3)
        XCTAssertEqual(report.mismatchCount, 3)
        XCTAssertEqual(report.mismatches.first?.shrunk.instructions.count, 0, "shrinks to the empty stream")
        XCTAssertTrue(report.mismatches.first?.report.contains("RBX:") ?? false)
    }

    func testInterpreterMatchesTheHostCPU() throws {
        try compare(bitness: 64, streams: Self.streams)
    }

    /// The same in 32-bit compatibility mode (a 32-bit code segment in long mode).
    func testInterpreterMatchesTheHostCPUInCompatibilityMode() throws {
        try compare(bitness: 32, streams: Self.streams / 2)
    }

    /// 64-bit streams with the SSE families (SSE to SSE4.2) and the x87 mixed in; XMM
    /// registers, MXCSR and the x87 registers, control and status words compared too.
    func testInterpreterMatchesTheHostCPUWithSSE() throws {
        try compare(bitness: 64, streams: Self.streams / 5, sse: true)
    }

    /// Translated blocks (JIT/) against the host CPU: each stream runs as one block where the
    /// translator knows its instructions, with side exits to the interpreter elsewhere.
    func testTranslatedCodeMatchesTheHostCPU() throws {
        try compare(bitness: 64, streams: Self.streams / 2, translated: true)
    }

    func testTranslatedCodeMatchesTheHostCPUWithSSE() throws {
        try compare(bitness: 64, streams: Self.streams / 5, sse: true, translated: true)
    }

    /// Translated blocks against the interpreter (needs no KVM): integer and SSE streams.
    func testTranslatedCodeMatchesTheInterpreter() throws {
        for sse in [false, true] {
            let translated = try DifferentialInterpreterEngine(blockTranslation: true)
            let runner = DifferentialRunner(reference: try DifferentialInterpreterEngine(), subject: translated,
                                            generator: DifferentialGenerator(includeSSE: sse))
            let report = try runner.run(seed: Self.seed ^ 0x717, count: Self.streams / 10)
            print("translated vs interpreter\(sse ? " with SSE" : ""): \(report.streams) streams, \(report.instructions) instructions, "
                  + "\(translated.translatedInstructions) run translated, \(report.mismatchCount) mismatching")
            XCTAssertEqual(report.mismatchCount, 0, report.mismatches.map(\.report).joined(separator: "\n\n"))
            XCTAssertGreaterThan(translated.translatedInstructions, UInt64(report.instructions / 3),
                                 "most instructions must run as translated code, or this compares the interpreter with itself")
        }
    }

    func testGeneratorCoversSSE() {
        let g = DifferentialGenerator(includeSSE: true)
        let names = Set(g.formIDs.map { ISATables.shared.mnemonicNames[Int(ISATables.shared.forms[Int($0)].mnemonic)].uppercased() })
        for expected in ["ADDPS", "MULSD", "DIVSS", "SQRTPD", "CVTSD2SI", "CVTTPS2DQ", "COMISD", "PADDB", "PMULUDQ",
                         "PSHUFD", "PSHUFB", "PTEST", "PCMPISTRI", "PMINSD", "CRC32", "MOVDQA", "MINSD"] {
            XCTAssertTrue(names.contains(expected), "SSE generator lacks \(expected)")
        }
        for excluded in ["RCPPS", "RSQRTSS", "LDMXCSR", "MASKMOVDQU"] {
            XCTAssertFalse(names.contains(excluded), "SSE generator emits \(excluded)")
        }
        XCTAssertFalse(DifferentialGenerator(bitness: 32, includeSSE: true).includesSSE, "no SSE in compatibility mode (kvm_pvm)")
    }

    func testGeneratorCoversX87() {
        let g = DifferentialGenerator(includeX87: true)
        let names = Set(g.formIDs.map { ISATables.shared.mnemonicNames[Int(ISATables.shared.forms[Int($0)].mnemonic)].uppercased() })
        for expected in ["FADD", "FSUBRP", "FMUL", "FDIVR", "FIDIV", "FLD", "FSTP", "FIST", "FISTTP", "FBSTP", "FCOMI",
                         "FUCOMPP", "FCMOVNBE", "FXCH", "FSQRT", "FSCALE", "FPREM", "FPREM1", "FRNDINT", "FXTRACT",
                         "FXAM", "FTST", "FLDPI", "FLDL2E", "FFREE", "FNINIT", "FINCSTP", "FCHS", "FABS"] {
            XCTAssertTrue(names.contains(expected), "x87 generator lacks \(expected)")
        }
        for excluded in ["FLDENV", "FNSAVE", "FLDCW", "FNSTSW", "FSTPNCE", "FSIN", "FPATAN", "FBLD"] {
            XCTAssertFalse(names.contains(excluded), "x87 generator emits \(excluded)")
        }
        XCTAssertFalse(DifferentialGenerator(includeSSE: true).formIDs.contains { ISATables.shared.mnemonicNames[Int(ISATables.shared.forms[Int($0)].mnemonic)] == "fadd" },
                       "x87 forms only when asked for")
    }

    func compare(bitness: Int, streams: Int, sse: Bool = false, translated: Bool = false) throws {
        let kvm = try DifferentialKVMEngine.make()
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let quirks = cpuinfo.contains("AuthenticAMD") ? DifferentialGenerator.amdRegisterQuirkForms : []
        let subject = try DifferentialInterpreterEngine(blockTranslation: translated)
        let runner = DifferentialRunner(reference: kvm, subject: subject,
                                        generator: DifferentialGenerator(memoryOnlyForms: quirks, bitness: bitness, includeSSE: sse, includeX87: sse))
        let start = Date()
        let report = try runner.run(seed: Self.seed, count: streams)
        let seconds = Date().timeIntervalSince(start)
        if Self.environment["DIFFERENTIAL_LIST"] != nil { print(report.mnemonics.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) }
        print("differential (\(bitness)-bit\(sse ? " with SSE and x87" : "")"
              + "\(translated ? ", \(subject.translatedInstructions) instructions translated" : "")): \(report.streams) streams, \(report.instructions) instructions, \(report.mnemonics.count) mnemonics, "
              + "\(report.bothStopped) stopped in both, \(report.mismatchCount) mismatching, \(String(format: "%.1f", seconds)) s")
        XCTAssertEqual(report.mismatchCount, 0,
                       "\(report.mismatchCount) mismatching streams; shrunk reproducers:\n\n" + report.mismatches.map(\.report).joined(separator: "\n\n"))
        // SSE streams fault more often (a misaligned 16-byte operand is #GP in both engines).
        XCTAssertLessThan(report.bothStopped, report.streams / (sse ? 10 : 100), "most streams must reach the end marker")
    }
}
