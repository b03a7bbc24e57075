import XCTest
@testable import Xen

final class XenStoreWireTests: XCTestCase {
    // MARK: encoding (io/xs_wire.h)

    func testHeaderLayoutIsFourLittleEndianWords() {
        let m = XenStoreMessage(.read, requestID: 0x0102_0304, transactionID: 5, payload: Array("ab\0".utf8))
        XCTAssertEqual(m.encoded, [2, 0, 0, 0, 4, 3, 2, 1, 5, 0, 0, 0, 3, 0, 0, 0, 0x61, 0x62, 0])
        XCTAssertEqual(XenStoreMessage.decode(m.encoded), m)
    }

    func testMessageTypeNumbers() {
        XCTAssertEqual(XenStoreMessageType.watchEvent.rawValue, 15)
        XCTAssertEqual(XenStoreMessageType.error.rawValue, 16)
        XCTAssertEqual(XenStoreMessageType.isDomainIntroduced.rawValue, 17)
        XCTAssertEqual(XenStoreMessageType.resetWatches.rawValue, 21)
        XCTAssertEqual(XenStoreMessageType.directoryPart.rawValue, 22)
    }

    func testDecodeRefusesShortOversizedAndMismatchedMessages() {
        XCTAssertNil(XenStoreMessage.decode([1, 2, 3]))
        var big = XenStoreMessage(.write, payload: [UInt8](repeating: 0x41, count: 4097)).encoded
        XCTAssertNil(XenStoreMessage.decode(big))
        big = Array(big.prefix(16 + 4096))
        big[12] = 0; big[13] = 0x10   // len 4096
        XCTAssertNotNil(XenStoreMessage.decode(big))
        XCTAssertNil(XenStoreMessage.decode(big + [0]))
    }

    // MARK: requests and replies

    func testReadWriteDirectoryAndPermissionsReplies() {
        let h = XenStoreHarness()
        XCTAssertEqual(h.write("data/k", "v\0with nul"), "OK\0")
        let reply = h.send(.read, ["data/k"]).first!
        XCTAssertEqual(reply.type, XenStoreMessageType.read.rawValue)
        XCTAssertEqual(reply.payload, Array("v\0with nul".utf8))      // values are binary, no NUL added
        XCTAssertEqual(h.ask(.mkdir, ["data/dir/sub"]), "OK\0")
        XCTAssertEqual(h.send(.directory, ["data"]).first!.strings, ["k", "dir"])
        XCTAssertEqual(h.send(.getPermissions, ["data/k"]).first!.strings, ["n1"])
        XCTAssertEqual(h.send(.getPermissions, ["domid"]).first!.strings, ["n0", "r1"])
        XCTAssertEqual(h.ask(.setPermissions, ["data/k", "n1", "r0"]), "OK\0")
        XCTAssertEqual(h.send(.getPermissions, ["data/k"]).first!.strings, ["n1", "r0"])
        XCTAssertEqual(h.ask(.setPermissions, ["data/k", "q1"]), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.setPermissions, ["data/k"]), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.remove, ["data/k"]), "OK\0")
        XCTAssertEqual(h.ask(.read, ["data/k"]), "ERROR:ENOENT")
        XCTAssertEqual(h.ask(.getDomainPath, ["7"]), "/local/domain/7\0")
        XCTAssertEqual(h.ask(.isDomainIntroduced, ["1"]), "T\0")
        XCTAssertEqual(h.ask(.isDomainIntroduced, ["2"]), "F\0")
        XCTAssertEqual(h.ask(.getDomainPath, ["x"]), "ERROR:EINVAL")
    }

    func testDomUMayNotManageDomains() {
        let h = XenStoreHarness()
        XCTAssertEqual(h.ask(.introduce, ["2", "4096", "3"]), "ERROR:EACCES")
        XCTAssertEqual(h.ask(.release, ["1"]), "ERROR:EACCES")
        XCTAssertEqual(h.ask(.resume, ["1"]), "ERROR:EACCES")
        XCTAssertEqual(h.ask(.setTarget, ["1", "2"]), "ERROR:EACCES")
        XCTAssertEqual(h.ask(.control, ["check"]), "ERROR:EACCES")
        XCTAssertTrue(h.store.isIntroduced(domid: 1))
        XCTAssertFalse(h.store.isIntroduced(domid: 2))
    }

    func testGarbageRequestsGetErrorReplies() {
        let h = XenStoreHarness()
        // Unknown or reply-only types.
        for type: UInt32 in [20, 23, 0xFFFF, 0xFFFF_FFFF, 15, 16] {
            let r = h.send(XenStoreMessage(type: type, requestID: 9, payload: [0x41, 0])).first!
            XCTAssertEqual(r.type, XenStoreMessageType.error.rawValue)
            XCTAssertEqual(r.requestID, 9)
            XCTAssertEqual(h.describe(r), "ERROR:ENOSYS")
        }
        // Missing NUL, extra strings, empty payload, invalid path bytes, invalid UTF-8.
        XCTAssertEqual(h.describe(h.send(XenStoreMessage(.read, payload: Array("domid".utf8))).first!), "ERROR:EINVAL")
        XCTAssertEqual(h.describe(h.send(XenStoreMessage(.read, payload: Array("domid\0x\0".utf8))).first!), "ERROR:EINVAL")
        XCTAssertEqual(h.describe(h.send(XenStoreMessage(.read)).first!), "ERROR:EINVAL")
        XCTAssertEqual(h.describe(h.send(XenStoreMessage(.write, payload: Array("nonul".utf8))).first!), "ERROR:EINVAL")
        XCTAssertEqual(h.describe(h.send(XenStoreMessage(.read, payload: [0xFF, 0xFE, 0])).first!), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.read, ["a//b"]), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.read, ["/a/"]), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.read, ["a b"]), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.read, [""]), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.write, ["@introduceDomain"], value: []), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.watch, ["data"]), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.watch, ["data", "t", "deep"]), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.remove, ["/"]), "ERROR:EINVAL")
    }

    func testOversizedReplyIsRefusedWithE2BIG() throws {
        let h = XenStoreHarness()
        // Dom0 may create many children; listing them cannot fit XENSTORE_PAYLOAD_MAX.
        for i in 0..<300 { try h.store.write("/local/domain/1/data/child-number-\(i)", "") }
        XCTAssertEqual(h.ask(.directory, ["data"]), "ERROR:E2BIG")
    }

    func testDirectoryPartPagesThroughALongList() throws {
        let h = XenStoreHarness()
        for i in 0..<300 { try h.store.write("/local/domain/1/data/child-number-\(i)", "") }
        var names: [String] = []
        var offset = 0
        var generation: String?
        for _ in 0..<10 {
            let reply = h.send(.directoryPart, ["data", String(offset)]).first!
            XCTAssertEqual(reply.type, XenStoreMessageType.directoryPart.rawValue)
            XCTAssertLessThanOrEqual(reply.payload.count, 4096)
            var strings = reply.strings
            if generation == nil { generation = strings.first }
            XCTAssertEqual(strings.removeFirst(), generation)
            let done = strings.last == ""
            if done { strings.removeLast() }
            names += strings
            offset += strings.reduce(0) { $0 + $1.utf8.count + 1 }
            if done { break }
        }
        XCTAssertEqual(names, (0..<300).map { "child-number-\($0)" })
        XCTAssertEqual(h.ask(.directoryPart, ["data", "3"]), "ERROR:EINVAL")      // inside a name
        XCTAssertEqual(h.ask(.directoryPart, ["data", "999999"]), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.directoryPart, ["data", "-1"]), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.directoryPart, ["data"]), "ERROR:EINVAL")
    }

    // MARK: watches

    func testWatchFiresOnRegistrationThenOnChangesAtOrBelowNotAbove() throws {
        let h = XenStoreHarness()
        let replies = h.send(.watch, ["device", "tok"])
        XCTAssertEqual(replies.count, 2)
        XCTAssertEqual(h.describe(replies[0]), "OK\0")
        XCTAssertEqual(replies[1].type, XenStoreMessageType.watchEvent.rawValue)
        XCTAssertEqual(replies[1].requestID, 0)
        XCTAssertEqual(replies[1].strings, ["device", "tok"])

        try h.store.write("/local/domain/1/device/vbd", "")               // below: fires, relative
        XCTAssertEqual(h.drain().map(\.strings), [["device/vbd", "tok"]])
        try h.store.write("/local/domain/1/device", "x")                  // at: fires
        XCTAssertEqual(h.drain().map(\.strings), [["device", "tok"]])
        try h.store.write("/local/domain/1/name", "n")                    // beside: no
        try h.store.write("/local/domain/1", "")                          // above: no
        try h.store.write("/local/domain/1/devicex", "")                  // prefix but not a child: no
        XCTAssertEqual(h.drain().count, 0)
        // Removing a parent fires the watch with the watched path.
        try h.store.remove("/local/domain/1")
        XCTAssertEqual(h.drain().map(\.strings), [["device", "tok"]])
    }

    func testAbsoluteWatchReportsAbsolutePathsAndOwnWritesFire() {
        let h = XenStoreHarness()
        _ = h.send(.watch, ["/local/domain/1/data", "abs"])
        let r = h.send(.write, ["data/q"], value: Array("1".utf8))
        // As C xenstored's do_write: the watches fire, then the acknowledgement goes.
        XCTAssertEqual(r.map { h.describe($0) }, ["/local/domain/1/data/q\0abs\0", "OK\0"])
    }

    func testWatchOnUnreadableNodesIsSilent() throws {
        let h = XenStoreHarness()
        _ = h.send(.watch, ["/local/domain/0", "t"])
        _ = h.drain()
        try h.store.write("/local/domain/0/secret", "x")                 // n0: the guest may not read it
        XCTAssertEqual(h.drain().count, 0)
        try h.store.addDevice(domid: 1, kind: "vbd", id: 768)
        XCTAssertTrue(h.drain().contains { $0.strings.first == "/local/domain/0/backend/vbd/1/768/state" })
    }

    func testWatchDepthLimit() throws {
        let h = XenStoreHarness()
        _ = h.send(.watch, ["data", "d1", "1"])
        _ = h.drain()
        try h.store.write("/local/domain/1/data/a", "")
        try h.store.write("/local/domain/1/data/a/b", "")
        XCTAssertEqual(h.drain().map(\.strings), [["data/a", "d1"]])
    }

    func testUnwatchDuplicateQuotaAndReset() {
        var quota = XenStoreQuota()
        quota.watchesPerDomain = 2
        let h = XenStoreHarness(quota: quota)
        XCTAssertEqual(h.ask(.watch, ["data", "a"]), "OK\0")
        XCTAssertEqual(h.ask(.watch, ["data", "a"]), "ERROR:EEXIST")
        XCTAssertEqual(h.ask(.watch, ["/local/domain/1/data", "a"]), "ERROR:EEXIST")   // same node
        XCTAssertEqual(h.ask(.watch, ["data", "b"]), "OK\0")
        XCTAssertEqual(h.ask(.watch, ["data", "c"]), "ERROR:E2BIG")
        XCTAssertEqual(h.ask(.unwatch, ["data", "zz"]), "ERROR:ENOENT")
        XCTAssertEqual(h.ask(.unwatch, ["data", "a"]), "OK\0")
        XCTAssertEqual(h.ask(.watch, ["data", "c"]), "OK\0")
        XCTAssertEqual(h.ask(.resetWatches, [""]), "OK\0")
        XCTAssertEqual(h.guest.watches.count, 0)
        XCTAssertEqual(h.write("data/x", "1"), "OK\0")
        XCTAssertEqual(h.drain().count, 0)
    }

    func testSpecialWatchesAreForDom0() throws {
        let h = XenStoreHarness()
        var events: [String] = []
        try h.store.watch("@introduceDomain", token: "i") { p, t in events.append(p + "/" + t) }
        XCTAssertEqual(h.ask(.watch, ["@introduceDomain", "g"]), "OK\0")
        _ = h.drain()
        h.store.introduce(domid: 2)
        XCTAssertEqual(events, ["@introduceDomain/i", "@introduceDomain/i"])
        XCTAssertEqual(h.drain().count, 0)   // an unprivileged domain hears nothing of others
    }

    func testWatchEventsPastTheQueueLimitAreDroppedNotHeld() throws {
        var quota = XenStoreQuota()
        quota.pendingOutputBytes = 1000
        let h = XenStoreHarness(quota: quota)
        _ = h.send(.watch, ["data", "t"])
        _ = h.drain()
        for i in 0..<200 { try h.store.write("/local/domain/1/data/n\(i)", "") }
        XCTAssertLessThanOrEqual(h.guest.outputBytes, 1000 + 64)
        XCTAssertGreaterThan(h.guest.droppedEvents, 100)
    }

    func testEventLongerThanThePayloadLimitIsDropped() throws {
        let h = XenStoreHarness()
        let token = String(repeating: "t", count: 4000)
        XCTAssertEqual(h.send(.watch, ["data", token]).count, 2)     // "data\0" + token fits
        let deep = "/local/domain/1/data/" + String(repeating: "n", count: 200)
        try h.store.write(deep, "")
        XCTAssertEqual(h.drain().count, 0)
        XCTAssertEqual(h.guest.droppedEvents, 1)
        try h.store.write("/local/domain/1/data/s", "")
        XCTAssertEqual(h.drain().map { $0.strings.first }, ["data/s"])
    }

    // MARK: the VMM's API

    func testDom0WatchCallbackAndReentrantWrites() throws {
        let h = XenStoreHarness()
        var log: [String] = []
        let id = try h.store.watch("/local/domain/1/device/vbd/51712/state", token: "fe") { path, token in
            log.append("\(token):\(path)=\(h.store.readString(path) ?? "-")")
            // A backend answering a frontend state change by writing its own state.
            if h.store.readString(path) == "3" { try? h.store.write("/local/domain/0/backend/vbd/1/51712/state", "4") }
        }
        XCTAssertEqual(log, ["fe:/local/domain/1/device/vbd/51712/state=-"])
        try h.store.addDevice(domid: 1, kind: "vbd", id: 51712)
        log.removeAll()
        XCTAssertEqual(h.write("device/vbd/51712/state", "3"), "OK\0")
        XCTAssertEqual(log, ["fe:/local/domain/1/device/vbd/51712/state=3"])
        XCTAssertEqual(h.store.readString("/local/domain/0/backend/vbd/1/51712/state"), "4")
        h.store.unwatch(id)
        XCTAssertEqual(h.write("device/vbd/51712/state", "4"), "OK\0")
        XCTAssertEqual(log.count, 1)
    }

    func testOutputCallbackForEventsCausedByOthers() throws {
        let h = XenStoreHarness()
        var pokes = 0
        h.guest.onOutput = { pokes += 1 }
        _ = h.send(.watch, ["control/shutdown", "s"])
        XCTAssertEqual(pokes, 0)      // its own request: the ring is being serviced anyway
        try h.store.write("/local/domain/1/control/shutdown", "poweroff")
        XCTAssertEqual(pokes, 1)
        XCTAssertEqual(h.drain().map(\.strings), [["control/shutdown", "s"]])
    }
}
