import MachineCore
import XCTest
@testable import Interpreter

/// REP MOVS / REP STOS in 64-bit mode take whole runs within a page at a time when the
/// software TLB has the pages (X86CPU+String.swift); these are the cases where that must
/// still behave like the element-by-element instruction.
final class RepeatedStringTests: XCTestCase {
    /// Runs `body` (64-bit code; bodies touch their pages first, so that the TLB has them).
    private func run(_ body: String, setup: (TestMachine) throws -> Void = { _ in }) throws -> (TestMachine, CPUState) {
        let code = try NASM.assemble("""
            bits 64
            org 0x1000
            \(body)
                hlt
            times 0x800 - ($ - $$) db 0
            handler:
                mov r12, [rsp + 8]
                hlt
            """)
        let m = try SSEDifferentialTests.longModeMachine(code)
        try m.longModeInterruptGate(14, handler: 0x1800)
        try setup(m)
        return (m, m.run(limit: 100))
    }

    /// Destination one byte ahead of the source: each byte copies the one just written, so
    /// the first byte fills the run (what memmove would not do).
    func testAnOverlappingForwardCopyRepeatsTheFirstByte() throws {
        let (m, s) = try run("""
                mov rsi, 0x10000
                mov rdi, 0x10001
                mov ecx, 300
                mov byte [rdi], 0x01
                mov byte [rsi], 0xAB
                mov al, [rsi]
                rep movsb
            """)
        for k in 0..<301 { XCTAssertEqual(try m.memory.read8(0x10000 + UInt64(k)), 0xAB, "byte \(k)") }
        XCTAssertEqual(s.gpr[1], 0)
        XCTAssertEqual(s.gpr[6], 0x10000 + 300)
        XCTAssertEqual(s.gpr[7], 0x10001 + 300)
    }

    /// REP STOSQ over a page boundary: both pages written, registers past the end.
    func testStoreStringAcrossAPageBoundary() throws {
        let (m, s) = try run("""
                mov rsi, 0x10000
                mov rdi, 0x10FE8
                mov rax, 0x1122334455667788
                mov [rdi], rax
                mov ecx, 10
                rep stosq
            """)
        for k in 0..<10 { XCTAssertEqual(try m.memory.read64(0x10FE8 + UInt64(k * 8)), 0x1122_3344_5566_7788) }
        XCTAssertEqual(try m.memory.read64(0x10FE8 + 80), 0, "nothing past the count")
        XCTAssertEqual(s.gpr[1], 0)
        XCTAssertEqual(s.gpr[7], 0x10FE8 + 80)
    }

    /// A copy that runs into an unmapped page: #PF at the first byte there, with RCX, RSI
    /// and RDI saying how far it got and everything before it copied.
    func testACopyIntoAnUnmappedPageFaultsWhereItStopped() throws {
        let (m, s) = try run("""
                mov rsi, 0x30000
                mov rdi, 0x3FF000
                mov al, [rsi]
                mov [rdi], al
                mov ecx, 0x2000
                rep movsb
            """) { m in
            for k in 0..<0x2000 { try m.memory.write8(0x30000 + UInt64(k), UInt8(truncatingIfNeeded: k * 7 + 1)) }
        }
        XCTAssertEqual(m.cpu.lastDeliveredVector, 14)
        XCTAssertEqual(s.cr2, 0x40_0000)
        XCTAssertEqual(s.gpr[1], 0x1000, "RCX: the bytes not copied")
        XCTAssertEqual(s.gpr[6], 0x31000)
        XCTAssertEqual(s.gpr[7], 0x40_0000)
        for k in stride(from: 0, to: 0x1000, by: 97) {
            XCTAssertEqual(try m.memory.read8(0x3FF000 + UInt64(k)), UInt8(truncatingIfNeeded: k * 7 + 1), "byte \(k)")
        }
    }
}
