/// Asking a guest to shut down cleanly through the store (drivers/xen/manage.c): the guest
/// watches control/shutdown, and on "poweroff" or "reboot" starts an orderly shutdown and
/// clears the node. It announces what it handles by writing "1" to control/feature-poweroff
/// and control/feature-reboot once its watch is set; a toolstack checks that before asking,
/// and forces the domain off otherwise.
public enum XenShutdownRequest: String, Sendable {
    case poweroff
    case reboot
}

extension XenStore {
    /// True once the guest's control driver said it handles `request`.
    public func guestHandles(_ request: XenShutdownRequest, domid: UInt16) -> Bool {
        readString(XenStorePath.home(of: domid).string + "/control/feature-" + request.rawValue) == "1"
    }

    /// Writes the request into the guest's control/shutdown. Returns false (writing nothing)
    /// when the guest has not announced the feature: the caller should force the domain off.
    @discardableResult
    public func requestShutdown(_ request: XenShutdownRequest, domid: UInt16) -> Bool {
        guard guestHandles(request, domid: domid) else { return false }
        return (try? write(XenStorePath.home(of: domid).string + "/control/shutdown", request.rawValue)) != nil
    }
}
