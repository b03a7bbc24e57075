import XCTest
@testable import Xen

final class XenStoreTreeTests: XCTestCase {
    let guest = XenStoreCaller.domU(1)

    func p(_ s: String) -> XenStorePath { XenStorePath(s)! }

    // MARK: paths (xenstore.txt, "Paths")

    func testPathValidation() {
        XCTAssertNotNil(XenStorePath("/"))
        XCTAssertNotNil(XenStorePath("/local/domain/1/device/vbd/51712"))
        XCTAssertNotNil(XenStorePath("/a-b_c@d/E9"))
        XCTAssertNil(XenStorePath(""))
        XCTAssertNil(XenStorePath("local"))                    // not absolute
        XCTAssertNil(XenStorePath("/a//b"))                    // doubled slash
        XCTAssertNil(XenStorePath("/a/"))                      // trailing slash
        XCTAssertNil(XenStorePath("/a b"))                     // space
        XCTAssertNil(XenStorePath("/a.b"))                     // dot is not allowed
        XCTAssertNil(XenStorePath("/\u{e9}"))                  // not ASCII
        XCTAssertNotNil(XenStorePath("/" + String(repeating: "x", count: 3071)))
        XCTAssertNil(XenStorePath("/" + String(repeating: "x", count: 3072)))
    }

    func testRelativePathsResolveUnderTheDomainsHome() {
        XCTAssertEqual(XenStorePath.resolve("control/shutdown", for: 3)?.string, "/local/domain/3/control/shutdown")
        XCTAssertEqual(XenStorePath.resolve("/abs", for: 3)?.string, "/abs")
        XCTAssertNil(XenStorePath.resolve("@introduceDomain", for: 3))
        XCTAssertNil(XenStorePath.resolve("a/", for: 3))
        XCTAssertNil(XenStorePath.resolve(String(repeating: "x", count: 2049), for: 3))
        XCTAssertEqual(p("/local/domain/3/x/y").relative(to: 3), "x/y")
        XCTAssertNil(p("/local/domain/30/x").relative(to: 3))
    }

    func testChildRelation() {
        XCTAssertTrue(p("/a/b").isChild(of: p("/a")))
        XCTAssertTrue(p("/a").isChild(of: p("/a")))
        XCTAssertTrue(p("/a").isChild(of: .root))
        XCTAssertFalse(p("/ab").isChild(of: p("/a")))
        XCTAssertFalse(p("/a").isChild(of: p("/a/b")))
        XCTAssertEqual(p("/a").depth(of: p("/a/b/c")), 2)
        XCTAssertEqual(p("/a/b").parent, p("/a"))
        XCTAssertEqual(p("/a").parent, .root)
    }

    // MARK: nodes and permissions

    func testWriteCreatesParentsWithEmptyValuesAndInheritedPermissions() throws {
        var t = XenStoreTree()
        _ = try t.write(p("/a"), value: [], as: .dom0)
        _ = try t.setPermissions(p("/a"), XenStorePermissions(owner: 0, others: .read, [.init(1, .both)]), as: .dom0)
        _ = try t.write(p("/a/b/c"), value: Array("v".utf8), as: .dom0)
        XCTAssertEqual(try t.read(p("/a/b"), as: .dom0), [])
        XCTAssertEqual(try t.read(p("/a/b/c"), as: .dom0), Array("v".utf8))
        XCTAssertEqual(try t.directory(p("/a"), as: .dom0), ["b"])
        XCTAssertEqual(t.node(at: p("/a/b"))?.permissions.description, "r0,b1")
        // A domain owns what it creates, with the rest of the list inherited.
        _ = try t.write(p("/a/d"), value: [], as: guest)
        XCTAssertEqual(t.node(at: p("/a/d"))?.permissions.description, "r1,b1")
    }

    func testDomUCannotWriteOrReadWithoutPermission() throws {
        var t = XenStoreTree()
        _ = try t.write(p("/local/domain/2/secret"), value: Array("x".utf8), as: .dom0)
        // The root and everything under it default to "n0": no access for domU.
        XCTAssertThrowsError(try t.write(p("/local/domain/2/secret"), value: [], as: guest)) { XCTAssertEqual($0 as? XenStoreError, .EACCES) }
        XCTAssertThrowsError(try t.write(p("/local/domain/2/new"), value: [], as: guest)) { XCTAssertEqual($0 as? XenStoreError, .EACCES) }
        XCTAssertThrowsError(try t.read(p("/local/domain/2/secret"), as: guest)) { XCTAssertEqual($0 as? XenStoreError, .EACCES) }
        XCTAssertThrowsError(try t.directory(p("/local"), as: guest)) { XCTAssertEqual($0 as? XenStoreError, .EACCES) }
        // A missing node under an unreadable one does not tell whether it exists.
        XCTAssertThrowsError(try t.read(p("/local/domain/2/nope"), as: guest)) { XCTAssertEqual($0 as? XenStoreError, .EACCES) }
        XCTAssertThrowsError(try t.read(p("/local/domain/2/nope"), as: .dom0)) { XCTAssertEqual($0 as? XenStoreError, .ENOENT) }
        XCTAssertThrowsError(try t.remove(p("/local/domain/2/secret"), as: guest)) { XCTAssertEqual($0 as? XenStoreError, .EACCES) }
        XCTAssertEqual(try t.read(p("/local/domain/2/secret"), as: .dom0), Array("x".utf8))
    }

    func testAccessLettersOwnerAndDefault() {
        let perms = XenStorePermissions(owner: 5, others: .read, [.init(1, .write), .init(2, .none), .init(3, .both)])
        XCTAssertEqual(perms.access(for: 5, privileged: false), .both)   // owner
        XCTAssertEqual(perms.access(for: 1, privileged: false), .write)
        XCTAssertEqual(perms.access(for: 2, privileged: false), .none)
        XCTAssertEqual(perms.access(for: 3, privileged: false), .both)
        XCTAssertEqual(perms.access(for: 9, privileged: false), .read)   // first entry's letter
        XCTAssertEqual(perms.access(for: 9, privileged: true), .both)
        XCTAssertEqual(XenStorePermissions.Entry(text: Array("b65535".utf8)), .init(65535, .both))
        XCTAssertNil(XenStorePermissions.Entry(text: Array("b65536".utf8)))
        XCTAssertNil(XenStorePermissions.Entry(text: Array("x1".utf8)))
        XCTAssertNil(XenStorePermissions.Entry(text: Array("r".utf8)))
        XCTAssertNil(XenStorePermissions.Entry(text: Array("r-1".utf8)))
    }

    func testWriteOnlyAclAllowsWritingNotReading() throws {
        var t = XenStoreTree()
        _ = try t.write(p("/box"), value: [], as: .dom0)
        _ = try t.setPermissions(p("/box"), XenStorePermissions(owner: 0, others: .none, [.init(1, .write)]), as: .dom0)
        _ = try t.write(p("/box"), value: Array("in".utf8), as: guest)
        XCTAssertThrowsError(try t.read(p("/box"), as: guest)) { XCTAssertEqual($0 as? XenStoreError, .EACCES) }
    }

    func testSetPermissionsOwnerOnlyAndNoOwnerChangeForDomU() throws {
        var t = XenStoreTree()
        _ = try t.write(p("/d"), value: [], as: .dom0)
        _ = try t.setPermissions(p("/d"), XenStorePermissions(owner: 1, others: .none), as: .dom0)
        _ = try t.setPermissions(p("/d"), XenStorePermissions(owner: 1, others: .read), as: guest)
        XCTAssertThrowsError(try t.setPermissions(p("/d"), XenStorePermissions(owner: 2, others: .read), as: guest)) { XCTAssertEqual($0 as? XenStoreError, .EPERM) }
        XCTAssertThrowsError(try t.setPermissions(p("/d"), XenStorePermissions(owner: 1), as: .domU(2))) { XCTAssertEqual($0 as? XenStoreError, .EACCES) }
        XCTAssertEqual(t.ownedNodes[1], 1)
    }

    func testRemoveRules() throws {
        var t = XenStoreTree()
        XCTAssertThrowsError(try t.remove(.root, as: .dom0)) { XCTAssertEqual($0 as? XenStoreError, .EINVAL) }
        XCTAssertThrowsError(try t.remove(p("/no/such"), as: .dom0)) { XCTAssertEqual($0 as? XenStoreError, .ENOENT) }
        XCTAssertEqual(try t.remove(p("/nosuch"), as: .dom0).touched, [])
        _ = try t.write(p("/a/b/c"), value: [], as: .dom0)
        _ = try t.write(p("/a/x"), value: [], as: .dom0)
        let m = try t.remove(p("/a/b"), as: .dom0)
        XCTAssertNil(t.node(at: p("/a/b/c")))
        XCTAssertEqual(try t.directory(p("/a"), as: .dom0), ["x"])
        XCTAssertEqual(Set(m.touched), [p("/a/b"), p("/a/b/c"), p("/a")])
        XCTAssertEqual(t.count, 3)  // "/", "/a", "/a/x"
        XCTAssertEqual(t.ownedNodes[0], 3)
    }

    func testGenerationsMoveOnEveryChangeIncludingChildren() throws {
        var t = XenStoreTree()
        _ = try t.write(p("/a"), value: [], as: .dom0)
        let g = t.node(at: p("/a"))!.generation
        _ = try t.write(p("/a/b"), value: [], as: .dom0)
        XCTAssertGreaterThan(t.node(at: p("/a"))!.generation, g)
        let g2 = t.node(at: p("/a"))!.generation
        _ = try t.mkdir(p("/a"), as: .dom0)            // exists: nothing changes
        XCTAssertEqual(t.node(at: p("/a"))!.generation, g2)
    }

    // MARK: quotas

    func testNodeQuotaStopsADomainGrowingTheStore() throws {
        var quota = XenStoreQuota()
        quota.nodesPerDomain = 10
        var t = XenStoreTree(quota: quota)
        _ = try t.write(p("/home"), value: [], as: .dom0)
        _ = try t.setPermissions(p("/home"), XenStorePermissions(owner: 1), as: .dom0)   // counts 1
        for i in 0..<9 { _ = try t.write(p("/home/n\(i)"), value: [], as: guest) }
        XCTAssertThrowsError(try t.write(p("/home/n9"), value: [], as: guest)) { XCTAssertEqual($0 as? XenStoreError, .ENOSPC) }
        _ = try t.remove(p("/home/n0"), as: guest)
        // A deep path counts every node it creates.
        XCTAssertThrowsError(try t.write(p("/home/x/y"), value: [], as: guest)) { XCTAssertEqual($0 as? XenStoreError, .ENOSPC) }
        _ = try t.write(p("/home/x"), value: [], as: guest)
        XCTAssertEqual(t.ownedNodes[1], 10)
        // Dom0 is not limited.
        for i in 0..<20 { _ = try t.write(p("/home/d\(i)"), value: [], as: .dom0) }
    }

    func testValueSizeQuota() throws {
        var t = XenStoreTree()
        _ = try t.write(p("/v"), value: [], as: .dom0)
        _ = try t.setPermissions(p("/v"), XenStorePermissions(owner: 1), as: .dom0)
        _ = try t.write(p("/v"), value: [UInt8](repeating: 0x41, count: 2048), as: guest)
        XCTAssertThrowsError(try t.write(p("/v"), value: [UInt8](repeating: 0x41, count: 2049), as: guest)) { XCTAssertEqual($0 as? XenStoreError, .ENOSPC) }
        _ = try t.write(p("/v"), value: [UInt8](repeating: 0x41, count: 4000), as: .dom0)
    }

    func testPermissionEntriesQuota() throws {
        var t = XenStoreTree()
        _ = try t.write(p("/v"), value: [], as: .dom0)
        _ = try t.setPermissions(p("/v"), XenStorePermissions(owner: 1), as: .dom0)
        let many = (2...10).map { XenStorePermissions.Entry(UInt16($0), .read) }
        XCTAssertThrowsError(try t.setPermissions(p("/v"), XenStorePermissions(owner: 1, others: .none, many), as: guest)) { XCTAssertEqual($0 as? XenStoreError, .ENOSPC) }
    }

    // MARK: the nodes a domain starts with

    func testPopulatedDomainIsWhatLinuxReadsAndMayWrite() throws {
        let h = XenStoreHarness()
        XCTAssertEqual(h.ask(.read, ["domid"]), "1")
        XCTAssertEqual(h.ask(.read, ["/local/domain/1/name"]), "guest")
        XCTAssertEqual(h.ask(.read, ["memory/target"]), "262144")
        XCTAssertEqual(h.ask(.read, ["control/platform-feature-xs_reset_watches"]), "1")
        XCTAssertEqual(h.ask(.read, ["control/shutdown"]), "")
        XCTAssertEqual(h.write("control/feature-poweroff", "1"), "OK\0")
        XCTAssertEqual(h.write("data/anything", "1"), "OK\0")
        // Read-only for the guest: its identity and its memory target.
        XCTAssertEqual(h.write("domid", "0"), "ERROR:EACCES")
        XCTAssertEqual(h.write("memory/target", "99999999"), "ERROR:EACCES")
        XCTAssertEqual(h.write("newdir", "x"), "ERROR:EACCES")
        XCTAssertEqual(h.ask(.read, ["/local/domain/0/backend"]), "ERROR:EACCES")
        XCTAssertEqual(h.ask(.directory, ["/local/domain"]), "ERROR:EACCES")
    }

    func testDeviceFrontendAndBackendNodes() throws {
        let h = XenStoreHarness()
        try h.store.addDevice(domid: 1, kind: "vbd", id: 51712, frontend: [("virtual-device", "51712"), ("device-type", "disk")],
                              backend: [("sectors", "2048"), ("sector-size", "512")])
        XCTAssertEqual(h.ask(.directory, ["device"]).split(separator: "\0"), ["vbd"])
        XCTAssertEqual(h.ask(.read, ["device/vbd/51712/backend"]), "/local/domain/0/backend/vbd/1/51712")
        XCTAssertEqual(h.ask(.read, ["device/vbd/51712/backend-id"]), "0")
        XCTAssertEqual(h.ask(.read, ["/local/domain/0/backend/vbd/1/51712/sectors"]), "2048")
        XCTAssertEqual(h.ask(.read, ["/local/domain/0/backend/vbd/1/51712/frontend"]), "/local/domain/1/device/vbd/51712")
        // xenbus frontends write their own state and ring refs; the backend side is dom0's.
        XCTAssertEqual(h.write("device/vbd/51712/state", "3"), "OK\0")
        XCTAssertEqual(h.write("device/vbd/51712/ring-ref", "8"), "OK\0")
        XCTAssertEqual(h.write("/local/domain/0/backend/vbd/1/51712/state", "4"), "ERROR:EACCES")
        XCTAssertEqual(h.store.readString("/local/domain/1/device/vbd/51712/state"), "3")
    }
}

final class XenStoreControlTests: XCTestCase {
    func testShutdownRequestOnlyOnceTheGuestAnnouncedIt() {
        let h = XenStoreHarness()
        XCTAssertFalse(h.store.requestShutdown(.poweroff, domid: 1))
        XCTAssertEqual(h.store.readString("/local/domain/1/control/shutdown"), "")
        // What manage.c does: watch control/shutdown, then announce the features.
        _ = h.send(.watch, ["control/shutdown", "sd"])
        XCTAssertEqual(h.write("control/feature-poweroff", "1"), "OK\0")
        _ = h.drain()
        XCTAssertTrue(h.store.requestShutdown(.poweroff, domid: 1))
        XCTAssertFalse(h.store.requestShutdown(.reboot, domid: 1))
        XCTAssertEqual(h.drain().map(\.strings), [["control/shutdown", "sd"]])
        XCTAssertEqual(h.ask(.read, ["control/shutdown"]), "poweroff")
        // The guest acknowledges by clearing it, which its own watch reports before the OK.
        XCTAssertEqual(h.send(.write, ["control/shutdown"], value: []).map { h.describe($0) }, ["control/shutdown\0sd\0", "OK\0"])
    }

    func testXenbusStateNodes() throws {
        let h = XenStoreHarness()
        try h.store.addDevice(domid: 1, kind: "vbd", id: 51712)
        let be = "/local/domain/0/backend/vbd/1/51712", fe = "/local/domain/1/device/vbd/51712"
        XCTAssertEqual(h.store.xenbusState(at: be), .initialising)
        try h.store.setXenbusState(.initWait, at: be)
        XCTAssertEqual(h.ask(.read, ["/local/domain/0/backend/vbd/1/51712/state"]), "2")
        XCTAssertEqual(h.write("device/vbd/51712/state", "999"), "OK\0")
        XCTAssertNil(h.store.xenbusState(at: fe))
        XCTAssertEqual(h.write("device/vbd/51712/state", "3"), "OK\0")
        XCTAssertEqual(h.store.xenbusState(at: fe), .initialised)
        XCTAssertNil(h.store.xenbusState(at: "/local/domain/1/device/vbd/9"))
    }
}
