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
