import Foundation
import XCTest
import MachineCore
@testable import Devices

/// Xen's unplug of the emulated disks (PIIX3IDE+Unplug.swift): the ATA disks leave the
/// controller, the CD-ROM stays, and a machine reset brings them back.
final class IDEUnplugTests: XCTestCase {
    var files: TemporaryImages!
    var rig: IDERig!
    var primaryMaster: ATADisk!
    var primarySlave: ATADisk!

    override func setUpWithError() throws {
        files = try TemporaryImages()
        rig = try IDERig()
        primaryMaster = try ATADisk(image: DiskImage(path: try files.make("a.img", size: 1 << 20) { s, _ in UInt8(s & 0xFF) }, readOnly: false))
        primarySlave = try ATADisk(image: DiskImage(path: try files.make("b.img", size: 1 << 20), readOnly: false))
        try rig.ide.attach(primaryMaster, channel: 0, position: .master)
        try rig.ide.attach(primarySlave, channel: 0, position: .slave)
        let cd = try files.make("cd.iso", size: 100 * 2048, sectorSize: 2048)
        try rig.ide.attach(ATAPICDROM(image: DiskImage(path: cd, readOnly: true)), channel: 1, position: .master)
        rig.reset()
    }

    /// The secondary master's signature after a reset: ATAPI's 14h/EBh in the LBA mid/high.
    func cdSignature() -> (UInt8, UInt8) {
        rig.outb(0x170 + ATA.device, ATA.deviceObsolete)
        return (rig.inb(0x170 + ATA.lbaMid), rig.inb(0x170 + ATA.lbaHigh))
    }

    func testUnplugAllTakesEveryDiskAndLeavesTheCDROM() {
        XCTAssertEqual(rig.identify()[0] & 0x8000, 0, "an ATA disk answers IDENTIFY before the unplug")
        XCTAssertEqual(rig.ide.unplugDisks(keepPrimaryMaster: false), 2)
        XCTAssertNil(rig.ide.primary.master)
        XCTAssertNil(rig.ide.primary.slave)
        XCTAssertEqual(rig.status(), IDEChannel.floatingBus, "an empty channel floats, as Linux's probe expects")
        XCTAssertEqual(rig.ide.unpluggedDiskCount, 2)
        XCTAssertTrue(rig.ide.secondary.master is ATAPICDROM, "CD-ROMs are not unplugged")
        XCTAssertEqual(cdSignature().0, 0x14)
        XCTAssertEqual(cdSignature().1, 0xEB)
        XCTAssertEqual(rig.ide.unplugDisks(keepPrimaryMaster: false), 0, "nothing left to take")
    }

    func testUnplugAuxKeepsThePrimaryMaster() {
        XCTAssertEqual(rig.ide.unplugDisks(keepPrimaryMaster: true), 1)
        XCTAssertTrue(rig.ide.primary.master === primaryMaster)
        XCTAssertNil(rig.ide.primary.slave)
        XCTAssertNotEqual(rig.status() & ATA.statusDRDY, 0, "the primary master still answers")
    }

    func testAMachineResetPutsTheDisksBack() {
        rig.ide.unplugDisks(keepPrimaryMaster: false)
        rig.reset()
        XCTAssertTrue(rig.ide.primary.master === primaryMaster)
        XCTAssertTrue(rig.ide.primary.slave === primarySlave)
        XCTAssertEqual(rig.ide.unpluggedDiskCount, 0)
        let words = rig.identify()
        XCTAssertEqual(words[0] & 0x8000, 0, "the disk answers IDENTIFY again")
    }

    /// A disk unplugged halfway through a PIO read: the channel answers as empty, its IRQ is
    /// released, and nothing the guest does next reaches the gone drive.
    func testUnplugInTheMiddleOfACommandIsHarmless() {
        rig.command28(ATA.cmdReadSectors, lba: 3, count: 4)
        XCTAssertNotEqual(rig.altStatus() & ATA.statusDRQ, 0, "data waiting")
        XCTAssertTrue(rig.irq14.level, "the read raised its interrupt")
        rig.ide.unplugDisks(keepPrimaryMaster: false)
        XCTAssertFalse(rig.irq14.level, "the gone drive's request no longer reaches IRQ 14")
        XCTAssertEqual(rig.inw(IDERig.base + ATA.data), 0xFFFF)
        rig.outb(IDERig.base + ATA.statusCommand, ATA.cmdWriteSectors)
        rig.outw(IDERig.base + ATA.data, 0x1234)
        XCTAssertEqual(rig.status(), IDEChannel.floatingBus)
    }
}
