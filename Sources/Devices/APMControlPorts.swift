import MachineCore

/// The APM control and status ports (APMC 0xB2, APMS 0xB3; 82371AB datasheet §4.2 "APM
/// Registers"). On a board with SMM a write to APMC raises an SMI; SMM is not modelled, so
/// both are plain read/write bytes — enough for the firmware and OS code that only probes them.
public final class APMControlPorts: PortIODevice {
    public static let base: UInt16 = 0xB2
    public static let count = 2
    public private(set) var control: UInt8 = 0
    public private(set) var status: UInt8 = 0

    public init() {}

    public func attach(to bus: PortIOBus, name: String = "apm") throws(MachineError) {
        _ = try bus.claim(base: Self.base, count: Self.count, device: self, name: name)
    }

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<size {
            let index = Int(offset) + k
            let byte: UInt8 = index == 0 ? control : index == 1 ? status : 0xFF
            value |= UInt32(byte) << UInt32(8 * k)
        }
        return value
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        for k in 0..<size {
            let byte = UInt8(truncatingIfNeeded: value >> UInt32(8 * k))
            switch Int(offset) + k {
            case 0: control = byte
            case 1: status = byte
            default: break
            }
        }
    }

    public func reset() {
        control = 0
        status = 0
    }
}

extension APMControlPorts: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// APMC (0xB2) and APMS (0xB3).
        public var control: UInt8
        public var status: UInt8
        public init(control: UInt8 = 0, status: UInt8 = 0) {
            self.control = control
            self.status = status
        }
    }

    public var state: State { State(control: control, status: status) }

    /// Both registers are plain bytes: every value is valid.
    public func restore(_ state: State) throws(MachineError) {
        control = state.control
        status = state.status
    }
}
