import Devices
import MachineCore

/// The ACPI tables a directly booted kernel reads to find the interrupt controllers, the PM
/// timer and the poweroff register (ACPI spec 6.5 ch. 5): RSDP, RSDT, FADT (revision 1) with
/// its FACS and DSDT (only `\_S5`), and the MADT (one local APIC, the IOAPIC, the ISA
/// overrides). They describe what both engines present: KVM's in-kernel LAPIC and IOAPIC sit
/// at the same addresses as the interpreter's models.
///
/// The tables go in the BIOS area at `ACPITables.base`, where the OS scans for the RSDP
/// (ACPI spec §5.2.5.1: 16-byte boundaries in 0xE0000-0xFFFFF).
public enum ACPITables {
    public static let base: UInt64 = 0xE_0000
    static let oemID: [UInt8] = Array("SWIFPC".utf8)
    static let oemTableID: [UInt8] = Array("SWIFTPC ".utf8)
    static let creatorID: [UInt8] = Array("SWPC".utf8)

    /// Offsets of each table from `base`.
    enum Offset {
        static let rsdp = 0x000
        static let rsdt = 0x020
        static let facs = 0x080        // 64-byte aligned (§5.2.10)
        static let fadt = 0x0C0
        static let madt = 0x140
        static let dsdt = 0x1A0
        static let end = 0x200
    }

    /// SCI interrupt (ISA IRQ 9, level-triggered active high as on PIIX4).
    static let sciIRQ: UInt16 = 9
    /// RTC CMOS index of the century byte.
    static let rtcCentury: UInt8 = 0x32

    /// The tables as one block to be written at `base`.
    public static func build(base: UInt64 = ACPITables.base) -> [UInt8] {
        var blob = [UInt8](repeating: 0, count: Offset.end)
        var used = 0
        // In address order, each after the end of the one before (the layout is fixed).
        func place(_ bytes: [UInt8], at offset: Int) {
            precondition(offset >= used && offset + bytes.count <= blob.count, "ACPI table layout overlap")
            blob.replaceSubrange(offset..<offset + bytes.count, with: bytes)
            used = offset + bytes.count
        }
        let address = { (offset: Int) in UInt32(base) + UInt32(offset) }
        place(rsdp(rsdt: address(Offset.rsdt)), at: Offset.rsdp)
        place(rsdt(entries: [address(Offset.fadt), address(Offset.madt)]), at: Offset.rsdt)
        place(facs(), at: Offset.facs)
        place(fadt(facs: address(Offset.facs), dsdt: address(Offset.dsdt)), at: Offset.fadt)
        place(madt(), at: Offset.madt)
        place(dsdt(), at: Offset.dsdt)
        return blob
    }

    /// Writes the tables into guest memory.
    public static func install(into memory: GuestMemory) throws(MachineError) {
        try memory.write(build(), at: base)
    }

    // MARK: tables

    /// RSDP revision 0 (ACPI 1.0 layout, 20 bytes; §5.2.5.3).
    static func rsdp(rsdt: UInt32) -> [UInt8] {
        var t = Array("RSD PTR ".utf8) + [0] + oemID + [0]
        t += le(rsdt)
        t[8] = checksum(t)
        return t
    }

    static func rsdt(entries: [UInt32]) -> [UInt8] {
        table("RSDT", revision: 1, body: entries.flatMap(le))
    }

    /// FACS (§5.2.10): no waking vector, no global lock owner.
    static func facs() -> [UInt8] {
        var t = Array("FACS".utf8) + le(UInt32(64))
        t += le(UInt32(0))          // hardware signature
        t += le(UInt32(0))          // firmware waking vector
        t += le(UInt32(0))          // global lock
        t += le(UInt32(0))          // flags
        t += [UInt8](repeating: 0, count: 64 - t.count)
        return t
    }

    /// FADT revision 1 (116 bytes; §5.2.9, the ACPI 1.0 layout): the PIIX4-style PM block at
    /// 0x600 (event block, control at 0x604, 32-bit timer at 0x608), no SMI command port
    /// (the machine starts in ACPI mode), C2/C3 not supported.
    static func fadt(facs: UInt32, dsdt: UInt32) -> [UInt8] {
        var body = [UInt8](repeating: 0, count: 116 - 36)
        func put(_ bytes: [UInt8], _ offset: Int) { body.replaceSubrange(offset - 36..<offset - 36 + bytes.count, with: bytes) }
        put(le(facs), 36)
        put(le(dsdt), 40)
        put([1], 44)                                          // INT_MODEL: multiple APIC (ACPI 1.0)
        put(le(sciIRQ), 46)
        put(le(UInt32(ACPIPMEventBlock.defaultPort)), 56)     // PM1a_EVT_BLK
        put(le(UInt32(ACPIPowerControl.defaultBase)), 64)     // PM1a_CNT_BLK
        put(le(UInt32(ACPIPMTimer.defaultPort)), 76)          // PM_TMR_BLK
        put([UInt8(ACPIPMEventBlock.width)], 88)              // PM1_EVT_LEN
        put([UInt8(ACPIPowerControl.width)], 89)              // PM1_CNT_LEN
        put([UInt8(ACPIPMTimer.width)], 91)                   // PM_TMR_LEN
        put(le(UInt16(101)), 96)                              // P_LVL2_LAT > 100: no C2
        put(le(UInt16(1001)), 98)                             // P_LVL3_LAT > 1000: no C3
        put([rtcCentury], 108)
        // WBINVD works, C1 supported, power and sleep buttons absent, 32-bit PM timer.
        let flags: UInt32 = (1 << 0) | (1 << 2) | (1 << 4) | (1 << 5) | (1 << 8)
        put(le(flags), 112)
        return table("FACP", revision: 1, body: body)
    }

    /// MADT (§5.2.12): the local APIC, the IOAPIC on GSIs 0-23, IRQ0 on GSI 2, the SCI
    /// level-triggered, LINT1 as NMI; PCAT_COMPAT (8259s present).
    static func madt() -> [UInt8] {
        var body = le(UInt32(LocalAPIC.defaultBase)) + le(UInt32(1))
        body += [0, 8, 0, 0] + le(UInt32(1))                                   // processor local APIC 0, enabled
        body += [1, 12, 0, 0] + le(UInt32(IOAPIC.defaultBase)) + le(UInt32(0)) // IOAPIC id 0, GSI base 0
        body += [2, 10, 0, 0] + le(UInt32(2)) + le(UInt16(0))                  // ISA IRQ0 -> GSI 2, bus defaults
        body += [2, 10, 0, UInt8(sciIRQ)] + le(UInt32(sciIRQ)) + le(UInt16(0x000D)) // SCI: active high, level
        body += [4, 6, 0xFF] + le(UInt16(0)) + [1]                              // all processors: LINT1 is NMI
        return table("APIC", revision: 3, body: body)
    }

    /// DSDT with one object, `Name (_S5, Package (4) {0, 0, 0, 0})`: SLP_TYP 0 enters S5
    /// through PM1a_CNT (see `ACPIPowerControl`). AML encoding per §20.2.5.
    static func dsdt() -> [UInt8] {
        let aml: [UInt8] = [0x08] + Array("_S5_".utf8) + [0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00]
        return table("DSDT", revision: 1, body: aml)
    }

    // MARK: encoding

    /// A system description table: the 36-byte header (§5.2.6) and `body`, checksummed.
    static func table(_ signature: String, revision: UInt8, body: [UInt8]) -> [UInt8] {
        var t = Array(signature.utf8) + le(UInt32(36 + body.count)) + [revision, 0] + oemID + oemTableID
        t += le(UInt32(1)) + creatorID + le(UInt32(1))
        t += body
        t[9] = checksum(t)
        return t
    }

    /// The byte that makes `bytes` sum to zero (its own slot counted as zero).
    static func checksum(_ bytes: [UInt8]) -> UInt8 {
        0 &- bytes.reduce(0, &+)
    }

    static func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
    static func le(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
}
