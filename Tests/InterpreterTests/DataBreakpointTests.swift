import MachineCore
import XCTest
@testable import Interpreter

/// Assembly shared by the system-level unit tests.
enum TestAsm {
    /// 32-bit: installs an interrupt gate (DPL 0, selector 0x08) for vector %1 at handler %2
    /// in the IDT TestMachine.protectedMode puts at 0x600.
    static let gateMacro = """
        %macro GATE 2
            mov eax, %2
            mov [0x600 + %1 * 8], ax
            mov word [0x600 + %1 * 8 + 2], 0x08
            mov word [0x600 + %1 * 8 + 4], 0x8E00
            shr eax, 16
            mov [0x600 + %1 * 8 + 6], ax
        %endmacro

        """

    /// 16-bit: points IVT entry %1 at 0000:%2.
    static let vectorMacro = """
        %macro VECTOR 2
            mov word [%1 * 4], %2
            mov word [%1 * 4 + 2], 0
        %endmacro

        """

    /// DR7 value: slot, R/W (0 execute, 1 write, 2 I/O, 3 read/write), LEN field (0 one byte,
    /// 1 two, 3 four, 2 eight), L bit.
    static func dr7(slot: Int, rw: UInt32, len: UInt32, enabled: Bool = true) -> UInt32 {
        (enabled ? 1 << UInt32(slot * 2) : 0) | (rw << UInt32(16 + slot * 4)) | (len << UInt32(18 + slot * 4))
    }
}

/// DR0-DR3 data and I/O breakpoints (SDM Vol. 3B §17.2.4-17.2.5, §17.3.1.2): a #DB trap after
/// the access, results kept, RIP at the next instruction.
final class DataBreakpointTests: XCTestCase {
    /// Real mode. The #DB handler counts hits at [0x3100], keeps DR6 at [0x3104] and the pushed
    /// IP at [0x3108], clears DR6 and returns.
    static let realModeHandler = """

        db_handler:
            inc word [0x3100]
            mov eax, dr6
            mov [0x3104], eax
            xor eax, eax
            mov dr6, eax
            mov bp, sp
            mov ax, [bp]
            mov [0x3108], ax
            iret

        """

    func testWriteBreakpointTrapsAfterTheWriteWithItsResult() throws {
        let m = try TestMachine()
        let rw01len2 = TestAsm.dr7(slot: 0, rw: 1, len: 1)
        let disabledSlot1 = TestAsm.dr7(slot: 1, rw: 1, len: 0, enabled: false)
        let code = try NASM.assemble(TestAsm.vectorMacro + """
            bits 16
            org 0x1000
                VECTOR 1, db_handler
                mov word [0x3002], 0x1111   ; the page gets a TLB entry before the breakpoint
                mov eax, 0x3003              ; LEN 2 ignores bit 0: watches 0x3002-0x3003
                mov dr0, eax
                mov eax, 0x3005
                mov dr1, eax
                mov eax, \(rw01len2 | disabledSlot1)
                mov dr7, eax
                mov word [0x3000], 0x2222   ; 0x3000-0x3001: outside
                mov byte [0x3005], 0x33     ; slot 1 is not enabled
                mov ax, [0x3002]            ; a read: not watched by R/W = 01
                mov word [0x310A], after
                mov byte [0x3003], 0x44     ; hit
            after:
                nop
                hlt
            """ + Self.realModeHandler)
        try m.realMode(code)
        let s = m.run()
        XCTAssertEqual(try m.memory.read16(0x3100), 1, "one #DB")
        XCTAssertEqual(try m.memory.read32(0x3104) & 0xF, 1, "DR6.B0")
        XCTAssertEqual(try m.memory.read16(0x3108), try m.memory.read16(0x310A), "pushed IP: the next instruction")
        XCTAssertEqual(try m.memory.read(0x3000, count: 6), [0x22, 0x22, 0x11, 0x44, 0, 0x33], "the write happened")
        XCTAssertTrue(m.cpu.isHalted)
        XCTAssertEqual(s.dr6 & 0xF, 0, "the handler cleared DR6")
    }

    func testReadWriteBreakpointsWithFourAndEightByteRanges() throws {
        let m = try TestMachine()
        // Slot 1: read/write, LEN 4 at 0x3206 -> 0x3204-0x3207. Slot 2: write, LEN 8 at
        // 0x3305 -> 0x3300-0x3307.
        let dr7 = TestAsm.dr7(slot: 1, rw: 3, len: 3) | TestAsm.dr7(slot: 2, rw: 1, len: 2)
        let code = try NASM.assemble(TestAsm.vectorMacro + """
            bits 16
            org 0x1000
                VECTOR 1, db_handler
                mov eax, 0x3206
                mov dr1, eax
                mov eax, 0x3305
                mov dr2, eax
                mov eax, \(dr7)
                mov dr7, eax
                mov al, [0x3208]            ; just past slot 1
                mov al, [0x3203]            ; just before
                mov eax, [0x3201]           ; 0x3201-0x3204: overlaps slot 1 by one byte
                mov [0x3110], eax
                mov bx, [0x3100]            ; count so far
                mov [0x3112], bx
                mov [0x3300], al            ; first byte of slot 2 (written)
                mov al, [0x3307]            ; read: slot 2 watches writes only
                mov [0x3308], al            ; just past slot 2
                hlt
            """ + Self.realModeHandler)
        try m.realMode(code)
        _ = m.run()
        XCTAssertEqual(try m.memory.read16(0x3112), 1, "the unaligned dword read hit slot 1 once")
        XCTAssertEqual(try m.memory.read16(0x3100), 2, "then the byte write in slot 2")
        XCTAssertEqual(try m.memory.read32(0x3104) & 0xF, 0b0100, "DR6.B2 for the last hit")
    }

    /// 32-bit protected mode: REP STOSB through a watched byte stops after the iteration that
    /// wrote it; the frame holds the REP instruction's address, RF = 1, and the registers of
    /// that moment; after IRET the rest of the string is written.
    func testREPStringTrapsAfterTheIterationThatHit() throws {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.gateMacro + """
            bits 32
            org 0x1000
                GATE 1, db_handler
                mov eax, 0x3405
                mov dr0, eax
                mov eax, \(TestAsm.dr7(slot: 0, rw: 1, len: 0))
                mov dr7, eax
                mov edi, 0x3400
                mov ecx, 16
                mov al, 0xAB
                cld
                mov dword [0x3120], rep_insn
            rep_insn:
                rep stosb
                hlt
            db_handler:
                push eax
                inc dword [0x3100]
                mov eax, [esp + 4]
                mov [0x3104], eax           ; EIP
                mov eax, [esp + 12]
                mov [0x3108], eax           ; EFLAGS
                mov [0x310C], ecx
                mov [0x3110], edi
                mov eax, dr6
                mov [0x3114], eax
                pop eax
                iretd
            """)
        try m.protectedMode(code, idtEntries: 32)
        let s = m.run()
        XCTAssertEqual(try m.memory.read32(0x3100), 1, "one #DB")
        XCTAssertEqual(try m.memory.read32(0x3104), try m.memory.read32(0x3120), "EIP: the REP instruction")
        XCTAssertNotEqual(try m.memory.read32(0x3108) & UInt32(RFLAGS.rf), 0, "RF = 1 between iterations")
        XCTAssertEqual(try m.memory.read32(0x310C), 10, "ECX after six iterations")
        XCTAssertEqual(try m.memory.read32(0x3110), 0x3406, "EDI after six iterations")
        XCTAssertEqual(try m.memory.read32(0x3114) & 0xF, 1, "DR6.B0")
        XCTAssertEqual(try m.memory.read(0x3400, count: 17), Array(repeating: 0xAB, count: 16) + [0])
        XCTAssertEqual(s.rcx & 0xFFFF_FFFF, 0)
    }

    /// R/W = 10 is an I/O breakpoint only with CR4.DE; without it the slot is ignored. With
    /// CR4.DE, DR4/DR5 no longer alias DR6/DR7 (#UD).
    func testIOBreakpointNeedsCR4DE() throws {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.gateMacro + """
            bits 32
            org 0x1000
                GATE 1, db_handler
                GATE 6, ud_handler
                mov eax, 0x80
                mov dr3, eax
                mov eax, \(TestAsm.dr7(slot: 3, rw: 2, len: 0))
                mov dr7, eax
                out 0x80, al                ; CR4.DE = 0: no breakpoint
                mov eax, cr4
                or eax, 1 << 3              ; CR4.DE
                mov cr4, eax
                mov dx, 0x7F
                mov dword [0x3120], after_in
                in ax, dx                   ; ports 0x7F-0x80: hit
            after_in:
                mov eax, dr5                ; #UD with CR4.DE
                hlt
            db_handler:
                inc dword [0x3100]
                mov eax, [esp]
                mov [0x3104], eax
                mov eax, dr6
                mov [0x3108], eax
                iretd
            ud_handler:
                inc dword [0x310C]
                add dword [esp], 3          ; skip mov eax, dr5
                iretd
            """)
        try m.protectedMode(code, idtEntries: 32)
        _ = m.run()
        XCTAssertEqual(try m.memory.read32(0x3100), 1, "one #DB, for the IN")
        XCTAssertEqual(try m.memory.read32(0x3104), try m.memory.read32(0x3120))
        XCTAssertEqual(try m.memory.read32(0x3108) & 0xF, 0b1000, "DR6.B3")
        XCTAssertEqual(try m.memory.read32(0x310C), 1, "#UD for DR5")
    }

    /// A data breakpoint and TF on one instruction give one #DB with DR6.BS and DR6.Bn.
    func testSingleStepAndDataBreakpointShareOneDebugException() throws {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.vectorMacro + """
            bits 16
            org 0x1000
                VECTOR 1, db_handler
                mov eax, 0x3500
                mov dr0, eax
                mov eax, \(TestAsm.dr7(slot: 0, rw: 1, len: 0))
                mov dr7, eax
                pushf
                pop ax
                or ax, 0x100
                push ax
                popf
                mov byte [0x3500], 1        ; TF set when it starts, and it hits slot 0
                hlt
            db_handler:
                inc word [0x3100]
                mov eax, dr6
                mov [0x3104], eax
                mov bp, sp
                and word [bp + 4], 0xFEFF   ; clear TF in the frame
                iret
            """)
        try m.realMode(code)
        _ = m.run()
        XCTAssertEqual(try m.memory.read16(0x3100), 1, "one #DB")
        XCTAssertEqual(try m.memory.read32(0x3104) & 0x400F, 0x4001, "DR6.BS and DR6.B0")
    }

    /// Disabling the breakpoint (DR7 = 0) maps the page again: writes take the fast path and
    /// raise nothing.
    func testClearingDR7StopsTheTraps() throws {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.vectorMacro + """
            bits 16
            org 0x1000
                VECTOR 1, db_handler
                mov eax, 0x3600
                mov dr0, eax
                mov eax, \(TestAsm.dr7(slot: 0, rw: 3, len: 3))
                mov dr7, eax
                mov byte [0x3601], 1        ; hit
                xor eax, eax
                mov dr7, eax
                mov byte [0x3601], 2        ; no longer watched
                mov al, [0x3602]
                hlt
            """ + Self.realModeHandler)
        try m.realMode(code)
        _ = m.run()
        XCTAssertEqual(try m.memory.read16(0x3100), 1)
        XCTAssertEqual(try m.memory.read(0x3601, count: 1), [2])
    }
}
