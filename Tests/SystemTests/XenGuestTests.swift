import Foundation
import XCTest

/// The Xen interface (`--xen`, issue 15) from the command line: a small Xen HVM guest
/// (guests/include/xen-hypercalls.inc) and Debian's kernel as a Xen PVH domU on hvc0.
final class XenGuestTests: XCTestCase {
    func run(_ guest: String, _ options: [String]) throws -> SwiftPCProcess.Result {
        let kernel = try SwiftPCProcess.guest(guest)
        return try SwiftPCProcess.run(["run", "--machine", "pvh"] + options + ["--kernel", kernel], timeout: 60)
    }

    /// CPUID signature, the hypercall page, xen_version, console_io, -ENOSYS and -EINVAL, then
    /// SCHEDOP_shutdown(poweroff): status 0.
    func testAXenGuestCallsThroughTheHypercallPageAndPowersOff() throws {
        let r = try run("xen-poweroff", ["--xen", "--accel", "interp", "--stats"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "xen console_io ok\n")
        XCTAssertTrue(r.stderr.contains("xen 4.17: hypercalls 5 — mmu_update 1, xen_version(0) 1, console_io(0) 1, sched_op(2) 2"), r.stderr)
        XCTAssertTrue(r.stderr.contains("xen hypercalls answered -ENOSYS: 1 — mmu_update 1"), r.stderr)
        XCTAssertTrue(r.stderr.contains("xen domain shutdowns: poweroff by SCHEDOP_shutdown\n"), r.stderr)
    }

    /// A vCPU halted with interrupts off is a vCPU gone down to Xen, and a domain whose vCPUs
    /// are all down is powered off (Xen's hvm_hlt). Without --xen the same guest waits for a
    /// signal (GuestScenarios.sigtermStopsTheMachineWithStatus143).
    func testAGuestHaltedWithInterruptsOffIsPoweredOffUnderXen() throws {
        let r = try SwiftPCProcess.run(["run", "--machine", "pc", "--xen", "--accel", "interp", "--stats", "--serial", "none",
                                        "--bios", try SwiftPCProcess.guest("halt-forever")], timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("xen domain shutdowns: poweroff by halting every vCPU with interrupts off\n"), r.stderr)
    }

    /// --xen-version changes what CPUID and xen_version report alike.
    func testTheVersionOptionReachesCPUIDAndXenVersion() throws {
        let r = try run("xen-poweroff", ["--xen", "--xen-version", "4.5", "--accel", "interp", "--stats"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("xen 4.5: hypercalls 5"), r.stderr)
    }

    /// SCHEDOP_block with interrupts off sleeps until an interrupt is requested (the PIT's
    /// IRQ0, left pending in the 8259), as on Xen; it used to return at once (exit 9).
    func testSchedOpBlockWaitsForAnInterrupt() throws {
        let r = try run("xen-block", ["--xen", "--accel", "interp", "--stats"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("sched_op(1) 1, sched_op(2) 1"), r.stderr)
    }

    func testACrashReportIsItsOwnStatusWithOneLine() throws {
        let r = try run("xen-crash", ["--xen", "--accel", "interp"])
        XCTAssertEqual(r.status, 10)
        XCTAssertEqual(r.stderr, "swiftpc: the guest reported a crash to the hypervisor (SCHEDOP_shutdown: crash)\n")
    }

    /// Without --xen there are no Xen leaves: the guest's first check fails (debug exit 1).
    func testWithoutXenTheGuestFindsNoXen() throws {
        let r = try run("xen-poweroff", ["--accel", "interp"])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    /// --accel auto runs a Xen guest on the interpreter and says why.
    func testAutoPicksTheInterpreterAndSaysWhy() throws {
        let r = try run("xen-poweroff", ["--xen"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("swiftpc: auto chose the interpreter: --xen, and "), r.stderr)
    }

    func testBadXenOptionsGiveOneLineAndStatus2() throws {
        let kernel = try SwiftPCProcess.guest("xen-poweroff")
        for (arguments, needle) in [(["--xen", "--accel", "kvm"], "--xen --accel kvm: "),
                                    (["--xen-version", "4.17"], "--xen-version needs --xen"),
                                    (["--xen", "--xen-version", "4"], "invalid --xen-version '4'"),
                                    (["--xen", "--xen-version", "4.x"], "invalid --xen-version '4.x'"),
                                    (["--disk", "/dev/null,if=xen"], "--disk …,if=xen needs --xen"),
                                    (["--xen", "--disk", "/dev/null,if=scsi"], "invalid --disk option 'if=scsi'"),
                                    (["--xen", "--disk", "/nonexistent/xvda.img,if=xen"], "/nonexistent/xvda.img"),
                                    (["--disk", "/nonexistent/hda.img"], "--machine pvh has no IDE controller")] {
            let r = try SwiftPCProcess.run(["run", "--machine", "pvh"] + arguments + ["--kernel", kernel], timeout: 30)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(needle), "\(arguments): \(r.stderr)")
        }
    }

    /// Debian's kernel as a Xen PVH domU with console=hvc0 only: its messages and the self-test
    /// reach standard output through the Xen console ring (release binary, as LinuxGuestTests).
    func testTheDefaultGuestRunsItsSelfTestAsAXenPVHDomUOnHvc0() throws {
        try LinuxGuestTests.requireDefaultGuest()
        let r = try SwiftPCProcess.run(binary: LinuxGuestTests.release, [
            "run", "--machine", "pvh", "--xen", "--accel", "interp", "--stats", "-m", "256M", "--kernel", LinuxGuestTests.kernel,
            "--initrd", LinuxGuestTests.initrd, "--append", "console=hvc0 swiftpc.selftest",
        ], timeout: 600)
        let context = "stdout tail:\n\(r.stdout.suffix(3000))\nstderr:\n\(r.stderr)"
        XCTAssertEqual(r.status, 0, context)
        for line in ["Hypervisor detected: Xen HVM", "Booting kernel on Xen PVH", "Xen version: 4.17.0-swiftpc",
                     "printk: console [hvc0] enabled", "SWIFTPC-INIT-OK", "SWIFTPC-SELFTEST-DONE"] {
            XCTAssertTrue(r.stdout.contains(line), "'\(line)' missing\n\(context)")
        }
        XCTAssertFalse(r.stdout.contains("console [ttyS0]"), "the UART is not the console")
        let checks = LinuxGuestTests.checks(r.stdout)
        XCTAssertEqual(checks["loop"]?.split(separator: " ").first, "20000", context)
        // The console ring's sends (EVTCHNOP_send) carried the output.
        XCTAssertTrue(r.stderr.contains("event_channel_op(4) "), r.stderr)
        // xenbus read its nodes from the store over the ring.
        let storeLine = r.stderr.split(separator: "\n").first { $0.hasPrefix("xenstore: ") } ?? ""
        let words = storeLine.split(separator: " ")
        XCTAssertGreaterThan(words.count > 7 ? Int(words[1]) ?? 0 : 0, 100, r.stderr)
        XCTAssertGreaterThan(words.count > 7 ? Int(words[6]) ?? 0 : 0, 100, r.stderr)
        XCTAssertFalse(storeLine.contains("broken"), r.stderr)
        // poweroff as on a Xen host: the toolstack's PVH tables have no \_S5, so Linux has no
        // ACPI poweroff and halts; Xen powers off a domain whose vCPUs all halted with
        // interrupts off. No PM1 register and no SCHEDOP_shutdown are involved.
        XCTAssertTrue(r.stdout.contains("ACPI: PM: (supports S0)\r\n"), context)
        XCTAssertTrue(r.stdout.contains("reboot: System halted"), context)
        XCTAssertFalse(r.stderr.contains("sched_op(2)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("xen domain shutdowns: poweroff by halting every vCPU with interrupts off\n"), r.stderr)
    }

    /// Boots Debian's kernel as a Xen PVH domU to its shell on hvc0 (under a PTY), then types
    /// `commands`, waiting for each to finish (a marker the shell computes, so that the echo of
    /// the typed line does not count).
    func bootToTheShell(typing commands: [String] = []) throws -> PTYGuest {
        try LinuxGuestTests.requireDefaultGuest()
        let guest = try PTYGuest(binary: LinuxGuestTests.release, arguments: [
            "run", "--machine", "pvh", "--xen", "--accel", "interp", "-m", "256M", "--kernel", LinuxGuestTests.kernel,
            "--initrd", LinuxGuestTests.initrd, "--append", "console=hvc0 quiet"])
        XCTAssertTrue(guest.waitFor("# ", timeout: 300), "a shell prompt\n\(guest.seen.suffix(2000))")
        for (i, command) in commands.enumerated() {
            guest.type(command + "; echo TYPED-$((\(i) + 1000))\r")
            XCTAssertTrue(guest.waitFor("TYPED-\(i + 1000)", timeout: 60), "'\(command)' ran\n\(guest.seen.suffix(2000))")
        }
        return guest
    }

    /// SIGTERM asks a Xen guest to power off through xenstore (control/shutdown), as `xl
    /// shutdown` does: Linux's control driver runs the kernel's poweroff_cmd (the initramfs's
    /// script says so), the guest halts, and swiftpc ends with status 0.
    func testSIGTERMAsksTheXenGuestToPowerOffCleanly() throws {
        let guest = try bootToTheShell()
        let start = Date()
        kill(guest.process.processIdentifier, SIGTERM)
        XCTAssertEqual(guest.waitForExit(timeout: 60), 0, "the guest powered off\n\(guest.seen.suffix(2000))")
        XCTAssertLessThan(Date().timeIntervalSince(start), 9, "well before the forced stop")
        XCTAssertTrue(guest.seen.contains("swiftpc: SIGTERM: asked the Xen guest to power off"), guest.seen)
        XCTAssertTrue(guest.seen.contains("swiftpc initramfs: the host asked for a poweroff, powering off"), guest.seen)
        XCTAssertTrue(guest.seen.contains("reboot: System halted"), guest.seen)
    }

    /// A guest that ignores the request is stopped by force after the bound (10 s)...
    func testAXenGuestThatIgnoresTheRequestIsStoppedAfterTenSeconds() throws {
        let guest = try bootToTheShell(typing: ["echo /bin/true > /proc/sys/kernel/poweroff_cmd"])
        let start = Date()
        kill(guest.process.processIdentifier, SIGTERM)
        XCTAssertEqual(guest.waitForExit(timeout: 60), 128 + SIGTERM, guest.seen)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(elapsed, 9.5, "the guest had its 10 s")
        XCTAssertLessThan(elapsed, 20)
        XCTAssertFalse(guest.seen.contains("reboot: System halted"), guest.seen)
    }

    /// ...or at once by a second SIGTERM.
    func testASecondSIGTERMStopsTheXenGuestAtOnce() throws {
        let guest = try bootToTheShell(typing: ["echo /bin/true > /proc/sys/kernel/poweroff_cmd"])
        kill(guest.process.processIdentifier, SIGTERM)
        XCTAssertTrue(guest.waitFor("asked the Xen guest to power off", timeout: 10), guest.seen)
        usleep(500_000)
        XCTAssertTrue(guest.process.isRunning, "the first SIGTERM only asked")
        let start = Date()
        kill(guest.process.processIdentifier, SIGTERM)
        XCTAssertEqual(guest.waitForExit(timeout: 30), 128 + SIGTERM, guest.seen)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
    }

    /// A Xen guest with no control driver (no control/feature-poweroff) cannot be asked: SIGTERM
    /// stops it at once, as any guest.
    func testSIGTERMStopsAXenGuestWithoutAControlDriverAtOnce() throws {
        let process = Process()
        process.executableURL = SwiftPCProcess.binary
        process.arguments = ["run", "--machine", "pvh", "--xen", "--accel", "interp", "--serial", "none",
                             "--kernel", try SwiftPCProcess.guest("spin64")]
        try process.run()
        usleep(500_000)
        XCTAssertTrue(process.isRunning)
        let start = Date()
        process.terminate()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGTERM)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    /// Keyboard input reaches the shell on hvc0 through the console ring's `in` side, and a
    /// guest reboot ends swiftpc with status 8 under --no-reboot: Linux's PVH restart is
    /// SCHEDOP_shutdown(reboot) (arch/x86/xen/enlighten_hvm.c, xen_emergency_restart).
    func testTypingIntoTheShellOnHvc0WorksAndRebootEndsTheRun() throws {
        let seen = try LinuxGuestTests.typeIntoTheShellAndReboot(["--machine", "pvh", "--xen", "--stats", "--append", "console=hvc0 quiet"])
        XCTAssertTrue(seen.contains("sched_op(2) 1,"), String(seen.suffix(2000)))
        XCTAssertTrue(seen.contains("xen domain shutdowns: reboot by SCHEDOP_shutdown"), String(seen.suffix(2000)))
    }

    // MARK: PVHVM on the pc board

    /// SeaBIOS → SYSLINUX → Debian's kernel from the IDE image (guest-images/boot-disk.img, whose
    /// self-test lists the PCI functions and the disks it finds), with `--xen` or without.
    func bootTheDiskThroughSeaBIOS(xen: Bool) throws -> (SwiftPCProcess.Result, [String: String], String) {
        let disk = FirmwareBootTests.image("boot-disk.img")
        try LinuxGuestTests.requireDefaultGuest()
        guard FileManager.default.fileExists(atPath: disk) else {
            let why = "\(disk) is missing: run scripts/setup.sh"
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail(why) }
            throw XCTSkip(why)
        }
        let r = try SwiftPCProcess.run(binary: LinuxGuestTests.release, ["run"] + (xen ? ["--xen"] : []) + [
            "--accel", "interp", "-m", "256M", "--disk", "\(disk),readonly", "--stats"], timeout: 600)
        let context = "stdout tail:\n\(r.stdout.suffix(4000))\nstderr:\n\(r.stderr)"
        XCTAssertEqual(r.status, 0, context)
        XCTAssertTrue(r.stdout.contains("SYSLINUX"), "SeaBIOS handed over to SYSLINUX\n\(context)")
        XCTAssertTrue(r.stdout.contains("SWIFTPC-SELFTEST-DONE"), context)
        return (r, LinuxGuestTests.checks(r.stdout), context)
    }

    /// A firmware-booted PVHVM guest: Linux finds Xen, unplugs the emulated disks through the
    /// platform device's ports, binds xen-platform-pci (00:03.0), puts its grant table in the
    /// device's BAR1, reads xenstore and writes to hvc0 — the special pages at 0xFEFF8000 —
    /// and its IDE driver then finds no disk, while blkfront finds the same image as xvda
    /// (vbd 768, hda's number).
    func testSeaBIOSBootsAPVHVMGuestThatUnplugsTheIDEDisk() throws {
        let (r, checks, context) = try bootTheDiskThroughSeaBIOS(xen: true)
        for line in ["Hypervisor detected: Xen HVM", "Booting paravirtualized kernel on Xen HVM",
                     "Xen HVM callback vector for event delivery is enabled",
                     "Blkfront and the Xen platform PCI driver have been compiled for this kernel: unplug emulated disks",
                     "xen-platform-pci 0000:00:03.0", "Grant tables using version 1 layout", "Grant table initialized",
                     "SWIFTPC-HVC0-OK"] {
            XCTAssertTrue(r.stdout.contains(line), "'\(line)' missing\n\(context)")
        }
        XCTAssertEqual(checks["hypervisor"], "xen", context)
        XCTAssertTrue(checks["pci"]?.contains("0x5853:0x0001") == true, context)
        XCTAssertEqual(checks["disks"]?.contains("sda"), false, "ata_piix finds no disk after the unplug\n\(context)")
        XCTAssertEqual(checks["disks"], "xvda end", "blkfront finds the boot disk's image\n\(context)")
        XCTAssertTrue(r.stdout.contains("blkfront: xvda: "), context)
        XCTAssertTrue(r.stdout.contains("xvda: xvda1"), "the partition table read through the ring\n\(context)")
        let vbdLine = r.stderr.split(separator: "\n").first { $0.hasPrefix("xvda (xen vbd 768, read-only): ") } ?? ""
        let vbdWords = vbdLine.split(separator: " ")
        XCTAssertGreaterThan(vbdWords.count > 5 ? Int(vbdWords[5]) ?? 0 : 0, 0, "requests served\n\(r.stderr)")
        XCTAssertFalse(r.stdout.contains("[sda]"), context)
        XCTAssertTrue(r.stdout.contains("ata1: PATA"), "the IDE controller itself stays\n\(context)")
        // xenbus talked to the store over its ring.
        let storeLine = r.stderr.split(separator: "\n").first { $0.hasPrefix("xenstore: ") } ?? ""
        let words = storeLine.split(separator: " ")
        XCTAssertGreaterThan(words.count > 7 ? Int(words[1]) ?? 0 : 0, 100, r.stderr)
        XCTAssertFalse(storeLine.contains("broken"), r.stderr)
    }

    /// Without `--xen` the pc board is as before: no Xen CPUID, no platform device, and the
    /// guest's IDE driver finds the disk it booted from.
    func testWithoutXenThePCBoardHasNoPlatformDeviceAndKeepsItsIDEDisk() throws {
        let (r, checks, context) = try bootTheDiskThroughSeaBIOS(xen: false)
        XCTAssertEqual(checks["hypervisor"], "none", context)
        XCTAssertNotNil(checks["pci"], context)
        XCTAssertEqual(checks["pci"]?.contains("0x5853"), false, context)
        XCTAssertEqual(checks["disks"]?.split(separator: " ").first, "sda", context)
        XCTAssertFalse(r.stdout.contains("Xen"), context)
        XCTAssertFalse(r.stdout.contains("SWIFTPC-HVC0-OK"), context)
        XCTAssertFalse(r.stderr.contains("xen"), r.stderr)
    }
}
