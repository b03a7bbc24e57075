import MachineCore

/// System control port A at 0x92 ("fast A20 and init", PIIX4 datasheet "Port 92h").
///
/// Bit 1 gates A20; a 0→1 transition of bit 0 resets the CPU. The other bits are kept and
/// read back.
public final class FastA20Port92: ByteRegisterDevice {
    public static let port: UInt16 = 0x92

    /// Bit 0: fast init (a rising edge resets the CPU).
    public static let fastReset: UInt8 = 0x01
    /// Bit 1: A20 gate.
    public static let a20: UInt8 = 0x02

    private let control: MachineControl
    var value: UInt8 = 0

    /// Called with the new A20 state whenever bit 1 changes.
    public var onA20Change: ((Bool) -> Void)?

    public init(control: MachineControl) {
        self.control = control
    }

    public static let portRanges = [PortRange(base: port, count: 1)]

    public func attach(to bus: PortIOBus, name: String = "port92") throws(MachineError) {
        try bus.claim(Self.portRanges, device: self, name: name)
    }

    public var a20Enabled: Bool { value & Self.a20 != 0 }

    public func readByte(offset: UInt16) -> UInt8 {
        offset == 0 ? value : 0xFF
    }

    public func writeByte(offset: UInt16, value newValue: UInt8) {
        guard offset == 0 else { return }
        let old = value
        value = newValue
        if (old ^ newValue) & Self.a20 != 0 { onA20Change?(a20Enabled) }
        if old & Self.fastReset == 0, newValue & Self.fastReset != 0 { control.requestStop(.reset) }
    }

    /// Machine reset: A20 gate off, reset bit clear.
    public func reset() {
        let wasOn = a20Enabled
        value = 0
        if wasOn { onA20Change?(false) }
    }
}
