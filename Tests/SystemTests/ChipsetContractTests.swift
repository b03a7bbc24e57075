import XCTest

/// The pc board's memory controls through the platform contract (issue 14): the A20 gate
/// (port 0x92, the i8042 output port) and the i440FX PAM write enables, as the
/// chipset-a20-pam guest sees them on each engine. Its exit code has one bit per behaviour
/// (guests/chipset-a20-pam.asm).
final class ChipsetContractTests: XCTestCase {
    static let a20Port92 = 1, a20I8042 = 2, pamBIOS = 4, pamSegment = 8, base = 0x40

    static func run(_ accel: String) throws -> SwiftPCProcess.Result {
        try SwiftPCProcess.run(["run", "--machine", "pc", "--accel", accel, "--stats",
                                "--kernel", try SwiftPCProcess.guest("chipset-a20-pam")])
    }

    static func status(_ bits: Int) -> Int32 { Int32(((base | bits) << 1) | 1) }

    /// The interpreter models both: each gate wraps 1 MiB + x onto x while closed, and a
    /// write-protected shadow area keeps its byte.
    func testInterpreterHonoursA20AndPAM() throws {
        let r = try Self.run("interp")
        XCTAssertEqual(r.status, Self.status(Self.a20Port92 | Self.a20I8042 | Self.pamBIOS | Self.pamSegment), r.stdout + r.stderr)
        XCTAssertEqual(r.stdout.components(separatedBy: "\r\n").prefix(4), [
            "A20 via port 0x92: gate closed wraps at 1 MiB",
            "A20 via the i8042 output port: gate closed wraps at 1 MiB",
            "PAM 0xF0000: write dropped while protected, lands when enabled",
            "PAM 0xE4000: write dropped while protected, lands when enabled",
        ])
        XCTAssertFalse(r.stderr.contains("does not model"), r.stderr)
    }

    /// KVM maps the PAM write enables onto read-only slots, whose write exits it drops; it
    /// has no A20 gate, and says so.
    func testKVMHonoursPAMAndReportsA20AsNotModelled() throws {
        try SwiftPCProcess.requireKVM()
        let r = try Self.run("kvm")
        XCTAssertEqual(r.status, Self.status(Self.pamBIOS | Self.pamSegment), r.stdout + r.stderr)
        XCTAssertEqual(r.stdout.components(separatedBy: "\r\n").prefix(4), [
            "A20 via port 0x92: gate closed does not wrap (A20 not modelled)",
            "A20 via the i8042 output port: gate closed does not wrap (A20 not modelled)",
            "PAM 0xF0000: write dropped while protected, lands when enabled",
            "PAM 0xE4000: write dropped while protected, lands when enabled",
        ])
        let missing = r.stderr.components(separatedBy: "\n").first { $0.contains("does not model:") } ?? ""
        XCTAssertTrue(missing.contains("A20 gate"), r.stderr)
        XCTAssertFalse(missing.contains("shadow-RAM write protection"), r.stderr)
        // The two protected writes ended in the run loop, not on the MMIO bus as strays.
        XCTAssertTrue(r.stderr.contains("writes dropped by shadow-RAM write protection: 2"), r.stderr)
        XCTAssertTrue(r.stderr.contains("unclaimed MMIO accesses: 0"), r.stderr)
    }
}
