import MachineCore

/// Lets one device answer several disjoint port claims.
///
/// A `PortIODevice` sees offsets relative to the base of the claim an access fell into, so a
/// device whose ports are scattered (the PIC at 0x20 and 0xA0, the i8042 at 0x60 and 0x64)
/// cannot tell its claims apart by offset alone. Each claim gets a window that adds a fixed
/// bias, so the device always sees offsets relative to one primary base (0x20 for the PIC:
/// port 0xA1 arrives as offset 0x81).
public final class PortWindow: PortIODevice {
    public let device: PortIODevice
    public let bias: UInt16

    public init(device: PortIODevice, bias: UInt16) {
        self.device = device
        self.bias = bias
    }

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        device.portRead(offset: offset &+ bias, size: size)
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        device.portWrite(offset: offset &+ bias, size: size, value: value)
    }
}

/// One contiguous range of ports a device claims, with the bias its window adds.
public struct PortRange: Equatable, Sendable {
    public let base: UInt16
    public let count: Int
    /// What the device sees as the offset of `base` (0 for the device's primary range).
    public let offsetBias: UInt16

    public init(base: UInt16, count: Int, offsetBias: UInt16 = 0) {
        self.base = base
        self.count = count
        self.offsetBias = offsetBias
    }
}

extension PortIOBus {
    /// Claims every range in `ranges` for `device`, through a `PortWindow` where a range has a
    /// bias. Returns the claims in the order of `ranges`.
    @discardableResult
    public func claim(_ ranges: [PortRange], device: PortIODevice, name: String) throws(MachineError) -> [BusClaim] {
        var claims: [BusClaim] = []
        for range in ranges {
            let target: PortIODevice = range.offsetBias == 0 ? device : PortWindow(device: device, bias: range.offsetBias)
            claims.append(try claim(base: range.base, count: range.count, device: target, name: name))
        }
        return claims
    }
}

/// A device made of byte-wide registers, as ISA devices are.
///
/// A wider access to such a device is split into byte accesses at consecutive offsets,
/// lowest byte first, as a PC chipset splits a 16- or 32-bit cycle aimed at an 8-bit ISA
/// device. Offsets the device does not decode read as 0xFF and ignore writes.
public protocol ByteRegisterDevice: PortIODevice {
    func readByte(offset: UInt16) -> UInt8
    func writeByte(offset: UInt16, value: UInt8)
}

extension ByteRegisterDevice {
    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<max(1, min(size, 4)) {
            value |= UInt32(readByte(offset: offset &+ UInt16(i))) << UInt32(8 * i)
        }
        return value
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        for i in 0..<max(1, min(size, 4)) {
            writeByte(offset: offset &+ UInt16(i), value: UInt8(truncatingIfNeeded: value >> UInt32(8 * i)))
        }
    }
}

/// The low `size` bytes of `value` (size 1, 2 or 4).
@inline(__always)
func truncate(_ value: UInt32, size: Int) -> UInt32 {
    size >= 4 ? value : value & ((UInt32(1) << UInt32(size * 8)) &- 1)
}
