import XCTest

/// A running guest moved between KVM and the interpreter many times gives the same output
/// as on either engine alone.
final class MigrationTests: XCTestCase {
    func testGuestSurvivesMovesBetweenKVMAndTheInterpreter() throws {
        try SwiftPCProcess.requireKVM()
        let kernel = try SwiftPCProcess.guest("migrate")
        // The release binary: the debug interpreter needs about 55 s for this guest, too close
        // to the 60-second limit on a loaded machine.
        let binary = LinuxGuestTests.release
        let alone = try SwiftPCProcess.run(binary: binary, ["run", "--accel", "interp", "--kernel", kernel])
        let kvm = try SwiftPCProcess.run(binary: binary, ["run", "--accel", "kvm", "--kernel", kernel])
        let moved = try SwiftPCProcess.run(binary: binary, ["run", "--accel", "kvm", "--migrate-every", "0.01", "--stats", "--kernel", kernel])
        XCTAssertEqual(alone.status, (0x11 << 1) | 1, alone.stderr)
        XCTAssertEqual(kvm.stdout, alone.stdout)
        XCTAssertEqual(moved.status, alone.status, moved.stderr)
        XCTAssertEqual(moved.stdout, alone.stdout)
        XCTAssertTrue(alone.stdout.hasSuffix("step 23 hash 2cc0a9a0\r\n"), alone.stdout)
        // The run really moved: the statistics count the switches.
        let switches = moved.stderr.split(separator: "engine switches: ").dropFirst().first
            .flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
        XCTAssertGreaterThanOrEqual(switches, 4, moved.stderr)
    }

    func testMigrationNeedsKVM() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", "interp", "--migrate-every", "0.01", "--kernel", try SwiftPCProcess.guest("migrate")])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--migrate-every needs --accel kvm"), r.stderr)
    }
}
