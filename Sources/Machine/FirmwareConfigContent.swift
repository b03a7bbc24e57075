import Devices
import MachineCore

/// What the machine tells SeaBIOS through fw_cfg (QEMU docs/specs/fw_cfg.rst; the names are
/// those SeaBIOS src/fw/paravirt.c reads): RAM size, CPU count, no interactive boot menu, the
/// memory map, the ACPI tables with their table-loader script, and the boot order.
enum FirmwareConfigContent {
    /// One `etc/e820` entry: u64 address, u64 length, u32 type, packed (20 bytes).
    static func e820File(memory: GuestMemory) -> [UInt8] {
        var out: [UInt8] = []
        let low = min(memory.size, GuestMemory.lowMemoryLimit)
        var ranges: [(UInt64, UInt64)] = [(0, low)]
        if memory.size > low { ranges.append((0x1_0000_0000, memory.size - low)) }
        for (base, length) in ranges {
            out += le(base, 8) + le(length, 8) + le(UInt64(E820Type.ram.rawValue), 4)
        }
        return out
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
                        bootOrder: [String]) throws(MachineError) {
        fwcfg.setItem(FirmwareConfig.Key.ramSize, integer: memory.size, width: 8)
        fwcfg.setItem(FirmwareConfig.Key.cpuCount, integer: UInt64(cpuCount), width: 2)
        fwcfg.setItem(FirmwareConfig.Key.maxCPUs, integer: UInt64(cpuCount), width: 2)
        // No "Press ESC for boot menu" pause: boot straight away.
        fwcfg.setItem(FirmwareConfig.Key.bootMenu, integer: 0, width: 2)
        // The MADT and MP table describe ISA IRQ0 on IOAPIC pin 2.
        fwcfg.setItem(FirmwareConfig.Key.irq0Override, integer: 1, width: 1)
        try fwcfg.addFile("etc/e820", e820File(memory: memory))
        for file in ACPITables.firmwareConfigFiles() { try fwcfg.addFile(file.name, file.bytes) }
        if !bootOrder.isEmpty {
            try fwcfg.addFile("bootorder", Array((bootOrder.joined(separator: "\n") + "\n").utf8) + [0])
        }
    }

    static func le(_ value: UInt64, _ bytes: Int) -> [UInt8] {
        (0..<bytes).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) }
    }
}
