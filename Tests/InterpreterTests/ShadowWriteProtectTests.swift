import MachineCore
import XCTest
@testable import Interpreter

/// PAM write protection of the BIOS area (82441FX §3.2.18): writes to a protected page of
/// 0xC0000-0xFFFFF are dropped, reads see the DRAM copy.
final class ShadowWriteProtectTests: XCTestCase {
    func testWritesToAProtectedPageAreDroppedAndUnprotectedOnesLand() throws {
        let m = try TestMachine()
        try m.memory.write8(0xF_0000, 0x5A)
        try m.memory.write8(0xE_0000, 0x00)
        // mov ax,0xF000; mov ds,ax; mov byte [0],0x77; mov ax,0xE000; mov ds,ax; mov byte [0],0x66; hlt
        try m.realMode([0xB8, 0x00, 0xF0, 0x8E, 0xD8, 0xC6, 0x06, 0x00, 0x00, 0x77,
                        0xB8, 0x00, 0xE0, 0x8E, 0xD8, 0xC6, 0x06, 0x00, 0x00, 0x66, 0xF4])
        var protected = LowMemoryPageMask()
        protected.set(range: 0xF_0000..<0x10_0000, true)
        m.memory.setWriteProtectedLowPages(protected)
        m.run()
        XCTAssertEqual(try m.memory.read8(0xF_0000), 0x5A, "the protected page kept its contents")
        XCTAssertEqual(try m.memory.read8(0xE_0000), 0x66, "the unprotected page took the write")
    }
}
