import MachineCore
import XCTest
@testable import Interpreter

/// The block translator (JIT/) in the situations the differential streams do not reach:
/// loops that run from translated code, code that rewrites itself, and faults in a block.
final class BlockTranslationTests: XCTestCase {
    /// Runs until HLT in large slices, so that translated blocks run and chain.
    private func runTranslated(_ m: TestMachine, threshold: UInt32) throws -> CPUState {
        XCTAssertTrue(m.cpu.setBlockTranslation(enabled: true, threshold: threshold))
        var n = 0
        while !m.cpu.isHalted && m.cpu.shutdownReason == nil && n < 1_000_000 { n += m.cpu.runSlice(10_000) }
        XCTAssertNil(m.cpu.shutdownReason)
        return m.cpu.getState()
    }

    /// A hot loop calls a function on another page and, half-way, patches the function's
    /// ADD immediate. The loop's own blocks stay valid and jump straight into the function's
    /// block; that block must not be the old translation (50 * 1 + 50 * 2).
    func testCodeRewrittenOnAnotherPageIsNotRunFromItsOldTranslation() throws {
        let code = try NASM.assemble("""
            bits 64
            org 0x1000
                xor eax, eax
                mov ecx, 100
            top:
                call func
                cmp ecx, 51
                jne skip
                mov byte [func + 3], 2
            skip:
                dec ecx
                jnz top
                hlt
            times 0x1000 - ($ - $$) db 0
            func:
                add rax, 1
                ret
            """)
        let m = try SSEDifferentialTests.longModeMachine(code)
        let s = try runTranslated(m, threshold: 2)
        XCTAssertEqual(s.gpr[0], 150)
        XCTAssertGreaterThan(m.cpu.translatedInstructions, 300, "the loop ran as translated code")
    }

    /// A page fault on the fourth instruction of a block: the three before it have taken
    /// effect, and the fault reports that instruction's address and CR2.
    func testAPageFaultInABlockIsPrecise() throws {
        let code = try NASM.assemble("""
            bits 64
            org 0x1000
                mov r8, fault
                mov eax, 5
                mov ebx, 7
            fault:
                mov rcx, [0x500000]
                mov eax, 9
                hlt
            times 0x800 - ($ - $$) db 0
            handler:
                mov rdx, [rsp + 8]
                hlt
            """)
        let m = try SSEDifferentialTests.longModeMachine(code)
        try m.longModeInterruptGate(14, handler: 0x1800)
        let s = try runTranslated(m, threshold: 0)
        XCTAssertEqual(m.cpu.lastDeliveredVector, 14)
        XCTAssertEqual(s.gpr[0], 5, "EAX set before the fault, not after it")
        XCTAssertEqual(s.gpr[3], 7)
        XCTAssertEqual(s.gpr[2], s.gpr[8], "the pushed RIP is the faulting instruction's")
        XCTAssertEqual(s.cr2, 0x50_0000)
        XCTAssertGreaterThanOrEqual(m.cpu.translatedInstructions, 3, "the instructions before the fault ran translated")
    }

    /// A function with SSE runs translated many times; then the guest sets CR0.TS and calls
    /// it again: the PXOR raises #NM (the translated block, which checks nothing, must not run).
    func testSSEBlocksDoNotRunWhileCR0TSIsSet() throws {
        let code = try NASM.assemble("""
            bits 64
            org 0x1000
                mov ecx, 100
            again:
                call work
                dec ecx
                jnz again
                mov rax, cr0
                or rax, 8
                mov cr0, rax
                call work
                hlt
            work:
                pxor xmm1, xmm1
                add rbx, 1
                ret
            times 0x800 - ($ - $$) db 0
            handler:
                mov r12, 7
                hlt
            """)
        let m = try SSEDifferentialTests.longModeMachine(code)
        try m.longModeInterruptGate(7, handler: 0x1800)
        let s = try runTranslated(m, threshold: 2)
        XCTAssertEqual(m.cpu.lastDeliveredVector, 7, "#NM")
        XCTAssertEqual(s.gpr[12], 7)
        XCTAssertEqual(s.gpr[3], 100, "RBX: the hundred calls before TS, not the one after it")
        XCTAssertGreaterThan(m.cpu.translatedInstructions, 200)
    }
}
