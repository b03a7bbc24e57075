/// Register indices and bits of the MC146818A real-time clock (Motorola MC146818A datasheet,
/// "Address Map" and "Register A-D"), plus the PC CMOS layout a BIOS reads.
public enum RTCReg {
    // Ports, relative to 0x70.
    /// Index port: bits 6:0 select the CMOS byte, bit 7 masks NMI.
    public static let indexOffset: UInt16 = 0
    /// Data port: the selected byte.
    public static let dataOffset: UInt16 = 1
    public static let base: UInt16 = 0x70
    public static let nmiMask: UInt8 = 0x80
    public static let indexMask: UInt8 = 0x7F
    /// Bytes of CMOS (the 14 clock registers and 114 bytes of battery-backed RAM).
    public static let cmosSize = 128

    // Time registers.
    public static let seconds: Int = 0x00
    public static let secondsAlarm: Int = 0x01
    public static let minutes: Int = 0x02
    public static let minutesAlarm: Int = 0x03
    public static let hours: Int = 0x04
    public static let hoursAlarm: Int = 0x05
    /// Day of week, 1 = Sunday.
    public static let dayOfWeek: Int = 0x06
    public static let dayOfMonth: Int = 0x07
    public static let month: Int = 0x08
    /// Year within the century, 0-99.
    public static let year: Int = 0x09
    public static let regA: Int = 0x0A
    public static let regB: Int = 0x0B
    public static let regC: Int = 0x0C
    public static let regD: Int = 0x0D
    /// Century, by PC convention (the ACPI FADT CENTURY field points here).
    public static let century: Int = 0x32

    /// Alarm bytes with both top bits set match any value ("don't care").
    public static let alarmDontCare: UInt8 = 0xC0

    // Register A.
    /// Update in progress: the time registers are about to change (read-only).
    public static let aUIP: UInt8 = 0x80
    /// DV2:DV0, bits 6:4: divider chain control; 010 = 32.768 kHz time base running.
    public static let aDividerMask: UInt8 = 0x70
    public static let aDivider32kHz: UInt8 = 0x20
    /// DV2:DV1 = 11: divider chain held in reset (time frozen).
    public static let aDividerResetMask: UInt8 = 0x60
    /// RS3:RS0, bits 3:0: periodic interrupt rate select.
    public static let aRateMask: UInt8 = 0x0F

    // Register B.
    /// SET: updates are inhibited so software can set the time.
    public static let bSET: UInt8 = 0x80
    /// Periodic interrupt enable.
    public static let bPIE: UInt8 = 0x40
    /// Alarm interrupt enable.
    public static let bAIE: UInt8 = 0x20
    /// Update-ended interrupt enable.
    public static let bUIE: UInt8 = 0x10
    /// Square-wave output enable (no pin here).
    public static let bSQWE: UInt8 = 0x08
    /// Data mode: 1 = binary, 0 = BCD.
    public static let bDM: UInt8 = 0x04
    /// 1 = 24-hour mode, 0 = 12-hour mode with PM in bit 7 of the hours.
    public static let b24Hour: UInt8 = 0x02
    /// Daylight saving enable (not acted on, as on most PCs).
    public static let bDSE: UInt8 = 0x01
    /// PM flag in the hours byte in 12-hour mode.
    public static let hoursPM: UInt8 = 0x80

    // Register C (read-only, cleared by reading).
    /// IRQF: an enabled flag is set; the IRQ pin is asserted.
    public static let cIRQF: UInt8 = 0x80
    /// Periodic interrupt flag.
    public static let cPF: UInt8 = 0x40
    /// Alarm flag.
    public static let cAF: UInt8 = 0x20
    /// Update-ended flag.
    public static let cUF: UInt8 = 0x10

    // Register D.
    /// Valid RAM and time: the battery is good.
    public static let dVRT: UInt8 = 0x80

    /// UIP is set this long before each update (MC146818A: tBUC = 244 µs).
    public static let uipLeadNanoseconds: UInt64 = 244_000
    /// The time base.
    public static let timeBaseHz: UInt64 = 32_768
}

/// CMOS bytes a PC BIOS reads for the memory size (the IBM AT layout, extended by
/// Bochs/QEMU/SeaBIOS for memory above 16 MiB and above 4 GiB).
public enum CMOSLayout {
    /// Base memory in KiB, low/high byte (640).
    public static let baseMemoryLow = 0x15
    public static let baseMemoryHigh = 0x16
    /// Extended memory above 1 MiB in KiB (capped at 0xFFFF), low/high byte.
    public static let extendedMemoryLow = 0x17
    public static let extendedMemoryHigh = 0x18
    /// Same value again (the POST copy).
    public static let extendedMemoryLow2 = 0x30
    public static let extendedMemoryHigh2 = 0x31
    /// Memory above 16 MiB and below the PCI hole, in 64 KiB units, low/high byte.
    public static let memoryAbove16MLow = 0x34
    public static let memoryAbove16MHigh = 0x35
    /// Memory above 4 GiB in 64 KiB units, three bytes little-endian.
    public static let memoryAbove4G = 0x5B
    /// Checksum of bytes 0x10-0x2D: high byte at 0x2E, low byte at 0x2F.
    public static let checksumHigh = 0x2E
    public static let checksumLow = 0x2F
    public static let checksumRange = 0x10...0x2D
}
