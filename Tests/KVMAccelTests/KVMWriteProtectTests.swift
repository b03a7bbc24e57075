// Shadow-RAM write protection on KVM: GuestMemory's write-protected low pages become
// read-only memory slots whose write exits the run loop drops.
import XCTest
@testable import KVMAccel
import MachineCore

final class KVMWriteProtectTests: XCTestCase {
    /// 32-bit code: write a byte at 0xF0010, 0xE4010 and 0xE0010 (one protected 64-KiB area,
    /// one protected and one writable 16-KiB page run), read the first back into [0x3000],
    /// and leave through the debug-exit port with 5.
    static let code: [UInt8] = [
        0xC6, 0x05, 0x10, 0x00, 0x0F, 0x00, 0x5A,  // mov byte [0xF0010], 0x5A
        0xC6, 0x05, 0x10, 0x40, 0x0E, 0x00, 0x5B,  // mov byte [0xE4010], 0x5B
        0xC6, 0x05, 0x10, 0x00, 0x0E, 0x00, 0x5C,  // mov byte [0xE0010], 0x5C
        0xA0, 0x10, 0x00, 0x0F, 0x00,              // mov al, [0xF0010]
        0xA2, 0x00, 0x30, 0x00, 0x00,              // mov [0x3000], al
        0x66, 0xBA, 0xF4, 0x00, 0xB0, 0x05, 0xEE,  // debug exit 5
        0xF4,
    ]

    func run(protecting mask: LowMemoryPageMask) throws -> KVMRig {
        let rig = try KVMRig()
        guard rig.vm.supportsLowMemoryWriteProtect else { throw XCTSkip("no KVM_CAP_READONLY_MEM on this host") }
        XCTAssertTrue(rig.cpu.platformSupport.contains(.lowMemoryWriteProtect))
        for a: UInt64 in [0xF0010, 0xE4010, 0xE0010] { try rig.memory.write8(a, 0x11) }
        try rig.memory.write(KVMWriteProtectTests.code, at: GuestState.codeAddress)
        try rig.cpu.setState(try GuestState.protectedMode(rig.memory))
        // Outside KVM_RUN, as a PAM write during an I/O exit would be.
        rig.memory.setWriteProtectedLowPages(mask)
        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(5))
        return rig
    }

    func testProtectedPagesDropWritesAndTheRestTakeThem() throws {
        var mask = LowMemoryPageMask()
        mask.set(range: 0xF0000..<0x100000, true)
        mask.set(range: 0xE4000..<0xE8000, true)
        let rig = try run(protecting: mask)
        XCTAssertEqual(try rig.memory.read8(0xF0010), 0x11)
        XCTAssertEqual(try rig.memory.read8(0xE4010), 0x11)
        XCTAssertEqual(try rig.memory.read8(0xE0010), 0x5C)
        XCTAssertEqual(try rig.memory.read8(0x3000), 0x11)
        // Dropped in the run loop, not passed to the MMIO bus as strays.
        XCTAssertEqual(rig.cpu.protectedRAMWriteCount, 2)
        XCTAssertEqual(rig.mmio.unclaimedAccesses, 0)
    }

    /// Lifting the protection re-makes the slots writable: the same writes land.
    func testProtectionCanBeLiftedAgain() throws {
        var mask = LowMemoryPageMask()
        mask.set(range: 0xC0000..<0x100000, true)
        let rig = try KVMRig()
        guard rig.vm.supportsLowMemoryWriteProtect else { throw XCTSkip("no KVM_CAP_READONLY_MEM on this host") }
        rig.memory.setWriteProtectedLowPages(mask)
        rig.memory.setWriteProtectedLowPages(LowMemoryPageMask())
        try rig.memory.write(KVMWriteProtectTests.code, at: GuestState.codeAddress)
        try rig.cpu.setState(try GuestState.protectedMode(rig.memory))
        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(try rig.memory.read8(0xF0010), 0x5A)
        XCTAssertEqual(try rig.memory.read8(0xE4010), 0x5B)
        XCTAssertEqual(try rig.memory.read8(0x3000), 0x5A)
        XCTAssertEqual(rig.cpu.protectedRAMWriteCount, 0)
    }

    /// Without KVM_CAP_READONLY_MEM the engine does not claim the protection, the first MiB
    /// stays writable, and nothing fails.
    func testWithoutReadOnlySlotsTheProtectionIsNotClaimed() throws {
        let system = try openKVMOrSkip()
        system.capabilitiesTreatedAsAbsent = [.readOnlyMemory]
        let memory = try GuestMemory(size: GuestMemory.minimumSize)
        let vm = try KVMVirtualMachine(system: system, memory: memory)
        let control = MachineControl(), ports = PortIOBus()
        try ports.claim(base: KVMRig.debugExitPort, count: 1, device: DebugExitPort(control: control), name: "debug-exit")
        let cpu = try KVMVirtualCPU(vm: vm, id: 0, portIO: ports, mmio: MMIOBus(), lock: Lock(), control: control)
        control.onStopRequested = { cpu.requestStop() }
        XCTAssertFalse(vm.supportsLowMemoryWriteProtect)
        XCTAssertFalse(cpu.platformSupport.contains(.lowMemoryWriteProtect))
        var mask = LowMemoryPageMask()
        mask.set(range: 0xC0000..<0x100000, true)
        memory.setWriteProtectedLowPages(mask)
        try memory.write(KVMWriteProtectTests.code, at: GuestState.codeAddress)
        try cpu.setState(try GuestState.protectedMode(memory))
        XCTAssertEqual(try cpu.run(), .stopRequested)
        XCTAssertEqual(control.stopReason, .debugExit(5))
        XCTAssertEqual(try memory.read8(0xF0010), 0x5A, "the write landed: KVM could not protect the page")
        XCTAssertEqual(cpu.protectedRAMWriteCount, 0)
    }
}
