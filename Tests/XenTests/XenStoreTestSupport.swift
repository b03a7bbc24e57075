import XCTest
@testable import Xen

/// A store with domain 1 introduced and its initial nodes written, and helpers to talk to it
/// as that domain would through its ring (without the ring: messages in, messages out).
final class XenStoreHarness {
    let store = XenStore()
    let guest: XenStoreConnection
    var nextRequestID: UInt32 = 1

    init(quota: XenStoreQuota = .default, domid: UInt16 = 1) {
        if quota != .default { store.tree.quota = quota }
        guest = store.introduce(domid: domid)
        try! store.populateDomain(XenStoreDomainConfig(domid: domid, name: "guest", memoryKiB: 262144))
    }

    /// Sends one request and returns everything the connection got back (the reply first).
    func send(_ type: XenStoreMessageType, _ strings: [String], value: [UInt8]? = nil, tx: UInt32 = 0) -> [XenStoreMessage] {
        var payload = XenStoreMessage.strings(strings)
        if let value { payload += value }
        return send(XenStoreMessage(type, requestID: nextID(), transactionID: tx, payload: payload))
    }

    func send(_ message: XenStoreMessage) -> [XenStoreMessage] {
        store.handle(message, from: guest)
        return drain()
    }

    func nextID() -> UInt32 { defer { nextRequestID += 1 }; return nextRequestID }

    /// Decodes what is queued for the guest.
    func drain() -> [XenStoreMessage] {
        var bytes = guest.takeOutput(max: Int.max)
        var out: [XenStoreMessage] = []
        while bytes.count >= 16 {
            let len = Int(XenStoreMessage.announcedLength(bytes.prefix(16)))
            out.append(XenStoreMessage.decode(Array(bytes[0..<(16 + len)]))!)
            bytes.removeFirst(16 + len)
        }
        XCTAssertTrue(bytes.isEmpty)
        return out
    }

    /// The reply's payload as text, or "ERROR:<name>" for an error reply.
    func ask(_ type: XenStoreMessageType, _ strings: [String], value: [UInt8]? = nil, tx: UInt32 = 0) -> String {
        describe(send(type, strings, value: value, tx: tx).first!)
    }

    func write(_ path: String, _ value: String, tx: UInt32 = 0) -> String {
        ask(.write, [path], value: Array(value.utf8), tx: tx)
    }

    func describe(_ m: XenStoreMessage) -> String {
        let text = String(decoding: m.payload, as: UTF8.self)
        if m.type == XenStoreMessageType.error.rawValue { return "ERROR:" + text.replacingOccurrences(of: "\0", with: "") }
        return text
    }
}

extension XenStoreMessage {
    var strings: [String] { XenStoreMessage.splitStrings(payload[...]) ?? [] }
}
