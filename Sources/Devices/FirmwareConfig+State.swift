import MachineCore

extension FirmwareConfig: StatefulDevice {
    /// The selector, the data port's position in the selected item and the DMA address
    /// register. The items are not: the board installs them (they are the machine's
    /// description, not registers), and a restored device serves the board's items.
    public struct State: Equatable, Sendable {
        public var selector: UInt16
        /// Bytes of the selected item already read or skipped.
        public var position: UInt32
        /// The DMA address register: its high half as written, until the low-half write
        /// that starts an operation clears it.
        public var dmaAddress: UInt64
        public init(selector: UInt16 = 0, position: UInt32 = 0, dmaAddress: UInt64 = 0) {
            self.selector = selector
            self.position = position
            self.dmaAddress = dmaAddress
        }
    }

    public var state: State {
        State(selector: selected, position: UInt32(clamping: position), dmaAddress: dmaAddress)
    }

    /// Refuses a position past the end of the selected item (reads stop there; an absent
    /// item has no bytes) and a DMA address whose low half is set (writing it runs the
    /// operation and clears the register, so only the high half is ever held).
    public func restore(_ state: State) throws(MachineError) {
        let size = itemSize(state.selector)
        guard Int(state.position) <= size else {
            throw .invalidDeviceState(device: "fw_cfg",
                                      reason: "position \(state.position) past the \(size) bytes of item 0x\(String(state.selector, radix: 16))")
        }
        guard state.dmaAddress & 0xFFFF_FFFF == 0 else {
            throw .invalidDeviceState(device: "fw_cfg", reason: "DMA address register holds a low half")
        }
        selected = state.selector
        position = Int(state.position)
        dmaAddress = state.dmaAddress
    }
}
