import XCTest
import Devices
import MachineCore
@testable import Machine

/// The firmware tables a directly booted kernel reads (ACPI spec 6.5 ch. 5), parsed back the
/// way an OS would: from the RSDP through the RSDT to each table.
final class ACPITablesTests: XCTestCase {
    let blob = ACPITables.build()

    func u32(_ address: UInt32) -> UInt32 { u32(at: Int(UInt64(address) - ACPITables.base)) }
    func u32(at offset: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(blob[offset + $1]) << ($1 * 8) } }
    func u16(at offset: Int) -> UInt16 { UInt16(blob[offset]) | UInt16(blob[offset + 1]) << 8 }
    func offset(_ address: UInt32) -> Int { Int(UInt64(address) - ACPITables.base) }
    func signature(at offset: Int) -> String { String(decoding: blob[offset..<offset + 4], as: UTF8.self) }
    func sum(_ range: Range<Int>) -> UInt8 { blob[range].reduce(0, &+) }

    /// The tables the RSDT lists, by signature, as offsets into the blob.
    func tables() -> [String: Int] {
        let rsdt = offset(u32(at: 16))
        XCTAssertEqual(signature(at: rsdt), "RSDT")
        let count = (Int(u32(at: rsdt + 4)) - 36) / 4
        var out: [String: Int] = [:]
        for i in 0..<count {
            let t = offset(u32(at: rsdt + 36 + 4 * i))
            out[signature(at: t)] = t
        }
        return out
    }

    func testRSDPIsFoundWhereTheOSScansAndChecksums() {
        XCTAssertEqual(ACPITables.base % 16, 0)
        XCTAssertTrue(ACPITables.base >= 0xE_0000 && ACPITables.base < 0x10_0000)
        XCTAssertEqual(String(decoding: blob[0..<8], as: UTF8.self), "RSD PTR ")
        XCTAssertEqual(sum(0..<20), 0)
        XCTAssertEqual(blob[15], 0, "revision 0: RSDT only")
    }

    func testEveryTableChecksumsToZero() {
        let all = tables()
        XCTAssertEqual(Set(all.keys), ["FACP", "APIC"])
        for (name, t) in all { XCTAssertEqual(sum(t..<t + Int(u32(at: t + 4))), 0, name) }
        let rsdt = offset(u32(at: 16))
        XCTAssertEqual(sum(rsdt..<rsdt + Int(u32(at: rsdt + 4))), 0, "RSDT")
    }

    func testFADTPointsAtThePMBlockAndADSDTWithS5() {
        let fadt = tables()["FACP"]!
        XCTAssertEqual(u32(at: fadt + 4), 116)
        XCTAssertEqual(u16(at: fadt + 46), 9, "SCI_INT")
        XCTAssertEqual(u32(at: fadt + 48), 0, "no SMI command port: already in ACPI mode")
        XCTAssertEqual(u32(at: fadt + 56), UInt32(ACPIPMEventBlock.defaultPort))
        XCTAssertEqual(u32(at: fadt + 64), UInt32(ACPIPowerControl.defaultBase))
        XCTAssertEqual(u32(at: fadt + 76), UInt32(ACPIPMTimer.defaultPort))
        XCTAssertEqual(blob[fadt + 91], 4, "PM_TMR_LEN")
        XCTAssertNotEqual(u32(at: fadt + 112) & (1 << 8), 0, "TMR_VAL_EXT: 32-bit timer")
        let facs = offset(u32(at: fadt + 36))
        XCTAssertEqual(signature(at: facs), "FACS")
        XCTAssertEqual((ACPITables.base + UInt64(facs)) % 64, 0, "FACS is 64-byte aligned")
        let dsdt = offset(u32(at: fadt + 40))
        XCTAssertEqual(signature(at: dsdt), "DSDT")
        let length = Int(u32(at: dsdt + 4))
        XCTAssertEqual(sum(dsdt..<dsdt + length), 0)
        // Name (_S5_, Package (4) {0, 0, 0, 0}): SLP_TYP 0, what ACPIPowerControl takes as S5.
        XCTAssertEqual(Array(blob[dsdt + length - 12..<dsdt + length]),
                       [0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00])
        // The PCI root bridge (PNP0A03 = 0x030AD041) and the power button (PNP0C0C) are there.
        let aml = Array(blob[dsdt + 36..<dsdt + length])
        XCTAssertNotNil(find(aml, Array("PCI0".utf8) + [0x08] + Array("_HID".utf8) + [0x0C, 0x41, 0xD0, 0x0A, 0x03]))
        XCTAssertNotNil(find(aml, Array("PWRB".utf8) + [0x08] + Array("_HID".utf8) + [0x0C, 0x41, 0xD0, 0x0C, 0x0C]))
        XCTAssertEqual(aml.first, 0x10, "everything but _S5 sits in Scope (\\_SB)")
        XCTAssertEqual(ACPIPowerControl.sleepTypeS5, 0)
    }

    func testMADTDescribesTheAPICsAndTheISAOverrides() {
        let madt = tables()["APIC"]!
        XCTAssertEqual(u32(at: madt + 36), UInt32(LocalAPIC.defaultBase))
        XCTAssertEqual(u32(at: madt + 40) & 1, 1, "PCAT_COMPAT")
        var p = madt + 44
        let end = madt + Int(u32(at: madt + 4))
        var localAPICs = 0, ioapics: [UInt32] = [], overrides: [UInt8: UInt32] = [:], nmiLINT: UInt8?
        while p < end {
            let type = blob[p], length = Int(blob[p + 1])
            XCTAssertGreaterThan(length, 0)
            switch type {
            case 0: localAPICs += 1; XCTAssertEqual(u32(at: p + 4) & 1, 1, "enabled")
            case 1: ioapics.append(u32(at: p + 4)); XCTAssertEqual(u32(at: p + 8), 0, "GSI base")
            case 2: overrides[blob[p + 3]] = u32(at: p + 4)
            case 4: nmiLINT = blob[p + 5]
            default: XCTFail("unexpected MADT entry type \(type)")
            }
            p += length
        }
        XCTAssertEqual(p, end)
        XCTAssertEqual(localAPICs, 1)
        XCTAssertEqual(ioapics, [UInt32(IOAPIC.defaultBase)])
        XCTAssertEqual(overrides[0], 2, "IRQ0 on GSI 2")
        XCTAssertEqual(UInt32(ISAInterruptControllers.ioapicPin(isaIRQ: 0)), overrides[0])
        XCTAssertEqual(overrides[9], 9)
        XCTAssertEqual(nmiLINT, 1)
    }

    /// The DSDT of `platform`'s tables, as an OS reaches it (RSDP → RSDT → FADT → DSDT).
    static func dsdtAML(_ platform: ACPITables.Platform) -> [UInt8] {
        let t = ACPITables.build(platform)
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(t[at + $1]) << ($1 * 8) } }
        let base = Int(ACPITables.base)
        let fadt = u32(u32(16) - base + 36) - base
        let dsdt = u32(fadt + 40) - base
        XCTAssertEqual(String(decoding: t[dsdt..<dsdt + 4], as: UTF8.self), "DSDT")
        XCTAssertEqual(t[dsdt..<dsdt + u32(dsdt + 4)].reduce(0, &+), 0, "DSDT checksum")
        return Array(t[dsdt + 36..<dsdt + u32(dsdt + 4)])
    }

    /// A Xen PVH domU gets no sleep state, as from Xen's toolstack (dsdt_pvh has no `\_S5`):
    /// Linux then finds no ACPI poweroff and halts. The plain pvh board keeps its `\_S5`.
    func testAXenPVHDomUHasNoS5AndThePlainPVHBoardHasOne() {
        let s5 = Array("_S5_".utf8)
        let xen = Self.dsdtAML(.xenPVH), plain = Self.dsdtAML(.noPCI)
        XCTAssertNil(find(xen, s5))
        XCTAssertNotNil(find(plain, s5))
        XCTAssertNotNil(find(xen, Array("PWRB".utf8)), "the rest of the platform is the pvh board's")
        XCTAssertNotNil(find(xen, Array("COM1".utf8)))
        XCTAssertNil(find(xen, Array("PCI0".utf8)))
    }

    func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<$0 + needle.count]) == needle }
    }

    /// Runs the fw_cfg table-loader script as SeaBIOS does (allocate each file at an address
    /// of its own, add pointers, fix checksums) and checks the result parses like the fixed
    /// placement: the RSDP reaches the RSDT, the RSDT the FADT and MADT, all checksums zero.
    func testTableLoaderScriptRelocatesAndChecksumsLikeSeaBIOS() {
        var files: [String: [UInt8]] = [:]
        for f in ACPITables.firmwareConfigFiles() { files[f.name] = f.bytes }
        let script = files[ACPITables.loaderFile]!
        XCTAssertEqual(script.count % 128, 0)
        var address: [String: UInt32] = [:]
        var next: UInt32 = 0x0F00_0000
        func name(_ entry: ArraySlice<UInt8>, _ at: Int) -> String {
            let raw = entry[(entry.startIndex + at)..<(entry.startIndex + at + 56)]
            return String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        func le32(_ e: ArraySlice<UInt8>, _ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(e[e.startIndex + at + $1]) << ($1 * 8) } }
        for k in stride(from: 0, to: script.count, by: 128) {
            let e = script[k..<k + 128]
            switch le32(e, 0) {
            case 1:
                let file = name(e, 4), align = UInt32(le32(e, 60))
                XCTAssertNotNil(files[file], file)
                next = (next + align - 1) / align * align
                address[file] = next
                next += 0x1000
            case 2:
                let dest = name(e, 4), src = name(e, 60), offset = le32(e, 116)
                XCTAssertEqual(e[e.startIndex + 120], 4)
                ACPITables.addLE32(&files[dest]!, at: offset, address[src]!)
            case 3:
                let file = name(e, 4), offset = le32(e, 60), start = le32(e, 64), length = le32(e, 68)
                files[file]![offset] = files[file]![offset] &- files[file]![start..<start + length].reduce(0, &+)
            default: XCTFail("unknown loader command")
            }
        }
        let rsdp = files[ACPITables.rsdpFile]!, tables = files[ACPITables.tablesFile]!
        XCTAssertEqual(rsdp[0..<20].reduce(0, &+), 0)
        let base = Int(address[ACPITables.tablesFile]!)
        func u32t(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(tables[at + $1]) << ($1 * 8) } }
        let rsdt = (0..<4).reduce(0) { $0 | Int(rsdp[16 + $1]) << ($1 * 8) } - base
        XCTAssertEqual(String(decoding: tables[rsdt..<rsdt + 4], as: UTF8.self), "RSDT")
        var seen: [String] = []
        for entry in [u32t(rsdt + 36) - base, u32t(rsdt + 40) - base, rsdt] {
            let length = u32t(entry + 4)
            XCTAssertEqual(tables[entry..<entry + length].reduce(0, &+), 0)
            seen.append(String(decoding: tables[entry..<entry + 4], as: UTF8.self))
        }
        XCTAssertEqual(seen, ["FACP", "APIC", "RSDT"])
        let fadt = u32t(rsdt + 36) - base
        XCTAssertEqual(String(decoding: tables[(u32t(fadt + 40) - base)...].prefix(4), as: UTF8.self), "DSDT")
        XCTAssertEqual((u32t(fadt + 36)) % 64, 0, "FACS aligned")
    }
}
