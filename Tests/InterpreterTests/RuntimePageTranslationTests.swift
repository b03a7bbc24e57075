import MachineCore
import XCTest
@testable import Interpreter

/// Pages backed at run time (GuestMemory+RuntimePages.swift): the CPU reaches them once they
/// exist, and after their removal no translation keeps their host address.
final class RuntimePageTranslationTests: XCTestCase {
    /// mov dword [0x20000000], 0x12345678 / mov eax, [0x20000000] / hlt
    static let code: [UInt8] = [0xC7, 0x05, 0x00, 0x00, 0x00, 0x20, 0x78, 0x56, 0x34, 0x12,
                                0xA1, 0x00, 0x00, 0x00, 0x20, 0xF4]
    static let page: UInt64 = 0x2000_0000

    func runFromStart(_ m: TestMachine) -> UInt32 {
        var s = m.cpu.getState()
        s.rip = 0x1000
        s.rax = 0
        s.halted = false
        m.cpu.setState(s)
        return UInt32(truncatingIfNeeded: m.run().rax)
    }

    /// The same between two instructions, with nothing else (no state load) flushing the TLB:
    /// mov eax, [0x20000000] / mov ebx, [0x20000000] / mov ecx, [0x20000000] / hlt.
    func testTranslationsFollowThePageBetweenInstructions() throws {
        let m = try TestMachine()
        m.memory.addObserver(m.cpu)
        try m.protectedMode([0xA1, 0x00, 0x00, 0x00, 0x20,
                             0x8B, 0x1D, 0x00, 0x00, 0x00, 0x20,
                             0x8B, 0x0D, 0x00, 0x00, 0x00, 0x20, 0xF4])
        m.steps(1)
        XCTAssertEqual(UInt32(truncatingIfNeeded: m.cpu.getState().rax), 0xFFFF_FFFF, "no page yet")
        let host = try m.memory.addRuntimePage(at: Self.page)
        host.storeBytes(of: UInt32(0x1122_3344), as: UInt32.self)
        m.steps(1)
        XCTAssertEqual(UInt32(truncatingIfNeeded: m.cpu.getState().rbx), 0x1122_3344, "the page, once added")
        m.memory.removeRuntimePage(at: Self.page)
        m.steps(1)
        XCTAssertEqual(UInt32(truncatingIfNeeded: m.cpu.getState().rcx), 0xFFFF_FFFF, "no stale translation after removal")
    }

    func testTheCPUSeesAPageAddedAndForgetsItWhenRemoved() throws {
        let m = try TestMachine()
        m.memory.addObserver(m.cpu)
        try m.protectedMode(Self.code)
        XCTAssertEqual(runFromStart(m), 0xFFFF_FFFF, "no page yet: an unclaimed MMIO read")

        try m.memory.addRuntimePage(at: Self.page)
        XCTAssertEqual(runFromStart(m), 0x1234_5678)
        XCTAssertEqual(try m.memory.read32(Self.page), 0x1234_5678, "the CPU wrote the page itself")

        m.memory.removeRuntimePage(at: Self.page)
        XCTAssertEqual(runFromStart(m), 0xFFFF_FFFF, "the removed page is not reached through a stale translation")

        let fresh = try m.memory.addRuntimePage(at: Self.page)
        fresh.storeBytes(of: UInt32(0xCAFE_F00D), toByteOffset: 0x10, as: UInt32.self)
        XCTAssertEqual(runFromStart(m), 0x1234_5678)
        XCTAssertEqual(fresh.load(as: UInt32.self), 0x1234_5678, "the new host page got the write")
    }
}
