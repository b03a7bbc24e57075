import MachineCore

/// The ACPI PM1a event block (ACPI spec §4.8.3.1): PM1_STS (write 1 to clear) and PM1_EN,
/// 16 bits each, at the PIIX4 PM base. No event sources that raise an SCI are modelled; the
/// only status bit set is WAK_STS, when a sleep the machine does not offer ends at once (see
/// `ACPIPowerControl`).
public final class ACPIPMEventBlock: PortIODevice {
    public static let defaultPort: UInt16 = 0x600
    public static let width = 4
    /// PM1_STS.WAK_STS and the other status bits are write-1-to-clear.
    public private(set) var status: UInt16 = 0
    public private(set) var enable: UInt16 = 0
    public let port: UInt16

    /// PM1_STS.WAK_STS (ACPI spec §4.8.3.1.1, table "PM1 Status Registers Fixed Hardware
    /// Feature Status Bits"): set when the system has left a sleeping state.
    public static let wakeStatus: UInt16 = 0x8000

    public init(port: UInt16 = ACPIPMEventBlock.defaultPort) { self.port = port }

    public func attach(to bus: PortIOBus, name: String = "acpi-pm1a-evt") throws(MachineError) {
        _ = try bus.claim(base: port, count: Self.width, device: self, name: name)
    }

    /// Sets status bits from the hardware side (a wake).
    public func setStatus(_ bits: UInt16) { status |= bits }

    /// Power-on state: nothing pending, nothing enabled.
    public func reset() {
        status = 0
        enable = 0
    }

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        let both = UInt32(status) | UInt32(enable) << 16
        return UInt32(truncatingIfNeeded: UInt64(both >> UInt32(offset * 8)) & allOnes(size: size))
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        for k in 0..<size {
            let byteIndex = Int(offset) + k
            guard byteIndex < 4 else { break }
            let byte = UInt16((value >> UInt32(k * 8)) & 0xFF)
            switch byteIndex {
            case 0: status &= ~byte
            case 1: status &= ~(byte << 8)
            case 2: enable = (enable & 0xFF00) | byte
            default: enable = (enable & 0x00FF) | (byte << 8)
            }
        }
    }
}

extension ACPIPMEventBlock: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// PM1_STS and PM1_EN.
        public var status: UInt16
        public var enable: UInt16
        public init(status: UInt16 = 0, enable: UInt16 = 0) {
            self.status = status
            self.enable = enable
        }
    }

    public var state: State { State(status: status, enable: enable) }

    /// Both registers are 16 bits the hardware can hold in any combination.
    public func restore(_ state: State) throws(MachineError) {
        status = state.status
        enable = state.enable
    }
}
