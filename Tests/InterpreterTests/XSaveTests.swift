import MachineCore
import XCTest
@testable import Interpreter

/// XSAVE/XRSTOR/XSETBV and CPUID leaf 0xD for the x87 and SSE components (SDM Vol. 1 ch. 13).
final class XSaveTests: XCTestCase {
    /// 32-bit flat protected mode with CR4.OSFXSR and CR4.OSXSAVE.
    func machine(_ code: [UInt8]) throws -> TestMachine {
        let m = try TestMachine()
        try m.protectedMode(code, idtEntries: 32)
        var s = m.cpu.getState()
        s.cr4 |= CR4.osfxsr | CR4.osxsave
        m.cpu.setState(s)
        return m
    }

    func testXSaveThenXRstorBringsBackTheX87AndSSEState() throws {
        //   xor ecx, ecx; mov eax, 3; xor edx, edx; xsetbv      XCR0 = x87 | SSE
        //   fld1; pcmpeqb xmm3, xmm3                              some state
        //   mov eax, 3; xsave [0x3000]; fninit; pxor xmm3, xmm3; xrstor [0x3000]; hlt
        let code: [UInt8] = [0x31, 0xC9, 0xB8, 0x03, 0, 0, 0, 0x31, 0xD2, 0x0F, 0x01, 0xD1,
                             0xD9, 0xE8, 0x66, 0x0F, 0x74, 0xDB,
                             0xB8, 0x03, 0, 0, 0, 0x0F, 0xAE, 0x25, 0x00, 0x30, 0, 0,
                             0xDB, 0xE3, 0x66, 0x0F, 0xEF, 0xDB,
                             0x0F, 0xAE, 0x2D, 0x00, 0x30, 0, 0, 0xF4]
        let m = try machine(code)
        let s = m.run()
        XCTAssertEqual(s.rip, UInt64(0x1000 + code.count))
        XCTAssertEqual(s.fpu.xcr0, 3)
        XCTAssertEqual(try m.memory.read64(0x3000 + 512), 3, "XSTATE_BV marks both components")
        XCTAssertEqual(try m.memory.read16(0x3000), 0x037F, "FCW in the legacy region")
        XCTAssertEqual(s.fpu.st[0].significand, 0x8000_0000_0000_0000, "ST(0) = 1.0 again")
        XCTAssertEqual(s.fpu.st[0].signExponent, 0x3FFF)
        XCTAssertEqual(s.fpu.xmm[3], UInt128.max, "XMM3 restored")
    }

    func testXRstorOfAComponentNotInUseInitialisesIt() throws {
        // XSTATE_BV = 0 in an all-zero area: x87 and XMM go to their initial state, MXCSR
        // still comes from memory (0x1F80 written there first).
        //   mov dword [0x3018], 0x1F80; xor ecx, ecx; mov eax, 3; xor edx, edx; xsetbv
        //   fld1; pcmpeqb xmm1, xmm1; mov eax, 3; xrstor [0x3000]; hlt
        let code: [UInt8] = [0xC7, 0x05, 0x18, 0x30, 0, 0, 0x80, 0x1F, 0, 0,
                             0x31, 0xC9, 0xB8, 0x03, 0, 0, 0, 0x31, 0xD2, 0x0F, 0x01, 0xD1,
                             0xD9, 0xE8, 0x66, 0x0F, 0x74, 0xC9,
                             0xB8, 0x03, 0, 0, 0, 0x0F, 0xAE, 0x2D, 0x00, 0x30, 0, 0, 0xF4]
        let m = try machine(code)
        let s = m.run()
        XCTAssertEqual(s.rip, UInt64(0x1000 + code.count))
        XCTAssertEqual(s.fpu.ftw, 0xFFFF, "x87 registers empty")
        XCTAssertEqual(s.fpu.xmm[1], 0)
        XCTAssertEqual(s.fpu.mxcsr, 0x1F80)
    }

    func testMisalignedAreaAndBadXCR0RaiseGP() throws {
        // #GP handler at 0x2000: hlt. xsetbv with XCR0 = 2 (x87 bit clear) faults.
        //   xor ecx, ecx; mov eax, 2; xor edx, edx; xsetbv
        let m = try machine([0x31, 0xC9, 0xB8, 0x02, 0, 0, 0, 0x31, 0xD2, 0x0F, 0x01, 0xD1])
        try m.memory.write([0xF4], at: 0x2000)
        try m.interruptGate(13, handler: 0x2000)
        XCTAssertEqual(m.run().rip, 0x2001)
        XCTAssertEqual(m.cpu.lastDeliveredVector, 13)
        // mov eax, 1; xsave [0x3008] (not 64-byte aligned)
        let m2 = try machine([0xB8, 0x01, 0, 0, 0, 0x0F, 0xAE, 0x25, 0x08, 0x30, 0, 0])
        try m2.memory.write([0xF4], at: 0x2000)
        try m2.interruptGate(13, handler: 0x2000)
        XCTAssertEqual(m2.run().rip, 0x2001)
        XCTAssertEqual(m2.cpu.lastDeliveredVector, 13)
    }

    func testCPUIDDescribesTheAreaAndMirrorsOSXSAVE() throws {
        //   mov eax, 0xD; xor ecx, ecx; cpuid; mov esi, eax; mov edi, ebx
        //   mov eax, 1; cpuid; hlt
        let m = try machine([0xB8, 0x0D, 0, 0, 0, 0x31, 0xC9, 0x0F, 0xA2, 0x89, 0xC6, 0x89, 0xDF,
                             0xB8, 0x01, 0, 0, 0, 0x0F, 0xA2, 0xF4])
        let s = m.run()
        XCTAssertEqual(s.rsi, 3, "x87 and SSE components")
        XCTAssertEqual(s.rdi, 576)
        XCTAssertNotEqual(s.rcx & UInt64(CPUIDBits.osxsave), 0, "OSXSAVE follows CR4.OSXSAVE")
    }
}
