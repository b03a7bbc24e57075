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

    init(context: BoardContext, hypervisor: XenHypervisor, store: XenStoreService) throws(MachineError) {
        var devices: [XenVirtualBlockDevice] = []
        for (index, disk) in context.config.xenDisks.enumerated() {
            let image = try DiskImage(path: disk.path, readOnly: disk.readOnly)
            let backend = XenBlockBackend(storage: image, readOnly: disk.readOnly, memory: context.memory,
                                          grants: hypervisor.grantTable, events: hypervisor.eventChannels)
            devices.append(XenVirtualBlockDevice(backend: backend, virtualDevice: XenVirtualBlockDevice.virtualDevice(index: index),
                                                 name: XenVirtualBlockDevice.name(index: index), path: disk.path,
                                                 store: store.store, domid: hypervisor.domainID))
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
