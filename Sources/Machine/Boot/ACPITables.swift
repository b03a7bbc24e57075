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
    /// What the tables describe besides the parts every board shares (the MADT's APICs, the
    /// PM registers, the COM1 and RTC devices, `\_S5`).
    public enum Platform: Equatable, Sendable {
        /// A PC: the PCI root bridge (its windows end at the PCI hole, which starts at
        /// `pciHoleStart`), with the ISA bridge and its devices behind it.
        case pc(pciHoleStart: UInt64)
        /// No PCI bus: the ISA devices sit directly under `\_SB`.
        case noPCI
        /// A Xen PVH domU's platform: no PCI bus and no sleep state at all. Xen's toolstack
        /// builds a PVH guest's DSDT from `dsdt_pvh` (tools/libacpi/Makefile: mk_dsdt
        /// `--dm-version none`, processor objects only) and sets no SSDT flags
        /// (tools/libs/light/libxl_x86_acpi.c `init_acpi_config`): without `\_S5` Linux registers
        /// no ACPI poweroff (drivers/acpi/sleep.c `acpi_sleep_init`), so `poweroff` halts every
        /// vCPU with interrupts off, which Xen takes as a poweroff (XenPlatform).
        case xenPVH
    }

    /// The `pc` board's tables (what SeaBIOS is given, and the default of the tests).
    public static let pc = Platform.pc(pciHoleStart: 0xC000_0000)

    public static let base: UInt64 = 0xE_0000
    static let oemID: [UInt8] = Array("SWIFPC".utf8)
    static let oemTableID: [UInt8] = Array("SWIFTPC ".utf8)
    static let creatorID: [UInt8] = Array("SWPC".utf8)

    /// SCI interrupt (ISA IRQ 9, level-triggered active high as on PIIX4).
    static let sciIRQ: UInt16 = 9
    /// RTC CMOS index of the century byte.
    static let rtcCentury: UInt8 = 0x32
    /// Where the tables blob starts after the RSDP when they are placed at a fixed address.
    static let tablesOffset = 0x40

    /// The tables before relocation: the RSDP on its own, every other table in one blob
    /// (FACS first, so that its 64-byte alignment follows from the blob's), and the pointer
    /// fields that hold blob offsets until the blob's address is known. This is the shape
    /// both users need: a fixed placement for a directly booted kernel, and fw_cfg's
    /// table-loader for SeaBIOS, which allocates the blobs itself and patches the pointers.
    struct Layout {
        var rsdp: [UInt8]
        var tables: [UInt8]
        /// Offsets in `tables` of 4-byte fields that hold an offset into `tables`.
        var tablePointers: [Int]
        /// Offset in `rsdp` of its RSDT address field (an offset into `tables`).
        var rsdpPointer: Int
        /// Start offsets in `tables` of each checksummed table.
        var checksummedTables: [Int]
    }

    static func layout(_ platform: Platform) -> Layout {
        var tables: [UInt8] = []
        var pointers: [Int] = []
        var starts: [Int] = []
        func append(_ t: [UInt8], align: Int = 8, pointerFields: [Int] = [], checksummed: Bool = true) -> UInt32 {
            while tables.count % align != 0 { tables.append(0) }
            let at = tables.count
            tables += t
            pointers += pointerFields.map { at + $0 }
            if checksummed { starts.append(at) }
            return UInt32(at)
        }
        let facsAt = append(facs(), align: 64, checksummed: false)
        let dsdtAt = append(dsdt(platform))
        let fadtAt = append(fadt(facs: facsAt, dsdt: dsdtAt), pointerFields: [36, 40])
        let madtAt = append(madt())
        let rsdtAt = append(rsdt(entries: [fadtAt, madtAt]), pointerFields: [36, 40])
        return Layout(rsdp: rsdp(rsdt: rsdtAt), tables: tables, tablePointers: pointers, rsdpPointer: 16,
                      checksummedTables: starts)
    }

    /// The tables as one block to be written at `base`: the RSDP, then the other tables at
    /// `tablesOffset`, every pointer relocated and every checksum final.
    public static func build(_ platform: Platform = ACPITables.pc, base: UInt64 = ACPITables.base) -> [UInt8] {
        var l = layout(platform)
        let tablesAddress = UInt32(base) + UInt32(tablesOffset)
        for p in l.tablePointers { addLE32(&l.tables, at: p, tablesAddress) }
        for t in l.checksummedTables { fixChecksum(&l.tables, tableAt: t) }
        addLE32(&l.rsdp, at: l.rsdpPointer, tablesAddress)
        l.rsdp[8] = 0
        l.rsdp[8] = checksum(Array(l.rsdp[0..<20]))
        var blob = l.rsdp + [UInt8](repeating: 0, count: tablesOffset - l.rsdp.count)
        blob += l.tables
        return blob
    }

    /// Writes the tables into guest memory.
    public static func install(_ platform: Platform, into memory: GuestMemory) throws(MachineError) {
        try memory.write(build(platform), at: base)
    }

    // MARK: fw_cfg table loader

    /// The names SeaBIOS knows the blobs by.
    public static let tablesFile = "etc/acpi/tables"
    public static let rsdpFile = "etc/acpi/rsdp"
    public static let loaderFile = "etc/table-loader"

    /// The fw_cfg files for SeaBIOS: the two blobs and the table-loader script that places them
    /// (RSDP in the F segment, the tables in high memory), adds the blobs' addresses to the
    /// pointer fields and recomputes the checksums (SeaBIOS src/fw/romfile_loader.h).
    public static func firmwareConfigFiles(_ platform: Platform = ACPITables.pc) -> [(name: String, bytes: [UInt8])] {
        let l = layout(platform)
        var script: [UInt8] = []
        script += loaderAllocate(rsdpFile, align: 16, zone: 2)
        script += loaderAllocate(tablesFile, align: 64, zone: 1)
        for p in l.tablePointers { script += loaderAddPointer(dest: tablesFile, source: tablesFile, offset: p, size: 4) }
        script += loaderAddPointer(dest: rsdpFile, source: tablesFile, offset: l.rsdpPointer, size: 4)
        for t in l.checksummedTables {
            let length = Int(readLE32(l.tables, at: t + 4))
            script += loaderAddChecksum(tablesFile, checksumAt: t + 9, start: t, length: length)
        }
        script += loaderAddChecksum(rsdpFile, checksumAt: 8, start: 0, length: 20)
        return [(rsdpFile, l.rsdp), (tablesFile, l.tables), (loaderFile, script)]
    }

    /// Table-loader commands: 128 bytes each, little-endian (SeaBIOS romfile_loader.h).
    static let loaderEntrySize = 128
    static let loaderNameSize = 56

    static func loaderAllocate(_ file: String, align: UInt32, zone: UInt8) -> [UInt8] {
        loaderEntry(command: 1, loaderName(file) + le(align) + [zone])
    }

    static func loaderAddPointer(dest: String, source: String, offset: Int, size: UInt8) -> [UInt8] {
        loaderEntry(command: 2, loaderName(dest) + loaderName(source) + le(UInt32(offset)) + [size])
    }

    static func loaderAddChecksum(_ file: String, checksumAt offset: Int, start: Int, length: Int) -> [UInt8] {
        loaderEntry(command: 3, loaderName(file) + le(UInt32(offset)) + le(UInt32(start)) + le(UInt32(length)))
    }

    static func loaderEntry(command: UInt32, _ body: [UInt8]) -> [UInt8] {
        let entry = le(command) + body
        return entry + [UInt8](repeating: 0, count: loaderEntrySize - entry.count)
    }

    static func loaderName(_ name: String) -> [UInt8] {
        let bytes = Array(name.utf8)
        return bytes + [UInt8](repeating: 0, count: loaderNameSize - bytes.count)
    }

    static func readLE32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << UInt32(8 * $1) }
    }

    static func addLE32(_ bytes: inout [UInt8], at offset: Int, _ addend: UInt32) {
        let value = readLE32(bytes, at: offset) &+ addend
        for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> UInt32(8 * k)) }
    }

    /// Recomputes the header checksum of the table starting at `offset`.
    static func fixChecksum(_ bytes: inout [UInt8], tableAt offset: Int) {
        let length = Int(readLE32(bytes, at: offset + 4))
        bytes[offset + 9] = 0
        bytes[offset + 9] = checksum(Array(bytes[offset..<offset + length]))
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

    /// The DSDT (§5.2.11.1): on a PC the PCI root bridge with its windows and the ISA devices
    /// behind it; without PCI the ISA devices alone; then the power button, and (except for a
    /// Xen PVH domU, see `Platform.xenPVH`) `\_S5` —
    /// `Package (4) {0, 0, 0, 0}`: SLP_TYP 0 enters S5 through PM1a_CNT (see
    /// `ACPIPowerControl`). There is no `\_S3` or `\_S4`: the machine cannot suspend to RAM
    /// (nothing would resume a directly booted kernel), so an OS does not offer those states;
    /// a guest that writes their SLP_TYP anyway is answered by `ACPIPowerControl` without hanging.
    static func dsdt(_ platform: Platform) -> [UInt8] {
        let com1 = AML.device("COM1", AML.name("_HID", AML.eisaID("PNP0501")), AML.name("_UID", AML.integer(1)),
                              AML.name("_CRS", AML.resourceTemplate(AML.io(0x3F8, length: 8), AML.irqNoFlags(4))))
        let rtc = AML.device("RTC", AML.name("_HID", AML.eisaID("PNP0B00")),
                             AML.name("_CRS", AML.resourceTemplate(AML.io(0x70, length: 2), AML.irqNoFlags(8))))
        let powerButton = AML.device("PWRB", AML.name("_HID", AML.eisaID("PNP0C0C")))
        let s5 = AML.name("_S5", AML.package([AML.integer(0), AML.integer(0), AML.integer(0), AML.integer(0)]))
        switch platform {
        case .noPCI:
            return table("DSDT", revision: 1, body: AML.scope("\\_SB", com1, rtc, powerButton) + s5)
        case .xenPVH:
            return table("DSDT", revision: 1, body: AML.scope("\\_SB", com1, rtc, powerButton))
        case let .pc(pciHoleStart):
            let isa = AML.device("ISA",
                AML.name("_ADR", AML.integer(0x0001_0000)),
                AML.device("KBD", AML.name("_HID", AML.eisaID("PNP0303")),
                           AML.name("_CRS", AML.resourceTemplate(AML.io(0x60, length: 1), AML.io(0x64, length: 1), AML.irqNoFlags(1)))),
                AML.device("MOU", AML.name("_HID", AML.eisaID("PNP0F13")),
                           AML.name("_CRS", AML.resourceTemplate(AML.irqNoFlags(12)))),
                rtc, com1)
            let pci = AML.device("PCI0",
                AML.name("_HID", AML.eisaID("PNP0A03")),
                AML.name("_ADR", AML.integer(0)),
                AML.name("_UID", AML.integer(0)),
                AML.name("_CRS", AML.resourceTemplate(
                    AML.wordBusNumber(0, 0xFF),
                    AML.io(0xCF8, length: 8),
                    AML.wordIO(0x0000, 0x0CF7),
                    AML.wordIO(0x0D00, 0xFFFF),
                    AML.dwordMemory(0x000A_0000, 0x000B_FFFF),
                    AML.dwordMemory(UInt32(pciHoleStart), 0xFEBF_FFFF))),
                isa)
            return table("DSDT", revision: 1, body: AML.scope("\\_SB", pci, powerButton) + s5)
        }
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

    static func le(_ v: UInt32) -> [UInt8] { littleEndian(UInt64(v), count: 4) }
    static func le(_ v: UInt16) -> [UInt8] { littleEndian(UInt64(v), count: 2) }
}
