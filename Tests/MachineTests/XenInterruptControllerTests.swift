import Devices
import MachineCore
import Xen
import XCTest
@testable import Machine

/// Upcall delivery (facts §2.4): the HVM callback vector goes in ahead of the local APIC for as
/// long as evtchn_upcall_pending is set, with no EOI; a per-vCPU vector becomes a fixed edge
/// interrupt in the local APIC, which the guest EOIs.
final class XenInterruptControllerTests: XCTestCase {
    /// The board's controller: the local APIC alone.
    final class APICOnly: InterruptController {
        let lapic: LocalAPIC
        init(_ lapic: LocalAPIC) { self.lapic = lapic }
        var interruptRequested: Bool { lapic.interruptRequested }
        func acknowledgeInterrupt() -> UInt8 { lapic.acknowledge() }
    }

    final class Identity: HypercallContext {
        func physicalAddress(ofLinear linear: UInt64, write: Bool) -> UInt64? { linear }
    }

    static let sharedInfo: UInt64 = 0x30000

    func make() throws -> (XenInterruptController, LocalAPIC, XenHypervisor, GuestMemory) {
        let memory = try GuestMemory(size: 4 << 20)
        let xen = XenHypervisor(memory: memory)
        let lapic = LocalAPIC(timers: TimerQueue(clock: MachineClock(mode: .virtual)))
        // x2APIC mode, software-enabled (SVR bit 8), so that requests show.
        XCTAssertTrue(lapic.writeBaseMSR(0xFEE0_0000 | (1 << 11) | (1 << 10)))
        XCTAssertTrue(lapic.writeMSR(0x80F, 0x1FF))
        let controller = XenInterruptController(inner: APICOnly(lapic), lapic: lapic, hypervisor: xen)
        xen.onUpcall = { _, route in controller.post(route) }
        XCTAssertNil(xen.eventChannels.placeSharedInfo(at: Self.sharedInfo))
        return (controller, lapic, xen, memory)
    }

    /// A 64-bit hypercall with a structure at 0x20000.
    func call(_ xen: XenHypervisor, _ memory: GuestMemory, _ number: UInt64, _ command: UInt64, _ argument: [UInt8]) throws -> Int64 {
        try memory.write(argument, at: 0x20000)
        var r = HypercallRegisters(instruction: .vmcall, cpl: 0, longMode: true, rax: number, rsi: 0x20000, rdi: command)
        _ = xen.hypercall(&r, context: Identity())
        return Int64(bitPattern: r.rax)
    }

    func bytes(_ values: [(UInt64, Int)]) -> [UInt8] {
        values.flatMap { v, n in (0..<n).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
    }

    /// Binds an IPI port and sends on it: the upcall becomes due.
    func raiseEvent(_ xen: XenHypervisor, _ memory: GuestMemory) throws {
        XCTAssertEqual(try call(xen, memory, XenHypercall.eventChannelOp, 7, bytes([(0, 4), (0, 4)])), 0)  // bind_ipi
        let port = try memory.read32(0x20004)
        XCTAssertEqual(try call(xen, memory, XenHypercall.eventChannelOp, 4, bytes([(UInt64(port), 4)])), 0)  // send
    }

    func testTheCallbackVectorGoesFirstWhileThePendingFlagIsSet() throws {
        let (controller, lapic, xen, memory) = try make()
        lapic.acceptInterrupt(vector: 0x30, levelTriggered: false)  // a device's interrupt waits too
        let callback = bytes([(0x7FF0, 2), (0, 2), (0, 4), ((2 << 56) | 0xF3, 8)])
        XCTAssertEqual(try call(xen, memory, XenHypercall.hvmOp, XenHVMABI.setParam, callback), 0)
        try raiseEvent(xen, memory)
        XCTAssertTrue(controller.interruptRequested)
        XCTAssertEqual(controller.acknowledgeInterrupt(), 0xF3)
        // No EOI: still due while the flag stays set (level-like), and nothing entered the APIC's ISR.
        XCTAssertEqual(controller.acknowledgeInterrupt(), 0xF3)
        // The guest's handler clears evtchn_upcall_pending: the APIC's request is next.
        try memory.write8(Self.sharedInfo, 0)
        XCTAssertTrue(controller.interruptRequested)
        XCTAssertEqual(controller.acknowledgeInterrupt(), 0x30)
    }

    func testAPerVCPUVectorIsAFixedInterruptInTheLocalAPIC() throws {
        let (controller, lapic, xen, memory) = try make()
        XCTAssertEqual(try call(xen, memory, XenHypercall.hvmOp, XenHVMABI.setEvtchnUpcallVector, bytes([(0, 4), (0xE9, 4)])), 0)
        XCTAssertFalse(controller.interruptRequested)
        try raiseEvent(xen, memory)
        XCTAssertFalse(lapic.interruptRequested, "posted, not yet accepted: that happens under the machine lock")
        XCTAssertTrue(controller.interruptRequested)
        XCTAssertEqual(controller.acknowledgeInterrupt(), 0xE9)
        XCTAssertFalse(controller.interruptRequested, "one edge, in service until the guest's EOI")
    }
}
