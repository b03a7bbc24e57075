import Foundation
import XCTest

/// The hostile-guest device fuzzer on a budget of about a minute: guests/fuzz-devices.asm
/// throws random port I/O, MMIO, PCI configuration writes (BARs moved anywhere), IDE
/// bus-master DMA with PRD tables pointing anywhere and fw_cfg DMA with lengths up to 4 GiB
/// at the machine, one seed per run, through scripts/fuzz-devices.sh (which runs more:
/// `scripts/fuzz-devices.sh --seeds 1:1000`). Any crash, trap, hang, unexpected exit,
/// exception the guest did not ask for, or file written outside a run's scratch folder fails.
/// Runs the release binary when it exists (as LinuxGuestTests does), else the debug one.
final class DeviceFuzzTests: XCTestCase {
    static let script = SwiftPCProcess.repoRoot.appendingPathComponent("scripts/fuzz-devices.sh").path
    static let release = SwiftPCProcess.repoRoot.appendingPathComponent(".build/release/swiftpc").path

    struct Summary: Equatable {
        var runs = -1, operations = -1, crashes = -1, hangs = -1, faults = -1, unexpected = -1, strayFiles = -1
    }

    /// The figures of the script's last line ("fuzz-devices: runs=R operations=O ...").
    static func summary(_ output: String) -> Summary? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("fuzz-devices: runs=") }) else { return nil }
        var fields: [String: Int] = [:]
        for pair in line.dropFirst("fuzz-devices: ".count).split(separator: " ") {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let n = Int(parts[1]) { fields[String(parts[0])] = n }
        }
        return Summary(runs: fields["runs"] ?? -1, operations: fields["operations"] ?? -1, crashes: fields["crashes"] ?? -1,
                       hangs: fields["hangs"] ?? -1, faults: fields["faults"] ?? -1, unexpected: fields["unexpected"] ?? -1,
                       strayFiles: fields["stray-files"] ?? -1)
    }

    /// Runs seeds 1...`seeds` (`debugSeeds` with the debug binary, ten times slower).
    func fuzz(accel: String, xen: Bool = false, seeds releaseSeeds: Int, debugSeeds: Int, operations: Int,
              timeout: Double) throws {
        _ = try SwiftPCProcess.guest("fuzz-devices")    // skips without nasm
        let hasRelease = FileManager.default.fileExists(atPath: Self.release)
        let binary = hasRelease ? Self.release : SwiftPCProcess.binary.path
        let seeds = hasRelease ? releaseSeeds : debugSeeds
        let r = try SwiftPCProcess.run(binary: "/bin/bash", [
            Self.script, "--accel", accel, "--seeds", "1:\(seeds)", "--ops", "\(operations)", "--jobs", "2",
            "--timeout", "120", "--binary", binary,
        ] + (xen ? ["--xen"] : []), timeout: timeout)
        let report = "\(r.stdout)\n\(r.stderr)"
        print(r.stdout.split(separator: "\n").suffix(12).joined(separator: "\n"))
        guard let figures = Self.summary(r.stdout) else { return XCTFail("no summary line:\n\(report)") }
        XCTAssertEqual(figures, Summary(runs: seeds, operations: seeds * operations, crashes: 0, hangs: 0, faults: 0,
                                        unexpected: 0, strayFiles: 0), report)
        XCTAssertEqual(r.status, 0, report)
    }

    /// The interpreter: every device model in userspace.
    func testInterpreterSurvivesHostileGuests() throws {
        try fuzz(accel: "interp", seeds: 16, debugSeeds: 3, operations: 20000, timeout: 600)
    }

    /// The interpreter with --xen: a quarter of the operations are random Xen hypercalls
    /// (random numbers and sub-ops, argument pointers anywhere) and random writes into the
    /// shared_info, vcpu_info, grant, console and xenstore pages (guests/include/fuzz-xen.inc).
    func testInterpreterWithXenSurvivesHostileGuests() throws {
        try fuzz(accel: "interp", xen: true, seeds: 8, debugSeeds: 2, operations: 20000, timeout: 600)
    }

    /// KVM: the same guest with the in-kernel interrupt controllers and timer.
    func testKVMSurvivesHostileGuests() throws {
        try SwiftPCProcess.requireKVM()
        try fuzz(accel: "kvm", seeds: 2, debugSeeds: 2, operations: 20000, timeout: 300)
    }

    /// The summary parser and the runner's verdicts: a run killed by a signal is a crash, one
    /// that does not exit is a hang (a stand-in binary plays the emulator).
    func testTheRunnerCountsCrashesAndHangs() throws {
        _ = try SwiftPCProcess.guest("fuzz-devices")
        let crash = try SwiftPCProcess.temporaryFile("crashing-swiftpc", contents: Data("#!/bin/sh\nkill -SEGV $$\n".utf8))
        let hang = try SwiftPCProcess.temporaryFile("hanging-swiftpc", contents: Data("#!/bin/sh\nexec sleep 30\n".utf8))
        for path in [crash, hang] { chmod(path, 0o755) }
        let crashed = try SwiftPCProcess.run(binary: "/bin/bash", [Self.script, "--seeds", "1:2", "--ops", "10", "--binary", crash], timeout: 60)
        XCTAssertEqual(Self.summary(crashed.stdout)?.crashes, 2, crashed.stdout + crashed.stderr)
        XCTAssertEqual(crashed.status, 1)
        let hung = try SwiftPCProcess.run(binary: "/bin/bash", [Self.script, "--seeds", "5:1", "--ops", "10", "--timeout", "1", "--binary", hang], timeout: 60)
        XCTAssertEqual(Self.summary(hung.stdout)?.hangs, 1, hung.stdout + hung.stderr)
        XCTAssertEqual(hung.status, 1)
    }

    /// A run that finishes well but creates a file outside its scratch folder fails (the
    /// runner sees file system calls through strace).
    func testTheRunnerCountsFilesWrittenOutsideTheScratchFolder() throws {
        _ = try SwiftPCProcess.guest("fuzz-devices")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else {
            throw XCTSkip("needs strace, which the runner uses to see the files a run writes")
        }
        let stray = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-fuzz-stray-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: stray) }
        let standIn = try SwiftPCProcess.temporaryFile("stray-swiftpc", contents: Data("""
            #!/bin/sh
            seed=$(echo "$*" | sed -n 's/.*fuzz.seed=\\([0-9]*\\).*/\\1/p')
            touch inside-is-fine
            touch \(stray)
            echo "FUZZ done seed=$seed ops=10 port=10"
            exit 99

            """.utf8))
        chmod(standIn, 0o755)
        let r = try SwiftPCProcess.run(binary: "/bin/bash", [Self.script, "--seeds", "3:1", "--ops", "10", "--binary", standIn], timeout: 60)
        XCTAssertEqual(Self.summary(r.stdout), Summary(runs: 1, operations: 10, crashes: 0, hangs: 0, faults: 0, unexpected: 0,
                                                       strayFiles: 1), r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains(stray), r.stdout)
        XCTAssertEqual(r.status, 1)
    }
}
