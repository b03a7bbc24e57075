import Glibc
import MachineCore
import X86Decoder
import XCTest
@testable import Interpreter

/// Differential SIMD tests: every legacy-encoded MMX/SSE-SSE4.2/POPCNT form of the ISA table,
/// with random registers, operands and immediates, runs natively on the host CPU (x86-64, in
/// this test process) and on the interpreter in 64-bit mode, from the same register and
/// memory image and a random MXCSR (rounding, FTZ, DAZ; exceptions masked so that nothing
/// traps natively). XMM0-15, MM0-7, the GPRs the forms may use, MXCSR, the memory operand
/// area and the flags the form defines are compared.
///
/// Buffer layout (RDI on both sides; RSI = RDI + 0x200 is every memory operand's base):
///   0x000 XMM0-15 in, 0x100 MM0-7 in, 0x140 RAX RCX RDX R8-R11 in, 0x180 MXCSR in,
///   0x184 MXCSR out, 0x188 host MXCSR, 0x200-0x27F memory operands, 0x300 XMM out,
///   0x400 MM out, 0x440 GPRs out, 0x480 RFLAGS out.
final class SSEDifferentialTests: XCTestCase {
    static let bufferSize = 0x500
    static let guestBuffer: UInt64 = 0x10000
    /// GPRs the generated forms may name (no RSP, RBX, RBP, R12-R15: callee-saved natively;
    /// no RSI, RDI: the bases).
    static let gprs: [UInt8] = [0, 1, 2, 8, 9, 10, 11]
    static let features: Set<String> = ["MMX", "SSE", "SSE2", "SSE3", "SSSE3", "SSE4_1", "SSE4_2", "POPCNT"]
    /// Left out: MXCSR/state images (the harness owns them), the approximations whose
    /// results are model-specific (RCP*, RSQRT*), stores through RDI (MASKMOV*), and
    /// instructions without a result.
    static let excluded: Set<String> = ["LDMXCSR", "STMXCSR", "FXSAVE", "FXSAVE64", "FXRSTOR", "FXRSTOR64",
                                        "RCPPS", "RCPSS", "RSQRTPS", "RSQRTSS", "MASKMOVQ", "MASKMOVDQU",
                                        "PREFETCHNTA", "PREFETCHT0", "PREFETCHT1", "PREFETCHT2", "LFENCE",
                                        "MFENCE", "SFENCE", "CLFLUSH", "PAUSE"]

    struct Template {
        var prefix: UInt8?
        var map: UInt8      // 1 0F, 2 0F38, 3 0F3A
        var opcode: UInt8
        var memory: Bool
        /// ModRM.reg when it selects the form.
        var digit: UInt8?
    }

    // MARK: catalogue

    static func encode(_ t: Template, reg: UInt8, rm: UInt8, rex: UInt8, disp: UInt8, imm: UInt8) -> [UInt8] {
        var b: [UInt8] = []
        if let p = t.prefix { b.append(p) }
        if rex != 0 { b.append(0x40 | rex) }
        b.append(0x0F)
        if t.map == 2 { b.append(0x38) }
        if t.map == 3 { b.append(0x3A) }
        b.append(t.opcode)
        if t.memory {
            b.append(0x40 | (reg & 7) << 3 | 6)  // [rsi + disp8]
            b.append(disp)
        } else {
            b.append(0xC0 | (reg & 7) << 3 | (rm & 7))
        }
        return b + [imm, 0, 0, 0]
    }

    static func isGPRKind(_ k: OperandKind) -> Bool {
        switch k {
        case .r8_or_mem, .r16_or_mem, .r32_or_mem, .r64_or_mem, .r16_reg, .r32_reg, .r64_reg, .r16_reg_mem, .r32_reg_mem,
             .r64_reg_mem, .r16_rm, .r32_rm, .r64_rm, .r8_reg:
            return true
        default: return false
        }
    }

    static func regIsOperand(_ info: FormInfo) -> Bool {
        for i in 0..<info.operandCount {
            switch info.operand(i) {
            case .mm_reg, .xmm_reg, .r8_reg, .r16_reg, .r32_reg, .r64_reg, .r16_reg_mem, .r32_reg_mem, .r64_reg_mem: return true
            default: continue
            }
        }
        return false
    }

    /// The forms to test, by mnemonic.
    static let catalogue: [String: [Template]] = {
        let decoder = X86Decoder(bitness: 64)!
        let t = ISATables.shared
        var out: [String: [Template]] = [:]
        var seen = Set<String>()
        for prefix: UInt8? in [nil, 0x66, 0xF3, 0xF2] {
            for map: UInt8 in 1...3 {
                for opcode in 0...255 {
                    for memory in [false, true] {
                        for digit: UInt8 in 0...7 {
                          for rex: UInt8 in [0, 0x08] {
                            var tp = Template(prefix: prefix, map: map, opcode: UInt8(opcode), memory: memory, digit: digit)
                            let d = decoder.decode(encode(tp, reg: digit, rm: 0, rex: rex, disp: 0, imm: 0))
                            guard d.isValid, d.hasMemory == memory else { continue }
                            let info = t.forms[Int(d.form)]
                            guard info.encoding == 0, info.map == map, info.has(FormAttributes.hasModRM) else { continue }
                            let name = t.mnemonicNames[Int(info.mnemonic)].uppercased()
                            let feats = t.cpuidFeatures(ofForm: d.form)
                            guard !feats.isEmpty, feats.allSatisfy({ features.contains($0) }), !excluded.contains(name) else { continue }
                            if regIsOperand(info) { tp.digit = nil }
                            let key = "\(prefix ?? 0) \(map) \(opcode) \(memory) \(tp.digit ?? 9)"
                            if seen.insert(key + name).inserted { out[name, default: []].append(tp) }
                          }
                        }
                    }
                }
            }
        }
        return out
    }()

    // MARK: harness code

    static func modrmDisp32(_ op: [UInt8], reg: UInt8, offset: Int, rexW: Bool = false, prefix: UInt8? = nil) -> [UInt8] {
        var b: [UInt8] = []
        if let p = prefix { b.append(p) }
        let rex: UInt8 = (rexW ? 0x48 : 0) | (reg >= 8 ? 0x44 : 0)
        if rex != 0 { b.append(rex) }
        b += op
        b.append(0x80 | (reg & 7) << 3 | 7)  // [rdi + disp32]
        withUnsafeBytes(of: Int32(offset).littleEndian) { b += $0 }
        return b
    }

    static var prologue: [UInt8] {
        var b: [UInt8] = []
        b += modrmDisp32([0x0F, 0xAE], reg: 3, offset: 0x188)             // stmxcsr [rdi+0x188]
        b += modrmDisp32([0x0F, 0xAE], reg: 2, offset: 0x180)             // ldmxcsr [rdi+0x180]
        for i: UInt8 in 0..<16 { b += modrmDisp32([0x0F, 0x6F], reg: i, offset: Int(i) * 16, prefix: 0xF3) } // movdqu
        for i: UInt8 in 0..<8 { b += modrmDisp32([0x0F, 0x6F], reg: i, offset: 0x100 + Int(i) * 8) }          // movq mm
        for (k, r) in gprs.enumerated() { b += modrmDisp32([0x8B], reg: r, offset: 0x140 + k * 8, rexW: true) }
        b += [0x48, 0x8D, 0xB7, 0x00, 0x02, 0x00, 0x00]                   // lea rsi, [rdi+0x200]
        b += [0x6A, 0x02, 0x9D]                                           // push 2; popfq
        return b
    }

    static func epilogue(native: Bool) -> [UInt8] {
        var b: [UInt8] = [0x9C]                                           // pushfq
        b += modrmDisp32([0x8F], reg: 0, offset: 0x480)                   // pop [rdi+0x480]
        b += modrmDisp32([0x0F, 0xAE], reg: 3, offset: 0x184)             // stmxcsr [rdi+0x184]
        for i: UInt8 in 0..<16 { b += modrmDisp32([0x0F, 0x7F], reg: i, offset: 0x300 + Int(i) * 16, prefix: 0xF3) }
        for i: UInt8 in 0..<8 { b += modrmDisp32([0x0F, 0x7F], reg: i, offset: 0x400 + Int(i) * 8) }
        for (k, r) in gprs.enumerated() { b += modrmDisp32([0x89], reg: r, offset: 0x440 + k * 8, rexW: true) }
        b += [0x0F, 0x77]                                                 // emms
        b += modrmDisp32([0x0F, 0xAE], reg: 2, offset: 0x188)             // ldmxcsr [rdi+0x188]
        b.append(native ? 0xC3 : 0xF4)                                    // ret / hlt
        return b
    }

    // MARK: random operands

    static func randomLane<G: RandomNumberGenerator>(_ g: inout G) -> UInt64 {
        func single(_ g: inout G) -> UInt64 {
            let specials: [UInt32] = [0, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000,
                                      0xFFC0_0000, 0x7F80_0001, 0x7FA0_1234, 0x0000_0001, 0x807F_FFFF, 0x0080_0000,
                                      0x7F7F_FFFF, 0x4F00_0000, 0xCF00_0000, 0x5F00_0000, 0x3FC0_0000, 0x4B00_0001]
            switch Int.random(in: 0..<4, using: &g) {
            case 0: return UInt64(specials.randomElement(using: &g)!)
            case 1: return UInt64(Float(Double.random(in: -1e6...1e6, using: &g)).bitPattern)
            case 2: return UInt64(Float(Int.random(in: -300...300, using: &g)).bitPattern ^ UInt32(Int.random(in: 0...1, using: &g)))
            default: return UInt64(UInt32.random(in: 0...UInt32.max, using: &g))
            }
        }
        switch Int.random(in: 0..<6, using: &g) {
        case 0:
            let specials: [UInt64] = [0, 1 << 63, 0x3FF0_0000_0000_0000, 0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000,
                                      0x7FF8_0000_0000_0000, 0x7FF0_0000_0000_0001, 0x0000_0000_0000_0001,
                                      0x0010_0000_0000_0000, 0x41E0_0000_0000_0000, 0xC1E0_0000_0000_0000,
                                      0x43E0_0000_0000_0000, 0x3810_0000_0000_0000, 0x47F0_0000_0000_0000,
                                      0xFFFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF]
            return specials.randomElement(using: &g)!
        case 1: return Double(Double.random(in: -1e10...1e10, using: &g)).bitPattern
        case 2: return Double(Int.random(in: -70000...70000, using: &g)).bitPattern + UInt64.random(in: 0...1, using: &g)
        case 3: return single(&g) | single(&g) << 32
        case 4: // small integers in every lane width, and text-like bytes for the string compares
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(UInt8.random(in: 0...6, using: &g) == 0 ? 0 : UInt8.random(in: 0x40...0x48, using: &g)) << UInt64(k * 8) }
            return v
        default: return UInt64.random(in: 0...UInt64.max, using: &g)
        }
    }

    static func randomGPR<G: RandomNumberGenerator>(_ g: inout G) -> UInt64 {
        switch Int.random(in: 0..<4, using: &g) {
        case 0: return UInt64(bitPattern: Int64.random(in: -20...20, using: &g))
        case 1: return [0, 0x8000_0000, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 63, ~0].randomElement(using: &g)!
        default: return UInt64.random(in: 0...UInt64.max, using: &g)
        }
    }

    // MARK: machines

    typealias NativeFunction = @convention(c) (UnsafeMutableRawPointer) -> Void

    /// 64-bit mode at CPL 0, identity-mapped with 2 MiB pages, code at 0x1000.
    static func longModeMachine(_ code: [UInt8]) throws -> TestMachine {
        let m = try TestMachine()
        try m.memory.write(code, at: 0x1000)
        let gdt: [UInt64] = [0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF]
        for (i, d) in gdt.enumerated() { try m.memory.write64(0x500 + UInt64(i * 8), d) }
        try m.memory.write64(0x20000, 0x21000 | 3)
        try m.memory.write64(0x21000, 0x22000 | 3)
        try m.memory.write64(0x22000, 0x83)
        try m.memory.write64(0x22008, 0x20_0000 | 0x83)
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.mp | CR0.et | CR0.ne | CR0.pg
        s.cr3 = 0x20000
        s.cr4 = CR4.pae | CR4.osfxsr | CR4.osxmmexcpt
        s.msr.efer = EFER.lme | EFER.lma
        s.gdtr = DescriptorTableRegister(base: 0x500, limit: 23)
        s.cs = .flat(selector: 0x08, code: true, longMode: true)
        for keyPath in [\CPUState.ds, \CPUState.es, \CPUState.ss, \CPUState.fs, \CPUState.gs] {
            s[keyPath: keyPath] = .flat(selector: 0x10, code: false)
        }
        s.rip = 0x1000
        s.rsp = 0x8000
        s.rdi = guestBuffer
        m.cpu.setState(s)
        return m
    }

    // MARK: the test

    func testSIMDFormsMatchTheHostCPU() throws {
        #if !arch(x86_64)
        throw XCTSkip("the native side needs an x86-64 host")
        #else
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        guard cpuinfo.contains(" sse4_2"), cpuinfo.contains(" ssse3") else { throw XCTSkip("host lacks SSE4.2/SSSE3") }
        let scale = getenv("SSE_DIFF_SCALE").flatMap { Int(String(cString: $0)) } ?? 1
        let instances = 6 * scale, iterations = 8
        let decoder = X86Decoder(bitness: 64)!
        let forms = ISATables.shared.forms
        var g = SystemRandomNumberGenerator()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferSize, alignment: 64)
        defer { buffer.deallocate() }
        guard let page = mmap(nil, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              page != MAP_FAILED else { throw XCTSkip("no executable memory for native runs") }
        defer { munmap(page, 8192) }
        let native = unsafeBitCast(page, to: NativeFunction.self)
        var failures = 0, runs = 0
        var coverage = Set<String>()
        for (name, templates) in Self.catalogue.sorted(by: { $0.key < $1.key }) {
            for _ in 0..<instances {
                let tp = templates.randomElement(using: &g)!
                // Registers: ModRM.reg/rm 0-7 plus REX.R/REX.B/REX.W at random; the decode
                // tells which operand kinds they name, and GPR operands must be usable.
                var bytes: [UInt8] = []
                var d = DecodedInstruction()
                var found = false
                for _ in 0..<20 {
                    let reg = tp.digit ?? UInt8.random(in: 0...7, using: &g)
                    var rex: UInt8 = Bool.random(using: &g) ? 0x08 : 0
                    if Bool.random(using: &g) { rex |= 0x04 }
                    if !tp.memory && Bool.random(using: &g) { rex |= 0x01 }
                    let disp = UInt8(Int.random(in: 0...6, using: &g) * 16)
                    let imm = UInt8.random(in: 0...255, using: &g)
                    let candidate = Self.encode(tp, reg: reg, rm: UInt8.random(in: 0...7, using: &g), rex: rex, disp: disp, imm: imm)
                    d = decoder.decode(candidate)
                    guard d.isValid, ISATables.shared.mnemonicNames[Int(d.mnemonic)].uppercased() == name else { continue }
                    let info = forms[Int(d.form)]
                    var usable = true
                    for i in 0..<info.operandCount where Self.isGPRKind(info.operand(i)) {
                        switch info.operand(i) {
                        case .r16_reg, .r32_reg, .r64_reg, .r16_reg_mem, .r32_reg_mem, .r64_reg_mem, .r8_reg:
                            usable = usable && Self.gprs.contains(d.reg)
                        default:
                            usable = usable && (d.hasMemory || Self.gprs.contains(d.rm))
                        }
                    }
                    guard usable else { continue }
                    bytes = Array(candidate.prefix(Int(d.length)))
                    found = true
                    break
                }
                guard found else { continue }
                coverage.insert(name)
                let info = forms[Int(d.form)]
                let flagMask = Self.definedFlags(info)
                let code = Self.prologue + bytes + Self.epilogue(native: true)
                code.withUnsafeBytes { page.copyMemory(from: $0.baseAddress!, byteCount: code.count) }
                let machine = try Self.longModeMachine(Self.prologue + bytes + Self.epilogue(native: false))
                let start = machine.cpu.getState()
                for _ in 0..<iterations {
                    var image = [UInt8](repeating: 0, count: Self.bufferSize)
                    func put(_ v: UInt64, _ at: Int) { for k in 0..<8 { image[at + k] = UInt8(truncatingIfNeeded: v >> UInt64(k * 8)) } }
                    for i in 0..<16 { put(Self.randomLane(&g), i * 16); put(Self.randomLane(&g), i * 16 + 8) }
                    for i in 0..<8 { put(Self.randomLane(&g), 0x100 + i * 8) }
                    for k in 0..<Self.gprs.count { put(Self.randomGPR(&g), 0x140 + k * 8) }
                    for k in 0..<16 { put(Self.randomLane(&g), 0x200 + k * 8) }
                    var mxcsr = MXCSR.masks | UInt32.random(in: 0...3, using: &g) << MXCSR.rcShift
                    if Int.random(in: 0..<4, using: &g) == 0 { mxcsr |= MXCSR.ftz }
                    if Int.random(in: 0..<4, using: &g) == 0 { mxcsr |= MXCSR.daz }
                    if Int.random(in: 0..<4, using: &g) == 0 { mxcsr |= UInt32.random(in: 0...0x3F, using: &g) }
                    put(UInt64(mxcsr), 0x180)
                    image.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: image.count) }
                    native(buffer)
                    let host = [UInt8](UnsafeRawBufferPointer(start: buffer, count: Self.bufferSize))

                    try machine.memory.write(image, at: Self.guestBuffer)
                    machine.cpu.setState(start)
                    _ = machine.run(limit: 200)
                    let ours = try machine.memory.read(Self.guestBuffer, count: Self.bufferSize)
                    runs += 1

                    var diffs: [String] = []
                    func hex(_ r: Range<Int>, _ img: [UInt8]) -> String { img[r].reversed().map { String(format: "%02x", $0) }.joined() }
                    if !machine.cpu.isHalted { diffs.append("interpreter did not reach the end (vector \(machine.cpu.lastDeliveredVector.map(String.init) ?? "-"))") }
                    for i in 0..<16 where host[0x300 + i * 16 ..< 0x310 + i * 16] != ours[0x300 + i * 16 ..< 0x310 + i * 16] {
                        diffs.append("xmm\(i): host \(hex(0x300 + i * 16 ..< 0x310 + i * 16, host)) ours \(hex(0x300 + i * 16 ..< 0x310 + i * 16, ours))")
                    }
                    for i in 0..<8 where host[0x400 + i * 8 ..< 0x408 + i * 8] != ours[0x400 + i * 8 ..< 0x408 + i * 8] {
                        diffs.append("mm\(i): host \(hex(0x400 + i * 8 ..< 0x408 + i * 8, host)) ours \(hex(0x400 + i * 8 ..< 0x408 + i * 8, ours))")
                    }
                    for (k, r) in Self.gprs.enumerated() where host[0x440 + k * 8 ..< 0x448 + k * 8] != ours[0x440 + k * 8 ..< 0x448 + k * 8] {
                        diffs.append("gpr\(r): host \(hex(0x440 + k * 8 ..< 0x448 + k * 8, host)) ours \(hex(0x440 + k * 8 ..< 0x448 + k * 8, ours))")
                    }
                    if host[0x184..<0x188] != ours[0x184..<0x188] {
                        diffs.append("mxcsr: host \(hex(0x184..<0x188, host)) ours \(hex(0x184..<0x188, ours))")
                    }
                    if host[0x200..<0x280] != ours[0x200..<0x280] { diffs.append("memory operand area differs") }
                    let hf = host[0x480..<0x488].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    let of = ours[0x480..<0x488].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    if hf & flagMask != of & flagMask { diffs.append("flags: host \(String(hf & flagMask, radix: 16)) ours \(String(of & flagMask, radix: 16))") }
                    if !diffs.isEmpty {
                        failures += 1
                        if failures <= 25 {
                            let text = Disassembler.format(d, address: 0)
                            var msg = "\(name): \(bytes.map { String(format: "%02x", $0) }.joined(separator: " ")) (\(text)) mxcsr \(String(mxcsr, radix: 16))\n"
                            msg += "  in xmm0-3: " + (0..<4).map { hex($0 * 16 ..< $0 * 16 + 16, image) }.joined(separator: " ")
                            msg += " mem: " + hex(0x200 + Int(d.displacement) ..< 0x210 + Int(d.displacement), image) + "\n  "
                            msg += diffs.joined(separator: "\n  ")
                            XCTFail(msg)
                        }
                    }
                }
            }
        }
        print("SSE differential: \(coverage.count) mnemonics, \(runs) runs, \(failures) mismatches")
        XCTAssertEqual(failures, 0)
        XCTAssertGreaterThan(coverage.count, 150, "the catalogue covers the SIMD ISA")
        #endif
    }

    /// RFLAGS bits the form always defines (the others are masked).
    static func definedFlags(_ info: FormInfo) -> UInt64 {
        let bits = (info.flagsWritten | info.flagsCleared | info.flagsSet) & ~info.flagsUndefined
        var r: UInt64 = 0
        if bits & FlagBits.of != 0 { r |= RFLAGS.of }
        if bits & FlagBits.sf != 0 { r |= RFLAGS.sf }
        if bits & FlagBits.zf != 0 { r |= RFLAGS.zf }
        if bits & FlagBits.af != 0 { r |= RFLAGS.af }
        if bits & FlagBits.cf != 0 { r |= RFLAGS.cf }
        if bits & FlagBits.pf != 0 { r |= RFLAGS.pf }
        return r
    }

    func testCatalogueCoversTheSIMDMnemonics() {
        let names = Set(Self.catalogue.keys)
        for n in ["MOVDQA", "PSHUFB", "PCMPISTRI", "PCMPESTRM", "CRC32", "POPCNT", "CVTTSD2SI", "DPPS", "PMOVZXBW",
                  "PADDB", "ADDPS", "COMISD", "PALIGNR", "MPSADBW", "PHMINPOSUW", "ROUNDSD", "INSERTPS", "PEXTRQ"] {
            XCTAssertTrue(names.contains(n), n)
        }
    }
}

