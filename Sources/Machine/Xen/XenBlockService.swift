import Devices
import MachineCore
import Xen

/// The IDE disks' image type serves Xen disks too: the same locking, read-only opening and
/// fsync on flush.
extension DiskImage: XenBlockStorage {}

/// A timer's own handle, for a callback that re-arms it.
private final class TimerSlot { var handle: TimerQueue.Handle? }

/// Limits of `--disk …,if=xen` for the command line.
public enum XenDiskNames {
    public static let maximumCount = XenVirtualBlockDevice.maximumDisks
}

/// The machine's Xen virtual block devices (`--disk PATH,if=xen`): one blkback per image,
/// published in xenstore as xvda, xvdb, … whenever the store builds the domain's nodes (at
/// start and after a reset). Backends serve their rings on the vCPU thread when the guest
/// signals; work one signal leaves over is finished from a timer.
final class XenBlockService {
    let devices: [XenVirtualBlockDevice]
    private var timers: [TimerQueue.Handle] = []
    /// Disks the store could not publish (`--stats`); guarded by the machine lock.
    private var attachFailures: [String] = []

    /// `emulated`: the board's emulated disks, offered on their own images under their Xen
    /// numbers (hda as 768, …; XenEmulatedDisk). The `if=xen` disks then follow them from
    /// xvde, as Xen's toolstack keeps xvda-xvdd for hda-hdd.
    init(context: BoardContext, hypervisor: XenHypervisor, store: XenStoreService,
         emulated: [XenEmulatedDisk] = []) throws(MachineError) {
        var devices: [XenVirtualBlockDevice] = []
        func add(_ image: DiskImage, readOnly: Bool, virtualDevice: Int, name: String) {
            let backend = XenBlockBackend(storage: image, readOnly: readOnly, memory: context.memory,
                                          grants: hypervisor.grantTable, events: hypervisor.eventChannels)
            devices.append(XenVirtualBlockDevice(backend: backend, virtualDevice: virtualDevice, name: name, path: image.path,
                                                 store: store.store, domid: hypervisor.domainID))
        }
        for disk in emulated { add(disk.image, readOnly: disk.image.readOnly, virtualDevice: disk.virtualDevice, name: disk.name) }
        let first = emulated.isEmpty ? 0 : Self.firstIndexAfterEmulatedDisks
        guard context.config.xenDisks.count <= XenVirtualBlockDevice.maximumDisks - first else {
            throw .badConfiguration("at most \(XenVirtualBlockDevice.maximumDisks - first) --disk images with if=xen beside IDE disks")
        }
        for (index, disk) in context.config.xenDisks.enumerated() {
            let image = try DiskImage(path: disk.path, readOnly: disk.readOnly)
            add(image, readOnly: disk.readOnly, virtualDevice: XenVirtualBlockDevice.virtualDevice(index: first + index),
                name: XenVirtualBlockDevice.name(index: first + index))
        }
        self.devices = devices
        let queue = context.timers, lock = context.lock
        for device in devices {
            let backend = device.backend
            // The timer runs under the machine lock; the backend's signal handler does not.
            let slot = TimerSlot()
            let timer = queue.makeTimer { if backend.service(), let again = slot.handle { queue.arm(again, at: queue.clock.now) } }
            slot.handle = timer
            timers.append(timer)
            backend.onMoreWork = { lock.withLock { if !queue.isArmed(timer) { queue.arm(timer, at: queue.clock.now) } } }
        }
        // Under the machine lock, right after the store wrote the domain's nodes.
        store.onPopulated = { [unowned self] in
            attachFailures = []
            for device in self.devices {
                do { try device.attach() } catch { attachFailures.append("\(device.name): \(error)") }
            }
        }
    }

    /// xvda-xvdd stand for the four IDE positions on a machine with emulated disks.
    static let firstIndexAfterEmulatedDisks = 4

    /// `--stats` lines, one per disk.
    var statisticsLines: [String] {
        devices.map { d in
            let s = d.backend.statistics
            var line = "\(d.name) (xen vbd \(d.virtualDevice)\(d.backend.readOnly ? ", read-only" : "")): \(s.requests) requests"
                + " — \(s.reads) reads, \(s.writes) writes, \(s.flushes) flushes, \(s.errors) errors, \(s.unsupported) unsupported;"
                + " \(s.bytesRead >> 10) KiB read, \(s.bytesWritten >> 10) KiB written"
            if let failure = d.backend.failure ?? d.lastFailure { line += "; failed: \(failure)" }
            return line
        } + attachFailures.map { "xen vbd not published: " + $0 }
    }
}
