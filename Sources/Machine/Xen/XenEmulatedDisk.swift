import Devices
import MachineCore

/// An emulated disk that a Xen HVM machine also offers as a virtual block device, on the same
/// image, as Xen's toolstack does for every `hdX` disk: the guest's PV drivers unplug the
/// emulated twin (XenPlatformPCIDevice) and reach the image through blkfront instead.
struct XenEmulatedDisk {
    let image: DiskImage
    /// The vbd number Xen's toolstack gives the IDE position (xen-doc misc/vbd-interface.txt:
    /// hda-hdd are majors 3 and 22, 64 minors per unit), and the name Linux's blkfront then
    /// gives it (it maps hdX to xvdX: drivers/block/xen-blkfront.c `xen_translate_vdev`).
    let virtualDevice: Int
    let name: String

    /// Linux's IDE majors: channel 0 is 3 (hda, hdb), channel 1 is 22 (hdc, hdd).
    static let ideMajors = [3, 22]
    /// Minors per IDE unit (a disk and its 63 partitions).
    static let ideMinorsPerUnit = 64

    /// hda = 768, hdb = 832, hdc = 5632, hdd = 5696.
    static func ideVirtualDevice(channel: Int, slave: Bool) -> Int {
        ideMajors[channel] << 8 | (slave ? ideMinorsPerUnit : 0)
    }

    static func ideName(channel: Int, slave: Bool) -> String {
        "xvd" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8(2 * channel + (slave ? 1 : 0))))
    }

    /// The ATA disks of `ide` (CD-ROMs are not offered: Xen's blkfront ignores them in HVM).
    static func ideDisks(of ide: PIIX3IDE) -> [XenEmulatedDisk] {
        var disks: [XenEmulatedDisk] = []
        for (index, channel) in [ide.primary, ide.secondary].enumerated() {
            for (drive, slave) in [(channel.master, false), (channel.slave, true)] {
                guard let disk = drive as? ATADisk else { continue }
                disks.append(XenEmulatedDisk(image: disk.image, virtualDevice: ideVirtualDevice(channel: index, slave: slave),
                                             name: ideName(channel: index, slave: slave)))
            }
        }
        return disks
    }
}
