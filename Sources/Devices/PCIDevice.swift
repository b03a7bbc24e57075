/// The location of a PCI function: bus 0-255, device 0-31, function 0-7.
public struct PCIAddress: Hashable, Sendable, CustomStringConvertible {
    public let bus: UInt8
    public let device: UInt8
    public let function: UInt8

    /// Fails (returns nil) for a device above 31 or a function above 7.
    public init?(bus: Int = 0, device: Int, function: Int = 0) {
        guard (0...255).contains(bus), (0...31).contains(device), (0...7).contains(function) else { return nil }
        self.bus = UInt8(bus)
        self.device = UInt8(device)
        self.function = UInt8(function)
    }

    public var description: String {
        let hex = { (v: UInt8, w: Int) -> String in
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(hex(bus, 2)):\(hex(device, 2)).\(function)"
    }
}

/// A PCI function: its configuration space and any side effects of config accesses.
///
/// Offsets are within the 256-byte space and an access never crosses a dword (the config
/// mechanism guarantees it). The default implementations read and write `config` through its
/// masks; a device with side effects (BAR moves, PAM changes) implements them itself.
public protocol PCIDevice: AnyObject {
    var config: PCIConfigSpace { get set }
    func configRead(offset: Int, size: Int) -> UInt32
    func configWrite(offset: Int, size: Int, value: UInt32)
}

extension PCIDevice {
    public func configRead(offset: Int, size: Int) -> UInt32 {
        config.read(offset: offset, size: size)
    }

    public func configWrite(offset: Int, size: Int, value: UInt32) {
        config.write(offset: offset, size: size, value: value)
    }
}
