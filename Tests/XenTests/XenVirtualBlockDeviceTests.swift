import XCTest
import MachineCore
@testable import Xen

/// The xenbus half of a virtual block device: what the backend publishes, and its answers to
/// each state of the frontend's (the test writes the frontend's nodes as blkfront would).
final class XenVirtualBlockDeviceTests: XCTestCase {
    typealias F = BlockRingFixture

    func makeDevice(_ f: F, readOnly: Bool = false) throws -> (XenVirtualBlockDevice, XenStore) {
        f.backend.disconnect()
        let store = XenStore()
        _ = store.introduce(domid: 1)
        try store.populateDomain(XenStoreDomainConfig(domid: 1, name: "test", memoryKiB: 4096))
        let device = XenVirtualBlockDevice(backend: f.backend, virtualDevice: XenVirtualBlockDevice.virtualDevice(index: 1),
                                           name: XenVirtualBlockDevice.name(index: 1), path: "/images/disk.img", store: store, domid: 1)
        try device.attach()
        return (device, store)
    }

    func testNamesFollowLinuxsXvdNumbering() {
        XCTAssertEqual(XenVirtualBlockDevice.virtualDevice(index: 0), 51712)
        XCTAssertEqual(XenVirtualBlockDevice.virtualDevice(index: 1), 51728)
        XCTAssertEqual(XenVirtualBlockDevice.name(index: 0), "xvda")
        XCTAssertEqual(XenVirtualBlockDevice.name(index: 15), "xvdp")
    }

    func testTheHandshakeConnectsAndTearsDown() throws {
        let f = try F(sectors: 300)
        let (device, store) = try makeDevice(f)
        let fe = "/local/domain/1/device/vbd/51728", be = "/local/domain/0/backend/vbd/1/51728"
        XCTAssertEqual(store.readString(fe + "/backend"), be)
        XCTAssertEqual(store.readString(fe + "/virtual-device"), "51728")
        XCTAssertEqual(store.readString(be + "/frontend"), fe)
        XCTAssertEqual(store.readString(be + "/dev"), "xvdb")
        XCTAssertEqual(store.readString(be + "/mode"), "w")
        XCTAssertEqual(store.readString(be + "/sectors"), "300")
        XCTAssertEqual(store.readString(be + "/info"), "0")
        XCTAssertEqual(store.readString(be + "/feature-flush-cache"), "1")
        XCTAssertEqual(store.readString(be + "/feature-max-indirect-segments"), "256")
        XCTAssertEqual(store.xenbusState(at: be), .initWait)
        let access = try store.permissions(be).access(for: 1, privileged: false)
        XCTAssertTrue(access.canRead && !access.canWrite, "the guest reads the backend's nodes and may not write them")

        // blkfront: ring, channel, protocol, Initialised.
        let port = try f.events.allocUnbound(dom: EventChannelABI.domidSelf, remoteDom: EventChannelABI.domidVMM)
        try store.write(fe + "/ring-ref", String(F.ringRef))
        try store.write(fe + "/event-channel", String(port))
        try store.write(fe + "/protocol", "x86_64-abi")
        try store.write(fe + "/state", "3")
        XCTAssertEqual(store.xenbusState(at: be), .connected, device.lastFailure ?? "")
        XCTAssertTrue(f.backend.isConnected)
        XCTAssertEqual(f.events.guestPort(connectedTo: 1).map { $0 == port }, true)

        try store.write(fe + "/state", "4")
        XCTAssertEqual(store.xenbusState(at: be), .connected, "Connected from the frontend changes nothing")
        try store.write(fe + "/state", "5")
        XCTAssertEqual(store.xenbusState(at: be), .closing)
        XCTAssertFalse(f.backend.isConnected)
        XCTAssertEqual(f.grants.activeUses(ref: F.ringRef).writers, 0)
        try store.write(fe + "/state", "6")
        XCTAssertEqual(store.xenbusState(at: be), .closed)
        try store.write(fe + "/state", "1")
        XCTAssertEqual(store.xenbusState(at: be), .initWait, "a frontend starting over finds the disk again")
    }

    func testWhatTheBackendCannotServeClosesItWithAReason() throws {
        let f = try F()
        let (device, store) = try makeDevice(f)
        let fe = "/local/domain/1/device/vbd/51728", be = "/local/domain/0/backend/vbd/1/51728"
        let port = try f.events.allocUnbound(dom: EventChannelABI.domidSelf, remoteDom: EventChannelABI.domidVMM)
        for (nodes, reason) in [([("protocol", "x86_32-abi"), ("ring-ref", "1"), ("event-channel", "\(port)")], "protocol"),
                                ([("ring-page-order", "2"), ("ring-ref", "1"), ("event-channel", "\(port)")], "ring-page-order"),
                                ([("ring-ref", "junk"), ("event-channel", "\(port)")], "ring-ref"),
                                ([("ring-ref", "60000"), ("event-channel", "\(port)")], "ring-ref 60000"),
                                ([("ring-ref", "1"), ("event-channel", "4000")], "event-channel 4000")] {
            try store.remove(fe)
            try device.attach()
            for (k, v) in nodes { try store.write(fe + "/" + k, v) }
            try store.write(fe + "/state", "3")
            XCTAssertEqual(store.xenbusState(at: be), .closing, reason)
            XCTAssertTrue(device.lastFailure?.contains(reason) ?? false, "\(device.lastFailure ?? "nil") names \(reason)")
            XCTAssertNotNil(store.readString(be + "/error"))
            XCTAssertFalse(f.backend.isConnected)
        }
    }

    func testAReadOnlyDiskSaysSo() throws {
        let f = try F(readOnly: true)
        let (_, store) = try makeDevice(f)
        let be = "/local/domain/0/backend/vbd/1/51728"
        XCTAssertEqual(store.readString(be + "/mode"), "r")
        XCTAssertEqual(store.readString(be + "/info"), String(BlkifABI.infoReadOnly))
    }
}
