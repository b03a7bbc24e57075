import Foundation
import XCTest
import MachineCore
@testable import Devices

final class IDEATAPITests: XCTestCase {
    var files: TemporaryImages!
    var rig: IDERig!
    // The CD sits on the secondary channel as the slave, as `--cdrom` would put it after a disk.
    let base: UInt16 = 0x170
    let control: UInt16 = 0x376
    static let sectors = 100

    override func setUpWithError() throws {
        files = try TemporaryImages()
        rig = try IDERig()
        let path = try files.make("cd.iso", size: UInt64(Self.sectors * 2048), sectorSize: 2048) { s, o in
            // An ISO 9660 primary volume descriptor marker in sector 16, a pattern elsewhere.
            if s == 16 && o < 6 { return [1, 0x43, 0x44, 0x30, 0x30, 0x31][o] }
            return UInt8(truncatingIfNeeded: s &* 31 &+ o / 2)
        }
        try rig.ide.attach(ATAPICDROM(image: DiskImage(path: path, readOnly: true)), channel: 1, position: .slave)
        rig.reset()
    }

    static func pattern(_ sector: Int) -> [UInt8] {
        (0..<2048).map { o in
            if sector == 16 && o < 6 { return [1, 0x43, 0x44, 0x30, 0x30, 0x31][o] }
            return UInt8(truncatingIfNeeded: sector &* 31 &+ o / 2)
        }
    }

    func selectCD() { rig.outb(base + ATA.device, ATA.deviceObsolete | ATA.deviceDEV) }
    func status() -> UInt8 { rig.inb(base + ATA.statusCommand) }

    /// Sends `cdb` by PACKET with PIO and collects the data blocks. Returns the data and the
    /// sizes of the DRQ blocks; the command ends in the status phase.
    func packet(_ cdb: [UInt8], byteLimit: UInt16 = 0xFFFE, file: StaticString = #filePath, line: UInt = #line) -> (data: [UInt8], blocks: [Int]) {
        selectCD()
        rig.outb(base + ATA.errorFeature, 0)
        rig.outb(base + ATA.lbaMid, UInt8(truncatingIfNeeded: byteLimit))
        rig.outb(base + ATA.lbaHigh, UInt8(byteLimit >> 8))
        rig.outb(base + ATA.statusCommand, ATA.cmdPacket)
        XCTAssertEqual(rig.inb(control) & ATA.statusDRQ, ATA.statusDRQ, "ready for the packet", file: file, line: line)
        XCTAssertEqual(rig.inb(base + ATA.sectorCount) & 3, ATAPI.reasonCoD, file: file, line: line)
        let padded = cdb + [UInt8](repeating: 0, count: 12 - cdb.count)
        rig.writeData(padded, base: base)
        var data: [UInt8] = []
        var blocks: [Int] = []
        while status() & ATA.statusDRQ != 0 && blocks.count < 100 {
            XCTAssertEqual(rig.inb(base + ATA.sectorCount) & 3, ATAPI.reasonIO, "data in", file: file, line: line)
            let count = Int(rig.inb(base + ATA.lbaMid)) | Int(rig.inb(base + ATA.lbaHigh)) << 8
            blocks.append(count)
            data += rig.readData((count + 1) & ~1, base: base).prefix(count)
        }
        XCTAssertEqual(rig.inb(base + ATA.sectorCount) & 3, ATAPI.reasonIO | ATAPI.reasonCoD, "status phase", file: file, line: line)
        return (data, blocks)
    }

    func testSignatureAndIdentify() throws {
        selectCD()
        XCTAssertEqual(rig.inb(base + ATA.lbaMid), ATA.signatureATAPIMid)
        XCTAssertEqual(rig.inb(base + ATA.lbaHigh), ATA.signatureATAPIHigh)
        XCTAssertEqual(rig.inb(base + ATA.sectorCount), 1)
        XCTAssertEqual(rig.inb(base + ATA.lbaLow), 1)
        XCTAssertEqual(status(), 0, "DRDY is clear after reset on a PACKET device")
        // IDENTIFY DEVICE is aborted, leaving the signature for the host to see.
        rig.outb(base + ATA.lbaMid, 0)
        rig.outb(base + ATA.statusCommand, ATA.cmdIdentifyDevice)
        XCTAssertEqual(status() & ATA.statusERR, ATA.statusERR)
        XCTAssertEqual(rig.inb(base + ATA.errorFeature), ATA.errorABRT)
        XCTAssertEqual(rig.inb(base + ATA.lbaMid), ATA.signatureATAPIMid)
        XCTAssertEqual(rig.inb(base + ATA.lbaHigh), ATA.signatureATAPIHigh)

        rig.outb(base + ATA.statusCommand, ATA.cmdIdentifyPacketDevice)
        XCTAssertTrue(rig.irq15.level)
        let bytes = rig.readData(512, base: base)
        let w = (0..<256).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
        XCTAssertEqual(w[0], 0x85C0, "ATAPI, CD-ROM, removable, accelerated DRQ, 12-byte packets")
        XCTAssertEqual(IDERig.string(w, 27, 20), "SWIFTPC CD-ROM")
        XCTAssertEqual(w[49] & 0x0300, 0x0300)
        XCTAssertEqual(status() & (ATA.statusDRQ | ATA.statusERR), 0)
        XCTAssertFalse(rig.irq15.level)
        XCTAssertFalse(rig.irq14.level)
    }

    func testInquiryAndReadCapacity() {
        let inquiry = packet([ATAPI.inquiry, 0, 0, 0, 36, 0]).data
        XCTAssertEqual(inquiry.count, 36)
        XCTAssertEqual(inquiry[0], ATAPI.peripheralTypeCDROM)
        XCTAssertEqual(inquiry[1], ATAPI.inquiryRemovable)
        XCTAssertEqual(String(decoding: inquiry[8..<16], as: UTF8.self), "SWIFTPC ")
        XCTAssertEqual(String(decoding: inquiry[16..<32], as: UTF8.self), "SWIFTPC CD-ROM  ")
        // The allocation length cuts the reply.
        XCTAssertEqual(packet([ATAPI.inquiry, 0, 0, 0, 5, 0]).data.count, 5)

        let capacity = packet([ATAPI.readCapacity]).data
        XCTAssertEqual(capacity, [0, 0, 0, UInt8(Self.sectors - 1), 0, 0, 0x08, 0x00])
    }

    func testRead10AndRead12RespectTheByteCountLimit() {
        // A 2048-byte limit: one sector per DRQ block, as SeaBIOS asks.
        let small = packet([ATAPI.read10, 0, 0, 0, 0, 16, 0, 0, 3, 0], byteLimit: 2048)
        XCTAssertEqual(small.blocks, [2048, 2048, 2048])
        XCTAssertEqual(small.data, Self.pattern(16) + Self.pattern(17) + Self.pattern(18))
        XCTAssertEqual(Array(small.data[1..<6]), Array("CD001".utf8))
        // A large limit: whole sectors per block.
        let large = packet([ATAPI.read10, 0, 0, 0, 0, 20, 0, 0, 3, 0], byteLimit: 5000)
        XCTAssertEqual(large.blocks, [4096, 2048])
        XCTAssertEqual(large.data, Self.pattern(20) + Self.pattern(21) + Self.pattern(22))
        let read12 = packet([ATAPI.read12, 0, 0, 0, 0, 99, 0, 0, 0, 1, 0, 0])
        XCTAssertEqual(read12.data, Self.pattern(99))
        XCTAssertEqual(status() & ATA.statusERR, 0)
    }

    func testReadPastTheEndFailsWithSense() {
        let result = packet([ATAPI.read10, 0, 0, 0, 0, 99, 0, 0, 2, 0])
        XCTAssertTrue(result.data.isEmpty)
        XCTAssertEqual(status() & ATA.statusERR, ATA.statusERR)
        XCTAssertEqual(rig.inb(base + ATA.errorFeature), ATAPI.senseIllegalRequest << 4 | ATA.errorABRT)
        let sense = packet([ATAPI.requestSense, 0, 0, 0, 18, 0]).data
        XCTAssertEqual(sense[0], ATAPI.senseResponseCurrent)
        XCTAssertEqual(sense[2], ATAPI.senseIllegalRequest)
        XCTAssertEqual(sense[12], ATAPI.ascLBAOutOfRange)
    }

    func testUnknownCommandIsCheckConditionWithInvalidCommandSense() {
        XCTAssertTrue(packet([0xFF]).data.isEmpty)
        XCTAssertEqual(status(), ATA.statusReady | ATA.statusERR)
        XCTAssertTrue(rig.irq15.risingEdges > 0)
        XCTAssertEqual(rig.inb(base + ATA.errorFeature) >> 4, ATAPI.senseIllegalRequest)
        let sense = packet([ATAPI.requestSense, 0, 0, 0, 18, 0]).data
        XCTAssertEqual(sense[2], ATAPI.senseIllegalRequest)
        XCTAssertEqual(sense[12], ATAPI.ascInvalidCommand)
        // Sense is consumed by REQUEST SENSE.
        XCTAssertEqual(packet([ATAPI.requestSense, 0, 0, 0, 18, 0]).data[2], ATAPI.senseNone)
        // And the next good command succeeds.
        _ = packet([ATAPI.testUnitReady])
        XCTAssertEqual(status(), ATA.statusReady)
    }

    func testReadTOC() {
        let lba = packet([ATAPI.readTOC, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0]).data
        XCTAssertEqual(lba, [0, 18, 1, 1,
                             0, 0x14, 1, 0, 0, 0, 0, 0,
                             0, 0x14, 0xAA, 0, 0, 0, 0, UInt8(Self.sectors)])
        // MSF: track 1 at 00:02:00; lead-out at LBA 100 + 150 frames = 00:03:25.
        let msf = packet([ATAPI.readTOC, 0x02, 0, 0, 0, 0, 0, 0x03, 0x24, 0]).data
        XCTAssertEqual(Array(msf[8..<12]), [0, 0, 2, 0])
        XCTAssertEqual(Array(msf[16..<20]), [0, 0, 3, 25])
        // Format 1: session information.
        let session = packet([ATAPI.readTOC, 0, 1, 0, 0, 0, 0, 0, 12, 0]).data
        XCTAssertEqual(session, [0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0])
        // Starting at the lead-out lists only the lead-out.
        XCTAssertEqual(packet([ATAPI.readTOC, 0, 0, 0, 0, 0, 0xAA, 0, 100, 0]).data.count, 12)
    }

    func testConfigurationEventsAndModeSense() {
        let config = packet([ATAPI.getConfiguration, 0, 0, 0, 0, 0, 0, 0, 255, 0]).data
        XCTAssertEqual(Array(config[6..<8]), [0x00, 0x08], "current profile: CD-ROM")
        XCTAssertEqual(UInt32(config[0]) << 24 | UInt32(config[1]) << 16 | UInt32(config[2]) << 8 | UInt32(config[3]),
                       UInt32(config.count - 4))
        XCTAssertEqual(Array(config[8..<10]), [0, 0], "first feature: the profile list")
        let events = packet([ATAPI.getEventStatusNotification, 1, 0, 0, ATAPI.eventClassMedia, 0, 0, 0, 8, 0]).data
        XCTAssertEqual(events.count, 8)
        XCTAssertEqual(events[5], ATAPI.mediaPresent)
        let mode = packet([ATAPI.modeSense10, 0, ATAPI.pageCapabilities, 0, 0, 0, 0, 0, 28, 0]).data
        XCTAssertEqual(mode.count, 28)
        XCTAssertEqual(mode[8], ATAPI.pageCapabilities)
        _ = packet([ATAPI.preventAllowMediumRemoval, 0, 0, 0, 1, 0])
        XCTAssertEqual(status() & ATA.statusERR, 0)
        let disc = packet([ATAPI.readDiscInformation, 0, 0, 0, 0, 0, 0, 0, 34, 0]).data
        XCTAssertEqual(disc.count, 34)
    }

    func testReadByDMA() throws {
        let table: UInt32 = 0x1000
        let bm = IDERig.busMasterBase + BMIDE.channelBlockSize
        try rig.writePRDTable(at: table, regions: [(0x10000, 2048), (0x20000, 2048)])
        rig.outl(bm + BMIDE.prdTable, table)
        rig.outb(bm + BMIDE.command, BMIDE.commandWriteToMemory)
        selectCD()
        rig.outb(base + ATA.errorFeature, ATAPI.featureDMA)
        rig.outb(base + ATA.statusCommand, ATA.cmdPacket)
        rig.writeData([ATAPI.read10, 0, 0, 0, 0, 40, 0, 0, 2, 0, 0, 0], base: base)
        XCTAssertEqual(rig.irq15.risingEdges, 0, "waits for the bus master")
        rig.outb(bm + BMIDE.command, BMIDE.commandWriteToMemory | BMIDE.commandStart)
        XCTAssertEqual(rig.irq15.risingEdges, 1)
        XCTAssertEqual(rig.inb(bm + BMIDE.status) & (BMIDE.statusActive | BMIDE.statusInterrupt), BMIDE.statusInterrupt)
        XCTAssertEqual(status(), ATA.statusReady)
        XCTAssertEqual(rig.inb(base + ATA.sectorCount) & 3, ATAPI.reasonIO | ATAPI.reasonCoD)
        XCTAssertEqual(try rig.memory.read(0x10000, count: 2048), Self.pattern(40))
        XCTAssertEqual(try rig.memory.read(0x20000, count: 2048), Self.pattern(41))
    }

    func testEmptyDriveIsNotReady() throws {
        let rig2 = try IDERig()
        try rig2.ide.attach(ATAPICDROM(image: nil), channel: 0, position: .master)
        rig = rig2
        // Reuse the helper on the primary channel.
        let result = packetOnPrimary([ATAPI.testUnitReady])
        XCTAssertTrue(result.isEmpty)
        XCTAssertEqual(rig.error() >> 4, ATAPI.senseNotReady)
        let sense = packetOnPrimary([ATAPI.requestSense, 0, 0, 0, 18, 0])
        XCTAssertEqual(sense[12], ATAPI.ascMediumNotPresent)
        // INQUIRY works without a medium.
        XCTAssertEqual(packetOnPrimary([ATAPI.inquiry, 0, 0, 0, 36, 0]).first, ATAPI.peripheralTypeCDROM)
    }

    private func packetOnPrimary(_ cdb: [UInt8]) -> [UInt8] {
        rig.select(.master)
        rig.outb(IDERig.base + ATA.lbaMid, 0xFE)
        rig.outb(IDERig.base + ATA.lbaHigh, 0xFF)
        rig.outb(IDERig.base + ATA.statusCommand, ATA.cmdPacket)
        rig.writeData(cdb + [UInt8](repeating: 0, count: 12 - cdb.count))
        var data: [UInt8] = []
        while rig.status() & ATA.statusDRQ != 0 && data.count < 100_000 {
            let count = Int(rig.inb(IDERig.base + ATA.lbaMid)) | Int(rig.inb(IDERig.base + ATA.lbaHigh)) << 8
            data += rig.readData((count + 1) & ~1).prefix(count)
        }
        return data
    }
}
