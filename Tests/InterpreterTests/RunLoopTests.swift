import MachineCore
import XCTest
@testable import Interpreter

/// The uninterrupted run loop steps from one decoded-code-cache entry to the next without
/// looking at CS, RIP or the TLB while code runs straight on one page. These tests run whole
/// slices (the other instruction tests step one instruction at a time) and check that what
/// must end the shortcut does: a write to the next instruction, a CR3 switch, a far jump
/// that changes the code segment's bitness to the very next instruction.
final class RunLoopTests: XCTestCase {
    /// Runs in large slices until HLT.
    func runSlices(_ m: TestMachine, limit: Int = 1_000_000) -> CPUState {
        var total = 0
        while !m.cpu.isHalted && m.cpu.shutdownReason == nil && total < limit { total += m.cpu.runSlice(10_000) }
        return m.cpu.getState()
    }

    func testAnEntryIsOneCacheLine() {
        XCTAssertEqual(MemoryLayout<DecodedCodeCache.Entry>.stride, 64)
    }

    func testAStoreToTheNextDecodedInstructionIsSeen() throws {
        let m = try TestMachine()
        // The second time round, a store patches the immediate of the instruction right after
        // it, which is already decoded and cached.
        //   1000: cmp bl, 1                 80 FB 01
        //   1003: jne 100A                  75 05
        //   1005: mov byte [0x100B], 0x42   C6 06 0B 10 42
        //   100A: mov al, 0x11              B0 11
        //   100C: cmp bl, 1                 80 FB 01
        //   100F: je 1016                   74 05
        //   1011: mov bl, 1                 B3 01
        //   1013: jmp 1000                  EB EB
        //   1015: hlt                       F4
        //   1016: hlt                       F4
        try m.realMode([0x80, 0xFB, 0x01, 0x75, 0x05, 0xC6, 0x06, 0x0B, 0x10, 0x42, 0xB0, 0x11, 0x80, 0xFB, 0x01,
                        0x74, 0x05, 0xB3, 0x01, 0xEB, 0xEB, 0xF4, 0xF4])
        let s = runSlices(m)
        XCTAssertEqual(s.rax & 0xFF, 0x42, "the patched immediate must be executed")
        XCTAssertEqual(s.rip, 0x1017)
    }

    func testACR3SwitchRemapsTheNextInstruction() throws {
        let m = try TestMachine()
        // Two address spaces that differ in one page: linear 0x5000 is physical 0x5000 under
        // the first and 0x6000 under the second. Both hold `mov cr3, eax` then a different
        // `mov ebx, n; hlt`.
        let pd1: UInt64 = 0x10000, pt1: UInt64 = 0x11000, pd2: UInt64 = 0x12000, pt2: UInt64 = 0x13000
        try m.memory.write32(pd1, UInt32(pt1) | 3)
        try m.memory.write32(pd2, UInt32(pt2) | 3)
        for i in 0..<1024 {
            try m.memory.write32(pt1 + UInt64(i * 4), UInt32(i << 12) | 3)
            try m.memory.write32(pt2 + UInt64(i * 4), UInt32((i == 5 ? 6 : i) << 12) | 3)
        }
        try m.memory.write([0x0F, 0x22, 0xD8, 0xBB, 0x01, 0x00, 0x00, 0x00, 0xF4], at: 0x5000)
        try m.memory.write([0x0F, 0x22, 0xD8, 0xBB, 0x02, 0x00, 0x00, 0x00, 0xF4], at: 0x6000)
        try m.protectedMode([0xF4])
        var s = m.cpu.getState()
        s.cr0 |= CR0.pg
        s.cr3 = pd1
        s.rip = 0x5000
        s.rax = pd1
        m.cpu.setState(s)
        // First under the first address space: `mov ebx, 1` is decoded and cached.
        XCTAssertEqual(runSlices(m).rbx, 1)
        s.rax = pd2
        m.cpu.setState(s)
        let after = runSlices(m)
        XCTAssertEqual(after.rbx, 2, "the instruction after MOV CR3 comes from the new mapping")
        XCTAssertEqual(after.cr3, pd2)
    }

    func testAFarJumpToTheNextInstructionSwitchesToItsCodeSize() throws {
        let m = try TestMachine()
        // GDT at 0x500: null, flat 32-bit code (0x08), flat data (0x10); its descriptor at 0x520.
        for (i, d) in [UInt64(0), 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF].enumerated() {
            try m.memory.write64(0x500 + UInt64(i * 8), d)
        }
        try m.memory.write([0x17, 0x00, 0x00, 0x05, 0x00, 0x00], at: 0x520)
        //   1000: lgdt [0x520]              0F 01 16 20 05
        //   1005: mov eax, cr0              0F 20 C0
        //   1008: or eax, 1                 66 83 C8 01
        //   100C: mov cr0, eax              0F 22 C0
        //   100F: jmp 0x0008:0x1014         EA 14 10 08 00
        //   1014: mov eax, 0x12345678       B8 78 56 34 12   (32-bit code; 16-bit would differ)
        //   1019: hlt                       F4
        try m.realMode([0x0F, 0x01, 0x16, 0x20, 0x05, 0x0F, 0x20, 0xC0, 0x66, 0x83, 0xC8, 0x01, 0x0F, 0x22, 0xC0,
                        0xEA, 0x14, 0x10, 0x08, 0x00, 0xB8, 0x78, 0x56, 0x34, 0x12, 0xF4])
        let s = runSlices(m)
        XCTAssertEqual(s.cs.selector, 0x08)
        XCTAssertEqual(s.rax, 0x1234_5678)
        XCTAssertEqual(s.rip, 0x101A)
    }

    func testASliceRunsExactlyItsBudget() throws {
        let m = try TestMachine()
        // An endless `inc ax; jmp $-3` loop.
        try m.realMode([0x40, 0xEB, 0xFD])
        XCTAssertEqual(m.cpu.runSlice(1001), 1001)
        XCTAssertEqual(m.cpu.getState().rax, 501)
        XCTAssertEqual(m.cpu.instructionsRetired, 1001)
    }

    func testInstructionsThatShareAnIndexSlotBothRun() throws {
        let m = try TestMachine()
        // 0x1002 and 0x201002 are one index span apart: each decode of one displaces the
        // other from the index, three times over.
        XCTAssertEqual(0x20_0000, DecodedCodeCache.indexCount)
        //   1000: xor ecx, ecx              31 C9
        //   1002: inc ecx                   41
        //   1003: call 0x201002             E8 FA FF 1F 00
        //   1008: cmp ecx, 3                83 F9 03
        //   100B: jne 1002                  75 F5
        //   100D: hlt                       F4
        // 201002: add edx, 7                83 C2 07
        // 201005: ret                       C3
        try m.memory.write([0x83, 0xC2, 0x07, 0xC3], at: 0x20_1002)
        try m.protectedMode([0x31, 0xC9, 0x41, 0xE8, 0xFA, 0xFF, 0x1F, 0x00, 0x83, 0xF9, 0x03, 0x75, 0xF5, 0xF4])
        let s = runSlices(m)
        XCTAssertEqual(s.rcx, 3)
        XCTAssertEqual(s.rdx, 21)
        XCTAssertEqual(s.rip, 0x100E)
    }

    func testCodeLargerThanThePoolRunsAndIsDecodedAfresh() throws {
        let m = try TestMachine()
        // More distinct instructions than the pool holds: NOPs from 0x10000, then
        // `add ebx, 1; hlt`. The pool is emptied part of the way through.
        let sled = DecodedCodeCache.poolCount + 0x1000
        try m.memory.write([UInt8](repeating: 0x90, count: sled) + [0x83, 0xC3, 0x01, 0xF4], at: 0x1_0000)
        try m.protectedMode([0xF4])
        var s = m.cpu.getState()
        s.rip = 0x1_0000
        m.cpu.setState(s)
        var after = runSlices(m, limit: 2 * sled)
        XCTAssertEqual(after.rbx, 1)
        XCTAssertEqual(after.rip, UInt64(0x1_0000 + sled + 4))
        // A device (here: the test) rewrites the first NOPs as `add ebx, 10`; the second pass
        // must run the new bytes, not what was decoded before the pool was emptied.
        try m.memory.write([0x83, 0xC3, 0x0A], at: 0x1_0000)
        m.memory.noteDeviceWrite(physical: 0x1_0000, length: 3)
        s = m.cpu.getState()
        s.rip = 0x1_0000
        s.halted = false
        m.cpu.setState(s)
        after = runSlices(m, limit: 2 * sled)
        XCTAssertEqual(after.rbx, 12)
    }
}
