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
            debug-exit port 0xf4; 2 for bad arguments or unreadable files; 4 for a triple fault; \
            6 for an engine failure; 8 when the guest resets and --no-reboot was given.
            """)

    @Option(help: "CPU engine: auto (KVM when /dev/kvm works, else the interpreter), kvm, or interp.")
    var accel: String = "auto"

    @Option(name: [.customShort("m"), .customLong("memory")], help: "Guest RAM: MiB, or a size such as 512M or 2G.")
    var memory: String = "256M"

    @Option(help: "Number of vCPUs.")
    var smp: Int = 1

    @Option(help: "Kernel: a Linux bzImage, an ELF vmlinux with a PVH note, or a multiboot v1 image.")
    var kernel: String?

    @Option(help: "Initial ramdisk (Linux, PVH) or comma-separated modules (multiboot).")
    var initrd: String?

    @Option(help: "Kernel command line.")
    var append: String = ""

    @Option(help: "Firmware image mapped below 4 GiB; the CPU starts at its reset vector.")
    var bios: String?

    @Option(help: "Disk image (IDE).")
    var disk: String?

    @Option(help: "CD-ROM image (IDE/ATAPI).")
    var cdrom: String?

    @Option(help: "First serial port: stdio, none, or file:PATH.")
    var serial: String = "stdio"

    @Option(help: "Display: none or sdl.")
    var display: String = "none"

    @Option(help: ArgumentHelp("Write the screen as a PNG to FILE when the machine stops.", valueName: "FILE"))
    var vgaDump: String?

    @Option(help: ArgumentHelp("VGA BIOS served through the VGA's PCI ROM BAR (default with --bios: \(PCMachine.defaultVGABIOS) when present).", valueName: "FILE"))
    var vgaBios: String?

    @Flag(help: "Exit (status 8) instead of resetting when the guest reboots.")
    var noReboot = false

    @Flag(help: "Print run statistics on stderr when the guest stops.")
    var stats = false

    @Option(help: ArgumentHelp("Alternate the vCPU between KVM and the interpreter every SECONDS (testing; guests without interrupts).", valueName: "SECONDS"))
    var migrateEvery: Double?

    /// Runs the machine and returns the process exit status.
    mutating func execute() -> Int32 {
        do {
            let config = try makeConfig()
            let machine = try PCMachine(config: config)
            // Display integration: the SDL window runs on its own thread around run().
            var window: SDLDisplay?
            if display == "sdl" {
                PCMachine.prepareHostThreads()
                let input = ClosureInputSink(key: { machine.hostKey(usage: $0, pressed: $1) },
                                             mouse: { machine.hostMouse(dx: $0, dy: $1, dz: $2, buttons: $3) })
                let sdl = SDLDisplay(vga: machine.vga, lock: machine.lock, control: machine.control, input: input)
                do { try sdl.start() } catch {
                    FileHandleStderr.write("swiftpc: \(error)\n")
                    return ExitStatus.badArguments
                }
                window = sdl
            }
            let outcome = machine.run()
            window?.stop()
            if let vgaDump { try machine.dumpScreen(to: vgaDump) }
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
        guard let accelKind = AccelKind(rawValue: accel) else {
            throw .badConfiguration("invalid --accel '\(accel)': use auto, kvm or interp")
        }
        config.accel = accelKind
        config.memorySize = try MachineConfig.parseMemorySize(memory)
        guard smp == 1 else { throw .badConfiguration("--smp \(smp): only one vCPU is supported so far") }
        config.cpuCount = smp
        config.kernel = kernel
        config.initrd = initrd
        config.commandLine = append
        config.bios = bios
        config.serial = try SerialTarget(parsing: serial)
        config.noReboot = noReboot
        if let migrateEvery {
            guard migrateEvery > 0, migrateEvery.isFinite else { throw .badConfiguration("--migrate-every must be a positive number of seconds") }
            config.migrationInterval = migrateEvery
        }
        if disk != nil || cdrom != nil {
            throw .badConfiguration("--disk and --cdrom are not supported yet: IDE arrives with the PC chipset")
        }
        guard display == "none" || display == "sdl" else {
            throw .badConfiguration("invalid --display '\(display)': use none or sdl")
        }
        config.vgaBIOS = vgaBios
        if vgaBios == nil, bios != nil, FileManager.default.fileExists(atPath: PCMachine.defaultVGABIOS) {
            config.vgaBIOS = PCMachine.defaultVGABIOS
        }
        guard kernel != nil || bios != nil else {
            throw .badConfiguration("nothing to boot: give --kernel FILE or --bios FILE")
        }
        if kernel == nil, initrd != nil { throw .badConfiguration("--initrd needs --kernel") }
        return config
    }
}
