import MachineCore
import XCTest
@testable import Interpreter

/// Device writes to guest RAM (DMA) behind the CPU: code decoded from the written pages must
/// not run again (`GuestMemory.noteDeviceWrite`, which reaches every observing engine).
final class DeviceWriteInvalidationTests: XCTestCase {
    func testCodeOverwrittenByADeviceIsDecodedAfresh() throws {
        let m = try TestMachine()
        try m.realMode([0xB8, 0x01, 0x00, 0xF4])          // mov ax, 1; hlt
        XCTAssertEqual(m.run().rax & 0xFFFF, 1)
        try m.memory.write([0xB8, 0x02, 0x00, 0xF4], at: 0x1000)   // what a DMA transfer would do
        m.memory.noteDeviceWrite(physical: 0x1000, length: 4)
        var s = m.cpu.getState()
        s.rip = 0x1000
        s.halted = false
        m.cpu.setState(s)
        XCTAssertEqual(m.run().rax & 0xFFFF, 2, "the new instruction ran, not the cached one")
    }
}
