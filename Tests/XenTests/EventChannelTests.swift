import XCTest
import MachineCore
@testable import Xen

/// 2-level event channels: the pending/mask/selector rule of Xen's event_2l.c, the operations'
/// state changes and their answers to bad arguments.
final class EventChannelTests: XCTestCase {
    // MARK: the pending / mask / selector rule

    /// An unmasked port going pending sets its bit, its word's selector bit and the upcall flag,
    /// and reports one upcall; a second send while still pending changes nothing.
    func testSendOnUnmaskedPortRaisesSelectorAndUpcall() throws {
        let f = try EventChannelFixture()
        let port = try f.table.bindIPI(vcpu: 0)
        XCTAssertNil(evtchnErrno { try f.table.send(port: port) })
        XCTAssertTrue(f.pending(port))
        XCTAssertEqual(try f.selector(), UInt64(1) << (port / 64))
        XCTAssertEqual(try f.upcallFlag(), 1)
        XCTAssertEqual(f.takeUpcalls(), [0])
        XCTAssertNil(evtchnErrno { try f.table.send(port: port) })
        XCTAssertEqual(f.takeUpcalls(), [])
    }

    /// A masked port collects its pending bit but raises neither selector nor upcall; unmasking
    /// it delivers the event then (EVTCHNOP_unmask re-runs the check).
    func testMaskedSendGivesNoUpcallUntilUnmask() throws {
        let f = try EventChannelFixture()
        let port = try f.table.bindIPI(vcpu: 0)
        try f.setMask(port, true)
        XCTAssertNil(evtchnErrno { try f.table.send(port: port) })
        XCTAssertTrue(f.pending(port))
        XCTAssertEqual(try f.selector(), 0)
        XCTAssertEqual(try f.upcallFlag(), 0)
        XCTAssertEqual(f.takeUpcalls(), [])

        XCTAssertNil(evtchnErrno { try f.table.unmask(port: port) })
        XCTAssertFalse(f.masked(port))
        XCTAssertEqual(try f.selector(), UInt64(1) << (port / 64))
        XCTAssertEqual(try f.upcallFlag(), 1)
        XCTAssertEqual(f.takeUpcalls(), [0])
    }

    /// Unmasking a port with nothing pending, or one that was not masked, raises nothing.
    func testUnmaskWithoutPendingEventRaisesNothing() throws {
        let f = try EventChannelFixture()
        let port = try f.table.bindIPI(vcpu: 0)
        try f.setMask(port, true)
        XCTAssertNil(evtchnErrno { try f.table.unmask(port: port) })
        XCTAssertNil(evtchnErrno { try f.table.unmask(port: port) })
        XCTAssertEqual(try f.selector(), 0)
        XCTAssertEqual(f.takeUpcalls(), [])
    }

    /// A second port of the same word while the selector bit is still set, or any port while the
    /// upcall flag is still set, gives no further upcall: the guest has not consumed the first.
    func testNoSecondUpcallWhileSelectorOrFlagStillSet() throws {
        let f = try EventChannelFixture()
        let a = try f.table.bindIPI(vcpu: 0), b = try f.table.bindIPI(vcpu: 0)
        XCTAssertEqual(a / 64, b / 64)
        try f.table.send(port: a)
        XCTAssertEqual(f.takeUpcalls(), [0])
        try f.table.send(port: b)
        XCTAssertEqual(f.takeUpcalls(), [])

        // Guest consumed the selector but left the flag set: the selector comes back, no upcall.
        try f.memory.write64(f.vcpuInfo() + VCPUInfoLayout.pendingSelectorOffset, 0)
        try f.memory.write64(EventChannelFixture.sharedInfo + SharedInfoLayout.eventPendingOffset, 0)
        try f.table.send(port: a)
        XCTAssertEqual(try f.selector(), 1)
        XCTAssertEqual(f.takeUpcalls(), [])

        // After the guest consumed everything, the next event raises an upcall again.
        try f.consumeUpcall()
        try f.memory.write64(EventChannelFixture.sharedInfo + SharedInfoLayout.eventPendingOffset, 0)
        try f.table.send(port: b)
        XCTAssertEqual(f.takeUpcalls(), [0])
        XCTAssertTrue(f.table.upcallPending(vcpu: 0))
    }

    /// Ports past 63 use the next pending word and the next selector bit.
    func testHighPortUsesItsOwnWordAndSelectorBit() throws {
        let f = try EventChannelFixture()
        var port: UInt32 = 0
        for _ in 0..<130 { port = try f.table.bindIPI(vcpu: 0) }
        XCTAssertEqual(port, 130)
        try f.table.send(port: port)
        XCTAssertEqual(f.word(SharedInfoLayout.eventPendingOffset, 2), UInt64(1) << 2)
        XCTAssertEqual(try f.selector(), 1 << 2)
    }

    /// Before the guest placed shared_info there is nowhere to record an event: it is dropped,
    /// nothing is written and nothing crashes.
    func testEventsBeforeSharedInfoAreDropped() throws {
        let f = try EventChannelFixture(placeSharedInfo: false)
        let port = try f.table.bindIPI(vcpu: 0)
        XCTAssertNil(evtchnErrno { try f.table.send(port: port) })
        XCTAssertNil(evtchnErrno { try f.table.unmask(port: port) })
        XCTAssertNil(f.table.vcpuInfoAddress(vcpu: 0))
        XCTAssertFalse(f.table.upcallPending(vcpu: 0))
        XCTAssertEqual(f.takeUpcalls(), [])
    }

    // MARK: operations and their states

    /// Ports are handed out from 1 upward (0 is reserved) and reused lowest-first after close.
    func testPortAllocationAndReuse() throws {
        let f = try EventChannelFixture()
        XCTAssertEqual(try f.table.bindIPI(vcpu: 0), 1)
        XCTAssertEqual(try f.table.allocUnbound(dom: EventChannelABI.domidSelf, remoteDom: 0), 2)
        XCTAssertEqual(try f.table.bindVIRQ(XenVIRQ.debug, vcpu: 0), 3)
        try f.table.close(port: 1)
        XCTAssertEqual(try f.table.bindIPI(vcpu: 0), 1)
        XCTAssertEqual(f.table.portState(0), .reserved)
    }

    /// Every one of the 4095 usable ports can be taken; then allocation is -ENOSPC.
    func testPortSpaceExhaustionIsENOSPC() throws {
        let f = try EventChannelFixture()
        for _ in 1..<EventChannelABI.twoLevelPortCount { _ = try f.table.bindIPI(vcpu: 0) }
        XCTAssertEqual(evtchnErrno { try f.table.bindIPI(vcpu: 0) }, .ENOSPC)
        XCTAssertEqual(evtchnErrno { try f.table.allocUnbound(dom: EventChannelABI.domidSelf, remoteDom: 0) }, .ENOSPC)
        XCTAssertEqual(evtchnErrno { try f.table.bindInterdomain(remoteDom: EventChannelABI.domidSelf, remotePort: 5) }, .ENOSPC)
    }

    /// Each VIRQ binds once per vCPU (-EEXIST), again after close; global VIRQs bind on vCPU 0
    /// only; numbers past NR_VIRQS and absent vCPUs are refused.
    func testBindVIRQRules() throws {
        let f = try EventChannelFixture()
        let port = try f.table.bindVIRQ(XenVIRQ.debug, vcpu: 0)
        XCTAssertEqual(evtchnErrno { try f.table.bindVIRQ(XenVIRQ.debug, vcpu: 0) }, .EEXIST)
        try f.table.close(port: port)
        XCTAssertEqual(try f.table.bindVIRQ(XenVIRQ.debug, vcpu: 0), port)
        XCTAssertEqual(evtchnErrno { try f.table.bindVIRQ(XenVIRQ.console, vcpu: 1) }, .EINVAL)
        XCTAssertEqual(evtchnErrno { try f.table.bindVIRQ(XenVIRQ.timer, vcpu: 1) }, .ENOENT)
        XCTAssertEqual(evtchnErrno { try f.table.bindVIRQ(XenVIRQ.count, vcpu: 0) }, .EINVAL)
        XCTAssertEqual(evtchnErrno { try f.table.bindVIRQ(.max, vcpu: .max) }, .EINVAL)
        XCTAssertEqual(evtchnErrno { try f.table.bindIPI(vcpu: 1) }, .ENOENT)
    }

    /// The VMM raises a bound VIRQ; an unbound one goes nowhere.
    func testRaiseVIRQ() throws {
        let f = try EventChannelFixture()
        XCTAssertNil(f.table.raiseVIRQ(XenVIRQ.debug))
        let port = try f.table.bindVIRQ(XenVIRQ.debug, vcpu: 0)
        XCTAssertEqual(f.table.raiseVIRQ(XenVIRQ.debug), 0)
        XCTAssertTrue(f.pending(port))
        XCTAssertEqual(f.takeUpcalls(), [0])
        XCTAssertNil(f.table.raiseVIRQ(99))
        XCTAssertNil(f.table.raiseVIRQ(XenVIRQ.timer, vcpu: 7))
    }

    /// Closing frees the port, clears its pending bit and forgets a VIRQ binding; closing it
    /// again, closing port 0 or sending on a closed port is -EINVAL.
    func testCloseFreesPortAndClearsPending() throws {
        let f = try EventChannelFixture()
        let port = try f.table.bindIPI(vcpu: 0)
        try f.setMask(port, true)
        try f.table.send(port: port)
        XCTAssertTrue(f.pending(port))
        try f.table.close(port: port)
        XCTAssertFalse(f.pending(port))
        XCTAssertTrue(f.masked(port), "the mask bit is the guest's")
        XCTAssertEqual(f.table.portState(port), .free)
        XCTAssertEqual(evtchnErrno { try f.table.close(port: port) }, .EINVAL)
        XCTAssertEqual(evtchnErrno { try f.table.close(port: 0) }, .EINVAL)
        XCTAssertEqual(evtchnErrno { try f.table.send(port: port) }, .EINVAL)
        XCTAssertEqual(evtchnErrno { try f.table.send(port: 0) }, .EINVAL)
        let virqPort = try f.table.bindVIRQ(XenVIRQ.debug, vcpu: 0)
        XCTAssertEqual(evtchnErrno { try f.table.send(port: virqPort) }, .EINVAL, "a VIRQ port has no remote end")
        try f.table.close(port: virqPort)
        XCTAssertNil(f.table.raiseVIRQ(XenVIRQ.debug))
    }

    /// Port numbers past the 2-level table are -EINVAL for every operation that takes one.
    func testPortsOutOfRange() throws {
        let f = try EventChannelFixture()
        for port: UInt32 in [4096, 4097, 0x8000_0000, .max] {
            XCTAssertEqual(evtchnErrno { try f.table.send(port: port) }, .EINVAL)
            XCTAssertEqual(evtchnErrno { try f.table.close(port: port) }, .EINVAL)
            XCTAssertEqual(evtchnErrno { try f.table.unmask(port: port) }, .EINVAL)
            XCTAssertEqual(evtchnErrno { try f.table.status(dom: EventChannelABI.domidSelf, port: port) }, .EINVAL)
            XCTAssertEqual(evtchnErrno { try f.table.bindVCPU(port: port, vcpu: 0) }, .EINVAL)
            XCTAssertEqual(evtchnErrno { try f.table.bindInterdomain(remoteDom: EventChannelABI.domidSelf, remotePort: port) }, .EINVAL)
            XCTAssertEqual(evtchnErrno { try f.table.bindBackend(toGuestPort: port) { _ in } }, .EINVAL)
            XCTAssertNil(f.table.portState(port))
        }
        // A refused bind_interdomain gives back the port it had taken.
        XCTAssertEqual(try f.table.bindIPI(vcpu: 0), 1)
    }

    /// bind_vcpu: an absent vCPU is -ENOENT (checked first, as Xen does); IPI, per-vCPU VIRQ and
    /// free ports cannot move (-EINVAL); unbound, interdomain and global VIRQ ports can.
    func testBindVCPU() throws {
        let f = try EventChannelFixture(vcpuCount: 2)
        let ipi = try f.table.bindIPI(vcpu: 1)
        let timer = try f.table.bindVIRQ(XenVIRQ.timer, vcpu: 1)
        let console = try f.table.bindVIRQ(XenVIRQ.console, vcpu: 0)
        let unbound = try f.table.allocUnbound(dom: 1, remoteDom: 0)
        XCTAssertEqual(evtchnErrno { try f.table.bindVCPU(port: unbound, vcpu: 2) }, .ENOENT)
        XCTAssertEqual(evtchnErrno { try f.table.bindVCPU(port: 9999, vcpu: 2) }, .ENOENT)
        XCTAssertEqual(evtchnErrno { try f.table.bindVCPU(port: ipi, vcpu: 0) }, .EINVAL)
        XCTAssertEqual(evtchnErrno { try f.table.bindVCPU(port: timer, vcpu: 0) }, .EINVAL)
        XCTAssertEqual(evtchnErrno { try f.table.bindVCPU(port: 77, vcpu: 0) }, .EINVAL)
        XCTAssertNil(evtchnErrno { try f.table.bindVCPU(port: console, vcpu: 1) })
        XCTAssertNil(evtchnErrno { try f.table.bindVCPU(port: unbound, vcpu: 1) })
        XCTAssertEqual(f.table.portVCPU(console), 1)

        // An event goes to the vCPU the port is bound to now; closing resets the binding.
        XCTAssertEqual(f.table.raiseVIRQ(XenVIRQ.console), 1)
        XCTAssertEqual(f.takeUpcalls(), [1])
        XCTAssertEqual(try f.selector(1), 1)
        XCTAssertEqual(try f.selector(0), 0)
        try f.table.close(port: console)
        XCTAssertEqual(f.table.portVCPU(console), 0)
    }

    /// A pending, unmasked event follows its port to the new vCPU.
    func testBindVCPUMovesPendingEvent() throws {
        let f = try EventChannelFixture(vcpuCount: 2)
        let port = try f.table.bindVIRQ(XenVIRQ.console, vcpu: 0)
        f.table.raiseVIRQ(XenVIRQ.console)
        XCTAssertEqual(f.takeUpcalls(), [0])
        try f.table.bindVCPU(port: port, vcpu: 1)
        XCTAssertEqual(f.takeUpcalls(), [1])
    }

    /// Loopback interdomain: the guest binds to its own unbound port; sends cross over; closing
    /// one end puts the other back to unbound; the status fields say so.
    func testLoopbackInterdomainAndStatus() throws {
        let f = try EventChannelFixture()
        let listener = try f.table.allocUnbound(dom: EventChannelABI.domidSelf, remoteDom: EventChannelABI.domidSelf)
        XCTAssertEqual(try f.table.status(dom: 1, port: listener),
                       EventChannelStatus(status: EventChannelABI.statusUnbound, vcpu: 0, remoteDomain: 1))
        let connector = try f.table.bindInterdomain(remoteDom: 1, remotePort: listener)
        XCTAssertTrue(f.pending(connector), "Xen marks a freshly bound port pending")
        XCTAssertEqual(f.takeUpcalls(), [0])
        XCTAssertEqual(try f.table.status(dom: EventChannelABI.domidSelf, port: connector),
                       EventChannelStatus(status: EventChannelABI.statusInterdomain, vcpu: 0, remoteDomain: 1, remotePort: listener))
        XCTAssertEqual(evtchnErrno { try f.table.bindInterdomain(remoteDom: 1, remotePort: listener) }, .EINVAL, "already bound")

        try f.table.send(port: connector)
        XCTAssertTrue(f.pending(listener))
        try f.table.close(port: connector)
        XCTAssertEqual(f.table.portState(listener), .unbound(remoteDomain: 1))
        XCTAssertEqual(try f.table.status(dom: 1, port: connector).status, EventChannelABI.statusClosed)
        XCTAssertNil(evtchnErrno { try f.table.send(port: listener) }, "an unbound port drops the event silently")

        XCTAssertEqual(try f.table.status(dom: 1, port: 0).status, EventChannelABI.statusClosed)
        let virq = try f.table.bindVIRQ(XenVIRQ.debug, vcpu: 0)
        XCTAssertEqual(try f.table.status(dom: 1, port: virq),
                       EventChannelStatus(status: EventChannelABI.statusVIRQ, vcpu: 0, virq: XenVIRQ.debug))
        XCTAssertEqual(try f.table.status(dom: 1, port: try f.table.bindIPI(vcpu: 0)).status, EventChannelABI.statusIPI)
        XCTAssertEqual(evtchnErrno { try f.table.status(dom: 0, port: 1) }, .EPERM)
        XCTAssertEqual(evtchnErrno { try f.table.status(dom: 2, port: 1) }, .ESRCH)
    }

    /// bind_interdomain names only the guest or the VMM, and only a port waiting for the guest.
    func testBindInterdomainRefusals() throws {
        let f = try EventChannelFixture()
        let forVMM = try f.table.allocUnbound(dom: 1, remoteDom: 0)
        XCTAssertEqual(evtchnErrno { try f.table.bindInterdomain(remoteDom: 1, remotePort: forVMM) }, .EINVAL, "waits for dom0")
        XCTAssertEqual(evtchnErrno { try f.table.bindInterdomain(remoteDom: 5, remotePort: 1) }, .ESRCH)
        XCTAssertEqual(evtchnErrno { try f.table.bindInterdomain(remoteDom: 0, remotePort: 1) }, .EINVAL, "no such backend port")
        let ipi = try f.table.bindIPI(vcpu: 0)
        XCTAssertEqual(evtchnErrno { try f.table.bindInterdomain(remoteDom: 1, remotePort: ipi) }, .EINVAL)
        XCTAssertEqual(evtchnErrno { try f.table.allocUnbound(dom: 0, remoteDom: 1) }, .EPERM)
        XCTAssertEqual(evtchnErrno { try f.table.allocUnbound(dom: 3, remoteDom: 1) }, .ESRCH)
    }

    // MARK: the VMM's backends

    /// The usual frontend path: the guest allocates a port for domain 0, the backend binds it;
    /// guest sends run the backend's handler, backend notifications raise the guest's port; the
    /// backend's close returns the guest port to waiting for domain 0.
    func testBackendBindsGuestAllocatedPort() throws {
        let f = try EventChannelFixture()
        let received = Lock(), log = EventChannelHandlerLog()
        let guestPort = try f.table.allocUnbound(dom: EventChannelABI.domidSelf, remoteDom: 0)
        let backendPort = try f.table.bindBackend(toGuestPort: guestPort) { port in received.withLock { log.values.append(port) } }
        XCTAssertEqual(evtchnErrno { try f.table.bindBackend(toGuestPort: guestPort) { _ in } }, .EINVAL, "bound already")
        XCTAssertEqual(f.table.guestPort(connectedTo: backendPort), guestPort)
        XCTAssertEqual(try f.table.status(dom: 1, port: guestPort),
                       EventChannelStatus(status: EventChannelABI.statusInterdomain, vcpu: 0, remoteDomain: 0, remotePort: backendPort))

        try f.table.send(port: guestPort)
        try f.table.send(port: guestPort)
        XCTAssertEqual(received.withLock { log.values }, [backendPort, backendPort])
        XCTAssertFalse(f.pending(guestPort), "a send to the VMM sets nothing in the guest")

        XCTAssertEqual(f.table.notifyGuest(fromBackendPort: backendPort), 0)
        XCTAssertTrue(f.pending(guestPort))
        XCTAssertEqual(f.takeUpcalls(), [0])

        f.table.closeBackendPort(backendPort)
        XCTAssertEqual(f.table.portState(guestPort), .unbound(remoteDomain: 0))
        XCTAssertNil(f.table.notifyGuest(fromBackendPort: backendPort))
        XCTAssertNil(evtchnErrno { try f.table.send(port: guestPort) })
        XCTAssertEqual(received.withLock { log.values }.count, 2)
    }

    /// The other path: the VMM allocates the backend port and the guest binds to it; the guest's
    /// close returns the backend port to waiting.
    func testGuestBindsBackendAllocatedPort() throws {
        let f = try EventChannelFixture()
        let log = EventChannelHandlerLog(), lock = Lock()
        let backendPort = try XCTUnwrap(f.table.allocateBackendPort { port in lock.withLock { log.values.append(port) } })
        XCTAssertNil(f.table.guestPort(connectedTo: backendPort))
        let guestPort = try f.table.bindInterdomain(remoteDom: 0, remotePort: backendPort)
        XCTAssertEqual(f.table.guestPort(connectedTo: backendPort), guestPort)
        XCTAssertEqual(evtchnErrno { try f.table.bindInterdomain(remoteDom: 0, remotePort: backendPort) }, .EINVAL)
        try f.table.send(port: guestPort)
        XCTAssertEqual(lock.withLock { log.values }, [backendPort])
        try f.table.close(port: guestPort)
        XCTAssertNil(f.table.guestPort(connectedTo: backendPort))
        XCTAssertEqual(try f.table.bindInterdomain(remoteDom: 0, remotePort: backendPort), guestPort)
    }

    /// A backend handler may call back into the table (the lock is not held while it runs).
    func testBackendHandlerMayReenterTheTable() throws {
        let f = try EventChannelFixture()
        let guestPort = try f.table.allocUnbound(dom: 1, remoteDom: 0)
        let table = f.table
        _ = try f.table.bindBackend(toGuestPort: guestPort) { port in table.notifyGuest(fromBackendPort: port) }
        try f.table.send(port: guestPort)
        XCTAssertTrue(f.pending(guestPort))
        XCTAssertEqual(f.takeUpcalls(), [0])
    }

    // MARK: shared_info and vcpu_info placement

    /// A moved shared_info page keeps its contents; placements off a page or outside RAM fail.
    func testPlaceSharedInfo() throws {
        let f = try EventChannelFixture()
        let port = try f.table.bindIPI(vcpu: 0)
        try f.table.send(port: port)
        XCTAssertEqual(f.table.placeSharedInfo(at: 0x10800), .EINVAL)
        XCTAssertEqual(f.table.placeSharedInfo(at: 4 << 20), .EINVAL)
        XCTAssertEqual(f.table.placeSharedInfo(at: UInt64.max & ~0xFFF), .EINVAL)
        XCTAssertNil(f.table.placeSharedInfo(at: 0x40000))
        XCTAssertEqual(f.table.sharedInfo, 0x40000)
        XCTAssertEqual(try f.memory.read64(0x40000 + SharedInfoLayout.eventPendingOffset), UInt64(1) << port)
        XCTAssertEqual(try f.memory.read8(0x40000 + VCPUInfoLayout.upcallPendingOffset), 1)
    }

    /// The first placement starts from a zeroed page, whatever the guest's RAM held.
    func testFirstSharedInfoPlacementIsZeroed() throws {
        let f = try EventChannelFixture(placeSharedInfo: false)
        try f.memory.fill(0x50000, count: 4096, with: 0xAA)
        XCTAssertNil(f.table.placeSharedInfo(at: 0x50000))
        XCTAssertEqual(try f.memory.read(0x50000, count: 4096), Array(repeating: 0, count: 4096))
    }

    /// VCPUOP_register_vcpu_info: the vcpu_info moves to the guest's frame with its contents, all
    /// selector bits and the upcall flag set (nothing pending may be lost); later events land
    /// there. Bad offsets, a second registration, absent vCPUs and non-RAM frames are refused.
    func testRegisterVCPUInfo() throws {
        let f = try EventChannelFixture()
        try f.memory.write64(EventChannelFixture.sharedInfo + VCPUInfoLayout.timeOffset, 0x1234_5678)
        XCTAssertEqual(f.table.registerVCPUInfo(vcpu: 0, frame: 0x60, offset: 4033).error, .EINVAL)
        XCTAssertEqual(f.table.registerVCPUInfo(vcpu: 0, frame: 0x60, offset: 4).error, .EINVAL)
        XCTAssertEqual(f.table.registerVCPUInfo(vcpu: 1, frame: 0x60, offset: 0).error, .ENOENT)
        XCTAssertEqual(f.table.registerVCPUInfo(vcpu: 0, frame: 0x400, offset: 0).error, .EINVAL, "past 4 MiB of RAM")
        XCTAssertEqual(f.table.registerVCPUInfo(vcpu: 0, frame: .max, offset: 0).error, .EINVAL)
        XCTAssertEqual(f.takeUpcalls(), [])

        let result = f.table.registerVCPUInfo(vcpu: 0, frame: 0x60, offset: 0x40)
        XCTAssertNil(result.error)
        XCTAssertEqual(result.upcall, 0)
        XCTAssertEqual(f.takeUpcalls(), [0])
        let info: UInt64 = 0x60040
        XCTAssertEqual(f.table.vcpuInfoAddress(vcpu: 0), info)
        XCTAssertEqual(try f.memory.read64(info + VCPUInfoLayout.timeOffset), 0x1234_5678)
        XCTAssertEqual(try f.memory.read64(info + VCPUInfoLayout.pendingSelectorOffset), .max)
        XCTAssertEqual(try f.memory.read8(info + VCPUInfoLayout.upcallPendingOffset), 1)
        XCTAssertEqual(f.table.registerVCPUInfo(vcpu: 0, frame: 0x61, offset: 0).error, .EINVAL, "once only")

        try f.consumeUpcall()
        let port = try f.table.bindIPI(vcpu: 0)
        try f.table.send(port: port)
        XCTAssertEqual(try f.memory.read8(info + VCPUInfoLayout.upcallPendingOffset), 1)
        XCTAssertEqual(try f.memory.read8(EventChannelFixture.sharedInfo + VCPUInfoLayout.upcallPendingOffset), 0,
                       "the shared_info slot is no longer the live copy")
    }

    /// A machine reset forgets every binding and placement.
    func testResetDomain() throws {
        let f = try EventChannelFixture()
        let guestPort = try f.table.allocUnbound(dom: 1, remoteDom: 0)
        let backendPort = try f.table.bindBackend(toGuestPort: guestPort) { _ in }
        _ = try f.table.bindVIRQ(XenVIRQ.debug, vcpu: 0)
        f.table.resetDomain()
        XCTAssertNil(f.table.sharedInfo)
        XCTAssertEqual(f.table.portState(guestPort), .free)
        XCTAssertNil(f.table.guestPort(connectedTo: backendPort))
        XCTAssertEqual(try f.table.bindVIRQ(XenVIRQ.debug, vcpu: 0), 1)
    }
}

/// A mutable list shared with a handler closure (guarded by the test's lock).
final class EventChannelHandlerLog: @unchecked Sendable {
    var values: [UInt32] = []
}

/// The guest-shared words are updated atomically, and the wall clock under its version rule.
final class EventChannelSharedWordTests: XCTestCase {
    /// Two threads setting and clearing their own bit of one guest word, as the VMM and a guest
    /// vCPU do with pending bits: neither may ever lose the other's bit (a plain
    /// load-modify-store would, within a few thousand rounds).
    func testConcurrentBitUpdatesOnOneGuestWordAreNotLost() throws {
        let memory = try GuestMemory(size: 2 << 20)
        let word = try XCTUnwrap(memory.ramPointer(0x1000, length: 8))
        let lost = Lock(), losses = EventChannelHandlerLog()
        DispatchQueue.concurrentPerform(iterations: 2) { bit in
            let mine = UInt64(1) << UInt64(bit * 7)
            for _ in 0..<200_000 {
                _ = GuestAtomics.fetchOr(word, mine)
                if GuestAtomics.load(word) & mine == 0 { lost.withLock { losses.values.append(UInt32(bit)) } }
                _ = GuestAtomics.fetchAndNot(word, mine)
            }
        }
        XCTAssertEqual(losses.values, [])
        XCTAssertEqual(GuestAtomics.load(word), 0)
    }

    /// wc_version ends even and one step of two past where it was; the fields hold the time.
    func testWallClockUpdate() throws {
        let f = try EventChannelFixture()
        let base = EventChannelFixture.sharedInfo
        f.table.updateWallClock(seconds: 0x1_2345_6789, nanoseconds: 999)
        XCTAssertEqual(try f.memory.read32(base + SharedInfoLayout.wallClockVersionOffset), 2)
        XCTAssertEqual(try f.memory.read32(base + SharedInfoLayout.wallClockSecondsOffset), 0x2345_6789)
        XCTAssertEqual(try f.memory.read32(base + SharedInfoLayout.wallClockSecondsHighOffset), 1)
        XCTAssertEqual(try f.memory.read32(base + SharedInfoLayout.wallClockNanosecondsOffset), 999)
        try f.memory.write32(base + SharedInfoLayout.wallClockVersionOffset, 5)
        f.table.updateWallClock(seconds: 1, nanoseconds: 0)
        XCTAssertEqual(try f.memory.read32(base + SharedInfoLayout.wallClockVersionOffset), 6)
        let unplaced = try EventChannelFixture(placeSharedInfo: false)
        unplaced.table.updateWallClock(seconds: 1, nanoseconds: 1)
    }
}
