import MachineCore

/// The ACPI PM1a control register (ACPI spec §4.8.3.2.1, "PM1 Control Registers"), 16 bits,
/// at QEMU's PIIX4 PM base 0x600 + 4 by default.
///
/// A write with SLP_EN set enters the sleep state in SLP_TYP. The values are QEMU's (its DSDT
/// gives \_S3 1, \_S4 2, \_S5 0; 1 is the PIIX4's suspend-to-RAM encoding, 82371AB datasheet
/// PMCNTRL.SUS_TYP), so guests written for QEMU's `pc` machine find the same meaning here:
/// - 0, S5 (soft off): the machine powers off.
/// - 2, S4 (suspend to disk): the OS has saved its state, so the hardware's part is soft off,
///   and the machine powers off, as QEMU does.
/// - 1, S3 (suspend to RAM), and every other value: not offered (our DSDT has no \_S3, so an
///   OS that reads it never asks). The sleep is refused by ending it at once: WAK_STS is set
///   in PM1_STS, as hardware sets it on a wake event (ACPI spec 6.4 §16.1 "Sleeping States";
///   after SLP_EN the OS waits for WAK_STS), and the guest goes on with the instruction
///   after its write. A guest that polls WAK_STS sees the sleep end instead
///   of spinning forever; Linux takes it as a sleep that failed and resumes.
/// SLP_TYP is kept and reads back; SLP_EN is write-only and reads as zero.
public final class ACPIPowerControl: PortIODevice {
    public static let defaultBase: UInt16 = 0x604
    public static let width = 2

    /// SCI_EN: power management events raise SCIs (the OS sees ACPI mode enabled).
    public static let sciEnable: UInt16 = 0x0001
    /// BM_RLD: bus master requests move the CPU out of C3.
    public static let busMasterReload: UInt16 = 0x0002
    /// GBL_RLS: global lock release.
    public static let globalRelease: UInt16 = 0x0004
    /// SLP_TYP, bits 12:10: the sleep state to enter.
    public static let sleepTypeMask: UInt16 = 0x1C00
    public static let sleepTypeShift: UInt16 = 10
    /// SLP_EN: enter the sleep state in SLP_TYP (write-only).
    public static let sleepEnable: UInt16 = 0x2000
    /// The SLP_TYP value of S5 (soft off) in our DSDT.
    public static let sleepTypeS5: UInt16 = 0
    /// QEMU's SLP_TYP for S3 (suspend to RAM; not offered here).
    public static let sleepTypeS3: UInt16 = 1
    /// QEMU's SLP_TYP for S4 (suspend to disk).
    public static let sleepTypeS4: UInt16 = 2

    public let base: UInt16
    private let control: MachineControl
    /// Where a refused sleep reports its immediate wake (WAK_STS).
    private let events: ACPIPMEventBlock?
    private let initialValue: UInt16
    public private(set) var value: UInt16

    /// `initialValue` is what the register holds at power-on; with SCI_EN set, an OS whose
    /// FADT has no SMI command port finds the machine already in ACPI mode.
    public init(control: MachineControl, events: ACPIPMEventBlock? = nil, base: UInt16 = ACPIPowerControl.defaultBase,
                initialValue: UInt16 = ACPIPowerControl.sciEnable) {
        self.control = control
        self.events = events
        self.base = base
        self.initialValue = initialValue
        self.value = initialValue
    }

    public func reset() {
        value = initialValue
    }

    public var portRanges: [PortRange] { [PortRange(base: base, count: Self.width)] }

    public func attach(to bus: PortIOBus, name: String = "acpi-pm1a-cnt") throws(MachineError) {
        try bus.claim(portRanges, device: self, name: name)
    }

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        guard offset < 2 else { return UInt32(truncatingIfNeeded: allOnes(size: size)) }
        // Bytes past the register read as all ones.
        let shifted = UInt32(value) >> UInt32(offset * 8)
        let valid = (2 - Int(offset)) * 8
        let ones = size * 8 > valid ? UInt32(truncatingIfNeeded: allOnes(size: size)) & ~((UInt32(1) << UInt32(valid)) - 1) : 0
        return truncate(shifted | ones, size: size)
    }

    public func portWrite(offset: UInt16, size: Int, value written: UInt32) {
        guard offset < 2 else { return }
        // Merge a byte write into the 16-bit register.
        let shift = UInt16(offset * 8)
        let mask = UInt16(truncatingIfNeeded: (UInt32(truncatingIfNeeded: allOnes(size: size)) << UInt32(shift)))
        let newValue = value & ~mask | UInt16(truncatingIfNeeded: written << UInt32(shift)) & mask
        value = newValue & ~Self.sleepEnable
        guard newValue & Self.sleepEnable != 0 else { return }
        switch (newValue & Self.sleepTypeMask) >> Self.sleepTypeShift {
        case Self.sleepTypeS5, Self.sleepTypeS4:
            control.requestStop(.powerOff)
        default:
            events?.setStatus(ACPIPMEventBlock.wakeStatus)
        }
    }
}

extension ACPIPowerControl: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// PM1_CNT as it reads back.
        public var value: UInt16
        public init(value: UInt16) { self.value = value }
    }

    public var state: State { State(value: value) }

    /// SLP_EN is write-only (it starts a sleep and reads as zero), so a saved register with
    /// it set is refused.
    public func restore(_ state: State) throws(MachineError) {
        guard state.value & Self.sleepEnable == 0 else {
            throw .invalidDeviceState(device: "ACPI PM1a control", reason: "SLP_EN is write-only and never reads as set")
        }
        value = state.value
    }
}
