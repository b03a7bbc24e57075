import MachineCore

/// The reset control register at I/O port 0xCF9 (82371SB PIIX3 datasheet, "RC — Reset Control
/// Register"; the ICH datasheets, which Linux's `reboot=pci` follows, add FULL_RST), a byte
/// register inside the 0xCF8-0xCFB range of PCI configuration mechanism #1. Only 32-bit
/// accesses at 0xCF8 are CONFIG_ADDRESS (`PCIConfigMechanism1` claims that port alone), so a
/// byte at 0xCF9 lands here and leaves the configuration address untouched.
///
/// A 0→1 transition of RST_CPU (bit 2) resets the machine; SYS_RST (bit 1) selects a hard
/// reset (PCIRST# with the CPU reset) over a soft one (INIT), FULL_RST (bit 3) a power cycle.
/// The machine has one reset, the hard one, which is what every reset path here does (port
/// 0x92's INIT and the i8042 pulse too) and what QEMU's PIIX does for either type: so the type
/// bits are kept and read back but all three reset the same way. With `--no-reboot` the reset
/// becomes exit status 8, as for the other paths. Linux writes 0x02 then 0x06; test kernels
/// write 0x06 or 0x0E at once: both are a 0→1 edge of bit 2.
public final class PIIX3ResetControl: ByteRegisterDevice {
    public static let port: UInt16 = 0xCF9

    /// SYS_RST: the reset bit 2 starts is a hard one (1) or a soft one (0).
    public static let systemReset: UInt8 = 0x02
    /// RST_CPU: a rising edge resets.
    public static let resetCPU: UInt8 = 0x04
    /// FULL_RST: a reset is a full power cycle.
    public static let fullReset: UInt8 = 0x08
    /// The bits that hold state; the others are reserved and read as zero.
    public static let implemented: UInt8 = systemReset | resetCPU | fullReset

    private let control: MachineControl
    public private(set) var value: UInt8 = 0

    public init(control: MachineControl) {
        self.control = control
    }

    public static let portRanges = [PortRange(base: port, count: 1)]

    public func attach(to bus: PortIOBus, name: String = "piix3-reset-control") throws(MachineError) {
        try bus.claim(Self.portRanges, device: self, name: name)
    }

    public func readByte(offset: UInt16) -> UInt8 {
        offset == 0 ? value : 0xFF
    }

    public func writeByte(offset: UInt16, value newValue: UInt8) {
        guard offset == 0 else { return }
        let old = value
        value = newValue & Self.implemented
        if old & Self.resetCPU == 0, newValue & Self.resetCPU != 0 { control.requestStop(.reset) }
    }

    /// The register is cleared by the reset it starts (its default is 00h).
    public func reset() {
        value = 0
    }
}

extension PIIX3ResetControl: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// The RC register (SYS_RST, RST_CPU, FULL_RST).
        public var value: UInt8
        public init(value: UInt8 = 0) { self.value = value }
    }

    public var state: State { State(value: value) }

    /// Putting the register back starts no reset: only a guest write's 0→1 edge of RST_CPU
    /// does. Reserved bits read as zero, so a value with one set is refused.
    public func restore(_ state: State) throws(MachineError) {
        guard state.value & ~Self.implemented == 0 else {
            throw .invalidDeviceState(device: "PIIX3 reset control", reason: "reserved bits set in 0x\(String(state.value, radix: 16))")
        }
        value = state.value
    }
}
