// The vCPU's writes reach the memory's other observers (a standby interpreter) through
// KVM's dirty log, and only when such an observer exists.
import XCTest
@testable import KVMAccel
import MachineCore

final class KVMWriteTrackingTests: XCTestCase {
    final class Recorder: GuestMemoryObserver {
        var pages: Set<UInt64> = []
        func guestMemoryWritten(physical address: UInt64, length: Int) {
            for p in (address >> 12)...((address + UInt64(length) - 1) >> 12) { pages.insert(p) }
        }
        func guestMemoryAttributesChanged(_ memory: GuestMemory) {}
        func guestMemoryRegionAdded(_ region: MemoryRegion) {}
        func guestMemoryRegionRemoved(_ region: MemoryRegion) {}
    }

    /// mov dword [0x5000], 1 / mov dword [0x9000], 2 / debug exit 7.
    static let code: [UInt8] = [
        0xC7, 0x05, 0x00, 0x50, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0xC7, 0x05, 0x00, 0x90, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x66, 0xBA, 0xF4, 0x00, 0xB0, 0x07, 0xEE,
        0xF4,
    ]

    func testWritesUnderKVMAreReportedToAnotherObserver() throws {
        let rig = try KVMRig()
        let recorder = Recorder()
        rig.memory.addObserver(recorder)
        try rig.memory.write(Self.code, at: GuestState.codeAddress)
        try rig.cpu.setState(try GuestState.protectedMode(rig.memory))
        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(7))
        XCTAssertTrue(rig.vm.tracksCPUWrites)
        XCTAssertTrue(recorder.pages.isSuperset(of: [0x5, 0x9]), "\(recorder.pages.sorted())")
        XCTAssertFalse(recorder.pages.contains(GuestState.codeAddress >> 12), "the code page was only read")
        // The log was cleared: a second collection reports nothing new.
        recorder.pages = []
        rig.vm.reportCPUWrites()
        XCTAssertEqual(recorder.pages, [])
    }

    func testKVMAloneLogsNothing() throws {
        let rig = try KVMRig()
        try rig.memory.write(Self.code, at: GuestState.codeAddress)
        try rig.cpu.setState(try GuestState.protectedMode(rig.memory))
        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertFalse(rig.vm.tracksCPUWrites)
        XCTAssertEqual(try rig.memory.read32(0x9000), 2)
    }
}
