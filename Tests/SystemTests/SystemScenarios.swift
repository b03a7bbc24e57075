import XCTest

/// System-level guests (guests/sys-*.asm): paging forms and their page faults, nested
/// exceptions, fast system calls, virtual-8086 mode and mode transitions. Each prints
/// lines on COM1 and exits through the debug-exit port; the KVM and interpreter classes in
/// SystemGuestTests.swift call the same scenarios, so both engines must agree exactly.
enum SystemScenarios {
    /// Runs a multiboot guest and checks its whole COM1 output and the debug-exit value.
    static func expect(_ accel: String, _ guest: String, exitValue: Int32, lines: [String],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--kernel", try SwiftPCProcess.guest(guest)],
                                       file: file, line: line)
        XCTAssertEqual(r.status, (exitValue << 1) | 1, "\(guest): \(r.stderr)\n\(r.stdout)", file: file, line: line)
        XCTAssertEqual(r.stdout, lines.map { $0 + "\r\n" }.joined(), guest, file: file, line: line)
    }

    /// The page faults shared by the PAE and 4-level guests from "WP=1" on (SDM Vol. 3A §4.7):
    /// I/D only with EFER.NXE, P|RSVD for bit 63 without NXE, U/S from CPL 3.
    static func paeStyleFaults(cr2Digits: Int) -> [String] {
        func a(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: cr2Digits - s.count) + s
        }
        return [
            "4 KiB alias: cafe0001",
            "2 MiB alias: cafe0002",
            "WP=0 write to read-only page: 00005a5a",
            "#PF err=00000002 cr2=\(a(0x382010)), fixed",        // not present, write
            "after fix: 0000abcd",
            "#PF err=00000000 cr2=\(a(0xC00010)), fixed",        // not-present PDE, read
            "read through the fixed PDE",
            "#PF err=00000009 cr2=\(a(0x386000)), skipped",      // XD bit reserved while NXE = 0
            "#PF err=00000003 cr2=\(a(0x380020)), skipped",      // CR0.WP: supervisor write, read-only
            "#PF err=00000000 cr2=\(a(0x385000)), skipped",      // fetch, NXE = 0: no I/D
            "#PF err=00000010 cr2=\(a(0x385000)), skipped",      // fetch, NXE = 1: I/D
            "#PF err=00000011 cr2=\(a(0x386000)), skipped",      // fetch from an XD page
            "XD page readable: 000000c3",
            "A/D: pte 00000007, after read 00000027, after write 00000067, pde 00000027, 2 MiB pde 000000e7",
            "to CPL 3",
            "#PF err=00000005 cr2=\(a(0x381000)), skipped",      // user read of a supervisor page
            "#PF err=00000007 cr2=\(a(0x380000)), skipped",      // user write of a read-only page
            "#PF err=00000015 cr2=\(a(0x381000)), skipped",      // user fetch, supervisor page
            "#PF err=00000015 cr2=\(a(0x386000)), skipped",      // user fetch, XD page
            "back at CPL 0",
        ]
    }

    static func paging32WithFourKiBAndFourMiBPages(_ accel: String) throws {
        try expect(accel, "sys-paging32", exitValue: 0x10, lines: [
            "32-bit paging guest",
            "4 KiB alias: cafe0001",
            "4 MiB alias: cafe0004",
            "WP=0 write to read-only page: 00005a5a",
            "#PF err=00000002 cr2=00382010, fixed",
            "after fix: 0000abcd",
            "#PF err=00000000 cr2=00c00010, fixed",
            "read through the fixed PDE",
            "#PF err=00000003 cr2=00380020, skipped",
            "#PF err=00000000 cr2=00385000, skipped",            // no I/D without PAE, even with NXE
            "A/D: pte 00000007, after read 00000027, after write 00000067, pde0 00000027, 4 MiB pde 000000e7",
            "to CPL 3",
            "#PF err=00000005 cr2=00381000, skipped",
            "#PF err=00000007 cr2=00380000, skipped",
            "#PF err=00000005 cr2=00381000, skipped",
            "back at CPL 0",
        ])
    }

    static func paePagingFaultsAndAccessedDirtyBits(_ accel: String) throws {
        try expect(accel, "sys-pae", exitValue: 0x11, lines: ["PAE paging guest"] + paeStyleFaults(cr2Digits: 8))
    }

    static func fourLevelPagingFaultsAndAccessedDirtyBits(_ accel: String) throws {
        try expect(accel, "sys-paging64", exitValue: 0x12, lines: ["4-level paging guest"] + paeStyleFaults(cr2Digits: 16))
    }
}
