import MachineCore

/// Unplugging the emulated disks, as a Xen HVM host does when the guest's PV drivers ask
/// (xen-doc misc/hvm-emulated-unplug; QEMU xen_platform.c `pci_xen_ide_unplug`): the ATA
/// disks leave their channels, so the guest's IDE driver finds no disk where its block
/// frontend will find the same image; ATAPI CD-ROMs stay. The drives are kept and come back
/// with a machine reset: the next boot's firmware needs its boot disk again, as a rebooted
/// Xen domain gets a fresh device model.
extension PIIX3IDE {
    /// Takes every ATA disk off the controller, or every one but the primary master
    /// (`keepPrimaryMaster`, the protocol's "aux disks"), after writing back what each holds
    /// (QEMU flushes before it unplugs). Returns how many went.
    @discardableResult
    public func unplugDisks(keepPrimaryMaster: Bool) -> Int {
        var count = 0
        for (index, channel) in [primary, secondary].enumerated() {
            for position in [IDEPosition.master, .slave] {
                if keepPrimaryMaster && index == 0 && position == .master { continue }
                guard let disk = channel.drive(at: position) as? ATADisk else { continue }
                _ = disk.image.flush()
                channel.detach(at: position)
                unpluggedDisks.append((disk, index, position))
                count += 1
            }
        }
        return count
    }

    /// The disks an unplug request took away and not yet given back.
    public var unpluggedDiskCount: Int { unpluggedDisks.count }

    /// Puts unplugged disks back where they were (machine reset).
    func replugDisks() {
        for entry in unpluggedDisks {
            guard let channel = channel(entry.channel), channel.drive(at: entry.position) == nil else { continue }
            channel.attach(entry.drive, at: entry.position)
        }
        unpluggedDisks = []
    }
}
