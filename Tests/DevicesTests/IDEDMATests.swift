import Foundation
import XCTest
import MachineCore
@testable import Devices

final class IDEDMATests: XCTestCase {
    var files: TemporaryImages!
    var rig: IDERig!
    var path: String!
    let base = IDERig.base

    override func setUpWithError() throws {
        files = try TemporaryImages()
        rig = try IDERig()
        path = try files.make("disk.img", size: 256 * 512) { s, o in UInt8(truncatingIfNeeded: s &* 13 &+ o) }
        try rig.ide.attach(ATADisk(image: DiskImage(path: path, readOnly: false)), channel: 0, position: .master)
    }

    static func pattern(_ sector: Int) -> [UInt8] { (0..<512).map { UInt8(truncatingIfNeeded: sector &* 13 &+ $0) } }

    func testPCIIdentityAndBAR4() throws {
        let ide = rig.ide
        XCTAssertEqual(rig.pci.configRead(PIIX3IDE.address, offset: 0, size: 4), 0x7010_8086)
        XCTAssertEqual(rig.pci.configRead(PIIX3IDE.address, offset: 8, size: 4), 0x0101_8000, "class 01 01 80, revision 0")
        // BAR sizing: all ones reads back the 16-byte I/O size.
        ide.configWrite(offset: PIIX3IDE.bar4, size: 4, value: 0xFFFF_FFFF)
        // A 32-bit I/O BAR of 16 ports, as QEMU's PIIX3 IDE has: SeaBIOS sizes BARs with all
        // ones and took a 16-bit one for a 4 GiB request ("out of I/O address space").
        XCTAssertEqual(ide.configRead(offset: PIIX3IDE.bar4, size: 4), 0xFFFF_FFF1)
        ide.configWrite(offset: PIIX3IDE.bar4, size: 4, value: 0xD000)
        XCTAssertEqual(rig.ports.claimInfo(at: 0xD002)?.name, "piix3-ide-bm", "the claim follows the BAR")
        XCTAssertNil(rig.ports.claimInfo(at: 0xC002))
        rig.outl(0xD004, 0x0012_3457)
        XCTAssertEqual(rig.inl(0xD004), 0x0012_3454, "PRD pointer is dword aligned")
        // Without I/O space enable the registers are gone.
        ide.configWrite(offset: PCIConfig.command, size: 2, value: UInt32(PCIConfig.commandBusMaster))
        XCTAssertNil(rig.ports.claimInfo(at: 0xD002))
        ide.configWrite(offset: PCIConfig.command, size: 2, value: UInt32(PIIX3IDE.commandWritable))
        XCTAssertEqual(rig.ports.claimInfo(at: 0xD002)?.name, "piix3-ide-bm")
        // IDETIM is writable (reserved bits 11:10 stay zero).
        ide.configWrite(offset: PIIX3IDE.idetimSecondary, size: 2, value: 0xFFFF)
        XCTAssertEqual(ide.configRead(offset: PIIX3IDE.idetimSecondary, size: 2), 0xF3FF)
    }

    func testDMAReadScattersIntoAMultiEntryPRDTable() throws {
        let table: UInt32 = 0x1000
        // Three regions: 512 bytes, 1024 bytes, 1024 bytes = 5 sectors.
        try rig.writePRDTable(at: table, regions: [(0x10000, 512), (0x20000, 1024), (0x30400, 1024)])
        let observer = DeviceWriteRecorder()
        rig.memory.addObserver(observer)
        rig.setUpBusMaster(table: table, toMemory: true)
        rig.command28(ATA.cmdReadDMA, lba: 7, count: 5)
        XCTAssertEqual(rig.irq14.risingEdges, 0, "waits for the bus master")
        XCTAssertEqual(rig.altStatus() & ATA.statusDRQ, ATA.statusDRQ)
        rig.startBusMaster(toMemory: true)
        XCTAssertEqual(rig.irq14.risingEdges, 1)
        let bm = rig.busMasterStatus
        XCTAssertEqual(bm & BMIDE.statusInterrupt, BMIDE.statusInterrupt)
        XCTAssertEqual(bm & BMIDE.statusActive, 0, "the table was used up exactly")
        XCTAssertEqual(rig.status(), ATA.statusReady)
        XCTAssertEqual(try rig.memory.read(0x10000, count: 512), Self.pattern(7))
        XCTAssertEqual(try rig.memory.read(0x20000, count: 1024), Self.pattern(8) + Self.pattern(9))
        XCTAssertEqual(try rig.memory.read(0x30400, count: 1024), Self.pattern(10) + Self.pattern(11))
        XCTAssertEqual(try rig.memory.read(0x30800, count: 4), [0, 0, 0, 0], "nothing past the region")
        XCTAssertEqual(observer.writes.map { $0.0 }, [0x10000, 0x20000, 0x30400], "every engine hears of every range written")
        XCTAssertEqual(observer.writes.map { $0.1 }, [512, 1024, 1024])
        // Interrupt status is write-1-to-clear; the drive-capable bits are plain.
        rig.outb(IDERig.busMasterBase + BMIDE.status, BMIDE.statusInterrupt | BMIDE.statusDrive0DMA)
        XCTAssertEqual(rig.busMasterStatus, BMIDE.statusDrive0DMA)
    }

    func testDMAWriteGathersFromMemoryIntoTheFile() throws {
        let table: UInt32 = 0x2000
        let a = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 5) }
        let b = (0..<2048).map { UInt8(truncatingIfNeeded: $0 ^ 0xA5) }
        try rig.memory.write(a, at: 0x40000)
        try rig.memory.write(b, at: 0x50000)
        try rig.writePRDTable(at: table, regions: [(0x40000, 1024), (0x50000, 2048)])
        // Start first, then the command: the transfer runs when the command arrives.
        rig.setUpBusMaster(table: table, toMemory: false)
        rig.startBusMaster(toMemory: false)
        rig.command48(ATA.cmdWriteDMAExt, lba: 100, count: 6)
        XCTAssertEqual(rig.irq14.risingEdges, 1)
        XCTAssertEqual(rig.status(), ATA.statusReady)
        XCTAssertEqual(rig.busMasterStatus & (BMIDE.statusActive | BMIDE.statusInterrupt), BMIDE.statusInterrupt)
        XCTAssertEqual(try files.contents(path, offset: 100 * 512, count: 3072), a + b)
        XCTAssertEqual(try files.contents(path, offset: 106 * 512, count: 512), Self.pattern(106))
    }

    func testLargerTableLeavesActiveSetAndShortTableAborts() throws {
        let table: UInt32 = 0x3000
        try rig.writePRDTable(at: table, regions: [(0x60000, 0)])  // 0 = 64 KiB
        rig.setUpBusMaster(table: table, toMemory: true)
        rig.command28(ATA.cmdReadDMA, lba: 0, count: 2)
        rig.startBusMaster(toMemory: true)
        XCTAssertEqual(rig.status(), ATA.statusReady)
        XCTAssertEqual(rig.busMasterStatus & (BMIDE.statusActive | BMIDE.statusInterrupt),
                       BMIDE.statusActive | BMIDE.statusInterrupt, "drive done before the table: Active stays")
        XCTAssertEqual(try rig.memory.read(0x60200, count: 512), Self.pattern(1))
        rig.outb(IDERig.busMasterBase + BMIDE.command, 0)
        XCTAssertEqual(rig.busMasterStatus & BMIDE.statusActive, 0, "stop clears Active")

        try rig.writePRDTable(at: table, regions: [(0x70000, 512)])
        rig.outb(IDERig.busMasterBase + BMIDE.status, BMIDE.statusInterrupt)
        rig.command28(ATA.cmdReadDMA, lba: 0, count: 2)
        rig.startBusMaster(toMemory: true)
        XCTAssertEqual(rig.status() & ATA.statusERR, ATA.statusERR, "a table shorter than the data aborts")
        XCTAssertEqual(rig.busMasterStatus & BMIDE.statusActive, 0)
    }

    func testNoDMAWithoutBusMasterEnable() throws {
        let table: UInt32 = 0x1000
        try rig.writePRDTable(at: table, regions: [(0x10000, 512)])
        rig.ide.configWrite(offset: PCIConfig.command, size: 2, value: UInt32(PCIConfig.commandIOSpace))
        rig.setUpBusMaster(table: table, toMemory: true)
        rig.command28(ATA.cmdReadDMA, lba: 3, count: 1)
        rig.startBusMaster(toMemory: true)
        XCTAssertEqual(rig.irq14.risingEdges, 0)
        XCTAssertEqual(try rig.memory.read(0x10000, count: 4), [0, 0, 0, 0])
        // Turning bus mastering on lets the waiting transfer run.
        rig.ide.configWrite(offset: PCIConfig.command, size: 2, value: UInt32(PIIX3IDE.commandWritable))
        XCTAssertEqual(rig.irq14.risingEdges, 1)
        XCTAssertEqual(try rig.memory.read(0x10000, count: 512), Self.pattern(3))
    }
}

/// Records the device writes `GuestMemory` reports to its observers (the engines).
final class DeviceWriteRecorder: GuestMemoryObserver {
    var writes: [(UInt64, Int)] = []
    var attributeChanges = 0
    func guestMemoryWritten(physical address: UInt64, length: Int) { writes.append((address, length)) }
    func guestMemoryAttributesChanged(_ memory: GuestMemory) { attributeChanges += 1 }
    func guestMemoryRegionAdded(_ region: MemoryRegion) {}
    func guestMemoryRegionRemoved(_ region: MemoryRegion) {}
}
