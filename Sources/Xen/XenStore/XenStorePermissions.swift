/// A node's permissions (xenstore.txt, SET_PERMS; the XenBus wiki, "Permissions"). The first
/// entry names the owner, and its access letter is what every domain not listed further gets;
/// later entries grant a listed domain its own access. The owner and the privileged domain
/// (dom0, the VMM) may always read and write.
public struct XenStorePermissions: Equatable, Sendable, CustomStringConvertible {
    public enum Access: UInt8, Sendable {
        case none = 0x6E   // "n"
        case read = 0x72   // "r"
        case write = 0x77  // "w"
        case both = 0x62   // "b"

        public var canRead: Bool { self == .read || self == .both }
        public var canWrite: Bool { self == .write || self == .both }
    }

    public struct Entry: Equatable, Sendable {
        public var domid: UInt16
        public var access: Access
        public init(_ domid: UInt16, _ access: Access) { self.domid = domid; self.access = access }

        /// The wire form, as GET_PERMS returns it: the letter, then the domid in decimal.
        public var text: String { String(UnicodeScalar(access.rawValue)) + String(domid) }

        /// Parses "b1", "n0", ...: one letter, then a decimal domid 0...65535.
        public init?(text: some Collection<UInt8>) {
            guard let letter = text.first, let access = Access(rawValue: letter) else { return nil }
            let digits = text.dropFirst()
            guard !digits.isEmpty, digits.count <= 5 else { return nil }
            var value = 0
            for d in digits {
                guard d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(d - UInt8(ascii: "0"))
            }
            guard value <= Int(UInt16.max) else { return nil }
            self.init(UInt16(value), access)
        }
    }

    /// Never empty: entry 0 is the owner.
    public private(set) var entries: [Entry]

    public init(owner: UInt16, others: Access = .none, _ extra: [Entry] = []) {
        entries = [Entry(owner, others)] + extra
    }

    /// Nil when `entries` is empty (a node always has an owner).
    public init?(entries: [Entry]) {
        guard !entries.isEmpty else { return nil }
        self.entries = entries
    }

    public var owner: UInt16 {
        get { entries[0].domid }
        set { entries[0].domid = newValue }
    }

    /// What `domid` may do with the node; the privileged domain and the owner may do anything.
    public func access(for domid: UInt16, privileged: Bool) -> Access {
        if privileged || domid == owner { return .both }
        for e in entries.dropFirst() where e.domid == domid { return e.access }
        return entries[0].access
    }

    public var description: String { entries.map(\.text).joined(separator: ",") }
}
