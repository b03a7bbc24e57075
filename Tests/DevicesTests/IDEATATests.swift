import Foundation
import XCTest
import MachineCore
@testable import Devices

final class IDEATATests: XCTestCase {
    var files: TemporaryImages!
    var rig: IDERig!
    let base = IDERig.base

    override func setUpWithError() throws {
        files = try TemporaryImages()
        rig = try IDERig()
    }

    /// A disk of `sectors` sectors whose bytes are `sector * 7 + offset` (mod 256).
    @discardableResult
    func attachDisk(sectors: Int = 64, readOnly: Bool = false, position: IDEPosition = .master) throws -> (ATADisk, String) {
        let path = try files.make("disk-\(position).img", size: UInt64(sectors * 512)) { s, o in UInt8(truncatingIfNeeded: s &* 7 &+ o) }
        let disk = try ATADisk(image: DiskImage(path: path, readOnly: readOnly))
        try rig.ide.attach(disk, channel: 0, position: position)
        return (disk, path)
    }

    static func pattern(sector: Int) -> [UInt8] { (0..<512).map { UInt8(truncatingIfNeeded: sector &* 7 &+ $0) } }

    func testSignatureAfterResetAndAfterSoftReset() throws {
        try attachDisk()
        rig.reset()
        XCTAssertEqual(rig.inb(base + ATA.sectorCount), 0x01)
        XCTAssertEqual(rig.inb(base + ATA.lbaLow), 0x01)
        XCTAssertEqual(rig.inb(base + ATA.lbaMid), 0x00)
        XCTAssertEqual(rig.inb(base + ATA.lbaHigh), 0x00)
        XCTAssertEqual(rig.error(), ATA.diagnosticPassed)
        XCTAssertEqual(rig.status() & (ATA.statusBSY | ATA.statusDRDY), ATA.statusDRDY)

        // Scribble on the task file, then SRST: busy while asserted, signature after.
        rig.outb(base + ATA.lbaMid, 0x55)
        rig.outb(IDERig.control, ATA.controlSRST)
        XCTAssertEqual(rig.altStatus() & ATA.statusBSY, ATA.statusBSY)
        rig.outb(IDERig.control, 0)
        XCTAssertEqual(rig.altStatus() & ATA.statusBSY, 0)
        XCTAssertEqual(rig.inb(base + ATA.lbaMid), 0x00)
        XCTAssertEqual(rig.inb(base + ATA.sectorCount), 0x01)
        XCTAssertEqual(rig.irq14.risingEdges, 0, "a software reset raises no interrupt")
    }

    func testAbsentSlaveReadsZeroAndFailsTheRegisterCheck() throws {
        try attachDisk()
        rig.select(.slave)
        // The probe Linux and SeaBIOS use: write 0x55/0xAA and read them back.
        rig.outb(base + ATA.sectorCount, 0x55)
        rig.outb(base + ATA.lbaLow, 0xAA)
        XCTAssertEqual(rig.inb(base + ATA.sectorCount), 0)
        XCTAssertEqual(rig.inb(base + ATA.lbaLow), 0)
        XCTAssertEqual(rig.status(), 0)
        // The master latched the same writes and answers with them.
        rig.select(.master)
        XCTAssertEqual(rig.inb(base + ATA.sectorCount), 0x55)
        XCTAssertEqual(rig.inb(base + ATA.lbaLow), 0xAA)
        // An empty channel floats.
        XCTAssertEqual(rig.inb(0x177), IDEChannel.floatingBus)
        XCTAssertEqual(rig.inb(0x376), IDEChannel.floatingBus)
    }

    func testIdentifyDeviceWords() throws {
        let sectors = 300_000
        let path = try files.make("big.img", size: UInt64(sectors * 512))
        let disk = try ATADisk(image: DiskImage(path: path, readOnly: false), model: "TEST MODEL", serial: "SER123")
        try rig.ide.attach(disk, channel: 0, position: .master)
        let w = rig.identify()
        XCTAssertEqual(w[0], 0x0040)
        XCTAssertEqual(w[1], UInt16(sectors / (16 * 63)), "default cylinders")
        XCTAssertEqual(w[3], 16)
        XCTAssertEqual(w[6], 63)
        XCTAssertEqual(IDERig.string(w, 27, 20), "TEST MODEL", "model is byte-swapped per word")
        XCTAssertEqual(IDERig.string(w, 10, 10), "SER123")
        XCTAssertEqual(w[27], UInt16(UInt8(ascii: "T")) << 8 | UInt16(UInt8(ascii: "E")))
        XCTAssertEqual(w[47] & 0xFF, 16)
        XCTAssertEqual(w[49] & 0x0300, 0x0300, "LBA and DMA supported")
        XCTAssertEqual(UInt32(w[60]) | UInt32(w[61]) << 16, UInt32(sectors))
        XCTAssertEqual(w[63] & 0x07, 0x07, "multiword DMA 0-2")
        XCTAssertEqual(w[83] & 0xC000, 0x4000)
        XCTAssertEqual(w[83] & 0x2400, 0x2400, "LBA48 and FLUSH CACHE EXT supported")
        XCTAssertEqual(w[86] & 0x2400, 0x2400, "and enabled")
        XCTAssertEqual(w[85] & 0x0020, 0x0020, "write cache enabled, so guests flush")
        XCTAssertEqual(w[88] & 0x3F, 0x3F)
        let lba48 = (0..<4).reduce(UInt64(0)) { $0 | UInt64(w[100 + $1]) << UInt64(16 * $1) }
        XCTAssertEqual(lba48, UInt64(sectors))
        // Integrity word: signature A5 and a checksum that makes the bytes sum to zero.
        XCTAssertEqual(w[255] & 0xFF, 0xA5)
        let sum = w.reduce(UInt8(0)) { $0 &+ UInt8(truncatingIfNeeded: $1) &+ UInt8($1 >> 8) }
        XCTAssertEqual(sum, 0)
        XCTAssertEqual(rig.status() & (ATA.statusDRQ | ATA.statusERR), 0, "DRQ clears after 512 bytes")

        // SET FEATURES transfer mode: multiword DMA 2 is reported as selected.
        rig.outb(base + ATA.errorFeature, ATA.featureSetTransferMode)
        rig.outb(base + ATA.sectorCount, ATA.transferModeMultiwordDMA | 2)
        rig.outb(base + ATA.statusCommand, ATA.cmdSetFeatures)
        XCTAssertEqual(rig.status() & ATA.statusERR, 0)
        XCTAssertEqual(rig.identify()[63] & 0x0700, 0x0400)
    }

    func testLBA28CapacityIsCappedForLargeDisks() throws {
        // 2^28 + 100 sectors, sparse.
        let sectors: UInt64 = (1 << 28) + 100
        let path = try files.make("huge.img", size: sectors * 512)
        try rig.ide.attach(ATADisk(image: DiskImage(path: path, readOnly: false)), channel: 0, position: .master)
        let w = rig.identify()
        XCTAssertEqual(UInt32(w[60]) | UInt32(w[61]) << 16, 0x0FFF_FFFF)
        XCTAssertEqual(w[1], 16383)
        XCTAssertEqual(UInt64(w[100]) | UInt64(w[101]) << 16 | UInt64(w[102]) << 32, sectors)
    }

    func testPIOReadSectors() throws {
        try attachDisk()
        rig.command28(ATA.cmdReadSectors, lba: 5, count: 2)
        XCTAssertEqual(rig.irq14.risingEdges, 1, "first block interrupts")
        XCTAssertTrue(rig.irq14.level)
        XCTAssertEqual(rig.status() & ATA.statusDRQ, ATA.statusDRQ)
        XCTAssertEqual(rig.readData(512), Self.pattern(sector: 5))
        XCTAssertEqual(rig.irq14.risingEdges, 2, "second block interrupts")
        XCTAssertEqual(rig.status() & ATA.statusDRQ, ATA.statusDRQ)
        XCTAssertEqual(rig.readData(512), Self.pattern(sector: 6))
        XCTAssertEqual(rig.status(), ATA.statusReady, "done: no DRQ, no error")
        XCTAssertEqual(rig.irq14.risingEdges, 2, "no interrupt after the last block of a read")
    }

    func testPIOWriteLandsInTheFile() throws {
        let (_, path) = try attachDisk()
        rig.command28(ATA.cmdWriteSectors, lba: 10, count: 2)
        XCTAssertEqual(rig.irq14.risingEdges, 0, "the first block of a write has no interrupt")
        XCTAssertEqual(rig.altStatus() & ATA.statusDRQ, ATA.statusDRQ)
        let a = [UInt8](repeating: 0xA1, count: 512)
        let b = (0..<512).map { UInt8(truncatingIfNeeded: $0 * 3) }
        rig.writeData(a)
        XCTAssertEqual(rig.irq14.risingEdges, 1)
        XCTAssertEqual(rig.status() & ATA.statusDRQ, ATA.statusDRQ, "the status read acknowledges the interrupt")
        // 32-bit data register accesses move two words at once.
        for i in stride(from: 0, to: 512, by: 4) {
            rig.outl(base, UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
        }
        XCTAssertEqual(rig.irq14.risingEdges, 2, "completion interrupts")
        XCTAssertEqual(rig.status(), ATA.statusReady)
        XCTAssertEqual(try files.contents(path, offset: 10 * 512, count: 1024), a + b)
        XCTAssertEqual(try files.contents(path, offset: 9 * 512, count: 512), Self.pattern(sector: 9), "neighbours untouched")
        XCTAssertEqual(try files.contents(path, offset: 12 * 512, count: 512), Self.pattern(sector: 12))
    }

    func testReadWriteMultiple() throws {
        let (_, path) = try attachDisk()
        rig.command28(ATA.cmdReadMultiple, lba: 0, count: 4)
        XCTAssertEqual(rig.status() & ATA.statusERR, ATA.statusERR, "READ MULTIPLE before SET MULTIPLE MODE aborts")
        rig.command28(ATA.cmdSetMultipleMode, lba: 0, count: 3)
        XCTAssertEqual(rig.status() & ATA.statusERR, ATA.statusERR, "3 is not a power of two")
        rig.command28(ATA.cmdSetMultipleMode, lba: 0, count: 4)
        XCTAssertEqual(rig.status() & ATA.statusERR, 0)
        let edges = rig.irq14.risingEdges
        rig.command28(ATA.cmdReadMultiple, lba: 20, count: 6)
        XCTAssertEqual(rig.status() & ATA.statusDRQ, ATA.statusDRQ, "acknowledge, as an interrupt handler does")
        XCTAssertEqual(rig.readData(4 * 512), (20..<24).flatMap { Self.pattern(sector: $0) })
        XCTAssertEqual(rig.status() & ATA.statusDRQ, ATA.statusDRQ)
        XCTAssertEqual(rig.readData(2 * 512), (24..<26).flatMap { Self.pattern(sector: $0) })
        XCTAssertEqual(rig.irq14.risingEdges - edges, 2, "one interrupt per block of four sectors")
        XCTAssertEqual(rig.status(), ATA.statusReady)

        rig.command28(ATA.cmdWriteMultiple, lba: 30, count: 5)
        let data = (0..<(5 * 512)).map { UInt8(truncatingIfNeeded: $0 / 3) }
        rig.writeData(data)
        XCTAssertEqual(rig.status(), ATA.statusReady)
        XCTAssertEqual(try files.contents(path, offset: 30 * 512, count: data.count), data)
    }

    func testCHSAddressingWithDefaultAndInitializedGeometry() throws {
        try attachDisk(sectors: 2048)
        // C/H/S 1/2/3 with 16 heads, 63 sectors: LBA (1*16+2)*63+2 = 1136.
        rig.outb(base + ATA.device, ATA.deviceObsolete | 2)
        rig.outb(base + ATA.sectorCount, 1)
        rig.outb(base + ATA.lbaLow, 3)
        rig.outb(base + ATA.lbaMid, 1)
        rig.outb(base + ATA.lbaHigh, 0)
        rig.outb(base + ATA.statusCommand, ATA.cmdReadSectors)
        XCTAssertEqual(rig.readData(512), Self.pattern(sector: 1136))
        // INITIALIZE DEVICE PARAMETERS: 4 heads (device register 3), 17 sectors per track.
        rig.outb(base + ATA.device, ATA.deviceObsolete | 3)
        rig.outb(base + ATA.sectorCount, 17)
        rig.outb(base + ATA.statusCommand, ATA.cmdInitializeDeviceParameters)
        XCTAssertEqual(rig.status() & ATA.statusERR, 0)
        // C/H/S 2/1/5: (2*4+1)*17+4 = 157.
        rig.outb(base + ATA.device, ATA.deviceObsolete | 1)
        rig.outb(base + ATA.sectorCount, 1)
        rig.outb(base + ATA.lbaLow, 5)
        rig.outb(base + ATA.lbaMid, 2)
        rig.outb(base + ATA.statusCommand, ATA.cmdReadSectors)
        XCTAssertEqual(rig.readData(512), Self.pattern(sector: 157))
        // Sector 0 does not exist in CHS.
        rig.outb(base + ATA.lbaLow, 0)
        rig.outb(base + ATA.statusCommand, ATA.cmdReadSectors)
        XCTAssertEqual(rig.status() & ATA.statusERR, ATA.statusERR)
        XCTAssertEqual(rig.error(), ATA.errorIDNF)
    }

    func testLBA48BeyondTheLBA28LimitOnASparseFile() throws {
        let sectors: UInt64 = (1 << 28) + 64
        let path = try files.make("sparse.img", size: sectors * 512)
        try rig.ide.attach(ATADisk(image: DiskImage(path: path, readOnly: false)), channel: 0, position: .master)
        let lba: UInt64 = (1 << 28) + 17
        rig.command48(ATA.cmdWriteSectorsExt, lba: lba, count: 1)
        XCTAssertEqual(rig.altStatus() & ATA.statusDRQ, ATA.statusDRQ)
        let data = (0..<512).map { UInt8(truncatingIfNeeded: $0 ^ 0x5A) }
        rig.writeData(data)
        XCTAssertEqual(rig.status(), ATA.statusReady)
        XCTAssertEqual(try files.contents(path, offset: lba * 512, count: 512), data)

        // HOB reads return the previously written (high) bytes.
        rig.outb(IDERig.control, ATA.controlHOB)
        XCTAssertEqual(rig.inb(base + ATA.lbaLow), 0x10, "LBA bits 31:24")
        rig.outb(IDERig.control, 0)
        XCTAssertEqual(rig.inb(base + ATA.lbaLow), 0x11, "LBA bits 7:0")

        rig.command48(ATA.cmdReadSectorsExt, lba: lba, count: 1)
        XCTAssertEqual(rig.readData(512), data)
        // Past the end: IDNF.
        rig.command48(ATA.cmdReadSectorsExt, lba: sectors - 1, count: 2)
        XCTAssertEqual(rig.status() & ATA.statusERR, ATA.statusERR)
        XCTAssertEqual(rig.error(), ATA.errorIDNF)
    }

    func testFlushCacheCompletesWithTheDataInTheFile() throws {
        let (_, path) = try attachDisk()
        rig.command28(ATA.cmdWriteSectors, lba: 1, count: 1)
        let data = [UInt8](repeating: 0x3C, count: 512)
        rig.writeData(data)
        _ = rig.status()
        let edges = rig.irq14.risingEdges
        for command in [ATA.cmdFlushCache, ATA.cmdFlushCacheExt] {
            rig.select(.master)
            rig.outb(base + ATA.statusCommand, command)
            XCTAssertEqual(rig.status(), ATA.statusReady)
        }
        XCTAssertEqual(rig.irq14.risingEdges - edges, 2)
        XCTAssertEqual(try files.contents(path, offset: 512, count: 512), data)
    }

    func testReadOnlyDiskAbortsWrites() throws {
        let (_, path) = try attachDisk(readOnly: true)
        for command in [ATA.cmdWriteSectors, ATA.cmdWriteDMA, ATA.cmdWriteMultiple] {
            rig.command28(command, lba: 3, count: 1)
            XCTAssertEqual(rig.status(), ATA.statusReady | ATA.statusERR)
            XCTAssertEqual(rig.error(), ATA.errorABRT)
        }
        rig.writeData([UInt8](repeating: 0xFF, count: 512))
        XCTAssertEqual(try files.contents(path, offset: 3 * 512, count: 512), Self.pattern(sector: 3))
        // Reads still work.
        rig.command28(ATA.cmdReadSectors, lba: 3, count: 1)
        XCTAssertEqual(rig.readData(512), Self.pattern(sector: 3))
    }

    func testUnknownCommandAborts() throws {
        try attachDisk()
        let edges = rig.irq14.risingEdges
        rig.select(.master)
        rig.outb(base + ATA.statusCommand, 0xFE)
        XCTAssertEqual(rig.irq14.risingEdges, edges + 1)
        XCTAssertEqual(rig.status(), ATA.statusReady | ATA.statusERR)
        XCTAssertEqual(rig.error(), ATA.errorABRT)
        // The PACKET commands are not for a disk.
        rig.outb(base + ATA.statusCommand, ATA.cmdIdentifyPacketDevice)
        XCTAssertEqual(rig.error(), ATA.errorABRT)
        // A good command afterwards clears the error.
        rig.outb(base + ATA.statusCommand, ATA.cmdCheckPowerMode)
        XCTAssertEqual(rig.status(), ATA.statusReady)
        XCTAssertEqual(rig.inb(base + ATA.sectorCount), ATA.powerModeActive)
    }

    func testInterruptIsHeldUntilStatusReadAndMaskedByNIEN() throws {
        try attachDisk()
        rig.select(.master)
        rig.outb(base + ATA.statusCommand, ATA.cmdFlushCache)
        XCTAssertTrue(rig.irq14.level)
        _ = rig.altStatus()
        XCTAssertTrue(rig.irq14.level, "alternate status does not acknowledge")
        _ = rig.status()
        XCTAssertFalse(rig.irq14.level, "status read acknowledges")
        // With nIEN the device does not drive INTRQ.
        rig.outb(IDERig.control, ATA.controlNIEN)
        rig.outb(base + ATA.statusCommand, ATA.cmdFlushCache)
        XCTAssertFalse(rig.irq14.level)
        // Enabling again shows the request still pending.
        rig.outb(IDERig.control, 0)
        XCTAssertTrue(rig.irq14.level)
        _ = rig.status()
        XCTAssertFalse(rig.irq14.level)
        XCTAssertFalse(rig.irq15.level, "the secondary line is untouched")
    }

    func testExecuteDeviceDiagnosticWithTwoDisks() throws {
        try attachDisk(position: .master)
        try attachDisk(position: .slave)
        rig.select(.slave)
        rig.outb(base + ATA.lbaMid, 0x77)
        rig.outb(base + ATA.statusCommand, ATA.cmdExecuteDeviceDiagnostic)
        XCTAssertTrue(rig.irq14.level)
        XCTAssertEqual(rig.error(), ATA.diagnosticPassed)
        XCTAssertEqual(rig.inb(base + ATA.lbaMid), 0)
        rig.select(.master)
        XCTAssertEqual(rig.error(), ATA.diagnosticPassed)
        XCTAssertEqual(rig.inb(base + ATA.sectorCount), 1)
    }

    func testLegacyPortsNeedIOEnableAndIDETIMDecode() throws {
        try attachDisk()
        rig.ide.configWrite(offset: PIIX3IDE.idetimPrimary, size: 2, value: 0)
        XCTAssertEqual(rig.inb(base + ATA.lbaLow), 0xFF, "channel decode disabled")
        rig.ide.configWrite(offset: PIIX3IDE.idetimPrimary, size: 2, value: UInt32(PIIX3IDE.idetimDecodeEnable))
        XCTAssertEqual(rig.inb(base + ATA.lbaLow), 0x01)
        rig.ide.configWrite(offset: PCIConfig.command, size: 2, value: 0)
        XCTAssertEqual(rig.inb(base + ATA.lbaLow), 0xFF, "PCI I/O space disabled")
    }
}
