import Glibc
import MachineCore
import XCTest
@testable import Interpreter

/// Instruction-level x87 tests: 32-bit flat code at 0x1000 (real mode where noted), operands
/// at 0x2000, results at 0x2100 and up, handlers at 0x3000.
final class X87Tests: XCTestCase {
    // MARK: helpers

    func machine(_ code: [UInt8], real: Bool = false, cr0Set: UInt64 = 0, vectors: [Int] = []) throws -> TestMachine {
        let m = try TestMachine()
        if real { try m.realMode(code) } else { try m.protectedMode(code, idtEntries: 32) }
        try m.memory.write([0xF4], at: 0x3000)
        for v in vectors { try m.interruptGate(v, handler: 0x3000) }
        if cr0Set != 0 {
            var s = m.cpu.getState()
            s.cr0 |= cr0Set
            m.cpu.setState(s)
        }
        return m
    }

    func putDouble(_ m: TestMachine, _ a: UInt64, _ v: Double) throws { try m.memory.write64(a, v.bitPattern) }
    func putTword(_ m: TestMachine, _ a: UInt64, _ v: X87Register) throws {
        try m.memory.write64(a, v.significand)
        try m.memory.write16(a + 8, v.signExponent)
    }
    func tword(_ m: TestMachine, _ a: UInt64) throws -> X87Register {
        X87Register(significand: try m.memory.read64(a), signExponent: try m.memory.read16(a + 8))
    }
    func bits(_ f: Float80) -> X87Register { X87Register(f) }

    /// The host's result of `f` under a rounding mode (fesetround; debug builds keep the order).
    func hostRounded(_ mode: Int32, _ f: () -> Float80) -> Float80 {
        fesetround(mode)
        let r = f()
        fesetround(0)
        return r
    }

    /// A value the compiler cannot fold, so that the division happens under fesetround.
    func opaque(_ v: Int) -> Float80 { Float80(Int.random(in: v...v)) }

    static let feDownward: Int32 = 0x400, feUpward: Int32 = 0x800, feTowardZero: Int32 = 0xC00

    // MARK: arithmetic

    func testArithmeticMatchesHostExtendedPrecision() throws {
        let pairs: [(Double, Double)] = [(1.5, 3.25), (10, 3), (1e300, 3e-300), (0.1, -0.7), (123456.789, 1e-5), (2, 1e-20)]
        for (a, b) in pairs {
            let m = try machine(X87Programs.arithmetic)
            try putDouble(m, 0x2000, a)
            try putDouble(m, 0x2008, b)
            let f: Float = 0.3
            try m.memory.write32(0x2018, f.bitPattern)
            try m.memory.write32(0x201C, UInt32(bitPattern: -7))
            _ = m.run()
            let x = Float80(a), y = Float80(b)
            XCTAssertEqual(try tword(m, 0x2100), bits(x + y), "\(a) + \(b)")
            XCTAssertEqual(try tword(m, 0x2110), bits(x * y), "\(a) * \(b)")
            XCTAssertEqual(try tword(m, 0x2120), bits(x / y), "\(a) / \(b)")
            XCTAssertEqual(try tword(m, 0x2130), bits(x - y), "\(a) - \(b)")
            XCTAssertEqual(try tword(m, 0x2140), bits(x.squareRoot()), "sqrt \(a)")
            XCTAssertEqual(try tword(m, 0x2150), bits(y - x), "fsubr \(a) \(b)")
            XCTAssertEqual(try tword(m, 0x2160), bits(x / y), "fdivr \(a) \(b)")
            XCTAssertEqual(try m.memory.read64(0x2170), Double(x + Float80(f)).bitPattern, "fadd m32 then fstp m64")
            XCTAssertEqual(try tword(m, 0x2180), bits(x / -7), "fidiv")
            XCTAssertEqual(m.cpu.unimplementedCount, 0)
        }
    }

    func testRoundingAndPrecisionControlOnOneThird() throws {
        // (control word, expected, C1 round-up)
        let third = Float80(1) / Float80(3)
        let cases: [(UInt16, Float80, Bool)] = [
            (0x037F, third, true),
            (0x077F, hostRounded(Self.feDownward) { opaque(1) / opaque(3) }, false),
            (0x0B7F, hostRounded(Self.feUpward) { opaque(1) / opaque(3) }, true),
            (0x0F7F, hostRounded(Self.feTowardZero) { opaque(1) / opaque(3) }, false),
            (0x027F, Float80(1.0 / 3.0), false),
            (0x007F, Float80(Float(1) / Float(3)), true),
            (0x0A7F, Float80(hostRoundedDouble(Self.feUpward)), true),
        ]
        var seen = Set<UInt64>()
        for (cw, expected, up) in cases {
            let m = try machine(X87Programs.oneThird)
            try m.memory.write16(0x2010, cw)
            try m.memory.write32(0x2014, 3)
            _ = m.run()
            let r = try tword(m, 0x2100)
            XCTAssertEqual(r, bits(expected), String(format: "cw %04x", cw))
            let sw = try m.memory.read16(0x2110)
            XCTAssertEqual(sw & FSW.pe, FSW.pe, "inexact")
            XCTAssertEqual(sw & FSW.c1 != 0, up, String(format: "C1 for cw %04x", cw))
            seen.insert(r.significand)
        }
        XCTAssertEqual(seen.count, 5, "RN/RU, RD/RZ, PC53, PC24 and PC53-up give distinct significands")
    }

    func hostRoundedDouble(_ mode: Int32) -> Double {
        let one = Double(Int.random(in: 1...1)), three = Double(Int.random(in: 3...3))
        fesetround(mode)
        let r = one / three
        fesetround(0)
        return r
    }

    // MARK: stack faults and masked responses

    func testStackOverflowSetsIEAndSFWithC1AndPushesIndefinite() throws {
        let m = try machine(X87Programs.stackOverflow)
        let s = m.run()
        let sw = UInt16(truncatingIfNeeded: s.rax)
        XCTAssertEqual(sw & (FSW.exceptions | FSW.sf | FSW.c1), FSW.ie | FSW.sf | FSW.c1)
        XCTAssertEqual((sw >> 11) & 7, 7)
        XCTAssertEqual(s.fpu.st[0], .indefinite)
        XCTAssertEqual(s.fpu.st[1], bits(1))
    }

    func testStackUnderflowClearsC1AndWritesIndefinite() throws {
        let m = try machine(X87Programs.stackUnderflow)
        let s = m.run()
        let sw = UInt16(truncatingIfNeeded: s.rax)
        XCTAssertEqual(sw & (FSW.exceptions | FSW.sf | FSW.c1), FSW.ie | FSW.sf)
        XCTAssertEqual(s.fpu.st[0], .indefinite)
    }

    func testMaskedZeroDivideGivesInfinityAndZeroOverZeroGivesIndefinite() throws {
        let m = try machine(X87Programs.divideByZero)
        let s = m.run()
        XCTAssertEqual(try m.memory.read16(0x2100) & FSW.exceptions, FSW.ze)
        XCTAssertEqual(UInt16(truncatingIfNeeded: s.rax) & FSW.exceptions, FSW.ie)
        XCTAssertEqual(s.fpu.st[0], .indefinite)
        XCTAssertEqual(s.fpu.st[1], .infinity(false))
        XCTAssertEqual(s.fpu.fsw & FSW.es, 0, "masked exceptions leave ES clear")
    }

    // MARK: unmasked exceptions

    func testUnmaskedExceptionRaisesMFAtTheNextWaitingInstruction() throws {
        let code = X87Programs.unmaskedZeroDivide
        let m = try machine(code, cr0Set: CR0.ne, vectors: [16])
        try m.memory.write16(0x2010, 0x037B)  // ZM clear
        let s = m.run()
        XCTAssertEqual(m.cpu.lastDeliveredVector, 16)
        XCTAssertEqual(s.rip, 0x3001)
        let fwaitAddress = 0x1000 + UInt32(code.lastIndex(of: 0x9B)!)
        XCTAssertEqual(try m.memory.read32(s.rsp), fwaitAddress, "#MF is a fault on the FWAIT")
        let swAtFnstsw = UInt16(truncatingIfNeeded: s.rax)
        XCTAssertEqual(swAtFnstsw & (FSW.ze | FSW.es | FSW.busy), FSW.ze | FSW.es | FSW.busy, "FNSTSW does not wait")
        XCTAssertEqual(s.fpu.st[0], .zero(false), "no result and no pop")
        XCTAssertEqual(s.fpu.st[1], bits(1))
    }

    func testUnmaskedExceptionWithoutNEAssertsFERR() throws {
        let m = try machine(X87Programs.unmaskedZeroDivide, vectors: [16])
        try m.memory.write16(0x2010, 0x037B)
        let recorder = IRQRecorder()
        m.cpu.platform.ferr = recorder.line(13)
        let s = m.run()
        XCTAssertEqual(recorder.edges, [true])
        XCTAssertNotEqual(m.cpu.lastDeliveredVector, 16)
        XCTAssertEqual(s.rip, 0x1000 + UInt64(X87Programs.unmaskedZeroDivide.count), "runs on to HLT")
    }

    func testFNCLEXDeassertsFERR() throws {
        let m = try machine(X87Programs.ferrClear)
        try m.memory.write16(0x2010, 0x037B)
        let recorder = IRQRecorder()
        m.cpu.platform.ferr = recorder.line(13)
        let s = m.run()
        XCTAssertEqual(recorder.edges, [true, false])
        XCTAssertEqual(s.fpu.fsw & (FSW.es | FSW.ze), 0)
    }

    func testFLDENVWithAnUnmaskedFlagRaisesMFAtTheNextInstruction() throws {
        let m = try machine(X87Programs.fldenvPending, cr0Set: CR0.ne, vectors: [16])
        // 32-bit protected environment: FCW with PM clear, FSW with PE set, all registers empty.
        try m.memory.write32(0x2200, 0x035F)
        try m.memory.write32(0x2204, UInt32(FSW.pe))
        try m.memory.write32(0x2208, 0xFFFF)
        let s = m.run()
        XCTAssertEqual(m.cpu.lastDeliveredVector, 16)
        XCTAssertEqual(try m.memory.read32(s.rsp), 0x1008, "the FLD1 after FLDENV faults")
        XCTAssertEqual(s.fpu.fsw & (FSW.es | FSW.busy), FSW.es | FSW.busy)
    }

    func testLDMXCSRAndSTMXCSR() throws {
        let m = try machine(X87Programs.mxcsr, vectors: [6, 13])
        var st = m.cpu.getState()
        st.cr4 |= CR4.osfxsr
        m.cpu.setState(st)
        try m.memory.write32(0x2000, 0x1F00 | 0x40)  // DAZ is implemented
        let s = m.run()
        XCTAssertEqual(s.fpu.mxcsr, 0x1F40)
        XCTAssertEqual(try m.memory.read32(0x2004), 0x1F40)

        let reserved = try machine(X87Programs.mxcsr, vectors: [6, 13])
        var rs = reserved.cpu.getState()
        rs.cr4 |= CR4.osfxsr
        reserved.cpu.setState(rs)
        try reserved.memory.write32(0x2000, 0x1_0000)
        _ = reserved.run()
        XCTAssertEqual(reserved.cpu.lastDeliveredVector, 13)

        let noOSFXSR = try machine(X87Programs.mxcsr, vectors: [6, 13])
        _ = noOSFXSR.run()
        XCTAssertEqual(noOSFXSR.cpu.lastDeliveredVector, 6)
    }

    // MARK: comparisons and classification

    func testFCOMISetsZFPFCF() throws {
        let cases: [(Double, Double, UInt64)] = [
            (1, 2, RFLAGS.cf), (2, 2, RFLAGS.zf), (3, 2, 0), (.nan, 2, RFLAGS.zf | RFLAGS.pf | RFLAGS.cf), (-0.0, 0, RFLAGS.zf),
        ]
        for (a, b, expected) in cases {
            let m = try machine(X87Programs.fcomi)
            try putDouble(m, 0x2000, a)
            try putDouble(m, 0x2008, b)
            let s = m.run()
            XCTAssertEqual(s.rflags & (RFLAGS.zf | RFLAGS.pf | RFLAGS.cf | RFLAGS.of | RFLAGS.sf), expected, "\(a) vs \(b)")
            XCTAssertEqual(s.fpu.fsw & FSW.ie != 0, a.isNaN, "FCOMI signals IE for a QNaN")
        }
        // FUCOMIP: a QNaN is quiet, and the stack pops.
        let m = try machine(X87Programs.fucomip)
        try putDouble(m, 0x2000, .nan)
        try putDouble(m, 0x2008, 1)
        let s = m.run()
        XCTAssertEqual(s.rflags & (RFLAGS.zf | RFLAGS.pf | RFLAGS.cf), RFLAGS.zf | RFLAGS.pf | RFLAGS.cf)
        XCTAssertEqual(UInt16(truncatingIfNeeded: s.rax) & FSW.ie, 0)
        XCTAssertEqual((s.fpu.fsw >> 11) & 7, 7)
    }

    func testFCOMConditionCodes() throws {
        let cases: [(Double, Double, UInt16)] = [(1, 2, FSW.c0), (2, 2, FSW.c3), (3, 2, 0), (-1, .infinity, FSW.c0)]
        for (a, b, expected) in cases {
            let m = try machine(X87Programs.fcomMemory)
            try putDouble(m, 0x2000, a)
            try putDouble(m, 0x2008, b)
            let s = m.run()
            XCTAssertEqual(UInt16(truncatingIfNeeded: s.rax) & (FSW.c0 | FSW.c2 | FSW.c3), expected, "\(a) vs \(b)")
        }
    }

    func testFXAMClasses() throws {
        let c0 = FSW.c0, c1 = FSW.c1, c2 = FSW.c2, c3 = FSW.c3
        let cases: [(X87Register, UInt16)] = [
            (bits(1), c2),
            (.infinity(true), c2 | c0 | c1),
            (.zero(false), c3),
            (X87Register(significand: 1, signExponent: 0), c3 | c2),
            (X87Register(significand: 0xC000_0000_0000_0001, signExponent: 0x7FFF), c0),
            (X87Register(significand: 0x4000_0000_0000_0000, signExponent: 0x0001), 0),  // unnormal
        ]
        for (v, expected) in cases {
            let m = try machine(X87Programs.fxam)
            try putTword(m, 0x2000, v)
            let s = m.run()
            XCTAssertEqual(UInt16(truncatingIfNeeded: s.rax) & FSW.conditionCodes, expected, "\(v)")
        }
        let m = try machine(X87Programs.fxamEmpty)
        let s = m.run()
        XCTAssertEqual(UInt16(truncatingIfNeeded: s.rax) & FSW.conditionCodes, c3 | c0)
    }

    // MARK: environment images

    func testFSAVEAndFSTENV32BitProtectedLayout() throws {
        let m = try machine(X87Programs.fsaveFrstor)
        try m.memory.write16(0x2010, 0x0262)
        try putDouble(m, 0x2000, 2.5)
        let s = m.run()
        let b: UInt64 = 0x2200
        XCTAssertEqual(try m.memory.read16(b + 0), 0x0262, "FCW")
        XCTAssertEqual(try m.memory.read16(b + 4), 4 << 11, "FSW with TOP = 4")
        XCTAssertEqual(try m.memory.read16(b + 8), 0x04FF, "FTW: R4-R7 valid, valid, zero, valid; R0-R3 empty")
        XCTAssertEqual(try m.memory.read32(b + 12), 0x100E, "FIP: the FLD m64")
        XCTAssertEqual(try m.memory.read32(b + 16), 0x0505_0008, "FOP (DD 05) and FCS")
        XCTAssertEqual(try m.memory.read32(b + 20), 0x2000, "FDP")
        XCTAssertEqual(try m.memory.read32(b + 24), 0x10, "FDS")
        XCTAssertEqual(try tword(m, b + 28), bits(2.5), "ST0")
        XCTAssertEqual(try tword(m, b + 38), .zero(false), "ST1")
        XCTAssertEqual(try tword(m, b + 48), bits(Float80.pi), "ST2")
        XCTAssertEqual(try tword(m, b + 58), bits(1), "ST3")
        XCTAssertEqual(try m.memory.read16(0x2300), 0x037F, "FNSAVE reinitializes")
        // FRSTOR then FNSTENV: the same environment, then all exceptions masked.
        XCTAssertEqual(try m.memory.read(0x2280, count: 28), try m.memory.read(0x2200, count: 28))
        XCTAssertEqual(try m.memory.read16(0x2302), 0x027F)
        XCTAssertEqual(s.fpu.st[0], bits(2.5))
        XCTAssertEqual(s.fpu.st[2], bits(Float80.pi))
        XCTAssertEqual(s.fpu.ftw, 0x04FF)
    }

    func testFSAVE16BitProtectedLayoutRoundTrip() throws {
        let m = try machine(X87Programs.fsave16)
        try putDouble(m, 0x2000, 2.5)
        let s = m.run()
        let b: UInt64 = 0x2200
        XCTAssertEqual(try m.memory.read16(b + 0), 0x037F)
        XCTAssertEqual(try m.memory.read16(b + 2), 6 << 11)
        XCTAssertEqual(try m.memory.read16(b + 4), 0x0FFF)
        XCTAssertEqual(try m.memory.read16(b + 6), 0x1004, "FIP")
        XCTAssertEqual(try m.memory.read16(b + 8), 0x08, "FCS")
        XCTAssertEqual(try m.memory.read16(b + 10), 0x2000, "FDP")
        XCTAssertEqual(try m.memory.read16(b + 12), 0x10, "FDS")
        XCTAssertEqual(try tword(m, b + 14), bits(2.5))
        XCTAssertEqual(try tword(m, b + 24), bits(1))
        XCTAssertEqual(s.fpu.st[0], bits(2.5))
        XCTAssertEqual(s.fpu.st[1], bits(1))
        XCTAssertEqual(s.fpu.ftw, 0x0FFF)
        XCTAssertEqual(s.fpu.fip, 0x1004)
    }

    func testFSTENVRealModeLayouts() throws {
        let m = try machine(X87Programs.fstenvReal16, real: true)
        try putDouble(m, 0x2000, 2.5)
        let s = m.run()
        // 16-bit real layout (Figure 8-12).
        XCTAssertEqual(try m.memory.read16(0x2200), 0x037F)
        XCTAssertEqual(try m.memory.read16(0x2202), 6 << 11)
        XCTAssertEqual(try m.memory.read16(0x2204), 0x0FFF)
        XCTAssertEqual(try m.memory.read16(0x2206), 0x1004, "IP 15..0")
        XCTAssertEqual(try m.memory.read16(0x2208), 0x0506, "IP 19..16 and FOP (DD 06)")
        XCTAssertEqual(try m.memory.read16(0x220A), 0x2000, "DP 15..0")
        XCTAssertEqual(try m.memory.read16(0x220C), 0)
        // 32-bit real layout (Figure 8-10).
        XCTAssertEqual(try m.memory.read32(0x2280), 0x037F)
        XCTAssertEqual(try m.memory.read32(0x2284), 6 << 11)
        XCTAssertEqual(try m.memory.read32(0x2288), 0x0FFF)
        XCTAssertEqual(try m.memory.read32(0x228C), 0x1004)
        XCTAssertEqual(try m.memory.read32(0x2290), 0x0506)
        XCTAssertEqual(try m.memory.read32(0x2294), 0x2000)
        XCTAssertEqual(try m.memory.read32(0x2298), 0)
        XCTAssertEqual(s.fpu.fip, 0x1004, "FLDENV reads the 20-bit pointer back")
        XCTAssertEqual(s.fpu.fop, 0x506)
    }

    func testFXSAVELayout() throws {
        let m = try machine(X87Programs.fxsave)
        var st = m.cpu.getState()
        st.fpu.xmm[0] = (UInt128(0x1122_3344_5566_7788) << 64) | 0x99AA_BBCC_DDEE_FF00
        m.cpu.setState(st)
        _ = m.run()
        let b: UInt64 = 0x2400
        XCTAssertEqual(try m.memory.read16(b + 0), 0x037F, "FCW at 0")
        XCTAssertEqual(try m.memory.read16(b + 2), 6 << 11, "FSW at 2")
        XCTAssertEqual(try m.memory.read8(b + 4), 0xC0, "abridged FTW at 4: R6, R7")
        XCTAssertEqual(try m.memory.read16(b + 6), 0x1EB, "FOP (D9 EB)")
        XCTAssertEqual(try m.memory.read32(b + 8), 0x1004, "FIP")
        XCTAssertEqual(try m.memory.read16(b + 12), 0x08, "FCS")
        XCTAssertEqual(try m.memory.read32(b + 24), 0x1F80, "MXCSR at 24")
        XCTAssertEqual(try m.memory.read32(b + 28), 0xFFFF, "MXCSR_MASK")
        XCTAssertEqual(try tword(m, b + 32), bits(Float80.pi), "ST0 at 32")
        XCTAssertEqual(try tword(m, b + 48), bits(1), "ST1 at 48")
        XCTAssertEqual(try m.memory.read64(b + 160), 0x99AA_BBCC_DDEE_FF00, "XMM0 at 160")
        XCTAssertEqual(try m.memory.read64(b + 168), 0x1122_3344_5566_7788)
    }

    /// 64-bit mode on identity-mapped 2 MiB pages (PML4 0x10000, PDPT 0x11000, PD 0x12000).
    func longModeMachine(_ code: [UInt8]) throws -> TestMachine {
        let m = try TestMachine()
        try m.memory.write(code, at: 0x1000)
        try m.memory.write64(0x10000, 0x11000 | 3)
        try m.memory.write64(0x11000, 0x12000 | 3)
        try m.memory.write64(0x12000, 0x83)  // 2 MiB page at 0, present, writable
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.pg | CR0.et | CR0.ne
        s.cr3 = 0x10000
        s.cr4 = CR4.pae | CR4.osfxsr
        s.msr.efer = EFER.lme | EFER.lma
        s.cs = .flat(selector: 0x08, code: true, longMode: true)
        for keyPath in [\CPUState.ds, \CPUState.es, \CPUState.ss] { s[keyPath: keyPath] = .flat(selector: 0x10, code: false) }
        s.rip = 0x1000
        s.rsp = 0x8000
        s.fpu.xmm[15] = 0xABCD
        m.cpu.setState(s)
        return m
    }

    func testFXSAVE64LayoutAndTheLegacyFormIn64BitMode() throws {
        let m = try longModeMachine(X87Programs.fxsave64)
        let s = m.run()
        XCTAssertEqual(s.rip, 0x1000 + UInt64(X87Programs.fxsave64.count))
        XCTAssertEqual(m.cpu.unimplementedCount, 0)
        // REX.W: 64-bit FIP at 8 and FDP at 16, no selectors.
        XCTAssertEqual(try m.memory.read64(0x2408), 0x1002, "FIP of FLD1")
        XCTAssertEqual(try m.memory.read8(0x2404), 0x80, "abridged FTW: R7")
        XCTAssertEqual(try tword(m, 0x2400 + 32), bits(1))
        XCTAssertEqual(try m.memory.read64(0x2400 + 160 + 15 * 16), 0xABCD, "XMM15 in 64-bit mode")
        // Without REX.W: 32-bit FIP and FCS.
        XCTAssertEqual(try m.memory.read32(0x2608), 0x1002)
        XCTAssertEqual(try m.memory.read16(0x260C), 0x08, "FCS")
        XCTAssertEqual(s.fpu.st[0], bits(1), "FXRSTOR64 round trip")
        XCTAssertEqual(s.fpu.ftw, 0x3FFF)
    }

    func testFXSAVEMisalignedRaisesGP() throws {
        let m = try machine(X87Programs.fxsaveMisaligned, vectors: [13])
        let s = m.run()
        XCTAssertEqual(m.cpu.lastDeliveredVector, 13)
        XCTAssertEqual(s.rip, 0x3001)
    }

    func testFXRSTORLoadsImageAndRejectsReservedMXCSRBits() throws {
        let m = try machine(X87Programs.fxrstor, vectors: [13])
        let b: UInt64 = 0x2400
        try m.memory.write16(b + 0, 0x0A7F)
        try m.memory.write16(b + 2, 5 << 11)
        try m.memory.write8(b + 4, 0x20)
        try m.memory.write32(b + 24, 0x1F00)
        try putTword(m, b + 32, bits(1.5))
        try m.memory.write64(b + 160 + 16, 0x1234)
        let s = m.run()
        XCTAssertEqual(s.rip, 0x1000 + UInt64(X87Programs.fxrstor.count), "no fault")
        XCTAssertEqual(s.fpu.fcw, 0x0A7F)
        XCTAssertEqual(s.fpu.mxcsr, 0x1F00)
        XCTAssertEqual(s.fpu.st[0], bits(1.5))
        XCTAssertEqual(s.fpu.ftw, 0xF3FF, "R5 valid, the rest empty")
        XCTAssertEqual(s.fpu.xmm[1], 0x1234)

        let bad = try machine(X87Programs.fxrstor, vectors: [13])
        try bad.memory.write32(b + 24, 0x1_0000)
        let t = bad.run()
        XCTAssertEqual(bad.cpu.lastDeliveredVector, 13)
        XCTAssertEqual(t.rip, 0x3001)
    }

    // MARK: integer and BCD conversions

    func testBCDLoadAndStore() throws {
        let m = try machine(X87Programs.bcd)
        let packed: [UInt8] = [0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80]
        try m.memory.write(packed, at: 0x2000)
        try putDouble(m, 0x2010, 2.5)
        let s = m.run()
        XCTAssertEqual(try m.memory.read(0x2100, count: 10), packed, "-123456789012345678 round trip")
        XCTAssertEqual(try m.memory.read(0x2110, count: 10), [2, 0, 0, 0, 0, 0, 0, 0, 0, 0], "2.5 rounds to even")
        XCTAssertEqual(s.fpu.fsw & FSW.pe, FSW.pe)
    }

    func testIntegerStoreOverflowGivesIndefiniteInteger() throws {
        let m = try machine(X87Programs.fistOverflow)
        try putDouble(m, 0x2000, 1e10)
        let s = m.run()
        XCTAssertEqual(try m.memory.read16(0x2100), 0x8000)
        XCTAssertEqual(try m.memory.read32(0x2104), 0x8000_0000)
        XCTAssertEqual(try m.memory.read64(0x2108), 10_000_000_000)
        XCTAssertEqual(UInt16(truncatingIfNeeded: s.rax) & FSW.ie, FSW.ie)
    }

    func testIntegerStoreRoundsAndFISTTPTruncates() throws {
        let m = try machine(X87Programs.fistRounding)
        try putDouble(m, 0x2000, 3.5)
        _ = m.run()
        XCTAssertEqual(try m.memory.read32(0x2100), 4)
        XCTAssertEqual(try m.memory.read32(0x2104), 3)
        XCTAssertEqual(Int32(bitPattern: try m.memory.read32(0x2108)), -4)
        XCTAssertEqual(Int32(bitPattern: try m.memory.read32(0x210C)), -3)
    }

    // MARK: device-not-available

    func testDeviceNotAvailableWithTSOrEM() throws {
        for bit in [CR0.ts, CR0.em] {
            let m = try machine(X87Programs.fld1Only, cr0Set: bit, vectors: [7])
            let s = m.run()
            XCTAssertEqual(m.cpu.lastDeliveredVector, 7)
            XCTAssertEqual(s.rip, 0x3001)
        }
        let ts = try machine(X87Programs.waitOnly, cr0Set: CR0.ts, vectors: [7])
        XCTAssertEqual(ts.run().rip, 0x1002, "WAIT ignores TS without MP")
        let mpts = try machine(X87Programs.waitOnly, cr0Set: CR0.ts | CR0.mp, vectors: [7])
        XCTAssertEqual(mpts.run().rip, 0x3001)
        XCTAssertEqual(mpts.cpu.lastDeliveredVector, 7)
    }

    // MARK: transcendental and miscellaneous

    func testTranscendentalsMatchHostLongDouble() throws {
        let m = try machine(X87Programs.trig)
        try putDouble(m, 0x2000, 0.5)
        try putDouble(m, 0x2008, 2.0)
        _ = m.run()
        let x: Float80 = 0.5
        XCTAssertEqual(try tword(m, 0x2100), bits(sinl(x)))
        XCTAssertEqual(try tword(m, 0x2110), bits(cosl(x)))
        XCTAssertEqual(try tword(m, 0x2120), bits(cosl(x)), "FSINCOS leaves cos on top")
        XCTAssertEqual(try tword(m, 0x2130), bits(sinl(x)))
        XCTAssertEqual(try tword(m, 0x2140), bits(1), "FPTAN pushes 1.0")
        XCTAssertEqual(try tword(m, 0x2150), bits(tanl(x)))
        XCTAssertEqual(try tword(m, 0x2160), bits(atan2l(2, 0.5)))
        XCTAssertEqual(try tword(m, 0x2170), bits(-1), "1 * log2(0.5)")
    }

    func testFSINOutOfRangeSetsC2AndKeepsOperand() throws {
        let m = try machine(X87Programs.fsinOutOfRange)
        let big = X87Register(significand: 1 << 63, signExponent: 16383 + 63)
        try putTword(m, 0x2000, big)
        let s = m.run()
        XCTAssertEqual(UInt16(truncatingIfNeeded: s.rax) & FSW.c2, FSW.c2)
        XCTAssertEqual(s.fpu.st[0], big)
    }

    func testFPREMAndFPREM1() throws {
        let m = try machine(X87Programs.fprem)
        try putDouble(m, 0x2000, 10.5)
        try putDouble(m, 0x2008, 3)
        _ = m.run()
        XCTAssertEqual(try tword(m, 0x2100), bits(fmodl(10.5, 3)))
        XCTAssertEqual(try m.memory.read16(0x2110) & FSW.conditionCodes, FSW.c3 | FSW.c1, "quotient 3")
        XCTAssertEqual(try tword(m, 0x2120), bits(remainderl(10.5, 3)))
        XCTAssertEqual(try m.memory.read16(0x2130) & FSW.conditionCodes, FSW.c0, "quotient 4")

        let loop = try machine(X87Programs.fpremLoop)
        let a = 1.2345e30, b = 0.7
        try putDouble(loop, 0x2000, a)
        try putDouble(loop, 0x2008, b)
        _ = loop.run()
        XCTAssertEqual(try tword(loop, 0x2100), bits(fmodl(Float80(a), Float80(b))), "partial remainders reach fmod")
    }

    func testRoundScaleExtractAndConstantsUnderRoundDown() throws {
        let m = try machine(X87Programs.misc)
        try m.memory.write16(0x2010, 0x077F)
        try putDouble(m, 0x2000, -2.5)
        try m.memory.write32(0x2008, 3)
        _ = m.run()
        XCTAssertEqual(try tword(m, 0x2100), bits(-3), "FRNDINT rounds down")
        XCTAssertEqual(try tword(m, 0x2110), bits(-20), "FSCALE")
        XCTAssertEqual(try tword(m, 0x2120), bits(-1.25), "FXTRACT significand")
        XCTAssertEqual(try tword(m, 0x2130), bits(1), "FXTRACT exponent")
        XCTAssertEqual(try tword(m, 0x2140), bits(-2.5), "FABS then FCHS")
        XCTAssertEqual(try tword(m, 0x2150), X87Register(significand: 0xB8AA_3B29_5C17_F0BB, signExponent: 0x3FFF))
        XCTAssertEqual(try tword(m, 0x2160), X87Register(significand: 0xC90F_DAA2_2168_C234, signExponent: 0x4000))
    }

    func testConstantsRoundToNearestMatchHost() throws {
        // FLDPI etc. at RN equal the host's correctly rounded values.
        XCTAssertEqual(bits(Float80.pi).significand, 0xC90F_DAA2_2168_C235)
        XCTAssertEqual(bits(log2l(10)).significand, 0xD49A_784B_CD1B_8AFE)
        XCTAssertEqual(bits(log2l(expl(1))).significand, 0xB8AA_3B29_5C17_F0BC)
        XCTAssertEqual(bits(log10l(2)).significand, 0x9A20_9A84_FBCF_F799)
        XCTAssertEqual(bits(logl(2)).significand, 0xB172_17F7_D1CF_79AC)
    }

    func testFCMOVAndFXCHAndFFREE() throws {
        let m = try machine(X87Programs.fcmov)
        _ = m.run()
        XCTAssertEqual(try tword(m, 0x2100), bits(1), "FCMOVB taken with CF = 1")
        XCTAssertEqual(try tword(m, 0x2110), .zero(false), "not taken with CF = 0")

        let x = try machine(X87Programs.fxchFree)
        let s = x.run()
        XCTAssertEqual(try tword(x, 0x2100), bits(1))
        XCTAssertEqual((UInt16(truncatingIfNeeded: s.rax) >> 11) & 7, 7)
        XCTAssertEqual(s.fpu.ftw, 0x7FFF, "R7 holds zero, the rest empty")
    }
}
