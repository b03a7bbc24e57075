/// An open transaction (xenstore.txt, TRANSACTION_START/END). It works on a copy of the tree
/// taken at its start and remembers every node it read or wrote; commit fails with EAGAIN
/// when one of those nodes changed in the store meanwhile (a node's generation moves on
/// every change, including a change to its list of children), else it copies the nodes it
/// wrote into the store and fires their watches then.
struct XenStoreTransaction {
    let id: UInt32
    /// The store as it was at the start, to compare generations with at commit.
    let base: XenStoreTree
    /// The transaction's own view, which its requests read and change.
    var tree: XenStoreTree
    /// Nodes whose state the transaction depends on: read, listed, written or removed.
    var accessed: Set<XenStorePath> = []
    /// Nodes to copy into the store at commit, in the order they were first written.
    var written: [XenStorePath] = []
    var writtenSet: Set<XenStorePath> = []
    /// Watch events, fired only if the commit succeeds.
    var events: [XenStoreEvent] = []

    init(id: UInt32, tree: XenStoreTree) {
        self.id = id; base = tree; self.tree = tree
    }

    mutating func record(_ mutation: XenStoreMutation) {
        for p in mutation.touched {
            accessed.insert(p)
            if writtenSet.insert(p).inserted { written.append(p) }
        }
        events.append(contentsOf: mutation.events)
    }

    /// Nodes read by the transaction, and when one does not exist, the nearest ancestor that
    /// does: its creation would change that ancestor's children.
    mutating func recordRead(_ path: XenStorePath) {
        accessed.insert(path)
        accessed.insert(tree.nearestExisting(path))
    }

    /// EAGAIN when a node the transaction depends on changed in `store` since the start.
    func check(against store: XenStoreTree) throws(XenStoreError) {
        for p in accessed where base.node(at: p)?.generation != store.node(at: p)?.generation {
            throw .EAGAIN
        }
    }

    /// Applies the written nodes to `store` (after `check`). An unprivileged domain's node
    /// quota is checked once more against the store as it is now.
    func commit(into store: inout XenStoreTree, as caller: XenStoreCaller) throws(XenStoreError) {
        try check(against: store)
        if !caller.privileged {
            var delta = 0
            for p in written {
                if store.node(at: p)?.permissions.owner == caller.domid { delta -= 1 }
                if tree.node(at: p)?.permissions.owner == caller.domid { delta += 1 }
            }
            if delta > 0 && store.ownedNodes[caller.domid, default: 0] + delta > store.quota.nodesPerDomain { throw .ENOSPC }
        }
        for p in written { store.replace(p, with: tree.node(at: p)) }
    }
}
