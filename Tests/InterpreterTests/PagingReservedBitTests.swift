import MachineCore
import XCTest
@testable import Interpreter

/// Reserved bits of large-page entries (SDM Vol. 3A §4.3 Table 4-4, §4.4.2 Table 4-9, §4.5
/// Tables 4-15 to 4-18): the walker raises #PF with RSVD and P set for any of them, and
/// maps the page when only address and attribute bits are set. 1-GiB pages need a model that
/// advertises them, which the conformance suite's default model does not, so they are tested
/// here on the walker directly.
final class PagingReservedBitTests: XCTestCase {
    static let pml4: UInt64 = 0x10000, pdpt: UInt64 = 0x11000, pd: UInt64 = 0x12000

    /// 4-level paging with PML4[0] -> PDPT, PDPT[0] -> PD; the caller fills in the rest.
    func longModeMachine(gigabytePages: Bool = false) throws -> TestMachine {
        let m = try TestMachine()
        if gigabytePages { m.cpu.model.ext1EDX |= CPUIDBits.page1GB }
        try m.memory.write64(Self.pml4, Self.pdpt | 3)
        try m.memory.write64(Self.pdpt, Self.pd | 3)
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.et | CR0.pg
        s.cr3 = Self.pml4
        s.cr4 = CR4.pae
        s.msr.efer = EFER.lme | EFER.lma
        s.cs = .flat(selector: 0x08, code: true, longMode: true)
        m.cpu.setState(s)
        return m
    }

    /// The walk's outcome: the physical address, or the #PF error code.
    func walk(_ m: TestMachine, _ linear: UInt64) -> Result<UInt64, CPUException> {
        do { return .success(try m.cpu.walk(linear, .read, user: false)) } catch { return .failure(error) }
    }

    func assertReserved(_ r: Result<UInt64, CPUException>, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        switch r {
        case .success(let p): XCTFail("\(what): mapped to \(String(p, radix: 16)), expected #PF(RSVD)", file: file, line: line)
        case .failure(let e):
            XCTAssertEqual(e.vector, CPUException.Vector.pageFault, what, file: file, line: line)
            XCTAssertEqual(e.errorCode, 0x8 | 0x1, "\(what): RSVD and P", file: file, line: line)
        }
    }

    func test2MiBPDEBits20To13AreReserved() throws {
        let m = try longModeMachine()
        for bit in 13...20 {
            try m.memory.write64(Self.pd + 8, 0x40_0000 | (1 << UInt64(bit)) | 0x83)
            assertReserved(walk(m, 0x20_1234), "2-MiB PDE bit \(bit)")
        }
        // Bit 12 is PAT: mapped.
        try m.memory.write64(Self.pd + 8, 0x40_0000 | (1 << 12) | 0x83)
        XCTAssertEqual(try walk(m, 0x20_1234).get(), 0x40_1234)
    }

    func test1GiBPDPTEBits29To13AreReserved() throws {
        let m = try longModeMachine(gigabytePages: true)
        for bit in 13...29 {
            try m.memory.write64(Self.pdpt + 8, 0x8000_0000 | (1 << UInt64(bit)) | 0x83)
            assertReserved(walk(m, 0x4000_1234), "1-GiB PDPTE bit \(bit)")
        }
        try m.memory.write64(Self.pdpt + 8, 0x8000_0000 | (1 << 12) | 0x83)
        XCTAssertEqual(try walk(m, 0x4123_4567).get(), 0x8123_4567)
    }

    func test1GiBPDPTEIsReservedWithoutTheFeature() throws {
        let m = try longModeMachine(gigabytePages: false)
        try m.memory.write64(Self.pdpt + 8, 0x8000_0000 | 0x83)
        assertReserved(walk(m, 0x4000_1234), "PS in a PDPTE without 1-GiB pages")
    }

    func testPML4EPageSizeBitIsReserved() throws {
        let m = try longModeMachine()
        try m.memory.write64(Self.pml4 + 8, Self.pdpt | 0x83)
        assertReserved(walk(m, 0x80_0000_1000), "PS in a PML4E")
    }

    func testAddressBitsAboveMaxPhyAddrAreReserved() throws {
        let m = try longModeMachine()
        try m.memory.write64(Self.pd + 8, 0x40_0000 | (1 << 40) | 0x83)
        assertReserved(walk(m, 0x20_0000), "2-MiB PDE bit 40 (MAXPHYADDR 40)")
        try m.memory.write64(Self.pd + 8, 0x40_0000 | (1 << 39) | 0x83)
        XCTAssertEqual(try walk(m, 0x20_0010).get(), 0x80_0040_0010)
    }

    func testPAE2MiBPDEBits20To13AreReserved() throws {
        let m = try TestMachine()
        try m.memory.write64(0x10000, 0x11000 | 1)       // PDPTE 0
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.et | CR0.pg
        s.cr3 = 0x10000
        s.cr4 = CR4.pae
        s.cs = .flat(selector: 0x08, code: true)
        m.cpu.setState(s)
        for bit in 13...20 {
            try m.memory.write64(0x11000 + 8, 0x40_0000 | (1 << UInt64(bit)) | 0x83)
            assertReserved(walk(m, 0x20_0040), "PAE 2-MiB PDE bit \(bit)")
        }
        try m.memory.write64(0x11000 + 8, 0x40_0000 | 0x83)
        XCTAssertEqual(try walk(m, 0x20_0040).get(), 0x40_0040)
    }

    func test32BitPSE36Bit21IsReservedAndBits20To13AddressAbove4GiB() throws {
        let m = try TestMachine()
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.et | CR0.pg
        s.cr3 = 0x10000
        s.cr4 = CR4.pse
        s.cs = .flat(selector: 0x08, code: true)
        m.cpu.setState(s)
        // PDE 1 (linear 4 MiB): a 4-MiB page.
        try m.memory.write32(0x10004, 0x80_0000 | (1 << 21) | 0x83)
        assertReserved(walk(m, 0x40_0010), "PSE-36 PDE bit 21")
        // Bits 20:13 are physical bits 39:32 (MAXPHYADDR 40).
        try m.memory.write32(0x10004, 0x80_0000 | (0xFF << 13) | 0x83)
        XCTAssertEqual(try walk(m, 0x40_0010).get(), 0xFF_0080_0010)
        try m.memory.write32(0x10004, 0x80_0000 | (1 << 20) | 0x83)
        XCTAssertEqual(try walk(m, 0x40_0010).get(), 0x80_0080_0010)
    }
}
