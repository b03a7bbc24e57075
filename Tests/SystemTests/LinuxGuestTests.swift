import Foundation
import MachineCore
import XCTest

/// The default guest: Debian's kernel and the busybox initramfs that scripts/build-guest-images.sh
/// builds, booted on the interpreter by the release binary (the debug build is far too slow to
/// boot Linux). scripts/setup.sh builds both; without them the tests skip, except in CI.
final class LinuxGuestTests: XCTestCase {
    static let kernel = SwiftPCProcess.repoRoot.appendingPathComponent("guest-images/bzImage").path
    static let initrd = SwiftPCProcess.repoRoot.appendingPathComponent("guest-images/initramfs.cpio.gz").path
    static let release = SwiftPCProcess.repoRoot.appendingPathComponent(".build/release/swiftpc").path

    static func requireDefaultGuest() throws {
        for path in [Self.kernel, Self.initrd, Self.release] where !FileManager.default.fileExists(atPath: path) {
            let why = "\(path) is missing: run scripts/setup.sh (it builds the guest images and the release binary)"
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail(why) }
            throw XCTSkip(why)
        }
    }

    /// Boots with `swiftpc.selftest` on board `machine`: /init runs its checks, prints a line
    /// each and powers off. Returns the run and the checks, having asserted that they passed.
    func bootDefaultGuest(machine: String) throws -> (SwiftPCProcess.Result, [String: String]) {
        try Self.requireDefaultGuest()
        let r = try SwiftPCProcess.run(binary: Self.release, [
            "run", "--machine", machine, "--accel", "interp", "--stats", "-m", "256M", "--kernel", Self.kernel,
            "--initrd", Self.initrd, "--append", "console=ttyS0 quiet swiftpc.selftest",
        ], timeout: 600)
        let checks = Self.checks(r.stdout)
        let context = "stdout tail:\n\(r.stdout.suffix(3000))\nstderr:\n\(r.stderr)"
        XCTAssertEqual(r.status, 0, "poweroff ends swiftpc with status 0\n\(context)")
        XCTAssertTrue(r.stdout.contains("SWIFTPC-INIT-OK"), context)
        XCTAssertTrue(r.stdout.contains("SWIFTPC-SELFTEST-DONE"), context)
        XCTAssertEqual(checks["mounts"], "ok 2", "/proc and /sys mounted")
        XCTAssertEqual(checks["loop"]?.split(separator: " ").first, "20000", "the shell loop ran to its end")
        XCTAssertTrue(r.stderr.contains("machine: \(machine); engine: interp"), r.stderr)
        let guestTime = Double(checks["date"] ?? "") ?? 0
        XCTAssertLessThan(abs(guestTime - Date().timeIntervalSince1970), 60 + r.seconds, "the RTC gave the guest the host's time")
        return (r, checks)
    }

    /// What Linux prints when it finds no way to reach PCI configuration space.
    static let noPCIMessage = "PCI: Fatal: No config space access function found"

    /// The `pvh` board — no PCI, VGA or IDE — boots the same guest to its self-test, and Linux
    /// says it has no PCI bus.
    func testTheDefaultGuestBootsOnThePVHBoardWithoutPCI() throws {
        let (r, _) = try bootDefaultGuest(machine: "pvh")
        XCTAssertTrue(r.stdout.contains(Self.noPCIMessage), "Linux found no PCI bus\n\(r.stdout.suffix(3000))")
    }

    func testTheDefaultGuestBootsAndPassesItsChecks() throws {
        let (r, checks) = try bootDefaultGuest(machine: "pc")
        XCTAssertFalse(r.stdout.contains(Self.noPCIMessage), "the pc board has PCI")
        let numbers = (1...20000).map(String.init).joined(separator: "\n") + "\n"
        XCTAssertEqual(checks["md5"], try Self.hostDigest("md5sum", numbers))
        XCTAssertEqual(checks["sha256"], try Self.hostDigest("sha256sum", numbers))
        XCTAssertEqual(checks["awk"], String(format: "%.6f %.6f %.6f %.6f", 2.0.squareRoot(), exp(1.0), log(10.0), sin(1.0)))

        let flags = Set((checks["flags"] ?? "").split(separator: " ").map(String.init))
        let model = CPUModel.swiftpc
        for feature in Self.linuxFlagNames {
            let advertised = model.cpuid(leaf: feature.leaf, subleaf: 0).register(feature.register) & feature.bit != 0
            XCTAssertEqual(flags.contains(feature.name), advertised,
                           "/proc/cpuinfo flag \(feature.name): the model \(advertised ? "advertises" : "does not advertise") it")
        }
        XCTAssertTrue(r.stderr.contains("unimplemented instructions (#UD raised): 0"), "no unimplemented instruction during the boot\n\(r.stderr)")
        // The interpreter translates 64-bit code by default: most of the boot ran translated.
        let retired = JITSwitchTests.statistic("instructions retired: ", r.stderr)
        let translated = JITSwitchTests.statistic("instructions run as translated code: ", r.stderr)
        XCTAssertGreaterThan(translated, retired / 2, "most of the boot ran as translated code\n\(r.stderr)")
    }

    /// Drives the serial console through a pseudo-terminal as a user would, then reboots the
    /// guest, which ends swiftpc under --no-reboot with status 8.
    func testTypingIntoTheShellWorksAndRebootEndsTheRun() throws {
        try Self.typeIntoTheShellAndReboot(["--append", "console=ttyS0 quiet"])
    }

    /// Boots the default guest with `arguments` added under --no-reboot, types a command into
    /// its shell through a pseudo-terminal, checks the answer, and checks that `reboot -f`
    /// ends swiftpc with status 8. Shared by every console the guest can have (ttyS0, hvc0).
    /// Returns what the terminal showed (standard error included).
    @discardableResult
    static func typeIntoTheShellAndReboot(_ arguments: [String]) throws -> String {
        try requireDefaultGuest()
        let guest = try PTYGuest(binary: release, arguments: [
            "run", "--accel", "interp", "--no-reboot", "-m", "256M", "--kernel", kernel, "--initrd", initrd] + arguments)
        let process = guest.process
        XCTAssertTrue(guest.waitFor("SWIFTPC-INIT-OK", timeout: 300), "boot to /init\n\(guest.seen.suffix(2000))")
        XCTAssertTrue(guest.waitFor("# ", timeout: 60), "a shell prompt\n\(guest.seen.suffix(2000))")
        guest.type("echo $((6*7))\r")
        XCTAssertTrue(guest.waitFor("\n42", timeout: 60), "the shell's answer\n\(guest.seen.suffix(2000))")
        guest.type("reboot -f\r")
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { _ = guest.waitFor("\u{0}", timeout: 0.5) }
        XCTAssertFalse(process.isRunning, "a guest reboot ends swiftpc under --no-reboot")
        if !process.isRunning { XCTAssertEqual(process.terminationStatus, 8, "status 8: reset under --no-reboot\n\(guest.seen.suffix(1500))") }
        _ = guest.waitFor("\u{0}", timeout: 0.5)
        return guest.seen
    }

    static let kernel686 = SwiftPCProcess.repoRoot.appendingPathComponent("guest-images/bzImage-686").path
    static let initrd686 = SwiftPCProcess.repoRoot.appendingPathComponent("guest-images/initramfs-686.cpio.gz").path

    /// Debian's i386 686-pae kernel (no 64-bit entry point) boots to its busybox shell and runs
    /// a command. On the interpreter its xz payload is unpacked on the host and entered through
    /// the PVH entry; 32-bit code is not translated, so this boot is slower than the 64-bit one.
    func testThe32BitDebianKernelBootsToAShell() throws {
        for path in [Self.kernel686, Self.initrd686, Self.release] where !FileManager.default.fileExists(atPath: path) {
            let why = "\(path) is missing: run scripts/setup.sh (it builds the guest images and the release binary)"
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail(why) }
            throw XCTSkip(why)
        }
        let start = Date()
        let guest = try PTYGuest(binary: Self.release, arguments: [
            "run", "--accel", "interp", "--no-reboot", "-m", "256M", "--kernel", Self.kernel686,
            "--initrd", Self.initrd686, "--append", "console=ttyS0 quiet"])
        XCTAssertTrue(guest.waitFor("SWIFTPC-INIT-OK", timeout: 400), "boot to /init\n\(guest.seen.suffix(2000))")
        let booted = Date().timeIntervalSince(start)
        XCTAssertTrue(guest.waitFor("# ", timeout: 60), "a shell prompt\n\(guest.seen.suffix(2000))")
        guest.type("echo $((6*7)) $(uname -m)\r")
        XCTAssertTrue(guest.waitFor("\n42 i686", timeout: 60), "the shell's answer from a 32-bit kernel\n\(guest.seen.suffix(2000))")
        print("32-bit Debian kernel: SWIFTPC-INIT-OK after \(String(format: "%.1f", booted)) s on the interpreter")
        guest.type("poweroff -f\r")
        XCTAssertEqual(guest.waitForExit(timeout: 60), 0, "poweroff ends swiftpc with status 0\n\(guest.seen.suffix(1500))")
    }

    // MARK: helpers

    /// `SWIFTPC-CHECK name value...` lines as name -> value.
    static func checks(_ output: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.hasPrefix("SWIFTPC-CHECK ") else { continue }
            let rest = text.dropFirst("SWIFTPC-CHECK ".count)
            let name = rest.prefix { $0 != " " }
            out[String(name)] = rest.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    static func hostDigest(_ tool: String, _ text: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-digest-\(getpid())")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try hostDigest(tool, file: file.path)
    }

    /// The digest `tool` (md5sum, sha256sum) prints for the file at `path`.
    static func hostDigest(_ tool: String = "md5sum", file path: String) throws -> String {
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        p.arguments = [path]
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    /// CPUID bits and the names Linux shows for them in /proc/cpuinfo
    /// (arch/x86/include/asm/cpufeatures.h naming).
    struct Feature { let leaf: UInt32; let register: Character; let bit: UInt32; let name: String }
    static let linuxFlagNames: [Feature] = {
        let edx1 = ["fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", nil, "sep", "mtrr", "pge", "mca",
                    "cmov", "pat", "pse36", "pn", "clflush", nil, "dts", "acpi", "mmx", "fxsr", "sse", "sse2", "ss", "ht",
                    "tm", "ia64", "pbe"]
        let ecx1 = ["pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est", "tm2", "ssse3", "cid", "sdbg",
                    "fma", "cx16", "xtpr", "pdcm", nil, "pcid", "dca", "sse4_1", "sse4_2", "x2apic", "movbe", "popcnt",
                    "tsc_deadline_timer", "aes", "xsave", nil, "avx", "f16c", "rdrand", "hypervisor"]
        var list: [Feature] = []
        for (i, name) in edx1.enumerated() { if let name { list.append(Feature(leaf: 1, register: "d", bit: 1 << UInt32(i), name: name)) } }
        for (i, name) in ecx1.enumerated() { if let name { list.append(Feature(leaf: 1, register: "c", bit: 1 << UInt32(i), name: name)) } }
        list += [Feature(leaf: 0x8000_0001, register: "d", bit: 1 << 11, name: "syscall"),
                 Feature(leaf: 0x8000_0001, register: "d", bit: 1 << 20, name: "nx"),
                 Feature(leaf: 0x8000_0001, register: "d", bit: 1 << 27, name: "rdtscp"),
                 Feature(leaf: 0x8000_0001, register: "d", bit: 1 << 29, name: "lm"),
                 Feature(leaf: 0x8000_0001, register: "c", bit: 1 << 0, name: "lahf_lm"),
                 Feature(leaf: 0x8000_0001, register: "c", bit: 1 << 5, name: "abm"),
                 Feature(leaf: 7, register: "b", bit: 1 << 3, name: "bmi1"),
                 Feature(leaf: 7, register: "b", bit: 1 << 5, name: "avx2"),
                 Feature(leaf: 7, register: "b", bit: 1 << 8, name: "bmi2"),
                 Feature(leaf: 7, register: "b", bit: 1 << 0, name: "fsgsbase")]
        return list
    }()
}

extension CPUIDResult {
    func register(_ r: Character) -> UInt32 {
        switch r {
        case "a": return eax
        case "b": return ebx
        case "c": return ecx
        default: return edx
        }
    }
}
