import MachineCore

/// System control port B at 0x61 (PC/AT; PIIX4 datasheet "NMI Status and Control Register").
///
/// Bits 0-3 are read-write: counter 2's gate, the speaker data enable, and the parity/IOCHK
/// NMI enables (stored, no NMIs are generated). Bit 4 toggles with each DRAM refresh request
/// (every 15.085 µs; BIOS delay loops count its edges) and bit 5 shows counter 2's OUT.
public final class SystemControlPortB: ByteRegisterDevice {
    public static let port: UInt16 = 0x61

    /// Bit 0: gate of PIT counter 2.
    public static let timer2Gate: UInt8 = 0x01
    /// Bit 1: speaker data enable (counter 2's output reaches the speaker).
    public static let speakerEnable: UInt8 = 0x02
    /// Bit 2: parity (SERR#) check enable, active low.
    public static let parityCheckDisable: UInt8 = 0x04
    /// Bit 3: channel (IOCHK#) check enable, active low.
    public static let channelCheckDisable: UInt8 = 0x08
    /// Bit 4: refresh cycle toggle (read-only).
    public static let refreshToggle: UInt8 = 0x10
    /// Bit 5: counter 2 OUT (read-only).
    public static let timer2Output: UInt8 = 0x20
    /// Bit 6: IOCHK# NMI source status (read-only; never set here).
    public static let ioCheckStatus: UInt8 = 0x40
    /// Bit 7: SERR# NMI source status (read-only; never set here).
    public static let parityStatus: UInt8 = 0x80
    /// The bits a write changes.
    public static let writableBits: UInt8 = 0x0F

    /// Refresh request period of a PC (counter 1 programmed to 18: 15.085 µs).
    public static let refreshPeriodNanoseconds: UInt64 = 15_085

    private let pit: PIT8254
    private var control: UInt8 = 0

    /// Called when the speaker's enable changes (sound is not modelled).
    public var onSpeakerChange: ((Bool) -> Void)?

    public init(pit: PIT8254) {
        self.pit = pit
    }

    public static let portRanges = [PortRange(base: port, count: 1)]

    public func attach(to bus: PortIOBus, name: String = "port61") throws(MachineError) {
        try bus.claim(Self.portRanges, device: self, name: name)
    }

    /// Whether the speaker is driven by counter 2 (gate and data enable both set).
    public var speakerOn: Bool { control & (Self.timer2Gate | Self.speakerEnable) == Self.timer2Gate | Self.speakerEnable }

    public func readByte(offset: UInt16) -> UInt8 {
        guard offset == 0 else { return 0xFF }
        var value = control
        if (pit.clock.now / Self.refreshPeriodNanoseconds) & 1 != 0 { value |= Self.refreshToggle }
        if pit.outputLevel(channel: 2) { value |= Self.timer2Output }
        return value
    }

    public func writeByte(offset: UInt16, value: UInt8) {
        guard offset == 0 else { return }
        let wasOn = speakerOn
        control = value & Self.writableBits
        pit.setGate(channel: 2, level: control & Self.timer2Gate != 0)
        if speakerOn != wasOn { onSpeakerChange?(speakerOn) }
    }
}

extension SystemControlPortB: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// Bits 3:0 as written (timer 2 gate, speaker enable, the two NMI check disables).
        /// The read-only bits 7:4 follow from the clock and the PIT.
        public var control: UInt8
        public init(control: UInt8 = 0) { self.control = control }
    }

    public var state: State { State(control: control) }

    /// Bits 7:4 are read-only, so a value with any of them set is refused. Counter 2's gate
    /// follows bit 0 (it is that wire), and the speaker is told if it changes.
    public func restore(_ state: State) throws(MachineError) {
        guard state.control & ~Self.writableBits == 0 else {
            throw .invalidDeviceState(device: "port 61h", reason: "read-only bits set in 0x\(String(state.control, radix: 16))")
        }
        apply(state.control)
    }

    /// Power-on value 00h (82371AB datasheet, "NMI Status and Control Register", NMISC:
    /// default 00h): counter 2's gate low and the speaker off.
    public func reset() {
        apply(0)
    }

    private func apply(_ newControl: UInt8) {
        let wasOn = speakerOn
        control = newControl
        let gate = control & Self.timer2Gate != 0
        // Only a change moves the gate: setting it again would restart a gated count.
        if pit.gate(channel: 2) != gate { pit.setGate(channel: 2, level: gate) }
        if speakerOn != wasOn { onSpeakerChange?(speakerOn) }
    }
}
