/// The nodes a toolstack (libxl) writes for a new domain before it boots, which a Linux domU
/// reads: its home /local/domain/<domid> with domid, name, memory/target, the control
/// directory watched by drivers/xen/manage.c, the console, and the device directories that
/// xenbus scans. Permissions follow libxl's two kinds: read-only for the guest (owned by dom0,
/// readable by the domain) and read-write (owned by the domain).
public struct XenStoreDomainConfig: Sendable {
    public var domid: UInt16
    public var name: String
    /// memory/target and memory/static-max, in KiB (the balloon driver's unit).
    public var memoryKiB: UInt64
    public var vcpus: Int
    /// The console ring's frame and event channel, when the VMM serves the PV console.
    public var consoleRingGFN: UInt64?
    public var consolePort: UInt32?
    /// The store's own frame and event channel (store/ring-ref, store/port).
    public var storeRingGFN: UInt64?
    public var storePort: UInt32?

    public init(domid: UInt16, name: String, memoryKiB: UInt64, vcpus: Int = 1,
                consoleRingGFN: UInt64? = nil, consolePort: UInt32? = nil,
                storeRingGFN: UInt64? = nil, storePort: UInt32? = nil) {
        self.domid = domid; self.name = name; self.memoryKiB = memoryKiB; self.vcpus = vcpus
        self.consoleRingGFN = consoleRingGFN; self.consolePort = consolePort
        self.storeRingGFN = storeRingGFN; self.storePort = storePort
    }
}

extension XenStore {
    /// Guest may read, not write: owned by dom0, others none, the domain read.
    static func readOnly(for domid: UInt16) -> XenStorePermissions {
        XenStorePermissions(owner: 0, others: .none, [.init(domid, .read)])
    }

    /// Guest owns it: may read and write (dom0 may anyway).
    static func readWrite(for domid: UInt16) -> XenStorePermissions {
        XenStorePermissions(owner: domid, others: .none)
    }

    func put(_ path: String, _ value: String, _ permissions: XenStorePermissions) throws(XenStoreError) {
        try write(path, value)
        try setPermissions(path, permissions)
    }

    /// Writes a new domain's nodes (as libxl's domain_make and build_post do), replacing any
    /// left from before.
    public func populateDomain(_ config: XenStoreDomainConfig) throws(XenStoreError) {
        let d = config.domid
        let home = XenStorePath.home(of: d).string
        let ro = Self.readOnly(for: d), rw = Self.readWrite(for: d)
        try? remove(home)
        // The parents are dom0's and unreadable to guests (xenstored's default "n0").
        for p in ["/local", "/local/domain", "/local/domain/0", "/local/domain/0/backend"] { try mkdir(p) }
        try put(home, "", ro)
        try put(home + "/domid", String(d), ro)
        try put(home + "/name", config.name, ro)
        try put(home + "/memory", "", ro)
        try put(home + "/memory/target", String(config.memoryKiB), ro)
        try put(home + "/memory/static-max", String(config.memoryKiB), ro)
        try put(home + "/cpu", "", ro)
        for cpu in 0..<max(1, config.vcpus) {
            try put(home + "/cpu/\(cpu)", "", ro)
            try put(home + "/cpu/\(cpu)/availability", "online", ro)
        }
        try put(home + "/device", "", ro)
        // drivers/xen/manage.c watches control/shutdown and control/sysrq, writes the
        // feature-* nodes itself, and clears control/shutdown once it acted on it.
        try put(home + "/control", "", ro)
        try put(home + "/control/shutdown", "", rw)
        try put(home + "/control/sysrq", "", rw)
        try put(home + "/control/feature-poweroff", "", rw)
        try put(home + "/control/feature-reboot", "", rw)
        try put(home + "/control/feature-suspend", "", rw)
        // Linux's xenbus sends RESET_WATCHES when this node says the store understands it.
        try put(home + "/control/platform-feature-xs_reset_watches", "1", ro)
        try put(home + "/control/platform-feature-multiprocessor-suspend", "1", ro)
        for dir in ["data", "drivers", "feature", "attr", "error"] { try put(home + "/" + dir, "", rw) }
        if let gfn = config.storeRingGFN, let port = config.storePort {
            try put(home + "/store", "", ro)
            try put(home + "/store/ring-ref", String(gfn), ro)
            try put(home + "/store/port", String(port), ro)
        }
        if let gfn = config.consoleRingGFN, let port = config.consolePort {
            try put(home + "/console", "", ro)
            try put(home + "/console/ring-ref", String(gfn), ro)
            try put(home + "/console/port", String(port), ro)
            try put(home + "/console/limit", "1048576", ro)
            try put(home + "/console/type", "xenconsoled", ro)
        }
    }

    /// Adds a split device (xenbus's frontend/backend pair, e.g. kind "vbd", id 51712 for
    /// xvda): the frontend directory under the domain's device/ (owned by the domain, read
    /// by the backend's dom0) and the backend directory under
    /// /local/domain/0/backend/<kind>/<domid>/<id> (owned by dom0, read by the domain), each
    /// naming the other, both in XenbusState Initialising (1). Extra entries go into each side.
    public func addDevice(domid: UInt16, kind: String, id: Int,
                          frontend: [(String, String)] = [], backend: [(String, String)] = []) throws(XenStoreError) {
        let fe = XenStorePath.home(of: domid).string + "/device/\(kind)/\(id)"
        let be = "/local/domain/0/backend/\(kind)/\(domid)/\(id)"
        let fePerms = XenStorePermissions(owner: domid, others: .none, [.init(0, .read)])
        let bePerms = Self.readOnly(for: domid)
        try mkdir(XenStorePath.home(of: domid).string + "/device/\(kind)")
        try setPermissions(XenStorePath.home(of: domid).string + "/device/\(kind)", Self.readOnly(for: domid))
        try mkdir("/local/domain/0/backend/\(kind)/\(domid)")
        try put(fe, "", fePerms)
        for (k, v) in [("backend", be), ("backend-id", "0"), ("state", "1")] + frontend { try put(fe + "/" + k, v, fePerms) }
        try put(be, "", bePerms)
        for (k, v) in [("frontend", fe), ("frontend-id", String(domid)), ("online", "1"), ("state", "1")] + backend {
            try put(be + "/" + k, v, bePerms)
        }
    }
}
