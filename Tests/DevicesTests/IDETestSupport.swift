import Foundation
import XCTest
import MachineCore
@testable import Devices

/// Temporary image files for the IDE tests, removed when the fixture goes away.
final class TemporaryImages {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-ide-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A file of `size` bytes whose sector `n` (of `sectorSize` bytes) is filled with the
    /// pattern `pattern(n, offset)`; sparse (zero) when `pattern` is nil.
    func make(_ name: String, size: UInt64, sectorSize: Int = 512, pattern: ((Int, Int) -> UInt8)? = nil) throws -> String {
        let path = directory.appendingPathComponent(name).path
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        if let pattern {
            var data = Data(count: Int(size))
            for i in 0..<Int(size) { data[i] = pattern(i / sectorSize, i % sectorSize) }
            try handle.write(contentsOf: data)
        } else {
            try handle.truncate(atOffset: size)
        }
        return path
    }

    /// `count` bytes of the file at `path` from `offset`, read with FileHandle.
    func contents(_ path: String, offset: UInt64, count: Int) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    }
}

/// A PIIX3 IDE controller on its buses, programmed as the BIOS leaves it, with IRQ recorders.
final class IDERig {
    let ports = PortIOBus()
    let memory: GuestMemory
    let pci = PCIBus()
    let irq14 = IRQRecorder()
    let irq15 = IRQRecorder()
    let ide: PIIX3IDE
    static let busMasterBase: UInt16 = 0xC000

    init() throws {
        memory = try GuestMemory(size: 4 << 20)
        ide = PIIX3IDE(portBus: ports, memory: memory, irq14: irq14.line(14), irq15: irq15.line(15))
        try ide.register(on: pci)
        ide.setUpAsFirmware(busMasterBase: IDERig.busMasterBase)
    }

    /// A machine reset followed by the BIOS's setup of the function.
    func reset() {
        ide.reset()
        ide.setUpAsFirmware(busMasterBase: IDERig.busMasterBase)
    }

    // Primary channel ports.
    static let base: UInt16 = 0x1F0
    static let control: UInt16 = 0x3F6

    func outb(_ port: UInt16, _ value: UInt8) { ports.write(port: port, size: 1, value: UInt32(value)) }
    func inb(_ port: UInt16) -> UInt8 { UInt8(truncatingIfNeeded: ports.read(port: port, size: 1)) }
    func outw(_ port: UInt16, _ value: UInt16) { ports.write(port: port, size: 2, value: UInt32(value)) }
    func inw(_ port: UInt16) -> UInt16 { UInt16(truncatingIfNeeded: ports.read(port: port, size: 2)) }
    func outl(_ port: UInt16, _ value: UInt32) { ports.write(port: port, size: 4, value: value) }
    func inl(_ port: UInt16) -> UInt32 { ports.read(port: port, size: 4) }

    func status(_ base: UInt16 = IDERig.base) -> UInt8 { inb(base + ATA.statusCommand) }
    func altStatus(_ control: UInt16 = IDERig.control) -> UInt8 { inb(control) }
    func error(_ base: UInt16 = IDERig.base) -> UInt8 { inb(base + ATA.errorFeature) }

    /// Selects `position` in LBA mode with LBA bits 27:24 = `high`.
    func select(_ position: IDEPosition = .master, lbaHigh4: UInt8 = 0, base: UInt16 = IDERig.base) {
        outb(base + ATA.device, ATA.deviceObsolete | ATA.deviceLBA | (position == .slave ? ATA.deviceDEV : 0) | lbaHigh4)
    }

    /// Loads an LBA28 address and count and issues `command`.
    func command28(_ command: UInt8, lba: UInt32, count: UInt8, position: IDEPosition = .master) {
        select(position, lbaHigh4: UInt8(lba >> 24 & 0x0F))
        outb(IDERig.base + ATA.sectorCount, count)
        outb(IDERig.base + ATA.lbaLow, UInt8(truncatingIfNeeded: lba))
        outb(IDERig.base + ATA.lbaMid, UInt8(truncatingIfNeeded: lba >> 8))
        outb(IDERig.base + ATA.lbaHigh, UInt8(truncatingIfNeeded: lba >> 16))
        outb(IDERig.base + ATA.statusCommand, command)
    }

    /// Loads an LBA48 address and count (previous bytes first, as the protocol requires).
    func command48(_ command: UInt8, lba: UInt64, count: UInt16) {
        select(.master)
        outb(IDERig.base + ATA.sectorCount, UInt8(count >> 8))
        outb(IDERig.base + ATA.lbaLow, UInt8(truncatingIfNeeded: lba >> 24))
        outb(IDERig.base + ATA.lbaMid, UInt8(truncatingIfNeeded: lba >> 32))
        outb(IDERig.base + ATA.lbaHigh, UInt8(truncatingIfNeeded: lba >> 40))
        outb(IDERig.base + ATA.sectorCount, UInt8(truncatingIfNeeded: count))
        outb(IDERig.base + ATA.lbaLow, UInt8(truncatingIfNeeded: lba))
        outb(IDERig.base + ATA.lbaMid, UInt8(truncatingIfNeeded: lba >> 8))
        outb(IDERig.base + ATA.lbaHigh, UInt8(truncatingIfNeeded: lba >> 16))
        outb(IDERig.base + ATA.statusCommand, command)
    }

    /// Reads `count` bytes from the data register, a word at a time.
    func readData(_ count: Int, base: UInt16 = IDERig.base) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<(count / 2) {
            let w = inw(base + ATA.data)
            bytes += [UInt8(truncatingIfNeeded: w), UInt8(w >> 8)]
        }
        return bytes
    }

    /// Writes `bytes` (an even count) to the data register, a word at a time.
    func writeData(_ bytes: [UInt8], base: UInt16 = IDERig.base) {
        for i in stride(from: 0, to: bytes.count, by: 2) {
            outw(base + ATA.data, UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8)
        }
    }

    /// IDENTIFY data as 256 words.
    func identify(_ command: UInt8 = ATA.cmdIdentifyDevice, position: IDEPosition = .master) -> [UInt16] {
        select(position)
        outb(IDERig.base + ATA.statusCommand, command)
        let bytes = readData(512)
        return (0..<256).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
    }

    /// Writes a PRD table at `table` describing `regions` (address, byte count; the last one EOT).
    func writePRDTable(at table: UInt32, regions: [(UInt32, Int)]) throws {
        for (i, region) in regions.enumerated() {
            let entry = UInt64(table) + UInt64(8 * i)
            try memory.write32(entry, region.0)
            let eot: UInt32 = i == regions.count - 1 ? BMIDE.prdEndOfTable : 0
            try memory.write32(entry + 4, UInt32(region.1 & 0xFFFF) | eot)
        }
    }

    /// Programs the primary bus master: PRD table and direction (not started).
    func setUpBusMaster(table: UInt32, toMemory: Bool) {
        outl(IDERig.busMasterBase + BMIDE.prdTable, table)
        outb(IDERig.busMasterBase + BMIDE.command, toMemory ? BMIDE.commandWriteToMemory : 0)
    }

    func startBusMaster(toMemory: Bool) {
        outb(IDERig.busMasterBase + BMIDE.command, (toMemory ? BMIDE.commandWriteToMemory : 0) | BMIDE.commandStart)
    }

    var busMasterStatus: UInt8 { inb(IDERig.busMasterBase + BMIDE.status) }

    /// Decodes an IDENTIFY string field (first character in the high byte of each word).
    static func string(_ words: [UInt16], _ first: Int, _ count: Int) -> String {
        var bytes: [UInt8] = []
        for w in words[first..<(first + count)] { bytes += [UInt8(w >> 8), UInt8(truncatingIfNeeded: w)] }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
}
