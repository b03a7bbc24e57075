import MachineCore

/// QEMU's isa-debug-exit convention: a write of value v stops the machine with
/// `.debugExit(v)`, which `swiftpc run` turns into exit status (v << 1) | 1. Test kernels
/// (kvm-unit-tests among them) use it to report a result. Reads return all ones.
public final class DebugExitPort: PortIODevice {
    public static let defaultBase: UInt16 = 0xF4
    /// Ports decoded by default (QEMU's `iosize=4`, so 1-, 2- and 4-byte writes all land).
    public static let defaultCount = 4

    public let base: UInt16
    public let count: Int
    private let control: MachineControl

    public init(control: MachineControl, base: UInt16 = DebugExitPort.defaultBase, count: Int = DebugExitPort.defaultCount) {
        self.control = control
        self.base = base
        self.count = count
    }

    public var portRanges: [PortRange] { [PortRange(base: base, count: count)] }

    public func attach(to bus: PortIOBus, name: String = "debug-exit") throws(MachineError) {
        try bus.claim(portRanges, device: self, name: name)
    }

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: allOnes(size: size))
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        control.requestStop(.debugExit(truncate(value, size: size)))
    }
}

extension DebugExitPort: BoardDevice {
    /// Nothing to reset: the port holds no register (a write stops the machine at once,
    /// reads are all ones).
    public func reset() {}
}
