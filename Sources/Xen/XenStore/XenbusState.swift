/// The states of a split device's two ends (io/xenbus.h, `enum xenbus_state`). Each end
/// writes its own in its `state` node and watches the other's: the backend goes InitWait,
/// the frontend publishes its rings and goes Initialised, the backend maps them and goes
/// Connected, and Closing/Closed tear the pair down.
public enum XenbusState: Int, Sendable {
    case unknown = 0
    case initialising = 1
    case initWait = 2
    case initialised = 3
    case connected = 4
    case closing = 5
    case closed = 6
    case reconfiguring = 7
    case reconfigured = 8

    /// The state node's text ("4"), as xenbus writes it.
    public var text: String { String(rawValue) }
}

extension XenStore {
    /// The state a device end published at `directory`/state; nil when the node is missing or
    /// holds no known state (a guest may write anything there).
    public func xenbusState(at directory: String) -> XenbusState? {
        guard let text = readString(directory + "/state"), text.utf8.count <= 3, let v = Int(text) else { return nil }
        return XenbusState(rawValue: v)
    }

    public func setXenbusState(_ state: XenbusState, at directory: String) throws(XenStoreError) {
        try write(directory + "/state", state.text)
    }
}
