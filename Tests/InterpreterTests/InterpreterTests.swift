import MachineCore
import XCTest
@testable import Interpreter

final class LazyFlagsTests: XCTestCase {
    func testAddSetsCarryOverflowAndAuxiliaryLazily() throws {
        let m = try TestMachine()
        // mov al, 0x7F; add al, 0x01; hlt  -> OF, AF, SF set; CF, ZF clear
        try m.realMode([0xB0, 0x7F, 0x04, 0x01, 0xF4])
        let s = m.run()
        XCTAssertEqual(s.rax & 0xFF, 0x80)
        XCTAssertEqual(s.rflags & (RFLAGS.of | RFLAGS.af | RFLAGS.sf | RFLAGS.cf | RFLAGS.zf), RFLAGS.of | RFLAGS.af | RFLAGS.sf)
    }

    func testIncPreservesCarry() throws {
        let m = try TestMachine()
        // stc; mov ax, 0xFFFF; inc ax; hlt -> ZF set, CF still set
        try m.realMode([0xF9, 0xB8, 0xFF, 0xFF, 0x40, 0xF4])
        let s = m.run()
        XCTAssertEqual(s.rax & 0xFFFF, 0)
        XCTAssertNotEqual(s.rflags & RFLAGS.zf, 0)
        XCTAssertNotEqual(s.rflags & RFLAGS.cf, 0)
    }

    func testSbbWithBorrowIn() throws {
        let m = try TestMachine()
        // stc; mov al, 5; sbb al, 5; hlt -> AL = 0xFF, CF set
        try m.realMode([0xF9, 0xB0, 0x05, 0x1C, 0x05, 0xF4])
        let s = m.run()
        XCTAssertEqual(s.rax & 0xFF, 0xFF)
        XCTAssertNotEqual(s.rflags & RFLAGS.cf, 0)
    }
}

final class SingleStepTests: XCTestCase {
    func testTrapFlagTrapsAfterEachInstruction() throws {
        let m = try TestMachine()
        // IVT[1] -> 0000:2000: inc word [0x600]; iret. The main code sets TF with POPF, runs
        // three NOPs, then clears TF and halts.
        try m.memory.write16(4, 0x2000)
        try m.memory.write16(6, 0)
        try m.memory.write([0xFF, 0x06, 0x00, 0x06, 0xCF], at: 0x2000)
        // pushf; pop ax; or ax, 0x100; push ax; popf; nop; nop; nop; pushf; pop ax; and ax, 0xFEFF; push ax; popf; hlt
        try m.realMode([0x9C, 0x58, 0x0D, 0x00, 0x01, 0x50, 0x9D, 0x90, 0x90, 0x90,
                        0x9C, 0x58, 0x25, 0xFF, 0xFE, 0x50, 0x9D, 0xF4])
        let s = m.run()
        XCTAssertEqual(s.rip, 0x1012)
        // Traps after: nop, nop, nop, pushf, pop, and, push, popf (TF was set when each began).
        XCTAssertEqual(try m.memory.read16(0x600), 8)
        XCTAssertNotEqual(s.dr6 & (1 << 14), 0, "DR6.BS")
    }
}

final class DebugRegisterTests: XCTestCase {
    func testInstructionBreakpointFaultsBeforeTheInstruction() throws {
        let m = try TestMachine()
        // #DB handler at 0000:2000 counts hits in [0x600]. A real-mode frame holds 16-bit FLAGS,
        // which cannot carry RF, so the handler disables the breakpoint (DR7 = 0) and returns.
        try m.memory.write16(4, 0x2000)
        try m.memory.write16(6, 0)
        // inc word [0x600]; xor eax, eax (66 31 C0); mov dr7, eax (0F 23 F8); iret
        try m.memory.write([0xFF, 0x06, 0x00, 0x06, 0x66, 0x31, 0xC0, 0x0F, 0x23, 0xF8, 0xCF], at: 0x2000)
        // mov eax, 0x1013; mov dr0, eax; mov eax, 1 (L0, execute); mov dr7, eax; nop;
        // 1013: mov bx, 7 (the breakpoint); hlt
        var code: [UInt8] = [0x66, 0xB8, 0x13, 0x10, 0, 0, 0x0F, 0x23, 0xC0, 0x66, 0xB8, 1, 0, 0, 0, 0x0F, 0x23, 0xF8]
        code += [0x90, 0xBB, 0x07, 0x00, 0xF4]
        try m.realMode(code)
        let s = m.run()
        XCTAssertEqual(try m.memory.read16(0x600), 1, "one #DB")
        XCTAssertEqual(s.rbx & 0xFFFF, 7, "the instruction ran after the handler returned")
        XCTAssertEqual(s.dr6 & 0xF, 1, "DR6.B0")
        XCTAssertEqual(s.rip, 0x1017)
    }
}

final class ArithmeticTests: XCTestCase {
    func testDivideByZeroRaisesDEThroughTheIVT() throws {
        let m = try TestMachine()
        // IVT[0] -> 0000:2000 where a HLT waits; xor cx,cx; div cx
        try m.memory.write16(0, 0x2000)
        try m.memory.write16(2, 0)
        try m.memory.write([0xF4], at: 0x2000)
        try m.realMode([0x31, 0xC9, 0xF7, 0xF1, 0xF4])
        let s = m.run()
        XCTAssertEqual(s.rip, 0x2001)
        // The pushed IP is the DIV itself (a fault), at SS:SP.
        XCTAssertEqual(try m.memory.read16(s.rsp), 0x1002)
    }

    func testThirtyTwoBitMultiplyFillsEDX() throws {
        let m = try TestMachine()
        // mov eax, 0x80000000; mov ecx, 4; mul ecx; hlt (66-prefixed in real mode)
        try m.realMode([0x66, 0xB8, 0, 0, 0, 0x80, 0x66, 0xB9, 4, 0, 0, 0, 0x66, 0xF7, 0xE1, 0xF4])
        let s = m.run()
        XCTAssertEqual(s.rax & 0xFFFF_FFFF, 0)
        XCTAssertEqual(s.rdx & 0xFFFF_FFFF, 2)
        XCTAssertNotEqual(s.rflags & RFLAGS.cf, 0)
    }
}

final class DecodedCodeCacheTests: XCTestCase {
    func testSelfModifyingCodeIsSeen() throws {
        let m = try TestMachine()
        // A loop that runs `mov al, 1` once, then patches its immediate to 2 and runs it again.
        //   1000: mov al, 1          B0 01
        //   1002: cmp bl, 1          80 FB 01
        //   1005: je done            74 0A
        //   1007: mov bl, 1          B3 01
        //   1009: mov byte [0x1001], 2   C6 06 01 10 02
        //   100E: jmp 1000           EB F0
        //   1010: hlt
        //   1011: hlt  (done)
        try m.realMode([0xB0, 0x01, 0x80, 0xFB, 0x01, 0x74, 0x0A, 0xB3, 0x01, 0xC6, 0x06, 0x01, 0x10, 0x02, 0xEB, 0xF0, 0xF4, 0xF4])
        let s = m.run()
        XCTAssertEqual(s.rax & 0xFF, 2, "the patched immediate must be executed")
    }
}

final class ProtectedModeTests: XCTestCase {
    func testPageFaultPushesErrorCodeAndSetsCR2() throws {
        let m = try TestMachine()
        // Paging with one page table: 0-4 MiB identity except page 0x300000, not present.
        let pd: UInt64 = 0x10000, pt: UInt64 = 0x11000
        try m.memory.write32(pd, UInt32(pt) | 3)
        for i in 0..<1024 where i != 0x300 { try m.memory.write32(pt + UInt64(i * 4), UInt32(i << 12) | 3) }
        // Handler at 0x3000: pop the error code into EBX, HLT.
        try m.memory.write([0x5B, 0xF4], at: 0x3000)
        try m.interruptGate(14, handler: 0x3000)
        // mov eax, pd; mov cr3, eax; mov eax, cr0; or eax, 0x80000000; mov cr0, eax;
        // mov dword [0x300010], 1; hlt
        let code: [UInt8] = [0xB8] + le32(UInt32(pd)) + [0x0F, 0x22, 0xD8, 0x0F, 0x20, 0xC0, 0x0D] + le32(0x8000_0000)
            + [0x0F, 0x22, 0xC0, 0xC7, 0x05] + le32(0x30_0010) + le32(1) + [0xF4]
        try m.protectedMode(code, idtEntries: 32)
        let s = m.run()
        XCTAssertEqual(s.rip, 0x3002)
        XCTAssertEqual(s.cr2, 0x30_0010)
        XCTAssertEqual(s.rbx, 0x2, "error code: write to a not-present page at CPL 0")
    }

    func testFaultWithoutAHandlerEndsInATripleFault() throws {
        let m = try TestMachine()
        // ud2 with an empty IDT: #UD -> #GP -> #DF -> shutdown.
        try m.protectedMode([0x0F, 0x0B], idtEntries: 0)
        _ = m.run()
        XCTAssertEqual(m.cpu.shutdownReason, "triple fault")
    }

    func testUnimplementedFormsRaiseUDAndAreCounted() throws {
        let m = try TestMachine()
        // An AVX instruction (vaddps xmm0, xmm1, xmm2) is decoded but not implemented.
        try m.memory.write([0xF4], at: 0x2000)
        try m.interruptGate(6, handler: 0x2000)
        try m.protectedMode([0xC5, 0xF0, 0x58, 0xC2], idtEntries: 32)
        let s = m.run()
        XCTAssertEqual(s.rip, 0x2001)
        XCTAssertEqual(m.cpu.unimplementedCount, 1)
        XCTAssertEqual(m.cpu.unimplemented["vaddps"], 1)
    }
}

func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> ($0 * 8)) & 0xFF) } }
