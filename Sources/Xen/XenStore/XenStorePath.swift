/// A validated, absolute xenstore path (xenstore.txt, "Paths"): "/" or "/a/b/c", made only of
/// ASCII letters, digits and `-/_@`, without doubled or trailing slashes, at most
/// XENSTORE_ABS_PATH_MAX (3072) bytes. Relative paths are resolved against the caller's home
/// `/local/domain/<domid>` before they become a `XenStorePath`.
public struct XenStorePath: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// xs_wire.h XENSTORE_ABS_PATH_MAX: longer absolute paths are refused.
    public static let absoluteMax = 3072
    /// xs_wire.h XENSTORE_REL_PATH_MAX: longer relative paths are refused.
    public static let relativeMax = 2048

    public let string: String

    public static let root = XenStorePath(trusted: "/")

    private init(trusted: String) { string = trusted }

    /// Parses an absolute path; nil when it breaks a rule above.
    public init?(_ text: String) {
        guard text.utf8.first == UInt8(ascii: "/"), XenStorePath.isWellFormed(text.utf8, maxLength: XenStorePath.absoluteMax) else { return nil }
        string = text
    }

    /// The home of `domid`'s relative paths (xenstore.txt, "<path>").
    public static func home(of domid: UInt16) -> XenStorePath {
        XenStorePath(trusted: "/local/domain/\(domid)")
    }

    /// Resolves a path as a domain sent it: absolute as is, relative under the domain's home.
    /// Special watch names (`@...`) are refused here; watches handle them apart.
    public static func resolve(_ text: String, for domid: UInt16) -> XenStorePath? {
        let bytes = text.utf8
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "/") { return XenStorePath(text) }
        guard first != UInt8(ascii: "@"), isWellFormed(bytes, maxLength: relativeMax) else { return nil }
        return XenStorePath(home(of: domid).string + "/" + text)
    }

    /// True for the bytes xenstore.txt allows: alphanumerics and `-/_@`.
    static func isPathByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "_"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }

    /// Allowed bytes, not empty, no "//", no trailing "/" (except the root itself).
    static func isWellFormed<C: Collection>(_ bytes: C, maxLength: Int) -> Bool where C.Element == UInt8 {
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        var previousSlash = false
        for b in bytes {
            guard isPathByte(b) else { return false }
            let slash = b == UInt8(ascii: "/")
            if slash && previousSlash { return false }
            previousSlash = slash
        }
        return !previousSlash || bytes.count == 1
    }

    public var isRoot: Bool { string == "/" }

    /// The parent path; the root is its own parent.
    public var parent: XenStorePath {
        guard let slash = string.utf8.lastIndex(of: UInt8(ascii: "/")), !isRoot else { return self }
        if slash == string.utf8.startIndex { return .root }
        return XenStorePath(trusted: String(string[..<slash]))
    }

    /// The last component ("c" of "/a/b/c"); empty for the root.
    public var name: String {
        guard let slash = string.utf8.lastIndex(of: UInt8(ascii: "/")) else { return string }
        return String(string[string.utf8.index(after: slash)...])
    }

    /// The child `name` of this path, if the result is still a valid path.
    public func appending(_ name: String) -> XenStorePath? {
        XenStorePath(isRoot ? "/" + name : string + "/" + name)
    }

    /// xenstore.txt: a path is a child of `ancestor` when they are equal, when the ancestor is
    /// "/", or when "ancestor/" is a prefix of it.
    public func isChild(of ancestor: XenStorePath) -> Bool {
        if ancestor.isRoot || self == ancestor { return true }
        let a = ancestor.string.utf8, s = string.utf8
        return s.count > a.count && s.starts(with: a) && s[s.index(s.startIndex, offsetBy: a.count)] == UInt8(ascii: "/")
    }

    /// Levels between this path and a descendant (0 for itself); nil when not a descendant.
    public func depth(of descendant: XenStorePath) -> Int? {
        guard descendant.isChild(of: self) else { return nil }
        let slashes = { (p: XenStorePath) in p.isRoot ? 0 : p.string.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: "/") ? 1 : 0) } }
        return slashes(descendant) - slashes(self)
    }

    /// The path as `domid` would name it relatively, when it lies under that domain's home.
    public func relative(to domid: UInt16) -> String? {
        let home = XenStorePath.home(of: domid)
        guard self != home, isChild(of: home) else { return nil }
        return String(string.utf8.dropFirst(home.string.utf8.count + 1))!
    }

    public static func < (a: XenStorePath, b: XenStorePath) -> Bool { a.string < b.string }
    public var description: String { string }
}
