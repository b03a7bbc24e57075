import MachineCore

extension PIIX3IDE: StatefulDevice {
    /// The function's configuration and both channels (task files, bus-master registers,
    /// commands in progress). Disk and CD images are host files the board attaches; a
    /// restored controller keeps the drives it has, and a state must name the same drives.
    public struct State: Equatable, Sendable {
        public var configuration: [UInt8]
        public var primary: IDEChannel.State
        public var secondary: IDEChannel.State
    }

    public var state: State {
        State(configuration: config.bytes, primary: primary.channelState, secondary: secondary.channelState)
    }

    /// Refuses bytes that change a read-only configuration field, drives that do not match
    /// the attached ones, and registers no channel, engine or drive holds; nothing changes
    /// unless all of it is valid. The legacy ports and the bus-master block then decode as
    /// the restored configuration says, and IRQ 14 and 15 follow the drives' requests.
    public func restore(_ state: State) throws(MachineError) {
        if let reason = primary.invalidReason(state.primary) {
            throw .invalidDeviceState(device: "IDE primary channel", reason: reason)
        }
        if let reason = secondary.invalidReason(state.secondary) {
            throw .invalidDeviceState(device: "IDE secondary channel", reason: reason)
        }
        try config.restore(state.configuration, device: "PIIX3 IDE")
        primary.apply(state.primary)
        secondary.apply(state.secondary)
        updateDecoding()
    }
}
