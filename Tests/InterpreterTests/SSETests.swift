import MachineCore
import XCTest
@testable import Interpreter

/// Known-answer SIMD tests for what the host differential (SSEDifferentialTests) cannot
/// reach: unmasked exceptions (#XM vs #UD), alignment faults, availability (#UD/#NM), the
/// MMX/x87 aliasing, masked stores, and architectural constants (CRC-32C check value,
/// integer indefinite, the NaN rules of SDM Vol. 1 Table 4-7). 32-bit flat code at 0x1000
/// (SSETestPrograms.swift), data at 0x2000, results at 0x2100, fault handler (HLT) at 0x3000.
final class SSETests: XCTestCase {
    static let sseCR4 = CR4.osfxsr | CR4.osxmmexcpt

    func machine(_ code: [UInt8], cr4: UInt64 = SSETests.sseCR4, cr0Set: UInt64 = 0, xmm: [UInt128] = []) throws -> TestMachine {
        let m = try TestMachine()
        try m.protectedMode(code, idtEntries: 32)
        try m.memory.write([0xF4], at: 0x3000)
        for v in [6, 7, 13, 16, 19] { try m.interruptGate(v, handler: 0x3000) }
        var s = m.cpu.getState()
        s.cr4 = cr4
        s.cr0 |= cr0Set
        for (i, x) in xmm.enumerated() { s.fpu.xmm[i] = x }
        m.cpu.setState(s)
        return m
    }

    func put32(_ m: TestMachine, _ a: UInt64, _ v: UInt32) throws { try m.memory.write32(a, v) }
    func put64(_ m: TestMachine, _ a: UInt64, _ v: UInt64) throws { try m.memory.write64(a, v) }
    func bytes(_ m: TestMachine, _ a: UInt64, _ n: Int) throws -> [UInt8] { try m.memory.read(a, count: n) }

    // MARK: exceptions

    func testUnmaskedInvalidRaisesXMAndLeavesTheDestination() throws {
        for osxmmexcpt in [true, false] {
            let m = try machine(SSEPrograms.packedAdd, cr4: osxmmexcpt ? Self.sseCR4 : CR4.osfxsr)
            try put32(m, 0x2000, MXCSR.reset & ~(MXCSR.ie << MXCSR.maskShift))  // IM clear
            for (i, v) in [Float(1), 2, 3, 4].enumerated() { try put32(m, 0x2010 + UInt64(i * 4), v.bitPattern) }
            for (i, v) in [UInt32(0x7F80_0001), 0x3F80_0000, 0x3F80_0000, 0x3F80_0000].enumerated() {
                try put32(m, 0x2020 + UInt64(i * 4), v)
            }
            let s = m.run()
            XCTAssertEqual(m.cpu.lastDeliveredVector, osxmmexcpt ? 19 : 6)
            XCTAssertEqual(s.fpu.xmm[0], UInt128(0x4080_0000_4040_0000) << 64 | 0x4000_0000_3F80_0000, "destination unchanged")
            XCTAssertEqual(s.fpu.mxcsr & MXCSR.flags, MXCSR.ie)
        }
    }

    func testUnmaskedPostComputationExceptionReportsItsFlags() throws {
        let m = try machine(SSEPrograms.scalarDivide)
        try put32(m, 0x2000, MXCSR.reset & ~(MXCSR.pe << MXCSR.maskShift))  // PM clear
        try put32(m, 0x2010, Float(1).bitPattern)
        try put32(m, 0x2014, Float(3).bitPattern)
        let s = m.run()
        XCTAssertEqual(m.cpu.lastDeliveredVector, 19)
        XCTAssertEqual(s.fpu.xmm[0], UInt128(Float(1).bitPattern), "1/3 not written")
        XCTAssertEqual(s.fpu.mxcsr & MXCSR.flags, MXCSR.pe)
    }

    func testMaskedExceptionsAreStickyWithDefaultResults() throws {
        let m = try machine(SSEPrograms.scalarDivide)
        try put32(m, 0x2000, MXCSR.reset | MXCSR.oe)  // a flag already set stays set
        try put32(m, 0x2010, Float(-1).bitPattern)
        try put32(m, 0x2014, 0)
        _ = m.run()
        XCTAssertNil(m.cpu.lastDeliveredVector)
        XCTAssertEqual(try m.memory.read32(0x2100), (-Float.infinity).bitPattern)
        XCTAssertEqual(try m.memory.read32(0x2104) & MXCSR.flags, MXCSR.ze | MXCSR.oe)
    }

    func testRoundingControl() throws {
        // 1/3 and -1/3 under RC = nearest, down, up, toward zero.
        let expected: [(UInt32, UInt32)] = [(0x3EAA_AAAB, 0xBEAA_AAAB), (0x3EAA_AAAA, 0xBEAA_AAAB),
                                            (0x3EAA_AAAB, 0xBEAA_AAAA), (0x3EAA_AAAA, 0xBEAA_AAAA)]
        for (rc, (positive, negative)) in expected.enumerated() {
            for (sign, want) in [(Float(1), positive), (Float(-1), negative)] {
                let m = try machine(SSEPrograms.scalarDivide)
                try put32(m, 0x2000, MXCSR.reset | UInt32(rc) << MXCSR.rcShift)
                try put32(m, 0x2010, sign.bitPattern)
                try put32(m, 0x2014, Float(3).bitPattern)
                _ = m.run()
                XCTAssertEqual(try m.memory.read32(0x2100), want, "RC \(rc) sign \(sign)")
                XCTAssertEqual(try m.memory.read32(0x2104) & MXCSR.flags, MXCSR.pe)
            }
        }
    }

    func testFlushToZeroAndDenormalsAreZeros() throws {
        // 1e-20 * 1e-20 is a single-precision denormal: FTZ turns it into +0 with UE and PE.
        for ftz in [false, true] {
            let m = try machine(SSEPrograms.scalarMultiply)
            try put32(m, 0x2000, MXCSR.reset | (ftz ? MXCSR.ftz : 0))
            try put32(m, 0x2010, Float(1e-20).bitPattern)
            try put32(m, 0x2014, Float(1e-20).bitPattern)
            _ = m.run()
            let r = try m.memory.read32(0x2100)
            if ftz { XCTAssertEqual(r, 0) } else { XCTAssertTrue(Float(bitPattern: r).isSubnormal) }
            XCTAssertEqual(try m.memory.read32(0x2104) & MXCSR.flags, MXCSR.ue | MXCSR.pe)
        }
        // A denormal operand: DE without DAZ; read as zero (no flags) with DAZ.
        for daz in [false, true] {
            let m = try machine(SSEPrograms.scalarAdd)
            try put32(m, 0x2000, MXCSR.reset | (daz ? MXCSR.daz : 0))
            try put32(m, 0x2010, 1)
            try put32(m, 0x2014, 0)
            _ = m.run()
            XCTAssertEqual(try m.memory.read32(0x2100), daz ? 0 : 1)
            XCTAssertEqual(try m.memory.read32(0x2104) & MXCSR.flags, daz ? 0 : MXCSR.de)
        }
    }

    func testNaNRules() throws {
        let m = try machine(SSEPrograms.nanPropagation)
        let a: [UInt32] = [0x7FC0_0001, 0x3F80_0000, 0xFF80_0004, 0x3F80_0000]
        let b: [UInt32] = [0x7F80_0002, 0x7F80_0003, 0x7FC0_0005, 0x4000_0000]
        for i in 0..<4 {
            try put32(m, 0x2000 + UInt64(i * 4), a[i])
            try put32(m, 0x2010 + UInt64(i * 4), b[i])
        }
        _ = m.run()
        // ADDPS: the first source NaN wins, quieted; a lone SNaN is quieted (Table 4-7).
        let sum = try (0..<4).map { try m.memory.read32(0x2100 + UInt64($0 * 4)) }
        XCTAssertEqual(sum, [0x7FC0_0001, 0x7FC0_0003, 0xFFC0_0004, 0x4040_0000])
        // MINPS returns the second operand whenever either is a NaN, unquieted.
        let min = try (0..<4).map { try m.memory.read32(0x2110 + UInt64($0 * 4)) }
        XCTAssertEqual(min, [0x7F80_0002, 0x7F80_0003, 0x7FC0_0005, 0x3F80_0000])
        XCTAssertEqual(try m.memory.read32(0x2120) & MXCSR.flags, MXCSR.ie)
    }

    func testFloatToIntegerIndefiniteAndRounding() throws {
        let cases: [(Double, UInt32, UInt32, UInt32, UInt32)] = [
            // value, RC, truncated, rounded, flags
            (1e10, 0, 0x8000_0000, 0x8000_0000, MXCSR.ie),
            (.nan, 0, 0x8000_0000, 0x8000_0000, MXCSR.ie),
            (2.5, 0, 2, 2, MXCSR.pe),
            (2.5, 2, 2, 3, MXCSR.pe),
            (-2.5, 1, UInt32(bitPattern: -2), UInt32(bitPattern: -3), MXCSR.pe),
            (-2_147_483_648, 0, 0x8000_0000, 0x8000_0000, 0),
        ]
        for (value, rc, truncated, rounded, flags) in cases {
            let m = try machine(SSEPrograms.floatToInteger)
            try put32(m, 0x2000, MXCSR.reset | rc << MXCSR.rcShift)
            try put64(m, 0x2010, value.bitPattern)
            _ = m.run()
            XCTAssertEqual(try m.memory.read32(0x2100), truncated, "cvttsd2si \(value)")
            XCTAssertEqual(try m.memory.read32(0x2104), rounded, "cvtsd2si \(value) RC \(rc)")
            XCTAssertEqual(try m.memory.read32(0x2108) & MXCSR.flags, flags, "\(value)")
        }
    }

    // MARK: alignment and availability

    func testLegacySSEAlignment() throws {
        for code in [SSEPrograms.alignedLoadMisaligned, SSEPrograms.packedArithmeticMisaligned] {
            let m = try machine(code)
            _ = m.run()
            XCTAssertEqual(m.cpu.lastDeliveredVector, 13, "#GP(0) for a misaligned 16-byte operand")
        }
        // MOVUPS/MOVDQU/LDDQU, scalar and narrow operands, and the string compares need no alignment.
        let m = try machine(SSEPrograms.unalignedForms)
        for i in 0..<32 { try m.memory.write8(0x2000 + UInt64(i), UInt8(i + 1)) }
        _ = m.run()
        XCTAssertNil(m.cpu.lastDeliveredVector)
        XCTAssertEqual(try bytes(m, 0x2101, 16), (9...24).map { UInt8($0) })
    }

    func testAvailability() throws {
        // SSE: #UD without CR4.OSFXSR or with CR0.EM, #NM with CR0.TS.
        for (cr4, cr0, vector) in [(CR4.osxmmexcpt, UInt64(0), UInt8(6)), (Self.sseCR4, CR0.em, 6), (Self.sseCR4, CR0.ts, 7)] {
            let m = try machine(SSEPrograms.sseInstruction, cr4: cr4, cr0Set: cr0)
            _ = m.run()
            XCTAssertEqual(m.cpu.lastDeliveredVector, vector)
        }
        // MMX ignores CR4.OSFXSR; CR0.EM gives #UD and CR0.TS #NM.
        let plain = try machine(SSEPrograms.mmxInstruction, cr4: 0)
        _ = plain.run()
        XCTAssertNil(plain.cpu.lastDeliveredVector)
        for (cr0, vector) in [(CR0.em, UInt8(6)), (CR0.ts, 7)] {
            let m = try machine(SSEPrograms.mmxInstruction, cr4: 0, cr0Set: cr0)
            _ = m.run()
            XCTAssertEqual(m.cpu.lastDeliveredVector, vector)
        }
    }

    // MARK: MMX

    func testMMXRegistersAliasTheX87Stack() throws {
        let m = try machine(SSEPrograms.mmxAliasing)
        try put64(m, 0x2000, 0x0123_4567_89AB_CDEF)
        let s = m.run()
        // After MOVQ: TOP = 0, MM0 = R0 with exponent bits all ones, every register tagged
        // non-empty: R0 special, R7 (the 1.0 FLD1 pushed) valid, the rest zero.
        let fsw = try m.memory.read16(0x2104), ftw = try m.memory.read16(0x2108)
        XCTAssertEqual((fsw >> 11) & 7, 0)
        XCTAssertEqual(ftw, 0x1556)
        // EMMS empties them all.
        XCTAssertEqual(try m.memory.read16(0x2148), 0xFFFF)
        XCTAssertEqual(s.fpu.st[0].significand, 0x0123_4567_89AB_CDEF)
        XCTAssertEqual(s.fpu.st[0].signExponent, 0xFFFF)
    }

    func testMMXReportsAPendingX87Exception() throws {
        // FSQRT(-1) with IM clear leaves an unmasked IE pending; the MMX instruction reports it
        // as #MF with CR0.NE = 1 (SDM Vol. 3A §12.5.2).
        let m = try machine(SSEPrograms.mmxWithPendingX87Exception, cr0Set: CR0.ne)
        try m.memory.write16(0x2000, 0x037E)
        let s = m.run()
        XCTAssertEqual(m.cpu.lastDeliveredVector, 16)
        XCTAssertEqual(s.rip, 0x3001)
    }

    // MARK: known answers

    func testCRC32CheckValue() throws {
        let m = try machine(SSEPrograms.crc32)
        try m.memory.write(Array("123456789".utf8), at: 0x2000)
        _ = m.run()
        // The CRC-32C (Castagnoli) check value of "123456789".
        XCTAssertEqual(try m.memory.read32(0x2100), 0xE306_9283)
        // CRC32 r32, r/m16 of "12" from 0, bit by bit (reflected 0x1EDC6F41).
        var crc: UInt32 = 0
        for byte in Array("12".utf8) {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        XCTAssertEqual(try m.memory.read32(0x2104), crc)
    }

    func testImplicitLengthStringCompares() throws {
        let m = try machine(SSEPrograms.implicitStringCompares)
        try m.memory.write(Array("abc".utf8) + [0], at: 0x2000)
        try m.memory.write(Array("xxabcxxbbxa".utf8) + [0], at: 0x2010)
        _ = m.run()
        XCTAssertEqual(try m.memory.read32(0x2100), 2, "equal any: first of a, b, c")
        let flags = UInt64(try m.memory.read32(0x2104))
        XCTAssertEqual(flags & (RFLAGS.cf | RFLAGS.zf | RFLAGS.sf | RFLAGS.of | RFLAGS.af | RFLAGS.pf),
                       RFLAGS.cf | RFLAGS.zf | RFLAGS.sf, "match, both strings end early, OF = IntRes2[0] = 0")
        XCTAssertEqual(try m.memory.read32(0x2108), 2, "equal ordered: \"abc\" at 2")
        XCTAssertEqual(try m.memory.read32(0x210C), 10, "equal any, most significant index")
        var mask = [UInt8](repeating: 0, count: 16)
        for i in [2, 3, 4, 7, 8, 10] { mask[i] = 0xFF }
        XCTAssertEqual(try bytes(m, 0x2110, 16), mask, "PCMPISTRM byte mask")
        XCTAssertEqual(try m.memory.read32(0x2120), 0b101_1001_1100, "PCMPISTRM bit mask")
        // Equal each: no valid pair matches; pairs where both strings have ended count as
        // equal (SDM Vol. 2B Table 4-7), so the first set bit is element 11.
        XCTAssertEqual(try m.memory.read32(0x2130), 11)
    }

    func testExplicitLengthRanges() throws {
        let m = try machine(SSEPrograms.explicitStringCompares)
        try m.memory.write(Array("az".utf8), at: 0x2020)
        try m.memory.write(Array("ABCdEFGhIJKLMNOP".utf8), at: 0x2030)
        _ = m.run()
        XCTAssertEqual(try m.memory.read32(0x2100), 3, "first lowercase letter")
        XCTAssertEqual(try m.memory.read32(0x2104), 0, "negated: first that is not")
        // |EDX| = 5 (EDX = -5): masked negative inverts the five valid elements only, so
        // IntRes2 has elements 0, 1, 2 and 4 ('A', 'B', 'C', 'E' are outside a-z).
        XCTAssertEqual(try m.memory.read32(0x2108), 0)
        XCTAssertEqual(UInt64(try m.memory.read32(0x210C)) & RFLAGS.zf, RFLAGS.zf, "ZF: |EDX| < 16")
    }

    func testMaskedStoreWritesOnlySelectedBytes() throws {
        let m = try machine(SSEPrograms.maskedStore)
        try m.memory.write((0..<16).map { UInt8(0x10 + $0) }, at: 0x2000)
        try m.memory.write((0..<16).map { $0 % 3 == 0 ? 0x80 : 0x7F }, at: 0x2010)
        try m.memory.write([UInt8](repeating: 0xEE, count: 16), at: 0x2100)
        _ = m.run()
        XCTAssertEqual(try bytes(m, 0x2100, 16), (0..<16).map { $0 % 3 == 0 ? UInt8(0x10 + $0) : 0xEE })
    }

    func testIntegerEdges() throws {
        let m = try machine(SSEPrograms.integerEdges)
        let x: [UInt8] = [0x00, 0x80, 0xFF, 0x7F, 0x01, 0xFE, 0x80, 0x00, 0x10, 0x20, 0x30, 0x40, 0xF0, 0xE0, 0xD0, 0xC0]
        try m.memory.write(x, at: 0x2000)
        let shuffle: [UInt8] = [15, 0x80, 1, 0x8F, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x10]
        try m.memory.write(shuffle, at: 0x2010)
        try m.memory.write([UInt8](repeating: 0x90, count: 16), at: 0x2020)
        try m.memory.write64(0x2030, 64)
        _ = m.run()
        XCTAssertEqual(try bytes(m, 0x2100, 16), [UInt8](repeating: 0, count: 16), "PSRLW by 16")
        // PSRAW by 20 = by 15: each word becomes its sign.
        var sra = [UInt8](repeating: 0, count: 16)
        for w in 0..<8 where x[2 * w + 1] & 0x80 != 0 { sra[2 * w] = 0xFF; sra[2 * w + 1] = 0xFF }
        XCTAssertEqual(try bytes(m, 0x2110, 16), sra)
        XCTAssertEqual(try bytes(m, 0x2120, 16), [0, 0, 0] + x[0..<13])
        // PSHUFB: bit 7 zeroes the byte, bits 3:0 index.
        XCTAssertEqual(try bytes(m, 0x2130, 16), shuffle.map { $0 & 0x80 != 0 ? 0 : x[Int($0 & 15)] })
        XCTAssertEqual(try bytes(m, 0x2140, 16), x.map { UInt8(min(Int($0) + 0x90, 255)) }, "PADDUSB")
        var subs = [UInt8](repeating: 0, count: 16)
        for w in 0..<8 {
            let a = Int(Int16(bitPattern: UInt16(x[2 * w]) | UInt16(x[2 * w + 1]) << 8))
            let r = UInt16(bitPattern: Int16(clamping: a - Int(Int16(bitPattern: 0x9090))))
            subs[2 * w] = UInt8(r & 0xFF); subs[2 * w + 1] = UInt8(r >> 8)
        }
        XCTAssertEqual(try bytes(m, 0x2150, 16), subs, "PSUBSW")
        XCTAssertEqual(try bytes(m, 0x2160, 16), [UInt8](repeating: 0, count: 16), "PSRLQ by 64")
    }

    // MARK: state

    func testXMMStateThroughSetStateGetStateAndFXSAVE() throws {
        let values: [UInt128] = (0..<8).map { UInt128($0 + 1) << 120 | UInt128(0x1111_1111 &* UInt64($0 + 1)) }
        let m = try machine(SSEPrograms.stateImage, xmm: values)
        var s = m.cpu.getState()
        XCTAssertEqual(Array(s.fpu.xmm[0..<8]), values)
        s.fpu.mxcsr = MXCSR.reset | MXCSR.daz | 2 << MXCSR.rcShift
        m.cpu.setState(s)
        _ = m.run()
        XCTAssertEqual(try m.memory.read32(0x2200 + 24), MXCSR.reset | MXCSR.daz | 2 << MXCSR.rcShift)
        for i in 0..<8 {
            let lo = try m.memory.read64(0x2200 + 160 + UInt64(i * 16)), hi = try m.memory.read64(0x2200 + 168 + UInt64(i * 16))
            XCTAssertEqual(UInt128(hi) << 64 | UInt128(lo), values[i], "xmm\(i) in the FXSAVE image")
        }
    }
}
