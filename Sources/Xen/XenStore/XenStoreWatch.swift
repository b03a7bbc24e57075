/// A watch (xenstore.txt, WATCH): a path or special event, the caller's token, how the path
/// was given (an event on a watch set with a relative path is reported relatively), and an
/// optional depth limit.
public struct XenStoreWatch: Equatable, Sendable {
    public var target: XenStoreWatchTarget
    /// The watched path exactly as the client sent it (UNWATCH must name it the same way).
    public var spelledPath: String
    public var token: String
    public var relative: Bool
    /// Levels below the path that still fire (nil: all).
    public var depth: Int?

    public init(target: XenStoreWatchTarget, spelledPath: String, token: String, relative: Bool, depth: Int? = nil) {
        self.target = target; self.spelledPath = spelledPath; self.token = token; self.relative = relative; self.depth = depth
    }

    /// The path `owner` is told of when `event` happens, or nil when this watch does not fire.
    /// A change fires every watch at or above it; removing a subtree also fires the watches
    /// inside it, each with its own path (xenstore.txt, WATCH_EVENT). A domain hears only of
    /// nodes it may read; the privileged domain hears of everything.
    public func eventPath(for event: XenStoreEvent, owner: XenStoreCaller) -> String? {
        switch (target, event.target) {
        case let (.special(name), .special(happened)):
            // Special events go to privileged watchers (or those SET_PERMS enabled, which
            // swiftpc does not need: its only domU is never told of other domains).
            return owner.privileged && name == happened ? name : nil
        case let (.path(watched), .path(changed)):
            if let permissions = event.permissions, !owner.privileged,
               !permissions.access(for: owner.domid, privileged: false).canRead { return nil }
            let fired: XenStorePath
            if let levels = watched.depth(of: changed) {
                if let depth, levels > depth { return nil }
                fired = changed
            } else if event.removedSubtree && watched.isChild(of: changed) {
                fired = watched
            } else {
                return nil
            }
            if relative, let text = fired.relative(to: owner.domid) { return text }
            return fired.string
        default:
            return nil
        }
    }
}
