/// One virtual block device on xenbus: the frontend and backend directories in xenstore and
/// the backend's side of their state machine (Xen blkback `frontend_changed`, xen-doc
/// misc/vbd-interface.txt; facts §2.8–2.9). The backend advertises the disk and waits in
/// InitWait; when the frontend says Initialised it maps the ring and binds the channel
/// (XenBlockBackend) and goes Connected; when the frontend closes, it closes.
///
/// Every method runs under the machine lock (the store's), the watch handler included.
public final class XenVirtualBlockDevice {
    /// Linux's names and numbers for Xen disks (vbd-interface.txt): xvd disk N, N < 16, is
    /// 202:(16·N), numbered (202 << 8) | (N << 4).
    public static let maximumDisks = 16
    public static func virtualDevice(index: Int) -> Int { (202 << 8) | (index << 4) }
    public static func name(index: Int) -> String {
        "xvd" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index)))
    }

    public let backend: XenBlockBackend
    public let virtualDevice: Int
    public let name: String
    /// The image path, for the backend's `params` node.
    public let path: String
    let store: XenStore
    let domid: UInt16
    var frontendPath: String { XenStorePath.home(of: domid).string + "/device/vbd/\(virtualDevice)" }
    var backendPath: String { "/local/domain/0/backend/vbd/\(domid)/\(virtualDevice)" }
    private var watchID: Int?
    /// Why the last connection attempt failed (`--stats`, tests).
    public private(set) var lastFailure: String?

    public init(backend: XenBlockBackend, virtualDevice: Int, name: String, path: String, store: XenStore, domid: UInt16) {
        self.backend = backend
        self.virtualDevice = virtualDevice
        self.name = name
        self.path = path
        self.store = store
        self.domid = domid
    }

    /// Publishes the device as a toolstack does before the guest boots (after the domain's
    /// nodes exist) and watches the frontend's state.
    public func attach() throws(XenStoreError) {
        detach()
        try? store.remove(backendPath)
        let b = backend
        try store.addDevice(domid: domid, kind: "vbd", id: virtualDevice,
                            frontend: [("virtual-device", String(virtualDevice)), ("device-type", "disk")],
                            backend: [("params", path), ("type", "file"), ("mode", b.readOnly ? "r" : "w"),
                                      ("dev", name), ("removable", "0"), ("device-type", "disk"),
                                      ("feature-flush-cache", "1"), ("feature-barrier", "1"),
                                      ("feature-max-indirect-segments", String(BlkifABI.maxIndirectSegments))]
                                      + diskNodes)
        try setBackendState(.initWait)
        watchID = try store.watch(frontendPath + "/state") { [weak self] _, _ in self?.frontendChanged() }
    }

    /// Stops watching and drops the connection (machine reset, before the store is rebuilt).
    public func detach() {
        if let watchID { store.unwatch(watchID) }
        watchID = nil
        backend.disconnect()
    }

    /// What the frontend reads at connect: size in 512-byte sectors, `info` flags, sector size.
    var diskNodes: [(String, String)] {
        [("sectors", String(backend.sectors)), ("info", String(backend.readOnly ? BlkifABI.infoReadOnly : 0)),
         ("sector-size", String(BlkifABI.sectorSize)), ("physical-sector-size", String(BlkifABI.sectorSize))]
    }

    func setBackendState(_ state: XenbusState) throws(XenStoreError) {
        try store.setXenbusState(state, at: backendPath)
    }

    var backendState: XenbusState? { store.xenbusState(at: backendPath) }

    func frontendNode(_ name: String) -> String? { store.readString(frontendPath + "/" + name) }

    /// The frontend's state changed (or the watch was just set).
    func frontendChanged() {
        let state = store.xenbusState(at: frontendPath) ?? .unknown
        switch state {
        case .initialising:
            // A frontend starting over after Closed (module reload, kexec): offer the disk again.
            if backendState == .closed { try? setBackendState(.initWait) }
        case .initialised, .connected:
            guard backendState != .connected else { return }
            if let failure = connect() {
                lastFailure = failure
                backend.disconnect()
                try? store.write(backendPath + "/error", failure)
                try? setBackendState(.closing)
            }
        case .closing:
            backend.disconnect()
            try? setBackendState(.closing)
        case .closed, .unknown:
            backend.disconnect()
            if backendState != .initWait { try? setBackendState(.closed) }
        default:
            break
        }
    }

    /// Maps the frontend's ring and channel and announces the disk; the reason on failure.
    func connect() -> String? {
        if let order = frontendNode("ring-page-order"), order != "0" {
            return "ring-page-order \(order): only one-page rings are served"
        }
        if let proto = frontendNode("protocol"), proto != BlkifABI.protocol64 {
            return "protocol \(proto): only \(BlkifABI.protocol64) is served"
        }
        guard let ringRef = frontendNode("ring-ref").flatMap({ UInt32($0) }) else { return "no valid ring-ref" }
        guard let port = frontendNode("event-channel").flatMap({ UInt32($0) }) else { return "no valid event-channel" }
        do { try backend.connect(ringRef: ringRef, guestPort: port) } catch {
            return "cannot connect ring-ref \(ringRef) / event-channel \(port): \(error)"
        }
        do {
            for (key, value) in diskNodes { try store.write(backendPath + "/" + key, value) }
            try setBackendState(.connected)
        } catch {
            return "cannot write the backend's nodes: \(error)"
        }
        lastFailure = nil
        return nil
    }
}
