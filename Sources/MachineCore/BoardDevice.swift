/// A device a board holds (docs/ARCHITECTURE.md, "Boards"). The board keeps its devices in a
/// list and a machine reset walks that list, so no device can be left out of a reset.
public protocol BoardDevice: AnyObject {
    /// Puts the device in its power-on state. Called with the machine lock held.
    func reset()
}

/// A device whose registers can be read out as a plain value and put back (the shape of
/// rust-vmm's vm-superio `SerialState`): what tests, engine migration and snapshots share.
///
/// The rule (docs/ARCHITECTURE.md, "Device state"): `State` holds the guest-visible registers
/// and the internal latches that decide future behaviour, never host resources (files, the
/// machine's lines, timers' callbacks); `restore(state)` then `state` gives the same value
/// back; a value no real device could hold is refused with `.invalidDeviceState` and leaves
/// the device as it was, since a saved state is input from outside.
public protocol StatefulDevice: BoardDevice {
    associatedtype State: Equatable & Sendable
    /// The registers as a value.
    var state: State { get }
    /// Puts the registers back.
    func restore(_ state: State) throws(MachineError)
}
