import Xen

extension XenStoreService {
    /// Writes `request` into the domain's control/shutdown (XenStore.requestShutdown: only
    /// when the guest announced the feature). The guest's watch on the node fires through the
    /// ring at the store's next service. Any thread; takes the machine lock.
    func requestShutdown(_ request: XenShutdownRequest) -> Bool {
        lock.withLock { store.requestShutdown(request, domid: events.domainID) }
    }
}
