import MachineCore

extension FastA20Port92: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// Port 92h as it reads back (every bit is kept).
        public var value: UInt8
        public init(value: UInt8 = 0) { self.value = value }
    }

    public var state: State { State(value: value) }

    /// Every byte is a value the register holds. Putting it back starts no reset (only a
    /// guest write's 0→1 edge of bit 0 does); the A20 output follows bit 1, so a change of
    /// it is reported as a guest write's would be.
    public func restore(_ state: State) throws(MachineError) {
        let wasOn = a20Enabled
        value = state.value
        if a20Enabled != wasOn { onA20Change?(a20Enabled) }
    }
}
