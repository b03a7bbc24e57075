import XCTest
import MachineCore
@testable import Xen

/// A vCPU as the hypervisor sees it: guest-linear addresses map to physical ones at a fixed
/// offset (a kernel's direct map), except pages the test leaves unmapped.
final class FakeHypercallContext: HypercallContext {
    static let directMap: UInt64 = 0xFFFF_8880_0000_0000
    var unmappedPages: Set<UInt64> = []
    func physicalAddress(ofLinear linear: UInt64, write: Bool) -> UInt64? {
        if unmappedPages.contains(linear >> 12) { return nil }
        if linear >= Self.directMap { return linear - Self.directMap }
        return linear  // identity below the direct map (32-bit guests)
    }
}

/// A 4 MiB guest with the hypervisor on it, recording what it asks of the machine.
final class XenHypervisorFixture: @unchecked Sendable {
    let memory: GuestMemory
    let xen: XenHypervisor
    let context = FakeHypercallContext()
    private let lock = Lock()
    private var shutdownList: [XenGuestShutdown] = []
    private var consoleBytes: [UInt8] = []
    private var upcallList: [XenUpcallRoute] = []

    /// Physical address tests put argument structures at.
    static let argument: UInt64 = 0x20000

    init(version: XenInterfaceVersion = .default) throws {
        memory = try GuestMemory(size: 4 << 20)
        xen = XenHypervisor(memory: memory, version: version)
        xen.onShutdown = { [unowned self] r in lock.withLock { shutdownList.append(r) } }
        xen.onConsoleWrite = { [unowned self] b in lock.withLock { consoleBytes += b } }
        xen.onUpcall = { [unowned self] _, route in lock.withLock { upcallList.append(route) } }
    }

    var shutdowns: [XenGuestShutdown] { lock.withLock { shutdownList } }
    var console: String { lock.withLock { String(decoding: consoleBytes, as: UTF8.self) } }
    func takeUpcalls() -> [XenUpcallRoute] { lock.withLock { defer { upcallList = [] }; return upcallList } }

    /// A 64-bit hypercall from CPL `cpl`; returns RAX as a signed value.
    @discardableResult
    func call64(_ number: UInt64, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0, cpl: Int = 0) -> Int64 {
        var r = HypercallRegisters(instruction: .vmcall, cpl: cpl, longMode: true, rax: number, rdx: a3, rsi: a2, rdi: a1)
        XCTAssertEqual(xen.hypercall(&r, context: context), .handled)
        return Int64(bitPattern: r.rax)
    }

    /// A 32-bit hypercall; returns EAX sign-extended.
    @discardableResult
    func call32(_ number: UInt64, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> Int64 {
        var r = HypercallRegisters(instruction: .vmcall, cpl: 0, longMode: false, rax: number, rbx: a1, rcx: a2, rdx: a3)
        XCTAssertEqual(xen.hypercall(&r, context: context), .handled)
        XCTAssertEqual(r.rax >> 32, 0, "a 32-bit caller gets EAX only")
        return Int64(Int32(truncatingIfNeeded: r.rax))
    }

    /// The direct-map address of physical `address`.
    static func linear(_ address: UInt64) -> UInt64 { FakeHypercallContext.directMap + address }

    func put(_ bytes: [UInt8], at address: UInt64 = argument) throws { try memory.write(bytes, at: address) }
}

func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
func errno(_ e: XenErrno) -> Int64 { -e.rawValue }
