import XCTest

/// Virtual-8086 mode: IRET into v86, port I/O through the TSS bitmap, INT n to a DPL-3 gate
/// and back, and #GP for a privileged instruction.
final class V86Tests: XCTestCase {
    static let expected = """
        monitor: IRET to virtual-8086 mode\r
        8086 code in v86 mode\r
        monitor: INT 30 from v86, CS=0800 VM=0001\r
        B\r
        monitor: #GP error=0000 IP=001d\r

        """

    func testInterpreterRunsVirtual8086Code() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", "interp", "--kernel", try SwiftPCProcess.guest("v86")])
        XCTAssertEqual(r.status, (0x18 << 1) | 1, r.stderr)
        XCTAssertEqual(r.stdout, Self.expected)
    }

    func testKVMRunsVirtual8086Code() throws {
        try SwiftPCProcess.requireKVM()
        let r = try SwiftPCProcess.run(["run", "--accel", "kvm", "--kernel", try SwiftPCProcess.guest("v86")])
        if r.status == 6 && r.stderr.contains("emulation failure") {
            // kvm_pvm (a software KVM) cannot emulate the IRET into virtual-8086 mode.
            throw XCTSkip("this host's KVM fails to emulate the entry to virtual-8086 mode: \(r.stderr.prefix(160))")
        }
        XCTAssertEqual(r.status, (0x18 << 1) | 1, r.stderr)
        XCTAssertEqual(r.stdout, Self.expected)
    }
}
