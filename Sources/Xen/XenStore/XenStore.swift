/// The in-process xenstore. swiftpc's VMM is both the hypervisor and dom0, so it serves the
/// store itself instead of running xenstored: the guest reaches it through its ring
/// (`XenStoreRing`), the VMM's backends through the dom0 API (XenStore+Dom0.swift) with
/// watches delivered to closures. Not thread-safe: the machine's device lock serializes every
/// caller, as for the other devices.
public final class XenStore {
    public internal(set) var tree: XenStoreTree
    /// Connected (introduced) domains.
    public private(set) var connections: [UInt16: XenStoreConnection] = [:]

    /// A watch set by the VMM itself: fired into a closure instead of a ring.
    struct LocalWatch {
        let id: Int
        let watch: XenStoreWatch
        let handler: (_ path: String, _ token: String) -> Void
    }
    var localWatches: [LocalWatch] = []
    var nextLocalWatchID = 1
    /// Local watch events waiting for delivery: delivered after the operation that caused
    /// them, so a handler may use the store again (its own events queue behind).
    var pendingLocalEvents: [(handler: (String, String) -> Void, path: String, token: String)] = []
    var delivering = false

    public var quota: XenStoreQuota { tree.quota }

    public init(quota: XenStoreQuota = .default) {
        tree = XenStoreTree(quota: quota)
    }

    // MARK: domains

    /// Connects `domid` (xenstored's INTRODUCE): it gets a connection for its ring, and
    /// watchers of "@introduceDomain" hear of it. Introducing a connected domain returns its
    /// existing connection.
    @discardableResult
    public func introduce(domid: UInt16) -> XenStoreConnection {
        if let c = connections[domid] { return c }
        let c = XenStoreConnection(caller: domid == 0 ? .dom0 : .domU(domid))
        connections[domid] = c
        fire([XenStoreEvent(.special("@introduceDomain"), permissions: nil)], from: nil)
        return c
    }

    /// Disconnects `domid` (RELEASE): its watches and transactions go, and watchers of
    /// "@releaseDomain" hear of it. The domain's nodes stay until the VMM removes them.
    public func release(domid: UInt16) {
        guard connections.removeValue(forKey: domid) != nil else { return }
        fire([XenStoreEvent(.special("@releaseDomain"), permissions: nil)], from: nil)
    }

    public func isIntroduced(domid: UInt16) -> Bool { domid == 0 || connections[domid] != nil }

    // MARK: watch delivery

    /// Routes events to every matching watch: ring watches get a WATCH_EVENT queued (their
    /// owner is told through `onOutput` unless it is the requester, whose ring is being
    /// serviced anyway), local watches get their closure called.
    func fire(_ events: [XenStoreEvent], from requester: XenStoreConnection?) {
        guard !events.isEmpty else { return }
        for connection in connections.values {
            var queued = false
            for event in events {
                for w in connection.watches {
                    guard let path = w.eventPath(for: event, owner: connection.caller) else { continue }
                    queued = connection.queue(event: .watchEvent(path: path, token: w.token), limit: quota.pendingOutputBytes) || queued
                }
            }
            if queued && connection !== requester { connection.onOutput?() }
        }
        for event in events {
            for local in localWatches {
                guard let path = local.watch.eventPath(for: event, owner: .dom0) else { continue }
                pendingLocalEvents.append((local.handler, path, local.watch.token))
            }
        }
        deliverLocalEvents()
    }

    func deliverLocalEvents() {
        guard !delivering else { return }
        delivering = true
        defer { delivering = false }
        var i = 0
        while i < pendingLocalEvents.count {
            let e = pendingLocalEvents[i]
            e.handler(e.path, e.token)
            i += 1
        }
        pendingLocalEvents.removeAll()
    }

    // MARK: applying changes

    /// Applies a change on behalf of `connection` (or the VMM): inside the transaction when
    /// `transaction` is set, where its events wait for the commit; on the store otherwise,
    /// where they fire now.
    func mutate(_ connection: XenStoreConnection?, transaction: UInt32,
                _ body: (inout XenStoreTree) throws(XenStoreError) -> XenStoreMutation) throws(XenStoreError) {
        if transaction != 0, let connection {
            guard var t = connection.transactions[transaction] else { throw .ENOENT }
            let m = try body(&t.tree)
            t.record(m)
            connection.transactions[transaction] = t
        } else {
            let m = try body(&tree)
            fire(m.events, from: connection)
        }
    }

    /// Reads on behalf of `connection`, from its transaction's view when `transaction` is set
    /// (and remembers what was read, for the commit's conflict check).
    func inspect<T>(_ connection: XenStoreConnection?, transaction: UInt32, _ path: XenStorePath,
                    _ body: (XenStoreTree) throws(XenStoreError) -> T) throws(XenStoreError) -> T {
        if transaction != 0, let connection {
            guard var t = connection.transactions[transaction] else { throw .ENOENT }
            t.recordRead(path)
            connection.transactions[transaction] = t
            return try body(t.tree)
        }
        return try body(tree)
    }
}
