import MachineCore

/// The PIIX4 power management function at 00:01.3 (82371AB datasheet, §7 "Power Management
/// Configuration Registers"), as QEMU's i440FX board pairs it with a PIIX3.
///
/// Its I/O block (PMBA, 64 bytes, enabled by PMREGMISC.PMIOSE) holds the ACPI fixed registers
/// the FADT points at: PM1a status/enable at +0, PM1a control at +4 (S5 poweroff), the 24-bit
/// PM timer at +8. Unlike a bare PIIX4, whose PMBA is 0 at reset, this board decodes the block
/// at 0x600 from power-on: a directly booted kernel and the project's small test firmware
/// power off through 0x604 without programming it. SeaBIOS (given ACPI tables through fw_cfg)
/// programs PMBA to 0x600 as well; any other base moves the block.
///
/// SMM is not modelled. As QEMU does with SMM disabled, DEVACTB starts with APMC_EN set, which
/// SeaBIOS takes as "SMM already initialised" and so never waits for an SMI handler to run.
public final class PIIX4PowerManagement: PCIDevice, PortIODevice {
    public static let vendorID: UInt16 = 0x8086
    public static let deviceID: UInt16 = 0x7113
    public static let revision: UInt8 = 0x03
    /// Class 06 (bridge), subclass 80 (other).
    public static let classCode: UInt8 = 0x06
    public static let subclass: UInt8 = 0x80
    public static let address = PCIAddress(bus: 0, device: 1, function: 3)!

    /// PMBA: bits 15:6 the I/O base, bit 0 hardwired to 1 (an I/O address).
    public static let pmBase = 0x40
    public static let pmBaseWritable: UInt32 = 0xFFC0
    public static let ioSpaceIndicator: UInt32 = 0x0001
    /// Size of the PM I/O block.
    public static let pmBlockSize = 64
    /// Where SeaBIOS (with fw_cfg ACPI tables) and our FADT put the block.
    public static let defaultBase: UInt16 = 0x600
    /// Device activity B: bit 25 enables SMI on writes to the APM control port.
    public static let deviceActivityB = 0x58
    public static let apmcEnable: UInt32 = 1 << 25
    /// PMREGMISC: bit 0 (PMIOSE) enables the PM I/O block.
    public static let pmRegMisc = 0x80
    public static let pmIOSpaceEnable: UInt8 = 0x01
    /// SMBus base address and host configuration (the SMBus itself is not modelled).
    public static let smbusBase = 0x90
    public static let smbusHostConfig = 0xD2

    /// Offsets inside the PM I/O block.
    public enum Block {
        public static let pm1Event: UInt16 = 0x00
        public static let pm1Control: UInt16 = 0x04
        public static let pmTimer: UInt16 = 0x08
    }

    public var config: PCIConfigSpace
    public let events: ACPIPMEventBlock
    public let powerControl: ACPIPowerControl
    public let timer: ACPIPMTimer
    private let portBus: PortIOBus
    private var claim: BusClaim?
    /// Where the block is decoded now (nil: disabled).
    public private(set) var decodedBase: UInt16?

    public init(portBus: PortIOBus, events: ACPIPMEventBlock, powerControl: ACPIPowerControl, timer: ACPIPMTimer) {
        self.portBus = portBus
        self.events = events
        self.powerControl = powerControl
        self.timer = timer
        config = Self.resetConfig()
        updateDecode()
    }

    static func resetConfig() -> PCIConfigSpace {
        var c = PCIConfigSpace(vendorID: vendorID, deviceID: deviceID, revision: revision,
                               classCode: classCode, subclass: subclass, progIF: 0)
        c.set16(PCIConfig.status, PCIConfig.statusDevselMedium | PCIConfig.statusFastBackToBack)
        c.setClearMask(PCIConfig.status, width: 2, UInt32(PCIConfig.statusErrorBits))
        c.setWriteMask(PCIConfig.command, width: 2, UInt32(PCIConfig.commandIOSpace))
        c.set8(PCIConfig.interruptPin, 1)
        c.setWriteMask(PCIConfig.interruptLine, width: 1, 0xFF)
        c.set32(pmBase, UInt32(defaultBase) | ioSpaceIndicator)
        c.setWriteMask(pmBase, width: 4, pmBaseWritable)
        c.set32(deviceActivityB, apmcEnable)
        c.setWriteMask(deviceActivityB, width: 4, 0xFFFF_FFFF)
        c.set8(pmRegMisc, pmIOSpaceEnable)
        c.setWriteMask(pmRegMisc, width: 1, UInt32(pmIOSpaceEnable))
        c.set32(smbusBase, ioSpaceIndicator)
        c.setWriteMask(smbusBase, width: 4, 0xFFF0)
        c.setWriteMask(smbusHostConfig, width: 1, 0x0F)
        return c
    }

    public func configWrite(offset: Int, size: Int, value: UInt32) {
        config.write(offset: offset, size: size, value: value)
        let touches = { (register: Int, width: Int) in offset < register + width && offset + size > register }
        if touches(Self.pmBase, 4) || touches(Self.pmRegMisc, 1) { updateDecode() }
    }

    public func reset() {
        config = Self.resetConfig()
        events.reset()
        powerControl.reset()
        updateDecode()
    }

    /// Claims, moves or releases the block's ports after PMBA or PMIOSE changed. A base that
    /// collides with another device is not decoded (the guest's mistake; nothing answers).
    private func updateDecode() {
        let base = UInt16(truncatingIfNeeded: config.read32(Self.pmBase) & Self.pmBaseWritable)
        let enabled = config.read8(Self.pmRegMisc) & Self.pmIOSpaceEnable != 0 && base != 0
        let wanted: UInt16? = enabled ? base : nil
        guard wanted != decodedBase else { return }
        if let claim { portBus.release(claim) }
        claim = nil
        decodedBase = nil
        if let wanted, let handle = try? portBus.claim(base: wanted, count: Self.pmBlockSize, device: self, name: "piix4-pm") {
            claim = handle
            decodedBase = wanted
        }
    }

    // MARK: the PM I/O block

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        switch offset {
        case Block.pm1Event..<Block.pm1Control: return events.portRead(offset: offset - Block.pm1Event, size: size)
        case Block.pm1Control..<Block.pmTimer: return powerControl.portRead(offset: offset - Block.pm1Control, size: size)
        case Block.pmTimer..<(Block.pmTimer + 4): return timer.portRead(offset: offset - Block.pmTimer, size: size)
        default: return 0
        }
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        switch offset {
        case Block.pm1Event..<Block.pm1Control: events.portWrite(offset: offset - Block.pm1Event, size: size, value: value)
        case Block.pm1Control..<Block.pmTimer: powerControl.portWrite(offset: offset - Block.pm1Control, size: size, value: value)
        default: break
        }
    }
}

extension PIIX4PowerManagement: StatefulDevice {
    /// The function's configuration. The PM1 event, PM1 control and PM timer registers it
    /// decodes are devices of their own, with their own state.
    public struct State: Equatable, Sendable {
        public var configuration: [UInt8]
        public init(configuration: [UInt8]) { self.configuration = configuration }
    }

    public var state: State { State(configuration: config.bytes) }

    /// Refuses bytes that change a read-only field; the I/O block then decodes where PMBA
    /// and PMIOSE put it.
    public func restore(_ state: State) throws(MachineError) {
        try config.restore(state.configuration, device: "PIIX4 power management")
        updateDecode()
    }
}
