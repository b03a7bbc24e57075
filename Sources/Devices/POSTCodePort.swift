import MachineCore

/// The POST diagnostic port 0x80: firmware writes progress codes here; the last one is kept
/// (and reported to an optional sink) and reads return it. Writes to 0x80 are also the
/// traditional ISA I/O delay, so this must stay cheap.
public final class POSTCodePort: ByteRegisterDevice {
    public static let defaultBase: UInt16 = 0x80

    public let base: UInt16
    public private(set) var lastCode: UInt8?
    private let sink: ((UInt8) -> Void)?

    public init(base: UInt16 = POSTCodePort.defaultBase, sink: ((UInt8) -> Void)? = nil) {
        self.base = base
        self.sink = sink
    }

    public var portRanges: [PortRange] { [PortRange(base: base, count: 1)] }

    public func attach(to bus: PortIOBus, name: String = "post") throws(MachineError) {
        try bus.claim(portRanges, device: self, name: name)
    }

    public func readByte(offset: UInt16) -> UInt8 {
        offset == 0 ? (lastCode ?? 0xFF) : 0xFF
    }

    public func writeByte(offset: UInt16, value: UInt8) {
        guard offset == 0 else { return }
        lastCode = value
        sink?(value)
    }
}

extension POSTCodePort: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// The last code written, nil before the first write.
        public var lastCode: UInt8?
        public init(lastCode: UInt8? = nil) { self.lastCode = lastCode }
    }

    public var state: State { State(lastCode: lastCode) }

    public func restore(_ state: State) throws(MachineError) {
        lastCode = state.lastCode
    }

    /// Power-on state: no code written yet, so a read sees the idle ISA bus (0xFF). The sink
    /// is not told: a reset writes nothing to the port.
    public func reset() {
        lastCode = nil
    }
}
