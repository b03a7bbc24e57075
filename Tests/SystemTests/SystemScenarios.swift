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

    /// SDM Vol. 3A Table 6-5: contributory + contributory and #PF + contributory give #DF
    /// (error code 0); a fault while delivering #DF is a triple fault (exit status 4).
    static func nestedFaultsBecomeDoubleAndTripleFaults(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--kernel", try SwiftPCProcess.guest("sys-nested-faults")])
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertEqual(r.stdout, [
            "nested faults guest",
            "#DF err=00000000 cr2=00000000",   // #GP (non-canonical), #GP gate absent: #NP
            "#DF err=00000000 cr2=00000000",   // #DE, #DE gate absent: #NP
            "#DF err=00000000 cr2=00385000",   // #PF, #PF gate absent: #NP
            "about to triple fault",
        ].map { $0 + "\r\n" }.joined())
        XCTAssertTrue(r.stderr.contains("triple fault"), r.stderr)
    }

    /// The steps this host's KVM gets wrong, expected as the SDM says: a benign #UD with an
    /// absent gate gives #NP alone with error code (6 << 3) | IDT | EXT (§6.13, Table 6-5); a
    /// #PF while reading the #PF gate from a not-present IDT page gives #DF, CR2 = the gate.
    static func nestedFaultsSDMSteps(_ accel: String) throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--kernel", try SwiftPCProcess.guest("sys-nested-faults-sdm")])
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertEqual(r.stdout, [
            "nested faults guest (SDM steps)",
            "#NP err=00000033",
            "#DF err=00000000 cr2=00000000",
            "#DF err=00000000 cr2=00000000",
            "#DF err=00000000 cr2=00385000",
            "#DF err=00000000 cr2=003a0040",
            "about to triple fault",
        ].map { $0 + "\r\n" }.joined())
    }

    /// SYSCALL/SYSRET: CS/SS from STAR, user RFLAGS in R11, SFMASK applied, RCX/R11 back
    /// through SYSRET, one return through IRETQ (SDM Vol. 2B).
    static func syscallSysretRoundTrips(_ accel: String) throws {
        let call = { (n: String, r11: String) in "syscall \(n) r11=\(r11) rflags=00000000 cs=00000008 ss=00000010" }
        try expect(accel, "sys-syscall64", exitValue: 0x13, lines: [
            "syscall guest",
            "to CPL 3 with SYSRET",
            call("00000001", "00000400"), call("00000002", "00000400"), call("00000003", "00000400"),
            call("00000004", "00000400"), call("00000005", "00000400"),
            call("00000064", "00000000"), call("00000065", "00000000"),
            "calls counted: 00000006, user errors: 00000000, sum: 0000001e",
        ])
    }

    /// SYSENTER/SYSEXIT in 32-bit protected mode (SDM Vol. 2B).
    static func sysenterSysexitRoundTrips(_ accel: String) throws {
        let call = { (n: String) in "sysenter \(n) esp=001d0000 cs=00000008 ss=00000010 eflags.if=00000000" }
        try expect(accel, "sys-sysenter", exitValue: 0x14, lines: [
            "sysenter guest",
            "to CPL 3 with SYSEXIT",
            call("00000001"), call("00000002"), call("00000003"), call("00000004"), call("000000ff"),
            "calls counted: 00000004, user errors: 00000000",
        ])
    }

    /// Protected mode back to real mode as software does it (SDM Vol. 3A §9.9.2), a real-mode
    /// INT handler, unreal mode through FS (its 4 GiB limit survives the return and a real-mode
    /// reload), and #GP for an offset beyond the 64 KiB limit DS kept.
    static func protectedToRealModeAndUnrealMode(_ accel: String) throws {
        try expect(accel, "pm-to-real", exitValue: 0x17, lines: [
            "32-bit protected mode",
            "16-bit protected mode",
            "real mode: CS=4000 CR0.PE=00",
            "INT 30 handler in real mode: AL=5a",
            "unreal mode: FS reads 2 MiB: cafebabe",
            "unreal mode: FS writes 2 MiB + 4: 12345678",
            "unreal mode: FS reloaded in real mode, reads 2 MiB: cafebabe",
            "real mode #GP: DS offset 10000 is beyond the 64 KiB limit",
        ])
    }

    /// Data, I/O and instruction breakpoints and RF (guests/sys-debug.asm; SDM Vol. 3B §17.2,
    /// §17.3.1): #DB traps after the access with DR6.Bn, LEN ranges aligned, a REP string
    /// stopped after the iteration that hit (RF = 1 in its frame), one #DB for TF plus a data
    /// breakpoint, R/W = 10 only with CR4.DE, RF = 1 in fault frames and 0 in trap frames.
    static let debugRegisterLines = [
        "debug registers guest",
        "write, LEN 2: count=00000001 dr6=00000001 eip ok rf=00000000",
        "memory after the write: 44112222",
        "read, LEN 4, one byte overlapping: count=00000001 dr6=00000002 eip ok rf=00000000",
        "write, LEN 8, first byte: count=00000001 dr6=00000004 eip ok rf=00000000",
        "rep stosb: count=00000001 dr6=00000001 eip ok rf=00000001",
        "  at the #DB: ecx=0000000a edi-DATA=00000046; after: ecx=00000000 last byte=000000ab",
        "single step + write: count=00000001 dr6=00004001 eip ok rf=00000000",
        "out 0x80 without CR4.DE: count=00000000 dr6=00000000 eip=00000000 rf=00000000",
        "in ax, 0x7f with CR4.DE: count=00000001 dr6=00000008 eip ok rf=00000000",
        "mov eax, dr5 with CR4.DE: #UD count=00000001",
        "#UD frame rf=00000001",
        "#BP frame rf=00000000",
        "instruction breakpoint on a faulting mov es: count=00000001 dr6=00000001 eip ok rf=00000000",
        "#GP count=00000001 #GP frame rf=00000001 es=00000010",
    ]

    static func debugRegisterBreakpointsAndResumeFlag(_ accel: String) throws {
        try expect(accel, "sys-debug", exitValue: 0x19, lines: debugRegisterLines)
    }
}
