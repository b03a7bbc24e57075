import XCTest
@testable import Xen

final class XenStoreTransactionTests: XCTestCase {
    func start(_ h: XenStoreHarness) -> UInt32 {
        let reply = h.send(.transactionStart, [""]).first!
        XCTAssertEqual(reply.type, XenStoreMessageType.transactionStart.rawValue)
        return UInt32(reply.strings.first ?? "") ?? 0
    }

    func testCommitAppliesAndOthersSeeNothingBefore() {
        let h = XenStoreHarness()
        let tx = start(h)
        XCTAssertNotEqual(tx, 0)
        XCTAssertEqual(h.write("data/a", "1", tx: tx), "OK\0")
        XCTAssertEqual(h.ask(.read, ["data/a"], tx: tx), "1")      // the transaction sees its write
        XCTAssertEqual(h.ask(.read, ["data/a"]), "ERROR:ENOENT")   // nobody else does yet
        XCTAssertNil(h.store.readString("/local/domain/1/data/a"))
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: tx), "OK\0")
        XCTAssertEqual(h.store.readString("/local/domain/1/data/a"), "1")
        XCTAssertEqual(h.ask(.directory, ["data"]), "a\0")
    }

    func testAbortDiscards() {
        let h = XenStoreHarness()
        XCTAssertEqual(h.write("data/keep", "old"), "OK\0")
        let tx = start(h)
        XCTAssertEqual(h.write("data/keep", "new", tx: tx), "OK\0")
        XCTAssertEqual(h.ask(.remove, ["data"], tx: tx), "OK\0")
        XCTAssertEqual(h.ask(.transactionEnd, ["F"], tx: tx), "OK\0")
        XCTAssertEqual(h.store.readString("/local/domain/1/data/keep"), "old")
        // The id is gone after END.
        XCTAssertEqual(h.ask(.read, ["data/keep"], tx: tx), "ERROR:ENOENT")
    }

    func testConflictOnANodeReadGivesEAGAIN() throws {
        let h = XenStoreHarness()
        let tx = start(h)
        XCTAssertEqual(h.ask(.read, ["control/shutdown"], tx: tx), "")
        XCTAssertEqual(h.write("control/shutdown", "", tx: tx), "OK\0")
        try h.store.write("/local/domain/1/control/shutdown", "poweroff")    // the VMM, meanwhile
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: tx), "ERROR:EAGAIN")
        // Nothing of the transaction was applied, and it is over.
        XCTAssertEqual(h.store.readString("/local/domain/1/control/shutdown"), "poweroff")
        XCTAssertEqual(h.guest.openTransactions, 0)
        // The retry, as Linux's manage.c does, goes through.
        let again = start(h)
        XCTAssertEqual(h.ask(.read, ["control/shutdown"], tx: again), "poweroff")
        XCTAssertEqual(h.write("control/shutdown", "", tx: again), "OK\0")
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: again), "OK\0")
        XCTAssertEqual(h.store.readString("/local/domain/1/control/shutdown"), "")
    }

    func testConflictOnACreatedSiblingOrAMissingNodeRead() throws {
        let h = XenStoreHarness()
        let tx = start(h)
        XCTAssertEqual(h.ask(.read, ["data/x"], tx: tx), "ERROR:ENOENT")
        try h.store.write("/local/domain/1/data/x", "1")
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: tx), "ERROR:EAGAIN")
    }

    func testUnrelatedChangeDoesNotConflict() throws {
        let h = XenStoreHarness()
        let tx = start(h)
        XCTAssertEqual(h.write("data/mine", "1", tx: tx), "OK\0")
        try h.store.write("/local/domain/1/memory/target", "1024")
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: tx), "OK\0")
        XCTAssertEqual(h.store.readString("/local/domain/1/data/mine"), "1")
        XCTAssertEqual(h.store.readString("/local/domain/1/memory/target"), "1024")
    }

    func testTwoTransactionsWritingTheSameNodeSecondFails() {
        let h = XenStoreHarness()
        let a = start(h), b = start(h)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(h.write("data/n", "a", tx: a), "OK\0")
        XCTAssertEqual(h.write("data/n", "b", tx: b), "OK\0")
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: a), "OK\0")
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: b), "ERROR:EAGAIN")
        XCTAssertEqual(h.store.readString("/local/domain/1/data/n"), "a")
    }

    func testWatchesFireOnlyAtCommit() throws {
        let h = XenStoreHarness()
        var seen: [String] = []
        try h.store.watch("/local/domain/1/data") { path, _ in seen.append(path) }
        seen.removeAll()   // the registration's own event
        let tx = start(h)
        XCTAssertEqual(h.write("data/w", "1", tx: tx), "OK\0")
        XCTAssertEqual(seen, [])
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: tx), "OK\0")
        XCTAssertEqual(seen, ["/local/domain/1/data/w"])
        let aborted = start(h)
        XCTAssertEqual(h.write("data/z", "1", tx: aborted), "OK\0")
        XCTAssertEqual(h.ask(.transactionEnd, ["F"], tx: aborted), "OK\0")
        XCTAssertEqual(seen, ["/local/domain/1/data/w"])
    }

    func testPermissionsApplyInsideTransactions() {
        let h = XenStoreHarness()
        let tx = start(h)
        XCTAssertEqual(h.write("domid", "7", tx: tx), "ERROR:EACCES")
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: tx), "OK\0")
        XCTAssertEqual(h.store.readString("/local/domain/1/domid"), "1")
    }

    func testBadTransactionIdsAndVerdicts() {
        let h = XenStoreHarness()
        XCTAssertEqual(h.ask(.read, ["domid"], tx: 12345), "ERROR:ENOENT")
        XCTAssertEqual(h.ask(.transactionEnd, ["T"]), "ERROR:ENOENT")
        let tx = start(h)
        XCTAssertEqual(h.ask(.transactionEnd, ["X"], tx: tx), "ERROR:EINVAL")
        XCTAssertEqual(h.ask(.transactionStart, [""], tx: tx), "ERROR:EBUSY")
        // Error replies echo req_id and tx_id (xenstore.txt).
        let reply = h.send(XenStoreMessage(.read, requestID: 77, transactionID: 999, payload: XenStoreMessage.strings(["domid"]))).first!
        XCTAssertEqual(reply.type, XenStoreMessageType.error.rawValue)
        XCTAssertEqual(reply.requestID, 77)
        XCTAssertEqual(reply.transactionID, 999)
        XCTAssertEqual(reply.payload, Array("ENOENT\0".utf8))
    }

    func testTransactionQuota() {
        var quota = XenStoreQuota()
        quota.transactionsPerDomain = 3
        let h = XenStoreHarness(quota: quota)
        let ids = (0..<3).map { _ in start(h) }
        XCTAssertEqual(Set(ids).count, 3)
        XCTAssertEqual(h.ask(.transactionStart, [""]), "ERROR:ENOSPC")
        XCTAssertEqual(h.ask(.transactionEnd, ["F"], tx: ids[0]), "OK\0")
        XCTAssertNotEqual(start(h), 0)
    }

    func testNodeQuotaHoldsAtCommit() {
        var quota = XenStoreQuota()
        quota.nodesPerDomain = 12
        let h = XenStoreHarness(quota: quota)
        let owned = h.store.tree.ownedNodes[1, default: 0]
        let room = 12 - owned
        XCTAssertGreaterThan(room, 1)
        let a = start(h), b = start(h)
        for i in 0..<room { XCTAssertEqual(h.write("data/a\(i)", "", tx: a), "OK\0") }
        XCTAssertEqual(h.write("data/b", "", tx: b), "OK\0")
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: a), "OK\0")
        // b's creation would go past the quota now (and its parent changed: either refusal).
        XCTAssertTrue(["ERROR:ENOSPC", "ERROR:EAGAIN"].contains(h.ask(.transactionEnd, ["T"], tx: b)))
        XCTAssertEqual(h.store.tree.ownedNodes[1], 12)
    }

    func testRemoveInsideTransactionCommits() {
        let h = XenStoreHarness()
        XCTAssertEqual(h.write("data/t/u", "1"), "OK\0")
        let tx = start(h)
        XCTAssertEqual(h.ask(.remove, ["data/t"], tx: tx), "OK\0")
        XCTAssertEqual(h.ask(.read, ["data/t/u"], tx: tx), "ERROR:ENOENT")
        XCTAssertEqual(h.ask(.transactionEnd, ["T"], tx: tx), "OK\0")
        XCTAssertNil(h.store.readString("/local/domain/1/data/t/u"))
        XCTAssertNil(h.store.readString("/local/domain/1/data/t"))
        XCTAssertEqual(h.ask(.directory, ["data"]), "")
    }
}
