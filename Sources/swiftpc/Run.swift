import ArgumentParser
import Display
import Foundation
import Machine
import MachineCore

/// `swiftpc run`: builds a PC from the options and runs it until the guest stops.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Boot a guest.",
        discussion: """
            Exit status: 0 when the guest powers off; (value << 1) | 1 when it writes value to the \
            debug-exit port (0xf4-0xf7, QEMU's isa-debug-exit with iosize=4: a 1-, 2- or 4-byte \
            write at any of the four ports; value is what was written); 2 for bad arguments or unreadable files; 4 for a triple fault; \
            6 for an engine failure; 8 when the guest resets and --no-reboot was given; 10 when a Xen guest \
            (--xen) reports a crash (SCHEDOP_shutdown crash or watchdog).
            """)

    @Option(help: ArgumentHelp("Board: pc (i440FX/PIIX, firmware or --kernel boots, PCI, IDE, VGA) or pvh (a minimal board for --kernel: UART, RTC, PIT/PIC/APICs, ACPI poweroff; no PCI, VGA or IDE).", valueName: "pc|pvh"))
    var machine: String = "pc"

    @Option(help: "CPU engine: auto (KVM when /dev/kvm works and a 10 ms probe finds it faster than the interpreter, else the interpreter; --stats says why), kvm (warns when the probe finds it slower), or interp.")
    var accel: String = "auto"

    @Option(name: [.customShort("m"), .customLong("memory")], help: "Guest RAM: MiB, or a size such as 512M or 2G (at most the host's physical memory).")
    var memory: String = "256M"

    @Flag(help: "Accept -m larger than the host's physical memory (a guest that uses it all can exhaust the host).")
    var allowOvercommit = false

    @Option(help: "Number of vCPUs.")
    var smp: Int = 1

    @Option(help: "Kernel: a Linux bzImage (64- or 32-bit), an ELF vmlinux with a PVH note, or a multiboot v1 or Multiboot2 image (its command line is '<path> <append>').")
    var kernel: String?

    @Option(help: "Initial ramdisk (Linux, PVH) or comma-separated modules (multiboot).")
    var initrd: String?

    @Option(help: "Kernel command line.")
    var append: String = ""

    @Option(help: "Firmware image mapped below 4 GiB; the CPU starts at its reset vector.")
    var bios: String?

    @Option(help: ArgumentHelp("Disk image, raw, opened read-write (append ,readonly to protect it): on the IDE controller (two at most), or with if=xen a Xen virtual block device (xvda, xvdb, … in order; needs --xen). Repeat for more disks.", valueName: "PATH[,readonly][,if=ide|xen]"))
    var disk: [String] = []

    @Option(help: "CD-ROM image (IDE/ATAPI).")
    var cdrom: String?

    @Option(help: ArgumentHelp("Firmware boot order: disk (the default: disks, then the CD) or cdrom (the CD first).", valueName: "disk|cdrom"))
    var boot: String = "disk"

    @Option(help: "First serial port: stdio, none, or file:PATH.")
    var serial: String = "stdio"

    @Option(help: "Display: none or sdl.")
    var display: String = "none"

    @Option(help: ArgumentHelp("Write the firmware's debug output (port 0x402, as SeaBIOS uses it) to FILE.", valueName: "FILE"))
    var firmwareLog: String?

    @Option(help: ArgumentHelp("Write the screen as a PNG to FILE when the machine stops.", valueName: "FILE"))
    var vgaDump: String?

    @Option(help: ArgumentHelp("Write the text-mode screen as text to FILE when the machine stops (nothing in graphics modes).", valueName: "FILE"))
    var vgaDumpText: String?

    @Option(help: ArgumentHelp("VGA BIOS served through the VGA's PCI ROM BAR (default for firmware boots: roms/vgabios-stdvga.bin or Debian's).", valueName: "FILE"))
    var vgaBios: String?

    @Flag(help: "Exit (status 8) instead of resetting when the guest reboots.")
    var noReboot = false

    @Option(help: ArgumentHelp("On the interpreter, translate hot 64-bit code into host code (on) or interpret everything (off).", valueName: "on|off"))
    var jit = "on"

    @Flag(help: "Print run statistics on stderr when the guest stops.")
    var stats = false

    @Flag(help: "Present the Xen hypervisor interface (Xen CPUID leaves, hypercalls, event channels, grant tables, the hvc0 console): the guest runs as a Xen domU with swiftpc as hypervisor and domain 0. On the pc board also Xen's platform PCI device, whose unplug hands the IDE disks to blkfront (xvda, …). Interpreter only on hosts whose KVM lacks KVM_CAP_XEN_HVM. On SIGTERM a guest whose control driver announced control/feature-poweroff is first asked to power off through xenstore (control/shutdown); swiftpc stops it by force if it has not stopped within 10 s, or on a second SIGTERM.")
    var xen = false

    @Option(help: ArgumentHelp("Xen version the interface reports (with --xen; default 4.17).", valueName: "MAJOR.MINOR"))
    var xenVersion: String?

    @Option(help: ArgumentHelp("Alternate the vCPU between KVM and the interpreter every SECONDS (testing; guests without interrupts).", valueName: "SECONDS"))
    var migrateEvery: Double?

    /// Runs the machine and returns the process exit status.
    mutating func execute() -> Int32 {
        do {
            let config = try makeConfig()
            // Building the machine starts host threads: they must inherit the blocked
            // termination signals, or a SIGTERM kills the process instead of reaching the
            // machine's signal thread.
            Machine.prepareHostThreads()
            let machine = try Machine(config: config)
            if let notice = machine.engineNotice { FileHandleStderr.write("swiftpc: \(notice)\n") }
            // Display integration: the SDL window runs on its own thread around run().
            var window: SDLDisplay?
            if display == "sdl", let vga = machine.vga {
                Machine.prepareHostThreads()
                let input = ClosureInputSink(key: { machine.hostKey(usage: $0, pressed: $1) },
                                             mouse: { machine.hostMouse(dx: $0, dy: $1, dz: $2, buttons: $3) })
                let sdl = SDLDisplay(vga: vga, lock: machine.lock, control: machine.control, input: input)
                do { try sdl.start() } catch {
                    FileHandleStderr.write("swiftpc: \(error)\n")
                    return ExitStatus.badArguments
                }
                window = sdl
            }
            let outcome = machine.run()
            window?.stop()
            if let vgaDump { try machine.dumpScreen(to: vgaDump) }
            if let vgaDumpText {
                let text = machine.screenText().map { $0.joined(separator: "\n") + "\n" } ?? ""
                if !FileManager.default.createFile(atPath: vgaDumpText, contents: Data(text.utf8)) {
                    FileHandleStderr.write("swiftpc: --vga-dump-text \(vgaDumpText): cannot write the file\n")
                }
            }
            if stats { FileHandleStderr.write(machine.statisticsReport() + "\n") }
            if let message = outcome.message { FileHandleStderr.write("swiftpc: \(message)\n") }
            return outcome.exitStatus
        } catch {
            FileHandleStderr.write("swiftpc: \(error)\n")
            switch error {
            case .engineFailure: return ExitStatus.engineFailure
            default: return ExitStatus.badArguments
            }
        }
    }

    func makeConfig() throws(MachineError) -> MachineConfig {
        var config = MachineConfig()
        guard let machineKind = MachineKind(rawValue: machine) else {
            throw .badConfiguration("invalid --machine '\(machine)': use " + MachineKind.allCases.map(\.rawValue).joined(separator: " or "))
        }
        config.machine = machineKind
        guard let accelKind = AccelKind(rawValue: accel) else {
            throw .badConfiguration("invalid --accel '\(accel)': use auto, kvm or interp")
        }
        config.accel = accelKind
        config.memorySize = try MachineConfig.parseMemorySize(memory)
        if !allowOvercommit { try HostMemory.check(size: config.memorySize, text: memory) }
        guard smp == 1 else { throw .badConfiguration("--smp \(smp): only one vCPU is supported so far") }
        config.cpuCount = smp
        config.kernel = kernel
        config.initrd = initrd
        config.commandLine = append
        config.bios = bios
        config.serial = try SerialTarget(parsing: serial)
        config.noReboot = noReboot
        config.firmwareLog = firmwareLog
        guard jit == "on" || jit == "off" else { throw .badConfiguration("invalid --jit '\(jit)': use on or off") }
        config.blockTranslation = jit == "on"
        if let xenVersion {
            guard xen else { throw .badConfiguration("--xen-version needs --xen") }
            guard let version = XenInterfaceVersion(parsing: xenVersion) else {
                throw .badConfiguration("invalid --xen-version '\(xenVersion)': use MAJOR.MINOR, such as 4.17")
            }
            config.xen = version
        } else if xen {
            config.xen = .default
        }
        if let migrateEvery {
            guard migrateEvery > 0, migrateEvery.isFinite else { throw .badConfiguration("--migrate-every must be a positive number of seconds") }
            config.migrationInterval = migrateEvery
        }
        let disks = try disk.map { text throws(MachineError) in try DiskSpec(parsing: text) }
        config.disks = disks.filter { $0.interface == .ide }
        config.xenDisks = disks.filter { $0.interface == .xen }
        guard config.disks.count <= 2 else { throw .badConfiguration("at most two IDE --disk images (the primary IDE channel)") }
        guard config.xenDisks.count <= XenDiskNames.maximumCount else {
            throw .badConfiguration("at most \(XenDiskNames.maximumCount) --disk images with if=xen")
        }
        if !config.xenDisks.isEmpty && !xen { throw .badConfiguration("--disk …,if=xen needs --xen") }
        config.cdrom = cdrom
        guard boot == "disk" || boot == "cdrom" else { throw .badConfiguration("invalid --boot '\(boot)': use disk or cdrom") }
        config.bootFromCDROMFirst = boot == "cdrom"
        guard display == "none" || display == "sdl" else {
            throw .badConfiguration("invalid --display '\(display)': use none or sdl")
        }
        if kernel == nil, bios == nil {
            // Boot through the firmware, as a PC does: SeaBIOS from roms/ (scripts/setup.sh
            // copies it there) or from Debian's seabios package.
            guard let found = FirmwareSearch.defaultBIOS() else {
                throw .badConfiguration("nothing to boot: give --kernel FILE or --bios FILE (no roms/bios-256k.bin; run scripts/setup.sh)")
            }
            config.bios = found
        }
        // The VGA BIOS goes with firmware boots (SeaBIOS runs it from the VGA's ROM BAR).
        config.vgaBIOS = vgaBios
        if vgaBios == nil, config.bios != nil, kernel == nil {
            config.vgaBIOS = FirmwareSearch.defaultVGABIOS()
        }
        if kernel == nil, initrd != nil { throw .badConfiguration("--initrd needs --kernel") }
        if machineKind == .pvh {
            for (option, given) in [("--display sdl", display == "sdl"), ("--vga-dump", vgaDump != nil),
                                    ("--vga-dump-text", vgaDumpText != nil)] where given {
                throw .badConfiguration("--machine pvh has no display for \(option); use --machine pc")
            }
            // Firmware is a pc board's: a pvh machine without --kernel is refused by the board.
            if kernel == nil { config.bios = bios; config.vgaBIOS = nil }
        }
        for (option, path) in [("--vga-dump", vgaDump), ("--vga-dump-text", vgaDumpText), ("--firmware-log", firmwareLog)] {
            if let path { try OutputPaths.requireWritable(path, option: option) }
        }
        if case .file(let path) = config.serial { try OutputPaths.requireWritable(path, option: "--serial") }
        return config
    }
}
