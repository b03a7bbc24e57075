// Memory slots and the VM-level checks.
import XCTest
@testable import KVMAccel
import MachineCore

final class KVMVirtualMachineTests: XCTestCase {
    func testSlotsRefuseOverlapsAndMisalignment() throws {
        let system = try openKVMOrSkip()
        let memory = try GuestMemory(size: GuestMemory.minimumSize)
        let vm = try KVMVirtualMachine(system: system, memory: memory)
        XCTAssertEqual(vm.reservedRange, 0xFFFB_C000..<0xFFFC_0000)
        let page = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 4096)
        defer { page.deallocate() }
        // Over RAM slot 0.
        XCTAssertThrowsError(try vm.mapSlot(guestBase: 0x1000, size: 4096, host: page))
        // Over the TSS / identity-map pages.
        XCTAssertThrowsError(try vm.mapSlot(guestBase: 0xFFFB_E000, size: 4096, host: page)) { error in
            XCTAssertTrue("\(error)".contains("TSS"), "\(error)")
        }
        // Not page-aligned.
        XCTAssertThrowsError(try vm.mapSlot(guestBase: 0xE000_0800, size: 4096, host: page))
        XCTAssertThrowsError(try vm.mapSlot(guestBase: 0xE000_0000, size: 4096, host: page + 16))
        // A free range works, and its slot number can be reused after unmapping.
        let slot = try vm.mapSlot(guestBase: 0xE000_0000, size: 8192, host: page)
        try vm.unmapSlot(slot)
        XCTAssertEqual(try vm.mapSlot(guestBase: 0xE000_0000, size: 8192, host: page), slot)
    }

    /// RAM above the PCI hole is its own slot: a long-mode guest writes at 4 GiB and the
    /// bytes appear in the second GuestMemory region.
    func testHighMemoryRegionIsMapped() throws {
        let size = GuestMemoryMap.bare.lowRAMLimit + (2 << 20)
        let rig = try KVMRig(memorySize: size)
        XCTAssertEqual(rig.memory.regions.count, 2)
        var state = try GuestState.longMode(rig.memory)
        // PDPT entry 4 (4 GiB) -> a page directory mapping 4 GiB with one 2 MiB page.
        try rig.memory.write64(0x3000 + 4 * 8, 0x6000 | 3)
        try rig.memory.write64(0x6000, 0x1_0000_0000 | 0x83)
        let code: [UInt8] = [
            0x48, 0xBB, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // mov rbx, 0x100000000
            0xC7, 0x03, 0x78, 0x56, 0x34, 0x12,                          // mov dword [rbx], 0x12345678
            0x66, 0xBA, 0xF4, 0x00, 0xB0, 0x09, 0xEE,                    // debug exit 9
            0xF4,
        ]
        try rig.memory.write(code, at: GuestState.codeAddress)
        state.rip = GuestState.codeAddress
        try rig.cpu.setState(state)
        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(9))
        XCTAssertEqual(try rig.memory.read32(0x1_0000_0000), 0x1234_5678)
    }
}
