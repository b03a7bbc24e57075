import MachineCore

extension I440FXHostBridge: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// The 256 configuration bytes (PAM and SMRAM among them).
        public var configuration: [UInt8]
        public init(configuration: [UInt8]) { self.configuration = configuration }
    }

    public var state: State { State(configuration: config.bytes) }

    /// Refuses bytes that change a read-only field. The PAM registers are then reported one
    /// by one, as a guest write of them is, so the memory map follows the restored shadowing.
    public func restore(_ state: State) throws(MachineError) {
        try config.restore(state.configuration, device: "i440FX host bridge")
        for offset in Self.pam0...Self.pam6 { onPAMWrite?(offset) }
    }

    /// Everything but PAM to its power-on value (82441FX datasheet §3.2: PCICMD 0006h, the
    /// status error bits clear, MLT 00h, SMRAM 02h). `reset()` then writes the PAM registers
    /// as a guest would, so their hook runs.
    func resetRegistersOutsidePAM() {
        let powerOn = I440FXHostBridge().config.bytes
        var bytes = powerOn
        for offset in Self.pam0...Self.pam6 { bytes[offset] = config.read8(offset) }
        try? config.restore(bytes, device: "i440FX host bridge")
    }
}
