import MachineCore
import XCTest
@testable import Devices

/// fw_cfg DMA with lengths a hostile guest chooses (fw_cfg.rst, "DMA interface"): the device
/// copies what the item holds, zero-fills the rest into guest RAM (as QEMU does), stops at the
/// end of RAM with the error bit, and gives way to a stop request between steps.
final class FirmwareConfigDMATests: XCTestCase {
    private let access: UInt64 = 0x1000

    private func start(_ d: FirmwareConfig, _ memory: GuestMemory, control: UInt32, length: UInt32, target: UInt64) throws {
        try memory.write32(access, control.bigEndian)
        try memory.write32(access + 4, length.bigEndian)
        try memory.write64(access + 8, target.bigEndian)
        d.portWrite(offset: 4, size: 4, value: 0)
        d.portWrite(offset: 8, size: 4, value: UInt32(access).bigEndian)
    }

    private func readAll(_ selector: UInt16) -> UInt32 {
        UInt32(selector) << 16 | FirmwareConfig.DMAControl.select | FirmwareConfig.DMAControl.read
    }

    /// Peak resident set of this process, in bytes.
    private func maxRSS() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }

    func testFourGiBReadCopiesTheItemZeroFillsToTheEndOfRAMAndAllocatesNothing() throws {
        let memory = try GuestMemory(size: 64 << 20)
        let d = FirmwareConfig(memory: memory)
        try d.addFile("etc/data", Array(1...100))
        let target: UInt64 = 0x20_0000
        // Stale bytes the zero fill must replace, up to the last byte of RAM.
        try memory.fill(target, count: Int(memory.size - target), with: 0xAA)
        let rssBefore = maxRSS()
        let clock = ContinuousClock.now
        try start(d, memory, control: readAll(FirmwareConfig.Key.firstFile), length: 0xFFFF_FFFF, target: target)
        let elapsed = ContinuousClock.now - clock
        XCTAssertEqual(try memory.read(target, count: 100), Array(1...100), "the item first")
        XCTAssertEqual(try memory.read(target + 100, count: 4096), [UInt8](repeating: 0, count: 4096))
        XCTAssertEqual(try memory.read(memory.size - 16, count: 16), [UInt8](repeating: 0, count: 16),
                       "zeros up to the end of RAM")
        XCTAssertEqual(try memory.read32(access).bigEndian, FirmwareConfig.DMAControl.error,
                       "the transfer ran past the end of RAM")
        XCTAssertLessThan(maxRSS() - rssBefore, 256 << 20, "no host allocation of the guest's length")
        XCTAssertLessThan(elapsed, .seconds(5))
        // The item was used up: a further read gives zeros, not the item again.
        try memory.fill(0x3000, count: 8, with: 0xAA)
        try start(d, memory, control: FirmwareConfig.DMAControl.read, length: 8, target: 0x3000)
        XCTAssertEqual(try memory.read(0x3000, count: 8), [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(try memory.read32(access), 0)
    }

    /// A PC's legacy VGA window: not RAM.
    let vgaHole: Range<UInt64> = 0xA_0000..<0xC_0000

    func testReadIntoTheVGAHoleWritesTheRAMPartThenFails() throws {
        let memory = try GuestMemory(size: 4 << 20, map: GuestMemoryMap(lowRAMLimit: 0xC000_0000, legacyHole: vgaHole))
        let d = FirmwareConfig(memory: memory)
        try d.addFile("etc/data", [UInt8](repeating: 0x5A, count: 512))
        let target = vgaHole.lowerBound - 256
        try start(d, memory, control: readAll(FirmwareConfig.Key.firstFile), length: 512, target: target)
        XCTAssertEqual(try memory.read(target, count: 256), [UInt8](repeating: 0x5A, count: 256))
        XCTAssertEqual(try memory.read32(access).bigEndian, FirmwareConfig.DMAControl.error)
        XCTAssertEqual(memory.ramBytes(from: target), 256)
        XCTAssertEqual(memory.ramBytes(from: vgaHole.lowerBound), 0)
        XCTAssertEqual(memory.ramBytes(from: vgaHole.upperBound), memory.size - vgaHole.upperBound)
        XCTAssertEqual(memory.ramBytes(from: memory.size), 0)
    }

    func testLongReadGivesWayToAStopRequest() throws {
        let memory = try GuestMemory(size: 128 << 20)
        let d = FirmwareConfig(memory: memory)
        var asked = 0
        d.shouldAbandonTransfer = { asked += 1; return asked > 1 }    // a stop after the first step
        let target: UInt64 = 0x10_0000
        try memory.fill(target, count: Int(memory.size - target), with: 0xAA)
        try start(d, memory, control: FirmwareConfig.DMAControl.read, length: 96 << 20, target: target)
        XCTAssertEqual(asked, 2, "asked before each step, and no further after the stop")
        let step = UInt64(FirmwareConfig.dmaStepBytes)
        XCTAssertEqual(try memory.read8(target + step - 1), 0, "the first step was done")
        XCTAssertEqual(try memory.read8(target + step), 0xAA, "nothing after the stop")
        XCTAssertEqual(try memory.read32(access).bigEndian, FirmwareConfig.DMAControl.error)
    }

    func testSkipPastTheEndLeavesThePositionAtTheEnd() throws {
        let memory = try GuestMemory(size: 4 << 20)
        let d = FirmwareConfig(memory: memory)
        try d.addFile("etc/data", Array(1...10))
        for _ in 0..<3 {
            try start(d, memory, control: UInt32(FirmwareConfig.Key.firstFile) << 16 | FirmwareConfig.DMAControl.select
                      | FirmwareConfig.DMAControl.skip, length: 0xFFFF_FFFF, target: 0)
            XCTAssertEqual(try memory.read32(access), 0)
        }
        try start(d, memory, control: FirmwareConfig.DMAControl.skip, length: 0xFFFF_FFFF, target: 0)
        XCTAssertEqual(d.portRead(offset: 1, size: 1), 0, "past the end reads zero")
    }
}
