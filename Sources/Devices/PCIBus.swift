import MachineCore

/// The PCI functions of the machine, by bus/device/function.
public final class PCIBus {
    private var functions: [PCIAddress: PCIDevice] = [:]

    public init() {}

    /// Places `device` at `address`. Two functions at one address is a board-assembly error.
    public func register(_ device: PCIDevice, at address: PCIAddress, name: String) throws(MachineError) {
        guard functions[address] == nil else {
            throw .badConfiguration("PCI function \(address) for \(name) is already taken")
        }
        functions[address] = device
    }

    public func device(at address: PCIAddress) -> PCIDevice? { functions[address] }

    /// Every occupied address, in bus/device/function order.
    public var addresses: [PCIAddress] {
        functions.keys.sorted { ($0.bus, $0.device, $0.function) < ($1.bus, $1.device, $1.function) }
    }

    /// A config read; an absent function reads as all ones (the master abort value).
    public func configRead(_ address: PCIAddress, offset: Int, size: Int) -> UInt32 {
        guard let device = functions[address] else { return UInt32(truncatingIfNeeded: allOnes(size: size)) }
        return device.configRead(offset: offset, size: size)
    }

    /// A config write; writes to an absent function are dropped.
    public func configWrite(_ address: PCIAddress, offset: Int, size: Int, value: UInt32) {
        functions[address]?.configWrite(offset: offset, size: size, value: value)
    }
}
