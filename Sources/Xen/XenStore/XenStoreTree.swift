/// Who asks: a domain, privileged or not. In swiftpc the VMM is dom0, the privileged domain
/// (xenstored's "control domain"); the guest is an unprivileged domU.
public struct XenStoreCaller: Equatable, Sendable {
    public var domid: UInt16
    public var privileged: Bool
    public init(domid: UInt16, privileged: Bool) { self.domid = domid; self.privileged = privileged }

    public static let dom0 = XenStoreCaller(domid: 0, privileged: true)
    public static func domU(_ domid: UInt16) -> XenStoreCaller { XenStoreCaller(domid: domid, privileged: false) }
}

/// The store's database: a tree of nodes keyed by absolute path, with the permission checks
/// and quotas xenstored applies (xenstore.txt, "Database read, write and permissions
/// operations"). A value type: a transaction works on a copy (copy-on-write, so starting one
/// costs nothing until it writes).
public struct XenStoreTree: Sendable {
    public var quota: XenStoreQuota
    public private(set) var nodes: [XenStorePath: XenStoreNode]
    /// Nodes owned per domain, for the node quota.
    public private(set) var ownedNodes: [UInt16: Int] = [:]
    /// The last generation handed out; every change takes the next one.
    public private(set) var generation: UInt64 = 0

    /// A tree holding only the root, owned by dom0 and unreadable to others (xenstored's "n0").
    public init(quota: XenStoreQuota = .default) {
        self.quota = quota
        nodes = [.root: XenStoreNode(permissions: XenStorePermissions(owner: 0))]
        ownedNodes[0] = 1
    }

    public func node(at path: XenStorePath) -> XenStoreNode? { nodes[path] }

    public var count: Int { nodes.count }

    // MARK: reading

    public func read(_ path: XenStorePath, as caller: XenStoreCaller) throws(XenStoreError) -> [UInt8] {
        try readable(path, as: caller).value
    }

    public func directory(_ path: XenStorePath, as caller: XenStoreCaller) throws(XenStoreError) -> [String] {
        try readable(path, as: caller).children
    }

    public func permissions(_ path: XenStorePath, as caller: XenStoreCaller) throws(XenStoreError) -> XenStorePermissions {
        try readable(path, as: caller).permissions
    }

    /// The node when `caller` may read it. A missing node is ENOENT, unless the nearest node
    /// that exists above it is unreadable: then EACCES, so that a domain cannot probe what it
    /// may not see (as xenstored's errno_from_parents).
    func readable(_ path: XenStorePath, as caller: XenStoreCaller) throws(XenStoreError) -> XenStoreNode {
        guard let node = nodes[path] else {
            let ancestor = nearestExisting(path)
            throw nodes[ancestor]!.permissions.access(for: caller.domid, privileged: caller.privileged).canRead ? .ENOENT : .EACCES
        }
        guard node.permissions.access(for: caller.domid, privileged: caller.privileged).canRead else { throw .EACCES }
        return node
    }

    /// The path itself or its closest ancestor that exists (the root always does).
    func nearestExisting(_ path: XenStorePath) -> XenStorePath {
        var p = path
        while nodes[p] == nil { p = p.parent }
        return p
    }

    // MARK: writing

    /// WRITE: stores `value`, creating the node and any missing parents with empty values.
    public mutating func write(_ path: XenStorePath, value: [UInt8], as caller: XenStoreCaller) throws(XenStoreError) -> XenStoreMutation {
        if !caller.privileged && value.count > quota.valueSize { throw .ENOSPC }
        var m = XenStoreMutation()
        if var node = nodes[path] {
            guard canWrite(node, caller) else { throw .EACCES }
            node.value = value
            node.generation = nextGeneration()
            nodes[path] = node
            m.touched.append(path)
        } else {
            try create(path, as: caller, into: &m)
            nodes[path]!.value = value
        }
        m.events.append(XenStoreEvent(.path(path), permissions: nodes[path]!.permissions))
        return m
    }

    /// MKDIR: makes sure the node exists; an existing node and its value are left alone.
    public mutating func mkdir(_ path: XenStorePath, as caller: XenStoreCaller) throws(XenStoreError) -> XenStoreMutation {
        var m = XenStoreMutation()
        if let node = nodes[path] {
            // Nothing changes, but a domain still learns nothing of a node it may not write.
            guard canWrite(node, caller) else { throw .EACCES }
            return m
        }
        try create(path, as: caller, into: &m)
        m.events.append(XenStoreEvent(.path(path), permissions: nodes[path]!.permissions))
        return m
    }

    /// RM: removes the node and everything below it. A missing node is fine when its parent
    /// exists, ENOENT otherwise (xenstore.txt, RM); the root cannot go (EINVAL).
    public mutating func remove(_ path: XenStorePath, as caller: XenStoreCaller) throws(XenStoreError) -> XenStoreMutation {
        var m = XenStoreMutation()
        guard !path.isRoot else { throw .EINVAL }
        guard let node = nodes[path] else {
            if nodes[path.parent] == nil { throw .ENOENT }
            return m
        }
        guard canWrite(node, caller) else { throw .EACCES }
        // Depth-first over the subtree: bounded by the nodes that exist.
        var stack = [path]
        while let p = stack.popLast() {
            guard let n = nodes.removeValue(forKey: p) else { continue }
            ownedNodes[n.permissions.owner, default: 1] -= 1
            m.touched.append(p)
            for child in n.children { if let c = p.appending(child) { stack.append(c) } }
        }
        let parent = path.parent
        nodes[parent]!.children.removeAll { $0 == path.name }
        nodes[parent]!.generation = nextGeneration()
        m.touched.append(parent)
        m.events.append(XenStoreEvent(.path(path), removedSubtree: true, permissions: node.permissions))
        return m
    }

    /// SET_PERMS: only the owner (or the privileged domain) may change a node's permissions,
    /// and only the privileged domain may give the node to another owner (xenstore.txt,
    /// "Permissions").
    public mutating func setPermissions(_ path: XenStorePath, _ permissions: XenStorePermissions, as caller: XenStoreCaller) throws(XenStoreError) -> XenStoreMutation {
        guard var node = nodes[path] else {
            _ = try readable(path, as: caller)
            throw .ENOENT
        }
        guard caller.privileged || node.permissions.owner == caller.domid else { throw .EACCES }
        if !caller.privileged {
            guard permissions.owner == node.permissions.owner else { throw .EPERM }
            guard permissions.entries.count <= quota.permissionsPerNode else { throw .ENOSPC }
        }
        ownedNodes[node.permissions.owner, default: 1] -= 1
        ownedNodes[permissions.owner, default: 0] += 1
        node.permissions = permissions
        node.generation = nextGeneration()
        nodes[path] = node
        var m = XenStoreMutation()
        m.touched.append(path)
        m.events.append(XenStoreEvent(.path(path), permissions: permissions))
        return m
    }

    // MARK: helpers

    func canWrite(_ node: XenStoreNode, _ caller: XenStoreCaller) -> Bool {
        node.permissions.access(for: caller.domid, privileged: caller.privileged).canWrite
    }

    mutating func nextGeneration() -> UInt64 {
        generation &+= 1
        return generation
    }

    /// Creates `path` and the parents it lacks, with empty values. The new nodes inherit the
    /// permissions of the nearest existing ancestor, which the caller must be allowed to write;
    /// an unprivileged domain owns what it creates (xenstored's construct_node). The domain's
    /// node quota covers all the nodes made at once, so a deep path cannot slip past it.
    mutating func create(_ path: XenStorePath, as caller: XenStoreCaller, into m: inout XenStoreMutation) throws(XenStoreError) {
        var missing: [XenStorePath] = []
        var p = path
        while nodes[p] == nil { missing.append(p); p = p.parent }
        let ancestor = p
        guard canWrite(nodes[ancestor]!, caller) else { throw .EACCES }
        if !caller.privileged && ownedNodes[caller.domid, default: 0] + missing.count > quota.nodesPerDomain { throw .ENOSPC }
        var permissions = nodes[ancestor]!.permissions
        if !caller.privileged { permissions.owner = caller.domid }
        nodes[ancestor]!.children.append(missing.last!.name)
        nodes[ancestor]!.generation = nextGeneration()
        m.touched.append(ancestor)
        for (i, newPath) in missing.enumerated().reversed() {
            let child = i > 0 ? [missing[i - 1].name] : []
            nodes[newPath] = XenStoreNode(permissions: permissions, children: child, generation: nextGeneration())
            m.touched.append(newPath)
        }
        ownedNodes[permissions.owner, default: 0] += missing.count
    }

    /// Puts `node` (or its absence) at `path` as a transaction left it, keeping the ownership
    /// counts right and giving the node a generation of this tree. Used by commit only: the
    /// transaction already checked permissions, and commit checked nothing changed meanwhile.
    mutating func replace(_ path: XenStorePath, with node: XenStoreNode?) {
        if let old = nodes[path] { ownedNodes[old.permissions.owner, default: 1] -= 1 }
        if var node {
            node.generation = nextGeneration()
            ownedNodes[node.permissions.owner, default: 0] += 1
            nodes[path] = node
        } else {
            nodes[path] = nil
        }
    }
}
