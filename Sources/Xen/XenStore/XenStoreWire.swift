/// The xenstore wire protocol (io/xs_wire.h, xenstore.txt): each message is a 16-byte header
/// `xsd_sockmsg` {type, req_id, tx_id, len} (little-endian u32s) and `len` bytes of payload,
/// at most XENSTORE_PAYLOAD_MAX, usually NUL-terminated strings.
public enum XenStoreMessageType: UInt32, Sendable {
    case control = 0            // XS_CONTROL (formerly XS_DEBUG)
    case directory = 1
    case read = 2
    case getPermissions = 3
    case watch = 4
    case unwatch = 5
    case transactionStart = 6
    case transactionEnd = 7
    case introduce = 8
    case release = 9
    case getDomainPath = 10
    case write = 11
    case mkdir = 12
    case remove = 13            // XS_RM
    case setPermissions = 14
    case watchEvent = 15
    case error = 16
    case isDomainIntroduced = 17
    case resume = 18
    case setTarget = 19
    // 20 was XS_RESTRICT, removed from the protocol.
    case resetWatches = 21
    case directoryPart = 22
}

public struct XenStoreMessage: Equatable, Sendable {
    /// sizeof(struct xsd_sockmsg).
    public static let headerSize = 16
    /// XENSTORE_PAYLOAD_MAX: a longer message in either direction breaks the protocol.
    public static let payloadMax = 4096

    /// The raw type: a request may carry any number, and is answered ENOSYS when unknown.
    public var type: UInt32
    public var requestID: UInt32
    public var transactionID: UInt32
    public var payload: [UInt8]

    public init(type: UInt32, requestID: UInt32 = 0, transactionID: UInt32 = 0, payload: [UInt8] = []) {
        self.type = type; self.requestID = requestID; self.transactionID = transactionID; self.payload = payload
    }

    public init(_ type: XenStoreMessageType, requestID: UInt32 = 0, transactionID: UInt32 = 0, payload: [UInt8] = []) {
        self.init(type: type.rawValue, requestID: requestID, transactionID: transactionID, payload: payload)
    }

    public var knownType: XenStoreMessageType? { XenStoreMessageType(rawValue: type) }

    /// The header and payload as they go on the ring.
    public var encoded: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.headerSize + payload.count)
        for word in [type, requestID, transactionID, UInt32(payload.count)] {
            withUnsafeBytes(of: word.littleEndian) { out.append(contentsOf: $0) }
        }
        out.append(contentsOf: payload)
        return out
    }

    /// The payload length a header announces (bytes 12..<16), from the first 16 bytes.
    static func announcedLength(_ header: some Collection<UInt8>) -> UInt32 {
        word(header, 3)
    }

    static func word(_ bytes: some Collection<UInt8>, _ index: Int) -> UInt32 {
        var v: UInt32 = 0
        var i = bytes.index(bytes.startIndex, offsetBy: index * 4)
        for shift in stride(from: 0, to: 32, by: 8) {
            v |= UInt32(bytes[i]) << UInt32(shift)
            i = bytes.index(after: i)
        }
        return v
    }

    /// Decodes one whole message; nil unless `bytes` is exactly a header and the payload it
    /// announces, within XENSTORE_PAYLOAD_MAX.
    public static func decode(_ bytes: [UInt8]) -> XenStoreMessage? {
        guard bytes.count >= headerSize else { return nil }
        let length = announcedLength(bytes.prefix(headerSize))
        guard length <= UInt32(payloadMax), bytes.count == headerSize + Int(length) else { return nil }
        return XenStoreMessage(type: word(bytes, 0), requestID: word(bytes, 1), transactionID: word(bytes, 2),
                               payload: Array(bytes[headerSize...]))
    }

    // MARK: payload forms (xenstore.txt, "protocol details")

    /// "OK\0", the payload of a success without data.
    public static let ok: [UInt8] = Array("OK".utf8) + [0]

    /// Strings each followed by a NUL ("<foo>|*").
    public static func strings(_ items: [String]) -> [UInt8] {
        var out = [UInt8]()
        for s in items { out.append(contentsOf: s.utf8); out.append(0) }
        return out
    }

    /// Splits a payload of NUL-terminated strings; nil when the last one lacks its NUL or a
    /// string is not UTF-8 (paths and tokens are ASCII).
    public static func splitStrings(_ payload: ArraySlice<UInt8>) -> [String]? {
        guard payload.isEmpty || payload.last == 0 else { return nil }
        var out: [String] = []
        var start = payload.startIndex
        for i in payload.indices where payload[i] == 0 {
            guard let s = String(validating: payload[start..<i], as: UTF8.self) else { return nil }
            out.append(s)
            start = i + 1
        }
        return out
    }

    /// The first NUL-terminated string and what follows its NUL (WRITE's "<path>|<value|>");
    /// nil without a NUL.
    public static func splitFirst(_ payload: [UInt8]) -> (String, ArraySlice<UInt8>)? {
        guard let nul = payload.firstIndex(of: 0),
              let s = String(validating: payload[..<nul], as: UTF8.self) else { return nil }
        return (s, payload[(nul + 1)...])
    }

    /// A reply to `request`: same type, req_id and tx_id (xenstore.txt).
    public func reply(_ payload: [UInt8]) -> XenStoreMessage {
        XenStoreMessage(type: type, requestID: requestID, transactionID: transactionID, payload: payload)
    }

    /// An XS_ERROR reply to `request`: req_id and tx_id copied, the errno's name as payload.
    public func errorReply(_ error: XenStoreError) -> XenStoreMessage {
        XenStoreMessage(.error, requestID: requestID, transactionID: transactionID, payload: error.payload)
    }

    /// An unsolicited WATCH_EVENT: "<epath>\0<token>\0" with req_id and tx_id 0.
    public static func watchEvent(path: String, token: String) -> XenStoreMessage {
        XenStoreMessage(.watchEvent, payload: strings([path, token]))
    }
}
