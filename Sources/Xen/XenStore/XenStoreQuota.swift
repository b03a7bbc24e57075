/// Limits on what one unprivileged domain may make xenstore hold, so that a hostile guest
/// cannot grow the VMM's memory without bound. The defaults are C xenstored's (4.17,
/// xenstored_core.c / xenstored_domain.c): 1000 nodes, 2048-byte entries, 128 watches,
/// 10 open transactions, 5 permission entries per node. Dom0 (the VMM) is not limited by
/// these; its own code bounds what it writes.
public struct XenStoreQuota: Equatable, Sendable {
    /// Nodes a domain may own (ENOSPC beyond).
    public var nodesPerDomain: Int = 1000
    /// Bytes of one value a domain may write (ENOSPC beyond).
    public var valueSize: Int = 2048
    /// Watches a domain may hold (E2BIG beyond, as xenstored answers).
    public var watchesPerDomain: Int = 128
    /// Transactions a domain may have open at once (ENOSPC beyond).
    public var transactionsPerDomain: Int = 10
    /// Permission entries a domain may set on one node (ENOSPC beyond).
    public var permissionsPerNode: Int = 5
    /// Bytes of replies and watch events queued for a domain that has not drained its ring.
    /// Requests wait while replies are queued past this; watch events beyond it are dropped
    /// (xenstore.txt allows spurious watches, and a guest that never reads its ring loses
    /// nothing it would have seen).
    public var pendingOutputBytes: Int = 64 * 1024

    public init() {}

    public static let `default` = XenStoreQuota()
}
