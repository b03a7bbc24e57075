import MachineCore
import XCTest
@testable import Devices

/// fw_cfg as SeaBIOS drives it, the PIIX3 ISA bridge's PIRQ routing and the PIIX4 PM block.
final class FirmwareConfigTests: XCTestCase {
    func makeDevice() throws -> (FirmwareConfig, GuestMemory) {
        let memory = try GuestMemory(size: 4 << 20)
        return (FirmwareConfig(memory: memory), memory)
    }

    func readBytes(_ d: FirmwareConfig, select key: UInt16, count: Int) -> [UInt8] {
        d.portWrite(offset: 0, size: 2, value: UInt32(key))
        return (0..<count).map { _ in UInt8(d.portRead(offset: 1, size: 1)) }
    }

    func testSignatureIDAndPastTheEndReads() throws {
        let (d, _) = try makeDevice()
        XCTAssertEqual(readBytes(d, select: FirmwareConfig.Key.signature, count: 6), Array("QEMU".utf8) + [0, 0])
        XCTAssertEqual(readBytes(d, select: FirmwareConfig.Key.id, count: 4), [3, 0, 0, 0], "traditional + DMA")
        XCTAssertEqual(readBytes(d, select: 0x7777, count: 2), [0, 0], "an absent item reads as zeros")
        // The DMA register reads back "QEMU CFG" byte by byte.
        XCTAssertEqual((0..<8).map { UInt8(d.portRead(offset: 4 + UInt16($0), size: 1)) }, Array("QEMU CFG".utf8))
    }

    func testFileDirectoryListsFilesInNameOrderWithBigEndianFields() throws {
        let (d, _) = try makeDevice()
        try d.addFile("etc/zeta", [1, 2, 3])
        try d.addFile("bootorder", Array("x\n".utf8))
        let dir = readBytes(d, select: FirmwareConfig.Key.fileDirectory, count: 4 + 2 * 64)
        XCTAssertEqual(Array(dir[0..<4]), [0, 0, 0, 2])
        func entry(_ k: Int) -> (size: Int, select: Int, name: String) {
            let e = Array(dir[(4 + 64 * k)..<(4 + 64 * (k + 1))])
            let size = e[0..<4].reduce(0) { $0 << 8 | Int($1) }
            let select = Int(e[4]) << 8 | Int(e[5])
            return (size, select, String(decoding: e[8...].prefix { $0 != 0 }, as: UTF8.self))
        }
        XCTAssertEqual(entry(0).name, "bootorder")
        XCTAssertEqual(entry(0).size, 2)
        XCTAssertEqual(entry(1).name, "etc/zeta")
        XCTAssertEqual(readBytes(d, select: UInt16(entry(1).select), count: 3), [1, 2, 3])
        XCTAssertThrowsError(try d.addFile(String(repeating: "n", count: 56), []))
    }

    /// An FWCfgDmaAccess with select + read, as SeaBIOS's qemu_cfg_read_entry issues it.
    func testDMASelectAndReadCompletesAndClearsTheControlWord() throws {
        let (d, memory) = try makeDevice()
        try d.addFile("etc/data", Array(0..<100))
        let access: UInt64 = 0x1000, buffer: UInt64 = 0x2000
        let selector = UInt32(FirmwareConfig.Key.firstFile)
        try memory.write32(access, (selector << 16 | FirmwareConfig.DMAControl.select | FirmwareConfig.DMAControl.read).bigEndian)
        try memory.write32(access + 4, UInt32(10).bigEndian)
        try memory.write64(access + 8, buffer.bigEndian)
        d.portWrite(offset: 4, size: 4, value: 0)
        d.portWrite(offset: 8, size: 4, value: UInt32(access).bigEndian)
        XCTAssertEqual(try memory.read32(access), 0, "done, no error")
        XCTAssertEqual(try memory.read(buffer, count: 10), Array(0..<10))
        // A skip then a read continue from the same item.
        try memory.write32(access, FirmwareConfig.DMAControl.skip.bigEndian)
        try memory.write32(access + 4, UInt32(5).bigEndian)
        d.portWrite(offset: 8, size: 4, value: UInt32(access).bigEndian)
        XCTAssertEqual(UInt8(d.portRead(offset: 1, size: 1)), 15)
        // Writes are refused with the error bit.
        try memory.write32(access, FirmwareConfig.DMAControl.write.bigEndian)
        d.portWrite(offset: 8, size: 4, value: UInt32(access).bigEndian)
        XCTAssertEqual(try memory.read32(access).bigEndian, FirmwareConfig.DMAControl.error)
    }
}

final class PIIXFunctionTests: XCTestCase {
    func testPIRQRoutesFollowTheRegistersAndShareIRQs() {
        var levels: [Int: Bool] = [:]
        let bridge = PIIX3ISABridge { irq, level in levels[irq] = level }
        XCTAssertNil(bridge.route(ofPIRQ: 0), "disabled at reset")
        bridge.setPIRQ(0, level: true)
        XCTAssertTrue(levels.isEmpty, "an unrouted PIRQ drives nothing")
        bridge.configWrite(offset: PIIX3ISABridge.pirqRouteControl, size: 4, value: 0x0B0B_0A0A)
        XCTAssertEqual(levels[10], true, "routing an asserted PIRQ asserts its IRQ")
        bridge.setPIRQ(1, level: true)
        bridge.setPIRQ(0, level: false)
        XCTAssertEqual(levels[10], true, "PIRQB still holds the shared IRQ 10")
        bridge.setPIRQ(1, level: false)
        XCTAssertEqual(levels[10], false)
        bridge.configWrite(offset: PIIX3ISABridge.pirqRouteControl + 2, size: 1, value: 0x02)
        XCTAssertNil(bridge.route(ofPIRQ: 2), "IRQ 2 is reserved")
        XCTAssertEqual(bridge.config.read8(PCIConfig.headerType) & 0x80, 0x80, "multi-function device")
    }

    func testPMBlockDecodesOnlyWhenEnabledAndMovesWithPMBA() {
        let bus = PortIOBus()
        let control = MachineControl()
        let pm = PIIX4PowerManagement(portBus: bus, events: ACPIPMEventBlock(), powerControl: ACPIPowerControl(control: control),
                                      timer: ACPIPMTimer(clock: MachineClock(mode: .virtual)))
        XCTAssertEqual(pm.decodedBase, 0x600, "decoded at 0x600 from power-on")
        pm.configWrite(offset: PIIX4PowerManagement.pmRegMisc, size: 1, value: 0)
        XCTAssertNil(pm.decodedBase, "PMIOSE clear: not decoded")
        XCTAssertEqual(pm.config.read32(PIIX4PowerManagement.deviceActivityB) & PIIX4PowerManagement.apmcEnable,
                       PIIX4PowerManagement.apmcEnable, "SMM reported as initialised")
        pm.configWrite(offset: PIIX4PowerManagement.pmBase, size: 4, value: 0xB001)
        XCTAssertNil(pm.decodedBase, "PMIOSE still clear")
        XCTAssertNil(bus.claimInfo(at: 0x604))
        pm.configWrite(offset: PIIX4PowerManagement.pmRegMisc, size: 1, value: 1)
        XCTAssertEqual(pm.decodedBase, 0xB000)
        XCTAssertEqual(pm.config.read32(PIIX4PowerManagement.pmBase) & 1, 1, "I/O space indicator stays set")
        pm.configWrite(offset: PIIX4PowerManagement.pmBase, size: 4, value: 0x0601)
        XCTAssertEqual(pm.decodedBase, 0x600)
        XCTAssertNil(bus.claimInfo(at: 0xB004), "the old block is released")
        // S5 through PM1a_CNT at base + 4 powers off.
        bus.write(port: 0x604, size: 2, value: UInt32(ACPIPowerControl.sleepEnable))
        XCTAssertEqual(control.stopReason, .powerOff)
    }
}

final class PAMTests: XCTestCase {
    func testWriteProtectedPagesFollowThePAMWriteEnables() {
        let bridge = I440FXHostBridge()
        XCTAssertEqual(bridge.shadowWriteProtectedPages, UInt64.max, "at reset every BIOS-area page writes to ROM")
        // PAM0 = 0x30: 0xF0000-0xFFFFF read-write DRAM (pages 0xF0-0xFF, bits 48-63).
        bridge.configWrite(offset: I440FXHostBridge.pam0, size: 1, value: 0x30)
        XCTAssertEqual(bridge.shadowWriteProtectedPages, (1 << 48) - 1)
        // PAM1 = 0x21: 0xC4000-0xC7FFF writable (bits 4-7), 0xC0000-0xC3FFF read-only.
        bridge.configWrite(offset: I440FXHostBridge.pam0 + 1, size: 1, value: 0x21)
        XCTAssertEqual(bridge.shadowWriteProtectedPages & 0xFF, 0x0F)
        bridge.enableShadowRAM()
        XCTAssertEqual(bridge.shadowWriteProtectedPages, 0)
        bridge.reset()
        XCTAssertEqual(bridge.shadowWriteProtectedPages, UInt64.max)
    }
}
