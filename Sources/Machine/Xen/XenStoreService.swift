import Devices
import MachineCore
import Xen

/// The in-process xenstore on its ring (issue 15): the store (Sources/Xen/XenStore) holds the
/// guest's /local/domain/<id> as a toolstack writes it, and its ring page and event channel
/// are published as HVM_PARAM_STORE_PFN / STORE_EVTCHN, which Linux's xenbus reads at boot.
///
/// The store is not thread-safe: every use is under the machine lock, as for a device. The
/// guest's sends arrive on the vCPU thread inside EVTCHNOP_send without it; work the store
/// queues by itself (watch events) is serviced from a timer, which runs under it.
final class XenStoreService {
    /// Guest-physical page of the store ring on a direct boot without special pages: beside
    /// the console's in the reserved BIOS area.
    static let biosAreaStorePage: UInt64 = 0xFD000

    /// Where the ring lives (`biosAreaStorePage` or the board's special page).
    let storePage: UInt64

    let store = XenStore()
    let memory: GuestMemory
    let lock: Lock
    let timers: TimerQueue
    let events: EventChannelTable
    let hypervisor: XenHypervisor
    let memoryKiB: UInt64
    let vcpus: Int
    // Guarded by `lock`.
    private var ring: XenStoreRing?
    private var backendPort: UInt32?
    private var timer: TimerQueue.Handle!
    /// Runs under the machine lock right after the domain's nodes were written (at start and
    /// after a reset): the split devices' backends publish themselves then.
    var onPopulated: (() -> Void)?

    init?(context: BoardContext, hypervisor: XenHypervisor, page: UInt64) {
        guard context.memory.backendPagePointer(page) != nil else { return nil }
        storePage = page
        memory = context.memory
        lock = context.lock
        timers = context.timers
        events = hypervisor.eventChannels
        self.hypervisor = hypervisor
        memoryKiB = context.config.memorySize >> 10
        vcpus = context.config.cpuCount
        timer = timers.makeTimer { [unowned self] in self.serviceLocked() }
    }

    /// Builds the domain's store connection, nodes and channel (at start and after a reset);
    /// `console` names hvc0's page and port for console/ring-ref and console/port.
    func connect(console: (gfn: UInt64, port: UInt32)?) {
        if let old = lock.withLock({ backendPort }) { events.closeBackendPort(old) }
        guard let page = memory.backendPagePointer(storePage),
              let guestPort = try? events.allocUnbound(dom: EventChannelABI.domidSelf, remoteDom: EventChannelABI.domidVMM),
              let port = try? events.bindBackend(toGuestPort: guestPort, handler: { [weak self] _ in self?.guestSignalled() })
        else { return }
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        memory.noteDeviceWrite(physical: storePage, length: 4096)
        let domid = events.domainID
        lock.withLock {
            store.release(domid: domid)
            let connection = store.introduce(domid: domid)
            try? store.populateDomain(XenStoreDomainConfig(
                domid: domid, name: "swiftpc", memoryKiB: memoryKiB, vcpus: vcpus,
                consoleRingGFN: console?.gfn, consolePort: console?.port,
                storeRingGFN: storePage >> 12, storePort: guestPort))
            onPopulated?()
            // The store queued something by itself (a watch event): service it soon, outside
            // the store's operation.
            connection.onOutput = { [unowned self] in
                if !timers.isArmed(timer) { timers.arm(timer, at: timers.clock.now) }
            }
            ring = XenStoreRing(store: store, connection: connection, memory: memory, address: storePage)
            backendPort = port
        }
        hypervisor.setToolstackParam(XenHVMABI.paramStorePFN, storePage >> 12)
        hypervisor.setToolstackParam(XenHVMABI.paramStoreEvtchn, UInt64(guestPort))
    }

    /// For `--stats`: the ring's free-running indices since the last (re)connection, which
    /// count the bytes the store consumed and produced.
    var statisticsLine: String {
        lock.withLock {
            let requests = (try? memory.read32(storePage + UInt64(XenStoreRing.requestConsumerOffset))) ?? 0
            let replies = (try? memory.read32(storePage + UInt64(XenStoreRing.responseProducerOffset))) ?? 0
            return "xenstore: \(requests) bytes of requests read, \(replies) bytes of replies and events written"
                + (ring?.failure.map { "; ring broken: \($0)" } ?? "")
        }
    }

    /// The guest sent on the store's channel (vCPU thread, machine lock not held).
    private func guestSignalled() {
        lock.withLock { serviceLocked() }
    }

    /// Runs the ring once and signals the guest when indices moved; more work waits for the
    /// timer, so one pass stays bounded.
    private func serviceLocked() {
        guard let ring, let backendPort else { return }
        let activity = ring.service()
        if activity.moreWork, !timers.isArmed(timer) { timers.arm(timer, at: timers.clock.now) }
        if activity.notify { events.notifyGuest(fromBackendPort: backendPort) }
    }
}
