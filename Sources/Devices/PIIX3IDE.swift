import MachineCore

/// The IDE function of the Intel 82371SB (PIIX3), at 00:01.1 on a PIIX3 board (82371FB/SB
/// datasheet, §2.3 "PCI Configuration Registers—IDE Interface (Function 1)").
///
/// Both channels run in legacy ("compatibility") mode: fixed ports and ISA IRQs 14 and 15. The
/// legacy ports answer while the PCI command register enables I/O and the channel's IDETIM
/// "IDE decode enable" bit is set, as on the real part (BIOSes and Linux's ata_piix set both).
/// BAR4 places the 16 bus-master registers (primary channel at +0, secondary at +8) in I/O
/// space; the claim follows the BAR and the I/O enable. Bus-master DMA needs the PCI bus master
/// enable too.
public final class PIIX3IDE: PCIDevice, PortIODevice {
    public static let vendorID: UInt16 = 0x8086
    public static let deviceID: UInt16 = 0x7010
    public static let revision: UInt8 = 0x00
    /// Class 01 (mass storage), subclass 01 (IDE), programming interface 80h: bus-master
    /// capable, both channels in fixed compatibility mode.
    public static let classCode: UInt8 = 0x01
    public static let subclass: UInt8 = 0x01
    public static let progIF: UInt8 = 0x80
    /// The function's address on a PIIX3 board (function 0 is the ISA bridge).
    public static let address = PCIAddress(device: 1, function: 1)!

    /// PCICMD bits that exist: I/O space enable and bus master enable.
    public static let commandWritable: UInt16 = PCIConfig.commandIOSpace | PCIConfig.commandBusMaster
    /// PCISTS at reset: fast back-to-back capable, medium DEVSEL timing.
    public static let statusDefault: UInt16 = PCIConfig.statusFastBackToBack | PCIConfig.statusDevselMedium
    /// Master latency timer: bits 7:4 writable.
    public static let latencyTimerWritable: UInt8 = 0xF0

    /// BMIBA, the bus-master interface base address (BAR4).
    public static let bar4 = 0x20
    /// Bit 0 hardwired to one: an I/O space BAR.
    public static let barIOSpace: UInt32 = 0x0000_0001
    /// Base address bits 15:4 (16 ports, in the 64 KiB I/O space).
    public static let bar4Writable: UInt32 = 0xFFFF_FFF0
    public static let busMasterPortCount = 16

    /// IDETIM, IDE timing register of the primary (0x40) and secondary (0x42) channel.
    public static let idetimPrimary = 0x40
    public static let idetimSecondary = 0x42
    /// IDETIM bit 15: IDE decode enable for the channel's legacy ports.
    public static let idetimDecodeEnable: UInt16 = 0x8000
    /// IDETIM bits that exist (11:10 are reserved).
    public static let idetimWritable: UInt16 = 0xF3FF
    /// SIDETIM, slave IDE timing (both channels).
    public static let sidetim = 0x44

    /// Legacy port bases (command block, control block) and IRQs of the two channels.
    public static let primaryCommandBase: UInt16 = 0x1F0
    public static let primaryControlPort: UInt16 = 0x3F6
    public static let secondaryCommandBase: UInt16 = 0x170
    public static let secondaryControlPort: UInt16 = 0x376

    public var config: PCIConfigSpace

    public let primary: IDEChannel
    public let secondary: IDEChannel
    private let portBus: PortIOBus
    private var busMasterClaim: BusClaim?
    /// Disks taken off their channel by an unplug request (PIIX3IDE+Unplug.swift), with their
    /// places: a machine reset puts them back.
    var unpluggedDisks: [(drive: IDEDrive, channel: Int, position: IDEPosition)] = []
    private var busMasterBase: UInt16 = 0

    /// A controller whose channels interrupt on `irq14` and `irq15`, doing DMA into `memory`.
    public init(portBus: PortIOBus, memory: GuestMemory, irq14: IRQLine, irq15: IRQLine) {
        self.portBus = portBus
        primary = IDEChannel(index: 0, irq: irq14, memory: memory)
        secondary = IDEChannel(index: 1, irq: irq15, memory: memory)
        config = PIIX3IDE.resetConfig()
        updateDecoding()
    }

    private static func resetConfig() -> PCIConfigSpace {
        var c = PCIConfigSpace(vendorID: vendorID, deviceID: deviceID, revision: revision,
                               classCode: classCode, subclass: subclass, progIF: progIF)
        c.setWriteMask(PCIConfig.command, width: 2, UInt32(commandWritable))
        c.set16(PCIConfig.status, statusDefault)
        c.setClearMask(PCIConfig.status, width: 2, UInt32(PCIConfig.statusErrorBits))
        c.setWriteMask(PCIConfig.latencyTimer, width: 1, UInt32(latencyTimerWritable))
        c.set32(bar4, barIOSpace)
        c.setWriteMask(bar4, width: 4, bar4Writable)
        // Interrupt line is a scratch register for software; no interrupt pin in legacy mode.
        c.setWriteMask(PCIConfig.interruptLine, width: 1, 0xFF)
        c.setWriteMask(idetimPrimary, width: 2, UInt32(idetimWritable))
        c.setWriteMask(idetimSecondary, width: 2, UInt32(idetimWritable))
        c.setWriteMask(sidetim, width: 1, 0xFF)
        return c
    }

    /// The channel by number (0 primary, 1 secondary).
    public func channel(_ index: Int) -> IDEChannel? {
        switch index {
        case 0: return primary
        case 1: return secondary
        default: return nil
        }
    }

    /// Connects `drive` as `position` on channel `channel` (0 primary, 1 secondary).
    public func attach(_ drive: IDEDrive, channel index: Int, position: IDEPosition) throws(MachineError) {
        guard let channel = channel(index) else {
            throw .badConfiguration("IDE channel \(index) does not exist (0 is primary, 1 secondary)")
        }
        guard channel.drive(at: position) == nil else {
            throw .badConfiguration("IDE \(index == 0 ? "primary" : "secondary") \(position) is already taken")
        }
        guard drive.channel == nil else {
            throw .badConfiguration("an IDE drive can sit on one channel only")
        }
        channel.attach(drive, at: position)
        drive.hardReset()
        channel.updateInterrupt()
    }

    /// Claims the legacy ports and places the function on `pciBus` at `address`.
    public func register(on pciBus: PCIBus, at address: PCIAddress = PIIX3IDE.address) throws(MachineError) {
        try portBus.claim([PortRange(base: Self.primaryCommandBase, count: ATA.commandBlockSize),
                           PortRange(base: Self.primaryControlPort, count: 1, offsetBias: ATA.controlOffset)],
                          device: primary, name: "ide-primary")
        try portBus.claim([PortRange(base: Self.secondaryCommandBase, count: ATA.commandBlockSize),
                           PortRange(base: Self.secondaryControlPort, count: 1, offsetBias: ATA.controlOffset)],
                          device: secondary, name: "ide-secondary")
        try pciBus.register(self, at: address, name: "piix3-ide")
    }

    /// Machine reset: configuration registers to their defaults, both channels and drives reset.
    public func reset() {
        replugDisks()
        config = PIIX3IDE.resetConfig()
        primary.reset()
        secondary.reset()
        updateDecoding()
    }

    /// Programs the function as a BIOS does (SeaBIOS's piix_ide_setup plus PCI resource
    /// assignment): both channels decoded, BAR4 at `busMasterBase`, I/O and bus mastering on.
    /// For boots that start a kernel without firmware.
    public func setUpAsFirmware(busMasterBase: UInt16 = 0xC000) {
        configWrite(offset: Self.idetimPrimary, size: 2, value: UInt32(Self.idetimDecodeEnable))
        configWrite(offset: Self.idetimSecondary, size: 2, value: UInt32(Self.idetimDecodeEnable))
        configWrite(offset: Self.bar4, size: 4, value: UInt32(busMasterBase))
        configWrite(offset: PCIConfig.command, size: 2, value: UInt32(Self.commandWritable))
    }

    // MARK: Configuration space

    public func configWrite(offset: Int, size: Int, value: UInt32) {
        config.write(offset: offset, size: size, value: value)
        updateDecoding()
    }

    /// Applies the command register, BAR4 and the IDETIM decode bits.
    func updateDecoding() {
        let command = config.read16(PCIConfig.command)
        let ioEnabled = command & PCIConfig.commandIOSpace != 0
        let masterEnabled = command & PCIConfig.commandBusMaster != 0
        primary.decodeEnabled = ioEnabled && config.read16(Self.idetimPrimary) & Self.idetimDecodeEnable != 0
        secondary.decodeEnabled = ioEnabled && config.read16(Self.idetimSecondary) & Self.idetimDecodeEnable != 0
        primary.busMaster.masterEnabled = masterEnabled
        secondary.busMaster.masterEnabled = masterEnabled

        // A 32-bit I/O BAR, as QEMU's PIIX3 IDE has (firmware sizes it by writing all ones);
        // only bases inside the 64 KiB port space decode.
        let raw = config.read32(Self.bar4) & Self.bar4Writable
        let base = UInt16(truncatingIfNeeded: raw)
        let wanted: UInt16? = ioEnabled && base != 0 && raw <= 0xFFFF ? base : nil
        if let wanted {
            if let claim = busMasterClaim {
                if wanted != busMasterBase {
                    do { try portBus.move(claim, to: wanted) } catch {
                        // The BAR points at ports another device owns: it stays unmapped.
                        portBus.release(claim)
                        busMasterClaim = nil
                    }
                }
            } else {
                busMasterClaim = try? portBus.claim(base: wanted, count: Self.busMasterPortCount, device: self, name: "piix3-ide-bm")
            }
            busMasterBase = busMasterClaim == nil ? 0 : wanted
        } else if let claim = busMasterClaim {
            portBus.release(claim)
            busMasterClaim = nil
            busMasterBase = 0
        }
        if masterEnabled {
            primary.runPendingDMA()
            secondary.runPendingDMA()
        }
    }

    // MARK: Bus-master registers (BAR4)

    private func busMaster(for offset: UInt16) -> (IDEBusMaster, UInt16)? {
        switch offset {
        case 0..<BMIDE.channelBlockSize: return (primary.busMaster, offset)
        case BMIDE.channelBlockSize..<(2 * BMIDE.channelBlockSize): return (secondary.busMaster, offset - BMIDE.channelBlockSize)
        default: return nil
        }
    }

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<max(1, min(size, 4)) {
            let byte = busMaster(for: offset &+ UInt16(i)).map { $0.0.readByte(offset: $0.1) } ?? 0xFF
            value |= UInt32(byte) << UInt32(8 * i)
        }
        return value
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        for i in 0..<max(1, min(size, 4)) {
            guard let (engine, register) = busMaster(for: offset &+ UInt16(i)) else { continue }
            engine.writeByte(offset: register, value: UInt8(truncatingIfNeeded: value >> UInt32(8 * i)))
        }
    }
}
