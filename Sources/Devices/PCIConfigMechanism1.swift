import MachineCore

/// PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, §3.2.2.3.2): the 32-bit
/// CONFIG_ADDRESS register at 0xCF8 and the CONFIG_DATA window at 0xCFC-0xCFF.
///
/// Only dword accesses at 0xCF8 reach CONFIG_ADDRESS; byte accesses to 0xCF8-0xCFB belong to
/// other registers on a PIIX (0xCF9 is the reset control register, not claimed here), so only
/// port 0xCF8 itself is claimed. As a `PortIODevice` it decodes offsets relative to 0xCF8:
/// 0 is CONFIG_ADDRESS, 4-7 the data window.
public final class PCIConfigMechanism1: PortIODevice {
    public static let addressPort: UInt16 = 0xCF8
    public static let dataPort: UInt16 = 0xCFC
    public static let dataOffset: UInt16 = dataPort - addressPort

    /// Bit 31: configuration cycles enabled.
    public static let enableBit: UInt32 = 0x8000_0000
    /// Bits 23:16 bus, 15:11 device, 10:8 function, 7:2 register (dword index).
    public static let busShift: UInt32 = 16
    public static let deviceShift: UInt32 = 11
    public static let functionShift: UInt32 = 8
    /// The bits of CONFIG_ADDRESS that hold state; bits 30:24 and 1:0 read as zero.
    public static let addressMask: UInt32 = 0x80FF_FFFC

    public let bus: PCIBus
    public private(set) var configAddress: UInt32 = 0

    public init(bus: PCIBus) {
        self.bus = bus
    }

    public static let portRanges = [
        PortRange(base: addressPort, count: 1),
        PortRange(base: dataPort, count: 4, offsetBias: dataOffset),
    ]

    public func attach(to portBus: PortIOBus, name: String = "pci-config") throws(MachineError) {
        try portBus.claim(Self.portRanges, device: self, name: name)
    }

    /// The function and register CONFIG_ADDRESS selects, or nil while disabled.
    private var selected: (PCIAddress, register: Int)? {
        guard configAddress & Self.enableBit != 0 else { return nil }
        let busNumber = Int((configAddress >> Self.busShift) & 0xFF)
        let device = Int((configAddress >> Self.deviceShift) & 0x1F)
        let function = Int((configAddress >> Self.functionShift) & 0x7)
        guard let address = PCIAddress(bus: busNumber, device: device, function: function) else { return nil }
        return (address, Int(configAddress & 0xFC))
    }

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        let ones = UInt32(truncatingIfNeeded: allOnes(size: size))
        switch offset {
        case 0:
            return size == 4 ? configAddress : ones
        case Self.dataOffset..<(Self.dataOffset + 4):
            let byte = Int(offset - Self.dataOffset)
            guard let (address, register) = selected else { return ones }
            // An access running past 0xCFF is cut at the dword; the rest reads as ones.
            let n = min(size, 4 - byte)
            var value = bus.configRead(address, offset: register + byte, size: n)
            if n < size { value |= ones & ~((UInt32(1) << UInt32(8 * n)) - 1) }
            return value
        default:
            return ones
        }
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        switch offset {
        case 0:
            if size == 4 { configAddress = value & Self.addressMask }
        case Self.dataOffset..<(Self.dataOffset + 4):
            let byte = Int(offset - Self.dataOffset)
            guard let (address, register) = selected else { return }
            let n = min(size, 4 - byte)
            bus.configWrite(address, offset: register + byte, size: n, value: truncate(value, size: n))
        default:
            break
        }
    }
}

extension PCIConfigMechanism1: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// CONFIG_ADDRESS. The functions behind the data window have their own state.
        public var configAddress: UInt32
        public init(configAddress: UInt32 = 0) { self.configAddress = configAddress }
    }

    public var state: State { State(configAddress: configAddress) }

    /// Bits 30:24 and 1:0 of CONFIG_ADDRESS are reserved and read as zero: a value with one
    /// set is refused.
    public func restore(_ state: State) throws(MachineError) {
        guard state.configAddress & ~Self.addressMask == 0 else {
            throw .invalidDeviceState(device: "PCI CONFIG_ADDRESS",
                                      reason: "reserved bits set in 0x\(String(state.configAddress, radix: 16))")
        }
        configAddress = state.configAddress
    }

    /// CONFIG_ADDRESS resets to 0 (82441FX datasheet §3.1.1 "CONFADD": default 00000000h),
    /// so configuration cycles are disabled until software enables them again.
    public func reset() {
        configAddress = 0
    }
}
