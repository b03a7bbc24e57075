import Devices
import MachineCore

/// The pc board with `--xen`: a Xen HVM machine (PVHVM guests). Xen's platform PCI device
/// (00:03.0) with its unplug ports, wired to the IDE controller, and the special pages for the
/// console and xenstore rings (XenSpecialPages). Without `--xen` none of it exists.
extension PCBoard {
    /// Builds the platform device and connects its unplug requests to the emulated devices:
    /// the IDE disks leave the controller (the CD-ROM stays); the board has no emulated NIC or
    /// NVMe disk, so those requests find nothing to take.
    static func makeXenPlatform(pciBus: PCIBus, portBus: PortIOBus, ide: PIIX3IDE) throws(MachineError) -> XenPlatformPCIDevice {
        let device = XenPlatformPCIDevice(portBus: portBus)
        try device.attach(to: pciBus)
        device.onUnplug = { [unowned ide] request in
            if request.contains(.ideDisks) {
                ide.unplugDisks(keepPrimaryMaster: false)
            } else if request.contains(.auxIDEDisks) {
                ide.unplugDisks(keepPrimaryMaster: true)
            }
        }
        return device
    }

    /// With `--xen`, each IDE disk is also a Xen vbd on the same image (hda as 768, …).
    var xenEmulatedDisks: [XenEmulatedDisk] { xenPlatform == nil ? [] : XenEmulatedDisk.ideDisks(of: ide) }

    /// Memory-map entries the board reserves beyond the PC's own: Xen's special area.
    var reservedRanges: [E820Entry] { xenSpecialPages.map { [$0.reservation] } ?? [] }
}
