import XCTest
import MachineCore
@testable import Devices

final class PCIConfigSpaceTests: XCTestCase {
    func testMasksAndWriteOneToClear() {
        var c = PCIConfigSpace(vendorID: 0x1234, deviceID: 0x5678, revision: 1, classCode: 2, subclass: 0, progIF: 0)
        c.set16(PCIConfig.status, 0xF900 | PCIConfig.statusFastBackToBack)
        c.setClearMask(PCIConfig.status, width: 2, UInt32(PCIConfig.statusErrorBits))
        c.setWriteMask(PCIConfig.command, width: 2, 0x0007)
        c.write(offset: PCIConfig.vendorID, size: 4, value: 0xFFFF_FFFF)
        XCTAssertEqual(c.read32(PCIConfig.vendorID), 0x5678_1234, "identity is read-only")
        c.write(offset: PCIConfig.command, size: 2, value: 0xFFFF)
        XCTAssertEqual(c.read16(PCIConfig.command), 0x0007)
        // Writing 1 to a status error bit clears it; 0 leaves it; RO bits stay.
        c.write(offset: PCIConfig.status, size: 2, value: 0x2000)
        XCTAssertEqual(c.read16(PCIConfig.status), 0xD900 | PCIConfig.statusFastBackToBack)
        // A dword write at 0x04 hits command and status together.
        c.write(offset: PCIConfig.command, size: 4, value: 0xFFFF_0000)
        XCTAssertEqual(c.read32(PCIConfig.command), UInt32(PCIConfig.statusFastBackToBack) << 16)
        XCTAssertEqual(c.read(offset: 0xFE, size: 4), 0xFFFF_0000, "bytes past the end read as ones")
    }
}
