import MachineCore

/// The ACPI PM1a event block (ACPI spec §4.8.3.1): PM1_STS (write 1 to clear) and PM1_EN,
/// 16 bits each, at the PIIX4 PM base. No event sources are modelled, so status stays clear
/// and no SCI is raised; the registers exist so that the OS finds what the FADT promises.
public final class ACPIPMEventBlock: PortIODevice {
    public static let defaultPort: UInt16 = 0x600
    public static let width = 4
    /// PM1_STS.WAK_STS and the other status bits are write-1-to-clear.
    public private(set) var status: UInt16 = 0
    public private(set) var enable: UInt16 = 0
    public let port: UInt16

    public init(port: UInt16 = ACPIPMEventBlock.defaultPort) { self.port = port }

    public func attach(to bus: PortIOBus, name: String = "acpi-pm1a-evt") throws(MachineError) {
        _ = try bus.claim(base: port, count: Self.width, device: self, name: name)
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
