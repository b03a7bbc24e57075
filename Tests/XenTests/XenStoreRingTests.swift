import XCTest
import MachineCore
@testable import Xen

/// The guest's side of a xenstore ring page, written the way Linux's xenbus does.
final class XenStoreRingTests: XCTestCase {
    static let page: UInt64 = 0x10000
    var memory: GuestMemory!
    var store: XenStore!
    var ring: XenStoreRing!

    override func setUp() {
        memory = try! GuestMemory(size: GuestMemory.minimumSize)
        store = XenStore()
        let c = store.introduce(domid: 1)
        try! store.populateDomain(XenStoreDomainConfig(domid: 1, name: "g", memoryKiB: 1024))
        ring = XenStoreRing(store: store, connection: c, memory: memory, address: Self.page)
    }

    func u32(_ offset: Int) -> UInt32 { try! memory.read32(Self.page + UInt64(offset)) }
    func set(_ offset: Int, _ v: UInt32) { try! memory.write32(Self.page + UInt64(offset), v) }

    /// Puts bytes into req at req_prod (as much as the guest may) and moves req_prod.
    @discardableResult
    func produce(_ bytes: [UInt8]) -> Int {
        let cons = u32(XenStoreRing.requestConsumerOffset), prod = u32(XenStoreRing.requestProducerOffset)
        let room = 1024 - Int(prod &- cons)
        let n = min(room, bytes.count)
        for i in 0..<n {
            try! memory.write8(Self.page + UInt64((prod &+ UInt32(i)) & 1023), bytes[i])
        }
        set(XenStoreRing.requestProducerOffset, prod &+ UInt32(n))
        return n
    }

    /// Takes everything in rsp and moves rsp_cons.
    func consume() -> [UInt8] {
        let cons = u32(XenStoreRing.responseConsumerOffset), prod = u32(XenStoreRing.responseProducerOffset)
        var out: [UInt8] = []
        var i = cons
        while i != prod { out.append(try! memory.read8(Self.page + 1024 + UInt64(i & 1023))); i &+= 1 }
        set(XenStoreRing.responseConsumerOffset, prod)
        return out
    }

    func messages(_ bytes: [UInt8]) -> [XenStoreMessage] {
        var rest = bytes[...], out: [XenStoreMessage] = []
        while rest.count >= 16 {
            let len = Int(XenStoreMessage.announcedLength(rest.prefix(16)))
            guard rest.count >= 16 + len, let m = XenStoreMessage.decode(Array(rest.prefix(16 + len))) else { break }
            out.append(m)
            rest = rest.dropFirst(16 + len)
        }
        XCTAssertTrue(rest.isEmpty, "partial message left in rsp")
        return out
    }

    func request(_ type: XenStoreMessageType, _ strings: [String], id: UInt32 = 1) -> [UInt8] {
        XenStoreMessage(type, requestID: id, payload: XenStoreMessage.strings(strings)).encoded
    }

    // MARK: the layout

    func testFeaturesAdvertisedAndConnected() {
        XCTAssertEqual(u32(XenStoreRing.serverFeaturesOffset), 7)
        XCTAssertEqual(u32(XenStoreRing.connectionOffset), 0)
        XCTAssertEqual(XenStoreRing.interfaceSize, 2076)
    }

    func testReadRoundTrip() {
        produce(request(.read, ["domid"], id: 42))
        let a = ring.service()
        XCTAssertTrue(a.notify)
        XCTAssertFalse(a.moreWork)
        XCTAssertEqual(u32(XenStoreRing.requestConsumerOffset), u32(XenStoreRing.requestProducerOffset))
        let replies = messages(consume())
        XCTAssertEqual(replies, [XenStoreMessage(.read, requestID: 42, payload: Array("1".utf8))])
        // Nothing to do: nothing moves, no notification.
        XCTAssertEqual(ring.service(), XenStoreRing.Activity())
    }

    func testRequestArrivingInPiecesAndWrappingIndices() {
        // Free-running indices near 2^32: the byte stream wraps both the counter and the ring.
        for o in [XenStoreRing.requestConsumerOffset, XenStoreRing.requestProducerOffset,
                  XenStoreRing.responseConsumerOffset, XenStoreRing.responseProducerOffset] { set(o, 0xFFFF_FFF0) }
        let bytes = XenStoreMessage(.write, requestID: 3, payload: Array("data/x\0hello".utf8)).encoded
        let full = bytes.count
        var sent = 0
        for chunk in [5, 11, 3] {
            produce(Array(bytes[sent..<(sent + chunk)]))
            sent += chunk
            ring.service()
            XCTAssertEqual(u32(XenStoreRing.requestConsumerOffset), 0xFFFF_FFF0 &+ UInt32(sent))
        }
        XCTAssertEqual(messages(consume()), [])
        produce(Array(bytes[sent..<full]))
        ring.service()
        XCTAssertEqual(messages(consume()).map(\.payload), [XenStoreMessage.ok])
        XCTAssertEqual(store.readString("/local/domain/1/data/x"), "hello")
        XCTAssertEqual(u32(XenStoreRing.requestConsumerOffset), 0xFFFF_FFF0 &+ UInt32(full))
    }

    func testSeveralRequestsInOnePass() {
        produce(request(.write, ["data/a"], id: 1) + request(.read, ["data/a"], id: 2) + request(.directory, ["data"], id: 3))
        ring.service()
        XCTAssertEqual(messages(consume()).map(\.requestID), [1, 2, 3])
    }

    func testRepliesWaitForRoomAndFollowInOrder() {
        // Fill the store with a value near the largest, then ask for it repeatedly: the replies
        // are bigger than rsp, so they go out as the guest makes room.
        try! store.write("/local/domain/1/data/big", [UInt8](repeating: 0x42, count: 2000))
        try! store.setPermissions("/local/domain/1/data/big", XenStorePermissions(owner: 1))
        for id: UInt32 in 1...3 { produce(request(.read, ["data/big"], id: id)) }
        var received: [UInt8] = []
        var rounds = 0
        repeat {
            ring.service()
            let chunk = consume()
            XCTAssertLessThanOrEqual(chunk.count, 1024)
            received += chunk
            rounds += 1
        } while received.count < 3 * (16 + 2000) && rounds < 20
        let replies = messages(received)
        XCTAssertEqual(replies.map(\.requestID), [1, 2, 3])
        XCTAssertTrue(replies.allSatisfy { $0.payload.count == 2000 })
        XCTAssertGreaterThanOrEqual(rounds, 6)
    }

    func testWatchEventsFromTheVMMReachTheRing() {
        var pokes = 0
        ring.connection.onOutput = { pokes += 1 }
        produce(request(.watch, ["control/shutdown", "tok"], id: 5))
        ring.service()
        XCTAssertEqual(messages(consume()).map(\.type), [XenStoreMessageType.watch.rawValue, XenStoreMessageType.watchEvent.rawValue])
        try! store.write("/local/domain/1/control/shutdown", "poweroff")
        XCTAssertEqual(pokes, 1)
        XCTAssertTrue(ring.service().notify)
        XCTAssertEqual(messages(consume()).map(\.strings), [["control/shutdown", "tok"]])
    }

    /// The order of requests Linux's xenbus sends at boot (drivers/xen/xenbus: xs_init's
    /// reset of watches, manage.c's watch and feature announcement, the frontend scan, a
    /// frontend's state change in a transaction), through the ring.
    func testLinuxXenbusStartupSequence() throws {
        try store.addDevice(domid: 1, kind: "vbd", id: 51712, frontend: [("virtual-device", "51712")])
        var id: UInt32 = 0
        func roundTrip(_ m: XenStoreMessage) -> [XenStoreMessage] {
            produce(m.encoded)
            ring.service()
            return messages(consume())
        }
        func call(_ type: XenStoreMessageType, _ payload: [UInt8], tx: UInt32 = 0) -> XenStoreMessage {
            id += 1
            let replies = roundTrip(XenStoreMessage(type, requestID: id, transactionID: tx, payload: payload))
            return replies.first { $0.type != XenStoreMessageType.watchEvent.rawValue }!
        }
        func s(_ items: String...) -> [UInt8] { XenStoreMessage.strings(items) }

        XCTAssertEqual(call(.read, s("control/platform-feature-xs_reset_watches")).payload, Array("1".utf8))
        XCTAssertEqual(call(.resetWatches, s("")).payload, XenStoreMessage.ok)
        XCTAssertEqual(call(.watch, s("control/shutdown", "ffff8880")).payload, XenStoreMessage.ok)
        XCTAssertEqual(call(.write, Array("control/feature-poweroff\u{0}1".utf8)).payload, XenStoreMessage.ok)
        XCTAssertEqual(call(.directory, s("device")).strings, ["vbd"])
        XCTAssertEqual(call(.directory, s("device/vbd")).strings, ["51712"])
        let backend = String(decoding: call(.read, s("device/vbd/51712/backend")).payload, as: UTF8.self)
        XCTAssertEqual(call(.read, s(backend + "/state")).payload, Array("1".utf8))
        XCTAssertEqual(call(.watch, s(backend + "/state", "ffff9990")).payload, XenStoreMessage.ok)
        let start = call(.transactionStart, s(""))
        let tx = UInt32(start.strings[0])!
        XCTAssertEqual(call(.write, Array("device/vbd/51712/ring-ref\u{0}8".utf8), tx: tx).payload, XenStoreMessage.ok)
        XCTAssertEqual(call(.write, Array("device/vbd/51712/event-channel\u{0}5".utf8), tx: tx).payload, XenStoreMessage.ok)
        XCTAssertEqual(call(.transactionEnd, s("T"), tx: tx).payload, XenStoreMessage.ok)
        XCTAssertEqual(call(.write, Array("device/vbd/51712/state\u{0}3".utf8)).payload, XenStoreMessage.ok)
        XCTAssertEqual(store.readString("/local/domain/1/device/vbd/51712/ring-ref"), "8")
        XCTAssertEqual(store.xenbusState(at: "/local/domain/1/device/vbd/51712"), .initialised)
        // The backend connects; the frontend's watch on its state fires through the ring.
        try store.setXenbusState(.connected, at: backend)
        XCTAssertTrue(ring.service().notify)
        XCTAssertEqual(messages(consume()).map(\.strings), [[backend + "/state", "ffff9990"]])
        // A clean shutdown request reaches manage.c's watch.
        XCTAssertTrue(store.requestShutdown(.poweroff, domid: 1))
        ring.service()
        XCTAssertEqual(messages(consume()).map(\.strings), [["control/shutdown", "ffff8880"]])
    }

    // MARK: hostile guests

    func testRequestIndicesTooFarApartBreakTheConnection() {
        set(XenStoreRing.requestProducerOffset, 5000)
        let a = ring.service()
        XCTAssertFalse(a.notify)
        XCTAssertEqual(ring.failure, .ringIndex)
        XCTAssertEqual(u32(XenStoreRing.errorOffset), 2)
        // Further requests are ignored until the guest reconnects.
        set(XenStoreRing.requestProducerOffset, 0)
        produce(request(.read, ["domid"]))
        ring.service()
        XCTAssertEqual(u32(XenStoreRing.requestConsumerOffset), 0)
        XCTAssertEqual(u32(XenStoreRing.responseProducerOffset), 0)
    }

    func testResponseIndicesTooFarApartBreakTheConnection() {
        set(XenStoreRing.responseConsumerOffset, 3000)   // consumer ahead of producer
        produce(request(.read, ["domid"]))
        ring.service()
        XCTAssertEqual(ring.failure, .ringIndex)
        XCTAssertEqual(u32(XenStoreRing.responseProducerOffset), 0)
    }

    func testOversizedLengthBreaksTheConnection() {
        var bytes = request(.write, ["data/x"])
        bytes[12] = 0x01; bytes[13] = 0x10   // len 4097
        produce(bytes)
        ring.service()
        XCTAssertEqual(ring.failure, .protocolViolation)
        XCTAssertEqual(u32(XenStoreRing.errorOffset), 3)
        XCTAssertNil(store.readString("/local/domain/1/data/x"))
    }

    func testReconnectionRecovers() {
        set(XenStoreRing.requestProducerOffset, 0x8000_0000)
        ring.service()
        XCTAssertNotNil(ring.failure)
        set(XenStoreRing.connectionOffset, XenStoreRing.reconnecting)
        XCTAssertTrue(ring.service().notify)
        XCTAssertNil(ring.failure)
        XCTAssertEqual(u32(XenStoreRing.connectionOffset), XenStoreRing.connected)
        XCTAssertEqual(u32(XenStoreRing.errorOffset), 0)
        XCTAssertEqual(u32(XenStoreRing.requestConsumerOffset), 0x8000_0000)
        produce(request(.read, ["domid"], id: 9))
        ring.service()
        XCTAssertEqual(messages(consume()).map(\.requestID), [9])
    }

    func testJunkFilledRingGetsErrorsOrABrokenConnectionNeverAHang() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<200 {
            setUp()
            // Random bytes as requests, with plausible small lengths half the time so that
            // many are parsed and answered rather than all refused at the header.
            var junk = (0..<1024).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if round % 2 == 0 {
                var i = 0
                while i + 16 <= junk.count {
                    let len = Int.random(in: 0...40, using: &rng)
                    junk[i + 12] = UInt8(len); junk[i + 13] = 0; junk[i + 14] = 0; junk[i + 15] = 0
                    junk[i] = UInt8.random(in: 0...24, using: &rng); junk[i + 1] = 0; junk[i + 2] = 0; junk[i + 3] = 0
                    i += 16 + len
                }
            }
            produce(junk)
            for _ in 0..<50 {
                let a = ring.service()
                _ = consume()
                if !a.notify && !a.moreWork { break }
            }
            // Every complete message was answered, or the connection was marked broken.
            // Every byte was taken (complete messages answered, a tail kept as a partial
            // request), or the connection was marked broken.
            XCTAssertTrue(ring.failure != nil || u32(XenStoreRing.requestConsumerOffset) == u32(XenStoreRing.requestProducerOffset))
            XCTAssertLessThanOrEqual(ring.partial.count, 16 + 4096)
        }
    }

    func testGuestScribblingOnIndicesBetweenPassesIsContained() {
        for value: UInt32 in [0, 1, 1023, 1024, 1025, 0x7FFF_FFFF, 0xFFFF_FFFF] {
            setUp()
            produce(request(.read, ["domid"]))
            set(XenStoreRing.responseProducerOffset, value)
            set(XenStoreRing.responseConsumerOffset, 0)
            ring.service()
            let used = u32(XenStoreRing.responseProducerOffset) &- u32(XenStoreRing.responseConsumerOffset)
            if value > 1024 { XCTAssertEqual(ring.failure, .ringIndex, "rsp_prod \(value)") }
            else { XCTAssertLessThanOrEqual(used, 1024) }
        }
    }

    func testAGuestThatNeverReadsRepliesIsBounded() {
        var quota = XenStoreQuota()
        quota.pendingOutputBytes = 4096
        store.tree.quota = quota
        // Keep sending reads without consuming anything.
        for _ in 0..<500 {
            produce(request(.read, ["name"]))
            ring.service()
        }
        XCTAssertLessThanOrEqual(ring.connection.outputBytes, 4096 + 16 + 4096)
        // The requests left are still in req: the guest is blocked, not the host.
        XCTAssertEqual(u32(XenStoreRing.requestProducerOffset) &- u32(XenStoreRing.requestConsumerOffset), 1024)
    }

    func testBusyGuestIsServedInBoundedSlices() {
        // 48 small requests fit in req at once (each 16 + 5 bytes): one call answers at most
        // requestsPerService, and says there is more.
        let one = request(.read, ["name"])
        var all: [UInt8] = []
        for _ in 0..<(1024 / one.count) { all += one }
        produce(all)
        var quota = XenStoreQuota()
        quota.pendingOutputBytes = 1 << 20
        store.tree.quota = quota
        let count = 1024 / one.count
        XCTAssertGreaterThan(count, XenStoreRing.requestsPerService)
        let a = ring.service()
        XCTAssertTrue(a.moreWork)
        var answered = messages(consume()).count
        while answered < count {
            let b = ring.service()
            answered += messages(consume()).count
            if !b.notify { break }
        }
        XCTAssertEqual(answered, count)
    }

    func testPageOutsideRAMIsABrokenConnection() {
        let r = XenStoreRing(store: store, connection: store.introduce(domid: 1), memory: memory, address: 0xFEFF_9000)
        XCTAssertEqual(r.failure, .communication)
        XCTAssertEqual(r.service(), XenStoreRing.Activity())
    }
}
