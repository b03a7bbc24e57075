import MachineCore

/// The PC/AT pair of 8259As: master at 0x20-0x21, slave at 0xA0-0xA1 cascaded into the
/// master's IR2, plus the PIIX edge/level control registers (ELCR) at 0x4D0-0x4D1.
///
/// Engines drive it with `setIRQ(_:level:)` (what IRQ lines connect to), watch the INTR pin
/// through `interruptOutput` / `onInterruptOutputChange`, and run an INTA cycle with
/// `acknowledge()`.
///
/// As a `PortIODevice` it decodes offsets relative to 0x20: 0x00-0x01 master, 0x80-0x81 slave,
/// 0x4B0-0x4B1 ELCR (`attach(to:)` sets up the windows).
public final class DualPIC8259: ByteRegisterDevice {
    public static let masterBase: UInt16 = 0x20
    public static let slaveBase: UInt16 = 0xA0
    public static let elcrBase: UInt16 = 0x4D0

    /// Offsets of the slave and ELCR relative to the master's base.
    public static let slaveOffset: UInt16 = slaveBase - masterBase
    public static let elcrOffset: UInt16 = elcrBase - masterBase

    public let master = PIC8259(isMaster: true)
    public let slave = PIC8259(isMaster: false)

    /// The INTR pin to the CPU.
    public private(set) var interruptOutput = false
    /// Called whenever INTR changes.
    public var onInterruptOutputChange: ((Bool) -> Void)?

    public init() {}

    /// The ranges the PIC decodes, with the offset bias each window adds.
    public static let portRanges: [PortRange] = [
        PortRange(base: masterBase, count: 2),
        PortRange(base: slaveBase, count: 2, offsetBias: slaveOffset),
        PortRange(base: elcrBase, count: 2, offsetBias: elcrOffset),
    ]

    public func attach(to bus: PortIOBus, name: String = "pic8259") throws(MachineError) {
        try bus.claim(Self.portRanges, device: self, name: name)
    }

    /// An IRQ line whose level drives input `irq` (0-15).
    public func irqLine(_ irq: Int) -> IRQLine {
        IRQLine(number: irq) { [weak self] line, level in self?.setIRQ(line, level: level) }
    }

    // MARK: Engine side

    /// Sets the level of ISA IRQ `irq` (0-15). Out-of-range numbers are ignored.
    public func setIRQ(_ irq: Int, level: Bool) {
        switch irq {
        case 0..<8:
            // IR2 of the master is the cascade input; IRQ2 devices on a PC are wired to IRQ9.
            guard irq != PIC.cascadeLine else { return }
            master.setInput(irq, level: level)
        case 8..<16:
            slave.setInput(irq - 8, level: level)
        default:
            return
        }
        update()
    }

    /// The INTA cycle: returns the vector of the highest-priority request and puts it in
    /// service. When the request has vanished before INTA, the 8259A answers with IR7 of the
    /// chip concerned (a spurious interrupt) without setting its ISR bit; a spurious slave
    /// interrupt still puts the master's cascade line in service.
    public func acknowledge() -> UInt8 {
        defer { update() }
        guard let line = master.pendingLine() else {
            return master.vectorBase | UInt8(PIC.spuriousLevel)
        }
        master.acknowledge(line)
        guard line == PIC.cascadeLine && !master.singleMode else {
            return master.vectorBase | UInt8(line)
        }
        guard let slaveLine = slave.pendingLine() else {
            return slave.vectorBase | UInt8(PIC.spuriousLevel)
        }
        slave.acknowledge(slaveLine)
        return slave.vectorBase | UInt8(slaveLine)
    }

    /// Returns both chips to their power-on state (machine reset).
    public func reset() {
        master.reset()
        slave.reset()
        update()
    }

    /// Recomputes the cascade input and the INTR pin.
    private func update() {
        master.setInput(PIC.cascadeLine, level: slave.pendingLine() != nil)
        let output = master.pendingLine() != nil
        if output != interruptOutput {
            interruptOutput = output
            onInterruptOutputChange?(output)
        }
    }

    // MARK: Registers

    public func readByte(offset: UInt16) -> UInt8 {
        defer { update() } // a poll read acknowledges
        switch offset {
        case PIC.commandOffset: return master.readCommand()
        case PIC.dataOffset: return master.readData()
        case Self.slaveOffset + PIC.commandOffset: return slave.readCommand()
        case Self.slaveOffset + PIC.dataOffset: return slave.readData()
        case Self.elcrOffset: return master.elcr
        case Self.elcrOffset + 1: return slave.elcr
        default: return 0xFF
        }
    }

    public func writeByte(offset: UInt16, value: UInt8) {
        switch offset {
        case PIC.commandOffset: master.writeCommand(value)
        case PIC.dataOffset: master.writeData(value)
        case Self.slaveOffset + PIC.commandOffset: slave.writeCommand(value)
        case Self.slaveOffset + PIC.dataOffset: slave.writeData(value)
        case Self.elcrOffset: master.setELCR(value & PIC.elcrMasterWritable)
        case Self.elcrOffset + 1: slave.setELCR(value & PIC.elcrSlaveWritable)
        default: return
        }
        update()
    }
}

extension DualPIC8259: StatefulDevice {
    public struct State: Equatable, Sendable {
        public var master: PIC8259.State
        public var slave: PIC8259.State
        public init(master: PIC8259.State = .init(), slave: PIC8259.State = .init()) {
            self.master = master
            self.slave = slave
        }
    }

    public var state: State { State(master: master.state, slave: slave.state) }

    /// Both chips are checked before either changes. INTR is then recomputed (and reported
    /// if it changed) from the restored registers, as after any register write.
    public func restore(_ state: State) throws(MachineError) {
        if let reason = master.invalidReason(state.master) {
            throw .invalidDeviceState(device: "8259 master", reason: reason)
        }
        if let reason = slave.invalidReason(state.slave) {
            throw .invalidDeviceState(device: "8259 slave", reason: reason)
        }
        master.apply(state.master)
        slave.apply(state.slave)
        update()
    }
}
