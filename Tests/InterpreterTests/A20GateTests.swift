import MachineCore
import XCTest
@testable import Interpreter

/// The A20 gate (A20M#): with it closed, address bit 20 is forced to 0, so FFFF:0010 — the
/// first byte above 1 MiB — wraps to physical 0, as on an 8086 (SDM Vol. 3A §8.7.13.4 and
/// §21.33.2, "A20M#").
final class A20GateTests: XCTestCase {
    /// mov ax,0xFFFF; mov ds,ax; mov al,[0x10]; mov bl,[0x20]; hlt — reads 0x100000 and 0x100010.
    let program: [UInt8] = [0xB8, 0xFF, 0xFF, 0x8E, 0xD8, 0xA0, 0x10, 0x00, 0x8A, 0x1E, 0x20, 0x00, 0xF4]

    func runReads(a20: Bool) throws -> (UInt8, UInt8) {
        let m = try TestMachine()
        try m.memory.write8(0x0000_0000, 0x11)
        try m.memory.write8(0x0000_0010, 0x22)
        try m.memory.write8(0x0010_0000, 0xAA)
        try m.memory.write8(0x0010_0010, 0xBB)
        try m.realMode(program)
        m.memory.setA20(enabled: a20)
        let s = m.run()
        return (UInt8(truncatingIfNeeded: s.rax), UInt8(truncatingIfNeeded: s.rbx))
    }

    func testAnOpenGateReachesTheFirstMegabyteAbove1MiB() throws {
        let (al, bl) = try runReads(a20: true)
        XCTAssertEqual(al, 0xAA)
        XCTAssertEqual(bl, 0xBB)
    }

    func testAClosedGateWrapsToZero() throws {
        let (al, bl) = try runReads(a20: false)
        XCTAssertEqual(al, 0x11)
        XCTAssertEqual(bl, 0x22)
    }

    /// Closing the gate after a translation was cached must not leave the old mapping usable.
    func testClosingTheGateFlushesCachedTranslations() throws {
        let m = try TestMachine()
        try m.memory.write8(0x0000_0000, 0x11)
        try m.memory.write8(0x0010_0000, 0xAA)
        // mov ax,0xFFFF; mov ds,ax; mov al,[0x10]; hlt; mov bl,[0x10]; hlt
        try m.realMode([0xB8, 0xFF, 0xFF, 0x8E, 0xD8, 0xA0, 0x10, 0x00, 0xF4, 0x8A, 0x1E, 0x10, 0x00, 0xF4])
        var s = m.run()
        XCTAssertEqual(UInt8(truncatingIfNeeded: s.rax), 0xAA)
        m.memory.setA20(enabled: false)
        var resumed = m.cpu.getState()
        resumed.halted = false
        m.cpu.setState(resumed)
        s = m.run()
        XCTAssertEqual(UInt8(truncatingIfNeeded: s.rbx), 0x11)
    }
}
