import MachineCore

/// Bochs' port 0xE9 debug console: bytes written go to a sink (the host's stderr or a log);
/// a read returns 0xE9, which is how software detects the port (Bochs "port e9 hack").
public final class DebugConsolePort: ByteRegisterDevice {
    public static let defaultBase: UInt16 = 0xE9
    /// What a read returns: the port number, the detection signature.
    public static let signature: UInt8 = 0xE9

    public let base: UInt16
    private let sink: (UInt8) -> Void

    public init(base: UInt16 = DebugConsolePort.defaultBase, sink: @escaping (UInt8) -> Void) {
        self.base = base
        self.sink = sink
    }

    public var portRanges: [PortRange] { [PortRange(base: base, count: 1)] }

    public func attach(to bus: PortIOBus, name: String = "debugcon") throws(MachineError) {
        try bus.claim(portRanges, device: self, name: name)
    }

    public func readByte(offset: UInt16) -> UInt8 {
        offset == 0 ? Self.signature : 0xFF
    }

    public func writeByte(offset: UInt16, value: UInt8) {
        if offset == 0 { sink(value) }
    }
}

extension DebugConsolePort: BoardDevice {
    /// Nothing to reset: the port holds no register (a write goes straight to the sink, a
    /// read returns the constant signature).
    public func reset() {}
}
