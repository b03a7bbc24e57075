import Devices
import MachineCore

/// What the machine tells its guest through fw_cfg (QEMU docs/specs/fw_cfg.rst; the names are
/// those SeaBIOS src/fw/paravirt.c reads): RAM size, CPU count, no interactive boot menu, the
/// memory map, the ACPI tables with their table-loader script, and the boot order. Every boot
/// path serves it, as QEMU does: small test kernels booted with `--kernel` read the CPU count
/// and RAM size here, and a directly booted kernel also finds the kernel items QEMU adds.
enum FirmwareConfigContent {
    /// `etc/e820`: the RAM ranges of the machine's memory map (`E820Map`, the one the kernel
    /// loaders use), each a packed u64 address, u64 length, u32 type (20 bytes). SeaBIOS adds
    /// its own reservations.
    /// `reserved` entries go in too (QEMU's file holds its reserved ranges, such as Xen's
    /// special pages; SeaBIOS copies them into its own map).
    static func e820File(memory: GuestMemory, reserved: [E820Entry] = []) -> [UInt8] {
        (E820Map(memory: memory).entries.filter { $0.type == .ram } + reserved).flatMap {
            littleEndian($0.base, count: 8) + littleEndian($0.size, count: 8) + littleEndian(UInt64($0.type.rawValue), count: 4)
        }
    }

    /// SeaBIOS's `bootorder` file: Open Firmware paths of the boot devices, most preferred
    /// first. The PIIX3 IDE function is 00:01.1; `drive@N` is the channel, `disk@N` the position.
    static func bootOrder(config: MachineConfig) -> [String] {
        let ide = "/pci@i0cf8/*@1,1"
        let disks = config.disks.indices.map { "\(ide)/drive@0/disk@\($0)" }
        let cdrom = config.cdrom == nil ? [] : ["\(ide)/drive@1/disk@0"]
        return config.bootFromCDROMFirst ? cdrom + disks : disks + cdrom
    }

    static func install(into fwcfg: FirmwareConfig, memory: GuestMemory, cpuCount: Int,
                        bootOrder: [String], reserved: [E820Entry] = []) throws(MachineError) {
        fwcfg.setItem(FirmwareConfig.Key.ramSize, integer: memory.size, width: 8)
        fwcfg.setItem(FirmwareConfig.Key.cpuCount, integer: UInt64(cpuCount), width: 2)
        fwcfg.setItem(FirmwareConfig.Key.maxCPUs, integer: UInt64(cpuCount), width: 2)
        // No "Press ESC for boot menu" pause: boot straight away.
        fwcfg.setItem(FirmwareConfig.Key.bootMenu, integer: 0, width: 2)
        // The MADT and MP table describe ISA IRQ0 on IOAPIC pin 2.
        fwcfg.setItem(FirmwareConfig.Key.irq0Override, integer: 1, width: 1)
        try fwcfg.addFile("etc/e820", e820File(memory: memory, reserved: reserved))
        for file in ACPITables.firmwareConfigFiles() { try fwcfg.addFile(file.name, file.bytes) }
        if !bootOrder.isEmpty {
            try fwcfg.addFile("bootorder", Array((bootOrder.joined(separator: "\n") + "\n").utf8) + [0])
        }
    }

    /// The items QEMU adds on a `-kernel` boot (hw/i386/x86-common.c, load_linux): the
    /// command line (with its NUL), the kernel file and the initrd. A bzImage is split as
    /// QEMU splits it: the boot sector and setup code in the setup item, the protected-mode
    /// kernel in the kernel item. Multiboot modules are not an initrd and are not served.
    static func installKernel(into fwcfg: FirmwareConfig, image: KernelImage, initrd: [String],
                              commandLine: String) throws(MachineError) {
        let command = Array(commandLine.utf8) + [0]
        fwcfg.setItem(FirmwareConfig.Key.commandLineSize, integer: UInt64(command.count), width: 4)
        fwcfg.setItem(FirmwareConfig.Key.commandLineData, command)
        var kernel = image.bytes[...]
        if case .bzImage(let header) = image.format, header.kernelOffset <= image.bytes.count {
            let setup = Array(image.bytes[..<header.kernelOffset])
            fwcfg.setItem(FirmwareConfig.Key.setupSize, integer: UInt64(setup.count), width: 4)
            fwcfg.setItem(FirmwareConfig.Key.setupData, setup)
            kernel = image.bytes[header.kernelOffset...]
        }
        fwcfg.setItem(FirmwareConfig.Key.kernelSize, integer: UInt64(kernel.count), width: 4)
        fwcfg.setItem(FirmwareConfig.Key.kernelData, Array(kernel))
        guard image.kind != .multiboot, !initrd.isEmpty else { return }
        var bytes: [UInt8] = []
        for path in initrd { bytes += try ImageFile.contents(path) }
        fwcfg.setItem(FirmwareConfig.Key.initrdSize, integer: UInt64(bytes.count), width: 4)
        fwcfg.setItem(FirmwareConfig.Key.initrdData, bytes)
    }
}
