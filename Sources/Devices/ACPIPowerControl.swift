import MachineCore

/// The ACPI PM1a control register (ACPI spec §4.8.3.2.1, "PM1 Control Registers"), 16 bits,
/// at QEMU's PIIX4 PM base 0x600 + 4 by default.
///
/// A write with SLP_EN set and SLP_TYP = 0 enters S5 (our DSDT's \_S5 package, like QEMU's,
/// gives SLP_TYP 0): the machine powers off. Other sleep types are not supported; their
/// writes are kept and read back (SLP_EN is write-only and reads as zero).
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

    public let base: UInt16
    private let control: MachineControl
    public private(set) var value: UInt16

    /// `initialValue` is what the register holds at power-on; with SCI_EN set, an OS whose
    /// FADT has no SMI command port finds the machine already in ACPI mode.
    public init(control: MachineControl, base: UInt16 = ACPIPowerControl.defaultBase, initialValue: UInt16 = ACPIPowerControl.sciEnable) {
        self.control = control
        self.base = base
        self.value = initialValue
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
        if newValue & Self.sleepEnable != 0,
           (newValue & Self.sleepTypeMask) >> Self.sleepTypeShift == Self.sleepTypeS5 {
            control.requestStop(.powerOff)
        }
    }
}
