import MachineCore
import XCTest
@testable import KVMAccel

/// A page `GuestMemory` backs at run time becomes a memory slot of its own, and goes with it.
final class KVMRuntimePageTests: XCTestCase {
    static let page: UInt64 = 0x2000_0000

    /// mov dword [0x20000000], 0x12345678 / debug exit 7.
    static let code: [UInt8] = [
        0xC7, 0x05, 0x00, 0x00, 0x00, 0x20, 0x78, 0x56, 0x34, 0x12,
        0x66, 0xBA, 0xF4, 0x00, 0xB0, 0x07, 0xEE,
        0xF4,
    ]

    func testTheGuestWritesAPageAddedAfterTheVMWasBuilt() throws {
        let rig = try KVMRig()
        try rig.memory.addRuntimePage(at: Self.page)
        XCTAssertNotNil(rig.vm.runtimeSlots[Self.page], "the page has a slot")
        try rig.memory.write(Self.code, at: GuestState.codeAddress)
        try rig.cpu.setState(try GuestState.protectedMode(rig.memory))
        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(7))
        XCTAssertEqual(try rig.memory.read32(Self.page), 0x1234_5678, "the guest's write reached the host page")

        let slots = rig.vm.slots.count
        rig.memory.removeRuntimePage(at: Self.page)
        XCTAssertNil(rig.vm.runtimeSlots[Self.page])
        XCTAssertEqual(rig.vm.slots.count, slots - 1, "the slot was deleted")
    }
}
