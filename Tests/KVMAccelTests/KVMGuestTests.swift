// Tiny guests, hand-assembled, run under KVM: port I/O (plain and string), MMIO, long mode,
// triple fault, failure reports.
import XCTest
@testable import KVMAccel
import MachineCore

final class KVMGuestTests: XCTestCase {
    /// Real mode: OUT, REP OUTSB, REP INSB, IN of bytes and a dword, then the debug-exit port.
    func testRealModePortIO() throws {
        let rig = try KVMRig()
        let code: [UInt8] = [
            0xBA, 0xF8, 0x03,        // mov dx, 0x3F8
            0xB0, 0x4F, 0xEE,        // mov al, 'O'; out dx, al
            0xB0, 0x4B, 0xEE,        // mov al, 'K'; out dx, al
            0xB0, 0x0A, 0xEE,        // mov al, 10;  out dx, al
            0xBE, 0x00, 0x11,        // mov si, 0x1100
            0xB9, 0x03, 0x00,        // mov cx, 3
            0xFC,                    // cld
            0xF3, 0x6E,              // rep outsb
            0xBF, 0x00, 0x12,        // mov di, 0x1200
            0xB9, 0x04, 0x00,        // mov cx, 4
            0xF3, 0x6C,              // rep insb
            0xEC,                    // in al, dx
            0xA2, 0x04, 0x12,        // mov [0x1204], al
            0x66, 0xED,              // in eax, dx
            0x66, 0xA3, 0x08, 0x12,  // mov [0x1208], eax
            0xBA, 0xF4, 0x00,        // mov dx, 0xF4
            0xB0, 0x2A, 0xEE,        // mov al, 42; out dx, al
            0xF4,                    // hlt
        ]
        try rig.memory.write(code, at: GuestState.codeAddress)
        try rig.memory.write(Array("OK\n".utf8), at: 0x1100)
        rig.serial.byteReads = Array("abcde".utf8)
        rig.serial.wideReadValue = 0x1122_3344
        try rig.cpu.setState(GuestState.realMode())

        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(42))
        XCTAssertEqual(rig.serial.text, "OK\nOK\n")
        XCTAssertEqual(try rig.memory.read(0x1200, count: 5), Array("abcde".utf8))
        XCTAssertEqual(try rig.memory.read32(0x1208), 0x1122_3344)
        XCTAssertGreaterThanOrEqual(rig.cpu.ioExitCount, 7)
        // The I/O is complete when run() returns: RIP is past the OUT, at the HLT.
        let state = try rig.cpu.getState()
        XCTAssertEqual(state.rip, GuestState.codeAddress + UInt64(code.count - 1))
        XCTAssertEqual(state.rax & 0xFF, 42)
    }

    /// 64-bit mode entered directly from a CPUState: port output, string output, a 64-bit
    /// register result, and 8-byte MMIO through the page tables.
    func testLongModePortIOAndMMIO() throws {
        let rig = try KVMRig()
        let device = RecordingMMIO()
        device.readValues[0x18] = 0x0102_0304_0506_0708
        try rig.mmio.claim(base: 0xD000_0000, size: 0x1000, device: device, name: "test-mmio")
        let code: [UInt8] = [
            0x66, 0xBA, 0xF8, 0x03,                          // mov dx, 0x3F8
            0xB0, 0x4F, 0xEE, 0xB0, 0x4B, 0xEE, 0xB0, 0x0A, 0xEE,  // "OK\n"
            0xBE, 0x00, 0x11, 0x00, 0x00,                    // mov esi, 0x1100
            0xB9, 0x03, 0x00, 0x00, 0x00,                    // mov ecx, 3
            0xFC, 0xF3, 0x6E,                                // cld; rep outsb
            0xBB, 0x00, 0x00, 0x00, 0xD0,                    // mov ebx, 0xD0000000
            0x48, 0x8B, 0x4B, 0x18,                          // mov rcx, [rbx+0x18]
            0x48, 0x89, 0x4B, 0x20,                          // mov [rbx+0x20], rcx
            0x48, 0xB8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // mov rax, 0x1122334455667788
            0x48, 0xC1, 0xE8, 0x38,                          // shr rax, 56
            0x66, 0xBA, 0xF4, 0x00,                          // mov dx, 0xF4
            0xEE,                                            // out dx, al
            0xF4,                                            // hlt
        ]
        try rig.memory.write(code, at: GuestState.codeAddress)
        try rig.memory.write(Array("OK\n".utf8), at: 0x1100)
        try rig.cpu.setState(try GuestState.longMode(rig.memory))

        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(0x11))
        XCTAssertEqual(rig.serial.text, "OK\nOK\n")
        XCTAssertEqual(device.accesses, [
            .init(write: false, offset: 0x18, size: 8, value: 0x0102_0304_0506_0708),
            .init(write: true, offset: 0x20, size: 8, value: 0x0102_0304_0506_0708),
        ])
        let state = try rig.cpu.getState()
        XCTAssertTrue(state.isLongModeActive)
        XCTAssertEqual(state.rcx, 0x0102_0304_0506_0708)
    }

    /// 32-bit protected mode: MMIO reads and writes of 1, 2 and 4 bytes reach the device
    /// claimed on the MMIOBus with the right offsets and values.
    func testProtectedModeMMIO() throws {
        let rig = try KVMRig()
        let device = RecordingMMIO()
        device.readValues[0] = 0x1234_5678
        device.readValues[0x20] = 0xBEEF
        try rig.mmio.claim(base: 0xD000_0000, size: 0x1000, device: device, name: "test-mmio")
        let code: [UInt8] = [
            0xBB, 0x00, 0x00, 0x00, 0xD0,              // mov ebx, 0xD0000000
            0x8B, 0x03,                                // mov eax, [ebx]
            0x89, 0x43, 0x08,                          // mov [ebx+8], eax
            0xC7, 0x43, 0x04, 0xBE, 0xBA, 0xFE, 0xCA,  // mov dword [ebx+4], 0xCAFEBABE
            0xC6, 0x43, 0x10, 0x5A,                    // mov byte [ebx+0x10], 0x5A
            0x66, 0x8B, 0x4B, 0x20,                    // mov cx, [ebx+0x20]
            0x66, 0x89, 0x4B, 0x22,                    // mov [ebx+0x22], cx
            0x66, 0xBA, 0xF4, 0x00,                    // mov dx, 0xF4
            0xB0, 0x07, 0xEE,                          // mov al, 7; out dx, al
            0xF4,                                      // hlt
        ]
        try rig.memory.write(code, at: GuestState.codeAddress)
        try rig.cpu.setState(try GuestState.protectedMode(rig.memory))

        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(7))
        XCTAssertEqual(device.accesses, [
            .init(write: false, offset: 0, size: 4, value: 0x1234_5678),
            .init(write: true, offset: 8, size: 4, value: 0x1234_5678),
            .init(write: true, offset: 4, size: 4, value: 0xCAFE_BABE),
            .init(write: true, offset: 0x10, size: 1, value: 0x5A),
            .init(write: false, offset: 0x20, size: 2, value: 0xBEEF),
            .init(write: true, offset: 0x22, size: 2, value: 0xBEEF),
        ])
        XCTAssertGreaterThanOrEqual(rig.cpu.mmioExitCount, 6)
        XCTAssertEqual(rig.mmio.unclaimedAccesses, 0)
    }

    /// A read-only slot (ROM): the guest reads its bytes, and its writes exit as MMIO writes
    /// that reach the MMIOBus while the ROM keeps its contents.
    func testReadOnlySlotWritesExitAsMMIO() throws {
        let rig = try KVMRig()
        guard rig.system.has(.readOnlyMemory) else { throw XCTSkip("no KVM_CAP_READONLY_MEM on this host") }
        let romBase: UInt64 = 0xE000_0000
        let rom = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { rom.deallocate() }
        rom.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        rom.storeBytes(of: UInt32(0x1357_9BDF), toByteOffset: 0x10, as: UInt32.self)
        let slot = try rig.vm.mapSlot(guestBase: romBase, size: 4096, host: rom, readOnly: true)
        let device = RecordingMMIO()
        try rig.mmio.claim(base: romBase, size: 4096, device: device, name: "rom-writes")
        let code: [UInt8] = [
            0xBB, 0x00, 0x00, 0x00, 0xE0,              // mov ebx, 0xE0000000
            0x8B, 0x43, 0x10,                          // mov eax, [ebx+0x10]
            0xA3, 0x00, 0x30, 0x00, 0x00,              // mov [0x3000], eax
            0xC7, 0x43, 0x10, 0x44, 0x33, 0x22, 0x11,  // mov dword [ebx+0x10], 0x11223344
            0x66, 0xBA, 0xF4, 0x00, 0xB0, 0x03, 0xEE,  // debug exit 3
            0xF4,
        ]
        try rig.memory.write(code, at: GuestState.codeAddress)
        try rig.cpu.setState(try GuestState.protectedMode(rig.memory))
        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(3))
        XCTAssertEqual(try rig.memory.read32(0x3000), 0x1357_9BDF)
        XCTAssertEqual(device.accesses, [.init(write: true, offset: 0x10, size: 4, value: 0x1122_3344)])
        XCTAssertEqual(rom.load(fromByteOffset: 0x10, as: UInt32.self), 0x1357_9BDF)
        try rig.vm.unmapSlot(slot)
    }

    /// #UD with an empty IDT: #UD → #GP → #DF → triple fault → `.shutdown`.
    func testTripleFaultIsShutdown() throws {
        let rig = try KVMRig()
        try rig.memory.write([0x0F, 0x0B], at: GuestState.codeAddress)  // ud2
        try rig.cpu.setState(try GuestState.protectedMode(rig.memory))
        XCTAssertEqual(try rig.run(), .shutdown("triple fault"))
    }

    /// Without an in-kernel irqchip, HLT with nothing to wake the vCPU is final.
    func testHaltWithoutIRQChipIsHaltedForever() throws {
        let rig = try KVMRig()
        try rig.memory.write([0xFA, 0xF4], at: GuestState.codeAddress)  // cli; hlt
        try rig.cpu.setState(GuestState.realMode())
        XCTAssertEqual(try rig.run(), .haltedForever)
        XCTAssertTrue(try rig.cpu.getState().halted)
        XCTAssertEqual(try rig.run(), .haltedForever)
    }

    /// The one-line failure report names the exit, CS:RIP, the linear address and the bytes there.
    func testFailureReportNamesExitRIPAndBytes() throws {
        let rig = try KVMRig()
        try rig.memory.write([0x0F, 0x0B, 0x90], at: 0x2345)
        var state = GuestState.realMode()
        state.cs = .realMode(0x0200, code: true)
        state.rip = 0x345
        try rig.cpu.setState(state)
        guard case let .engineFailure(text) = rig.cpu.failure(reason: 0) else { return XCTFail("not an engine failure") }
        XCTAssertTrue(text.contains("KVM_EXIT_UNKNOWN"), text)
        XCTAssertTrue(text.contains("CS:RIP 0200:0000000000000345"), text)
        XCTAssertTrue(text.contains("linear 0x2345"), text)
        XCTAssertTrue(text.contains("bytes 0f 0b 90"), text)
        XCTAssertFalse(text.contains("\n"))
    }

    /// With paging on, the report translates RIP through the guest's page tables.
    func testFailureReportTranslatesThroughPaging() throws {
        let rig = try KVMRig()
        try rig.memory.write([0xCC, 0xF4], at: GuestState.codeAddress)
        try rig.cpu.setState(try GuestState.longMode(rig.memory))
        XCTAssertEqual(rig.cpu.translate(0x1000), 0x1000)
        XCTAssertNil(rig.cpu.translate(0x4000_0000))
        guard case let .engineFailure(text) = rig.cpu.failure(reason: 0) else { return XCTFail("not an engine failure") }
        XCTAssertTrue(text.contains("bytes cc f4"), text)
    }
}
