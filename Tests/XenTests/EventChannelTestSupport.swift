import XCTest
import MachineCore
@testable import Xen

/// A guest with shared_info placed, an event-channel table on it, and a record of the upcalls
/// the table reported.
final class EventChannelFixture: @unchecked Sendable {
    static let sharedInfo: UInt64 = 0x10000
    static let argument: UInt64 = 0x20000

    let memory: GuestMemory
    let table: EventChannelTable
    private let lock = Lock()
    private var upcallList: [UInt32] = []

    init(vcpuCount: Int = 1, placeSharedInfo: Bool = true) throws {
        memory = try GuestMemory(size: 4 << 20)
        table = EventChannelTable(memory: memory, vcpuCount: vcpuCount)
        table.upcallHandler = { [unowned self] vcpu in self.lock.withLock { self.upcallList.append(vcpu) } }
        if placeSharedInfo { XCTAssertNil(table.placeSharedInfo(at: Self.sharedInfo)) }
    }

    /// Upcalls reported since the last call.
    func takeUpcalls() -> [UInt32] { lock.withLock { defer { upcallList = [] }; return upcallList } }

    func word(_ offset: UInt64, _ index: UInt32) -> UInt64 {
        (try? memory.read64(Self.sharedInfo + offset + UInt64(index) * 8)) ?? 0
    }
    func pending(_ port: UInt32) -> Bool { word(SharedInfoLayout.eventPendingOffset, port / 64) >> (port % 64) & 1 != 0 }
    func masked(_ port: UInt32) -> Bool { word(SharedInfoLayout.eventMaskOffset, port / 64) >> (port % 64) & 1 != 0 }

    func setMask(_ port: UInt32, _ on: Bool) throws {
        let address = Self.sharedInfo + SharedInfoLayout.eventMaskOffset + UInt64(port / 64) * 8
        let bit = UInt64(1) << (port % 64)
        let old = try memory.read64(address)
        try memory.write64(address, on ? old | bit : old & ~bit)
    }

    func vcpuInfo(_ vcpu: UInt32 = 0) -> UInt64 { table.vcpuInfoAddress(vcpu: vcpu)! }
    func selector(_ vcpu: UInt32 = 0) throws -> UInt64 { try memory.read64(vcpuInfo(vcpu) + VCPUInfoLayout.pendingSelectorOffset) }
    func upcallFlag(_ vcpu: UInt32 = 0) throws -> UInt8 { try memory.read8(vcpuInfo(vcpu) + VCPUInfoLayout.upcallPendingOffset) }

    /// What the guest's handler does on an upcall: clear the flag, then the selector.
    func consumeUpcall(_ vcpu: UInt32 = 0) throws {
        try memory.write8(vcpuInfo(vcpu) + VCPUInfoLayout.upcallPendingOffset, 0)
        try memory.write64(vcpuInfo(vcpu) + VCPUInfoLayout.pendingSelectorOffset, 0)
    }

    /// Runs a hypercall with `bytes` as the argument structure at `argument`; returns the errno
    /// (nil: success).
    func hypercall(_ op: UInt64, _ bytes: [UInt8]) throws -> XenErrno? {
        try memory.write(bytes, at: Self.argument)
        return table.hypercall(command: op, argument: Self.argument)
    }
}

/// Little-endian field encoders for building argument structures.
enum EventChannelArgBytes {
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
}

/// The errno an operation was refused with, nil when it succeeded.
func evtchnErrno<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> XenErrno? {
    do {
        _ = try body()
        return nil
    } catch let failure as EventChannelTable.Failure {
        return failure.errno
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
        return nil
    }
}
