/// The VMM's own use of the store, as dom0: its backends write and read nodes directly and
/// hear of changes through closures instead of a ring. Paths are absolute, or relative to
/// /local/domain/0. The VMM is privileged: permissions and quotas do not limit it.
extension XenStore {
    func dom0Path(_ text: String) throws(XenStoreError) -> XenStorePath {
        guard let p = XenStorePath.resolve(text, for: 0) else { throw .EINVAL }
        return p
    }

    public func read(_ path: String) throws(XenStoreError) -> [UInt8] {
        try tree.read(try dom0Path(path), as: .dom0)
    }

    /// The value as text, or nil when the node does not exist or is not UTF-8.
    public func readString(_ path: String) -> String? {
        guard let bytes = try? read(path) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    public func write(_ path: String, _ value: [UInt8]) throws(XenStoreError) {
        let p = try dom0Path(path)
        try mutate(nil, transaction: 0) { t throws(XenStoreError) in try t.write(p, value: value, as: .dom0) }
    }

    public func write(_ path: String, _ value: String) throws(XenStoreError) {
        try write(path, Array(value.utf8))
    }

    public func mkdir(_ path: String) throws(XenStoreError) {
        let p = try dom0Path(path)
        try mutate(nil, transaction: 0) { t throws(XenStoreError) in try t.mkdir(p, as: .dom0) }
    }

    public func remove(_ path: String) throws(XenStoreError) {
        let p = try dom0Path(path)
        try mutate(nil, transaction: 0) { t throws(XenStoreError) in try t.remove(p, as: .dom0) }
    }

    public func directory(_ path: String) throws(XenStoreError) -> [String] {
        try tree.directory(try dom0Path(path), as: .dom0)
    }

    public func permissions(_ path: String) throws(XenStoreError) -> XenStorePermissions {
        try tree.permissions(try dom0Path(path), as: .dom0)
    }

    public func setPermissions(_ path: String, _ permissions: XenStorePermissions) throws(XenStoreError) {
        let p = try dom0Path(path)
        try mutate(nil, transaction: 0) { t throws(XenStoreError) in try t.setPermissions(p, permissions, as: .dom0) }
    }

    /// Watches `path` (or "@introduceDomain"/"@releaseDomain") for the VMM: `handler` gets
    /// the changed path and `token`, once now (as every new watch fires) and after every
    /// change at or below the path. Returns an id for `unwatch`.
    @discardableResult
    public func watch(_ path: String, token: String = "", handler: @escaping (_ path: String, _ token: String) -> Void) throws(XenStoreError) -> Int {
        let target: XenStoreWatchTarget
        if path.utf8.first == UInt8(ascii: "@") {
            guard XenStorePath.isWellFormed(path.utf8, maxLength: XenStorePath.relativeMax) else { throw .EINVAL }
            target = .special(path)
        } else {
            target = .path(try dom0Path(path))
        }
        let id = nextLocalWatchID
        nextLocalWatchID += 1
        let w = XenStoreWatch(target: target, spelledPath: path, token: token, relative: false)
        localWatches.append(LocalWatch(id: id, watch: w, handler: handler))
        pendingLocalEvents.append((handler, path, token))
        deliverLocalEvents()
        return id
    }

    public func unwatch(_ id: Int) {
        localWatches.removeAll { $0.id == id }
    }
}
