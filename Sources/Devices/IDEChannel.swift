import MachineCore

/// Master or slave on an IDE channel (the DEV bit of the device register).
public enum IDEPosition: Int, Sendable {
    case master = 0
    case slave = 1
}

/// One IDE channel: the command block (0x1F0-0x1F7 or 0x170-0x177), the control block
/// (0x3F6 or 0x376, seen at offset `ATA.controlOffset`), up to two drives, the channel's
/// INTRQ and its bus-master DMA engine.
///
/// Writes to the command block reach both drives (each latches the task file); reads come from
/// the drive the DEV bit selects. A selected drive that is absent while the other is present
/// reads as zeros, as QEMU does and as device 0 answers for a missing device 1 (ATA/ATAPI-6
/// §9.16.1); that is what Linux's and SeaBIOS's probes expect. An empty channel floats: its
/// registers read 0x7F (the pull-down on DD7 the specification requires, §5.2.8).
public final class IDEChannel: PortIODevice {
    /// 0: primary, 1: secondary.
    public let index: Int
    public let irq: IRQLine
    public let busMaster: IDEBusMaster
    public private(set) var master: IDEDrive?
    public private(set) var slave: IDEDrive?
    /// The drive the last device register write selected.
    public private(set) var selected = IDEPosition.master
    /// The last value written to the device control register.
    private var control: UInt8 = 0
    /// The level this channel drives on its IRQ line.
    private var intrq = false
    /// Port decoding: the controller turns it off with the PCI I/O enable or IDETIM decode bit.
    var decodeEnabled = true

    /// What an empty channel's registers read.
    public static let floatingBus: UInt8 = 0x7F

    init(index: Int, irq: IRQLine, memory: GuestMemory) {
        self.index = index
        self.irq = irq
        busMaster = IDEBusMaster(memory: memory)
        busMaster.channel = self
    }

    /// Puts `drive` at `position`. A drive belongs to one channel.
    func attach(_ drive: IDEDrive, at position: IDEPosition) {
        drive.channel = self
        switch position {
        case .master: master = drive
        case .slave: slave = drive
        }
    }

    func drive(at position: IDEPosition) -> IDEDrive? { position == .master ? master : slave }

    /// Takes the drive at `position` off the channel (a hot unplug: Xen's unplug protocol).
    /// The channel then answers as one without that drive; a command it was running is
    /// dropped with it, and its interrupt request no longer reaches INTRQ.
    @discardableResult
    func detach(at position: IDEPosition) -> IDEDrive? {
        guard let drive = drive(at: position) else { return nil }
        switch position {
        case .master: master = nil
        case .slave: slave = nil
        }
        drive.channel = nil
        updateInterrupt()
        return drive
    }

    var selectedDrive: IDEDrive? { selected == .master ? master : slave }

    /// Power-on or hardware reset of the channel and its drives.
    func reset() {
        control = 0
        selected = .master
        master?.hardReset()
        slave?.hardReset()
        busMaster.reset()
        updateInterrupt()
    }

    // MARK: Port access

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        guard decodeEnabled else { return UInt32(truncatingIfNeeded: allOnes(size: size)) }
        if offset == ATA.data { return selectedDrive?.readData(size: size) ?? UInt32(truncatingIfNeeded: allOnes(size: size)) }
        // Other registers are 8 bits wide; a wider access reads consecutive registers.
        var value: UInt32 = 0
        for i in 0..<max(1, min(size, 4)) {
            value |= UInt32(readByte(offset: offset &+ UInt16(i))) << UInt32(8 * i)
        }
        return value
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        guard decodeEnabled else { return }
        if offset == ATA.data {
            selectedDrive?.writeData(size: size, value: value)
            return
        }
        for i in 0..<max(1, min(size, 4)) {
            writeByte(offset: offset &+ UInt16(i), value: UInt8(truncatingIfNeeded: value >> UInt32(8 * i)))
        }
    }

    private func readByte(offset: UInt16) -> UInt8 {
        let isStatus = offset == ATA.statusCommand
        guard offset == ATA.controlOffset || (offset >= ATA.errorFeature && offset <= ATA.statusCommand) else { return 0xFF }
        guard master != nil || slave != nil else { return IDEChannel.floatingBus }
        guard let drive = selectedDrive else {
            // Device 0 answers for an absent device 1 (and the other way round here): zeros,
            // except the device register, which every drive latched.
            if offset == ATA.device { return (master ?? slave)?.deviceRegister ?? 0 }
            return 0
        }
        if offset == ATA.controlOffset {
            // Alternate status: the status without clearing the interrupt.
            return drive.status
        }
        let value = drive.readRegister(offset, hob: control & ATA.controlHOB != 0)
        if isStatus && drive.interruptPending {
            drive.interruptPending = false
            updateInterrupt()
        }
        return value
    }

    private func writeByte(offset: UInt16, value: UInt8) {
        switch offset {
        case ATA.errorFeature...ATA.device:
            // A write to the command block clears HOB (§7.8).
            control &= ~ATA.controlHOB
            master?.latch(register: offset, value: value)
            slave?.latch(register: offset, value: value)
            if offset == ATA.device {
                selected = value & ATA.deviceDEV != 0 ? .slave : .master
                updateInterrupt()
            }
        case ATA.statusCommand:
            guard let drive = selectedDrive else { return }
            // Writing the command register clears the pending interrupt (§5.2.9).
            drive.interruptPending = false
            updateInterrupt()
            drive.execute(command: value)
        case ATA.controlOffset:
            writeControl(value)
        default:
            break
        }
    }

    /// The device control register: nIEN and SRST for both drives, HOB for reads.
    private func writeControl(_ value: UInt8) {
        let wasReset = control & ATA.controlSRST != 0
        let reset = value & ATA.controlSRST != 0
        control = value
        let disabled = value & ATA.controlNIEN != 0
        for drive in [master, slave].compactMap({ $0 }) {
            drive.interruptsDisabled = disabled
            if reset && !wasReset { drive.softResetAsserted() }
            if !reset && wasReset { drive.softResetReleased() }
        }
        updateInterrupt()
    }

    // MARK: Drive callbacks

    /// EXECUTE DEVICE DIAGNOSTIC: both drives run their diagnostic and device 0 reports
    /// (with an interrupt) for the pair (§8.11).
    func executeDeviceDiagnostic() {
        master?.runDiagnostic()
        slave?.runDiagnostic()
        selectedDrive?.requestInterrupt()
    }

    /// Drives INTRQ from the selected drive's request and nIEN. A rising edge sets the bus
    /// master's interrupt status bit (PIIX datasheet, BMISX bit 2).
    func updateInterrupt() {
        var level = false
        if let drive = selectedDrive { level = drive.interruptPending && !drive.interruptsDisabled }
        if level && !intrq { busMaster.interruptRaised() }
        intrq = level
        irq.set(level)
    }

    /// A drive has a DMA command ready; it runs now if the bus master is already started.
    func driveRequestedDMA(_ drive: IDEDrive) {
        guard drive === selectedDrive else { return }
        runPendingDMA()
    }

    /// Runs the selected drive's DMA command if one is waiting and the engine is started.
    func runPendingDMA() {
        guard let drive = selectedDrive, drive.wantsDMA, busMaster.canTransfer else { return }
        drive.runDMA(busMaster)
        busMaster.endTransfer()
    }
}

extension IDEChannel {
    /// One channel: the device select and control registers, the bus-master registers and
    /// the state of each drive present (nil where no drive sits).
    public struct State: Equatable, Sendable {
        public var selected = IDEPosition.master
        public var control: UInt8 = 0
        public var busMaster = IDEBusMaster.State()
        public var master: IDEDrive.State?
        public var slave: IDEDrive.State?

        public init() {}
    }

    var channelState: State {
        var s = State()
        s.selected = selected
        s.control = control
        s.busMaster = busMaster.registers
        s.master = master?.driveState
        s.slave = slave?.driveState
        return s
    }

    /// Why `state` does not fit this channel, or nil: a drive's state where no drive sits
    /// or none where one does (drives are the board's), or a reason of a drive or the engine.
    func invalidReason(_ state: State) -> String? {
        if let reason = IDEBusMaster.invalidReason(state.busMaster) { return "bus master: \(reason)" }
        for (position, drive, saved) in [("master", master, state.master), ("slave", slave, state.slave)] {
            switch (drive, saved) {
            case (nil, nil): continue
            case (nil, _?): return "state for a \(position) drive that is not attached"
            case (_?, nil): return "no state for the attached \(position) drive"
            case let (drive?, saved?):
                if let reason = drive.invalidReason(saved) { return "\(position): \(reason)" }
            }
        }
        return nil
    }

    /// Puts a checked state back and drives INTRQ from it. The bus master's interrupt bit
    /// is restored as saved, not set again by the line coming up.
    func apply(_ state: State) {
        selected = state.selected
        control = state.control
        busMaster.apply(state.busMaster)
        if let saved = state.master { master?.apply(saved) }
        if let saved = state.slave { slave?.apply(saved) }
        var level = false
        if let drive = selectedDrive { level = drive.interruptPending && !drive.interruptsDisabled }
        intrq = level
        irq.set(level)
    }
}
