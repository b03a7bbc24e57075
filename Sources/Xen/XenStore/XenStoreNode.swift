/// One node of the store: a value (any bytes, usually short ASCII), its permissions, the names
/// of its children and the generation at which it last changed. A node's generation moves
/// whenever its value, permissions or list of children changes; transactions compare it to
/// find conflicts (as C xenstored does since 4.9).
public struct XenStoreNode: Equatable, Sendable {
    public var value: [UInt8]
    public var permissions: XenStorePermissions
    /// Children in creation order, as xenstored lists them.
    public var children: [String]
    public var generation: UInt64

    public init(value: [UInt8] = [], permissions: XenStorePermissions, children: [String] = [], generation: UInt64 = 0) {
        self.value = value; self.permissions = permissions; self.children = children; self.generation = generation
    }
}

/// What a watch can be set on: a path, or one of the special events xenstored invents
/// ("@introduceDomain", "@releaseDomain": xenstore.txt, WATCH).
public enum XenStoreWatchTarget: Hashable, Sendable {
    case path(XenStorePath)
    case special(String)
}

/// A change that watches hear of: the path that changed, whether the whole subtree went away
/// (then watches below it fire too), and the node's permissions (a domain hears only of what
/// it may read; for a removal, the permissions the node had).
public struct XenStoreEvent: Equatable, Sendable {
    public var target: XenStoreWatchTarget
    public var removedSubtree: Bool
    public var permissions: XenStorePermissions?

    public init(_ target: XenStoreWatchTarget, removedSubtree: Bool = false, permissions: XenStorePermissions?) {
        self.target = target; self.removedSubtree = removedSubtree; self.permissions = permissions
    }
}

/// What one operation changed: the nodes written, created or removed (with the parents whose
/// lists of children changed), and the events to fire.
public struct XenStoreMutation: Equatable, Sendable {
    public var touched: [XenStorePath] = []
    public var events: [XenStoreEvent] = []
    public init() {}
}
