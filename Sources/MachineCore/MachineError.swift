/// Errors shared by every layer. Each case renders as one line a user can act on
/// (the CLI prints `description` and exits with status 2 or the engine-failure status).
public enum MachineError: Error, CustomStringConvertible, Equatable {
    /// A bus claim overlaps an existing claim (a board-assembly bug, caught at build time).
    case busOverlap(bus: String, device: String, base: UInt64, size: UInt64, existing: String)
    /// A bus claim that is empty or runs past the end of the bus's address space.
    case badBusRange(bus: String, device: String, base: UInt64, size: UInt64)
    /// Guest memory could not be mapped, or a requested size is unusable.
    case memory(String)
    /// A guest-physical range that is not RAM was used where RAM is required.
    case addressNotInRAM(UInt64, length: Int)
    /// A file given by the user cannot be read.
    case unreadableFile(path: String, reason: String)
    /// A kernel or firmware image is malformed or of an unknown kind.
    case badImage(path: String, reason: String)
    /// A configuration value is invalid (memory size, option combinations, ...).
    case badConfiguration(String)
    /// The selected engine is not available on this host.
    case engineUnavailable(String)
    /// The engine failed in a way the guest did not cause (ioctl error, internal error exit).
    case engineFailure(String)
    /// A saved device state that no real device could hold (see `StatefulDevice`).
    case invalidDeviceState(device: String, reason: String)

    public var description: String {
        switch self {
        case let .busOverlap(bus, device, base, size, existing):
            return "\(bus) claim of \(device) at 0x\(String(base, radix: 16)) (+0x\(String(size, radix: 16))) overlaps \(existing)"
        case let .badBusRange(bus, device, base, size):
            return "\(bus) claim of \(device) at 0x\(String(base, radix: 16)) (+0x\(String(size, radix: 16))) is empty or out of range"
        case let .memory(message):
            return message
        case let .addressNotInRAM(address, length):
            return "guest-physical range 0x\(String(address, radix: 16)) (+\(length)) is not RAM"
        case let .unreadableFile(path, reason):
            return "cannot read \(path): \(reason)"
        case let .badImage(path, reason):
            return "\(path): \(reason)"
        case let .badConfiguration(message):
            return message
        case let .engineUnavailable(message):
            return message
        case let .engineFailure(message):
            return message
        case let .invalidDeviceState(device, reason):
            return "\(device) state: \(reason)"
        }
    }
}
