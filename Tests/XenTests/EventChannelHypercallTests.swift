import XCTest
import MachineCore
@testable import Xen

/// HYPERVISOR_event_channel_op as the guest issues it: argument structures in guest memory,
/// outputs written back, and hostile arguments answered with an error.
final class EventChannelHypercallTests: XCTestCase {
    typealias ABI = EventChannelABI

    /// alloc_unbound, bind_ipi, bind_virq and bind_interdomain write their port into the guest's
    /// structure at the header's offsets; status fills status, vcpu and the union.
    func testOutputsLandAtTheHeaderOffsets() throws {
        let f = try EventChannelFixture()
        let arg = EventChannelFixture.argument
        XCTAssertNil(try f.hypercall(ABI.opAllocUnbound, EventChannelArgBytes.u16(ABI.domidSelf) + EventChannelArgBytes.u16(0) + EventChannelArgBytes.u32(0xFFFF_FFFF)))
        XCTAssertEqual(try f.memory.read32(arg + 4), 1)
        XCTAssertNil(try f.hypercall(ABI.opBindIPI, EventChannelArgBytes.u32(0) + EventChannelArgBytes.u32(0xDEAD)))
        XCTAssertEqual(try f.memory.read32(arg + 4), 2)
        XCTAssertNil(try f.hypercall(ABI.opBindVIRQ, EventChannelArgBytes.u32(XenVIRQ.debug) + EventChannelArgBytes.u32(0) + EventChannelArgBytes.u32(0xDEAD)))
        XCTAssertEqual(try f.memory.read32(arg + 8), 3)
        XCTAssertNil(try f.hypercall(ABI.opAllocUnbound, EventChannelArgBytes.u16(ABI.domidSelf) + EventChannelArgBytes.u16(ABI.domidSelf) + EventChannelArgBytes.u32(0)))
        XCTAssertNil(try f.hypercall(ABI.opBindInterdomain, EventChannelArgBytes.u16(ABI.domidSelf) + [0, 0] + EventChannelArgBytes.u32(4) + EventChannelArgBytes.u32(0)))
        XCTAssertEqual(try f.memory.read32(arg + 8), 5)

        // status of the interdomain port 5 (connected to 4), then of the unbound port 1 (for dom0)
        XCTAssertNil(try f.hypercall(ABI.opStatus, EventChannelArgBytes.u16(ABI.domidSelf) + [0, 0] + EventChannelArgBytes.u32(5) + Array(repeating: 0xEE, count: 16)))
        XCTAssertEqual(try f.memory.read32(arg + 8), ABI.statusInterdomain)
        XCTAssertEqual(try f.memory.read32(arg + 12), 0)
        XCTAssertEqual(try f.memory.read16(arg + 16), 1)
        XCTAssertEqual(try f.memory.read32(arg + 20), 4)
        XCTAssertNil(try f.hypercall(ABI.opStatus, EventChannelArgBytes.u16(1) + [0, 0] + EventChannelArgBytes.u32(1) + Array(repeating: 0xEE, count: 16)))
        XCTAssertEqual(try f.memory.read32(arg + 8), ABI.statusUnbound)
        XCTAssertEqual(try f.memory.read16(arg + 16), 0)
        XCTAssertNil(try f.hypercall(ABI.opStatus, EventChannelArgBytes.u16(1) + [0, 0] + EventChannelArgBytes.u32(3) + Array(repeating: 0xEE, count: 16)))
        XCTAssertEqual(try f.memory.read32(arg + 8), ABI.statusVIRQ)
        XCTAssertEqual(try f.memory.read32(arg + 16), XenVIRQ.debug)

        // send, unmask, bind_vcpu, close through the hypercall
        XCTAssertNil(try f.hypercall(ABI.opSend, EventChannelArgBytes.u32(2)))
        XCTAssertTrue(f.pending(2))
        XCTAssertNil(try f.hypercall(ABI.opUnmask, EventChannelArgBytes.u32(2)))
        XCTAssertNil(try f.hypercall(ABI.opBindVCPU, EventChannelArgBytes.u32(1) + EventChannelArgBytes.u32(0)))
        XCTAssertNil(try f.hypercall(ABI.opClose, EventChannelArgBytes.u32(2)))
        XCTAssertEqual(f.table.portState(2), .free)
        XCTAssertEqual(try f.hypercall(ABI.opClose, EventChannelArgBytes.u32(2)), .EINVAL)
        XCTAssertNil(try f.hypercall(ABI.opReset, EventChannelArgBytes.u16(ABI.domidSelf)))
        XCTAssertEqual(f.table.portState(1), .free)
        XCTAssertEqual(try f.hypercall(ABI.opReset, EventChannelArgBytes.u16(0)), .EPERM)
    }

    /// FIFO's operations are -ENOSYS (so Linux keeps the 2-level ABI), PIRQs do not exist,
    /// unknown operations are -ENOSYS, and only the low 32 bits of the command count.
    func testUnsupportedOperations() throws {
        let f = try EventChannelFixture()
        XCTAssertEqual(try f.hypercall(ABI.opInitControl, Array(repeating: 0, count: 24)), .ENOSYS)
        XCTAssertEqual(try f.hypercall(ABI.opExpandArray, Array(repeating: 0, count: 8)), .ENOSYS)
        XCTAssertEqual(try f.hypercall(ABI.opSetPriority, Array(repeating: 0, count: 8)), .ENOSYS)
        XCTAssertEqual(try f.hypercall(ABI.opBindPIRQ, Array(repeating: 0, count: 12)), .EINVAL)
        XCTAssertEqual(try f.hypercall(14, []), .ENOSYS)
        XCTAssertEqual(try f.hypercall(.max, []), .ENOSYS)
        XCTAssertEqual(f.table.hypercall(command: 0x1_0000_0000 | ABI.opBindIPI, argument: EventChannelFixture.argument), nil)
        XCTAssertEqual(f.table.portState(1), .ipi)
    }

    /// Argument structures outside RAM, or running off its end, are -EFAULT and change nothing.
    func testBadArgumentAddressesAreEFAULT() throws {
        let f = try EventChannelFixture()
        let end = f.memory.size
        for op: UInt64 in 0...10 where op != ABI.opBindPIRQ {
            for address in [end, end - 1, UInt64.max, UInt64.max - 3, 0xFFFF_F000, 1 << 52] {
                XCTAssertEqual(f.table.hypercall(command: op, argument: address), .EFAULT, "op \(op) at \(address)")
            }
        }
        XCTAssertEqual(f.table.portState(1), .free)
    }

    /// Random operations with random arguments, ports and addresses: every answer is success or
    /// an errno, nothing crashes, and the table's invariants hold afterwards.
    func testHostileGuestNeverCrashesTheTable() throws {
        let f = try EventChannelFixture(vcpuCount: 2)
        var rng = EventChannelTestRandom(seed: 0x5EED)
        let table = f.table
        _ = table.allocateBackendPort { port in _ = table.notifyGuest(fromBackendPort: port) }
        for _ in 0..<20_000 {
            let op = rng.next() % 16
            var bytes = (0..<24).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if rng.next() % 2 == 0 {
                // Keep ports and vCPU numbers small half of the time so that operations succeed too.
                for offset in stride(from: 0, to: 24, by: 4) {
                    bytes.replaceSubrange(offset..<offset + 4, with: EventChannelArgBytes.u32(UInt32(rng.next() % 70)))
                }
                if rng.next() % 3 == 0 { bytes.replaceSubrange(0..<2, with: EventChannelArgBytes.u16(ABI.domidSelf)) }
            }
            let address = rng.next() % 8 == 0 ? rng.next() : EventChannelFixture.argument
            if address == EventChannelFixture.argument { try f.memory.write(bytes, at: address) }
            _ = table.hypercall(command: op, argument: address)
            if rng.next() % 16 == 0 { try f.setMask(UInt32(rng.next() % 4096), rng.next() % 2 == 0) }
            if rng.next() % 64 == 0 { f.table.raiseVIRQ(UInt32(rng.next() % 30), vcpu: UInt32(rng.next() % 3)) }
        }
        // Every port's state is consistent with its peer's.
        for port in UInt32(1)..<ABI.twoLevelPortCount {
            if case .interdomain(let dom, let remote)? = table.portState(port), dom == 1 {
                XCTAssertEqual(table.portState(remote), .interdomain(remoteDomain: 1, remotePort: port))
            }
            XCTAssertLessThan(table.portVCPU(port)!, 2)
        }
    }
}

/// A small deterministic generator for the hostile-input tests.
struct EventChannelTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
