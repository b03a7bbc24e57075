// The CPUID table given to KVM: the pure policy against a made-up host table, and the real
// thing read back from KVM and from a guest executing CPUID.
import XCTest
@testable import KVMAccel
import MachineCore

final class KVMCPUIDTests: XCTestCase {
    typealias Bit = KVMCPUIDPolicy.Bit

    /// A host that supports everything, with AVX-512, PKU, XSAVE components 0-9 and KVM's
    /// paravirtual leaves.
    static let generousHost: [KVMCPUIDEntry] = {
        let sig = KVMCPUIDEntry.significantIndex
        var t: [KVMCPUIDEntry] = [
            KVMCPUIDEntry(function: 0, eax: 0x1F, ebx: 0x6874_7541, ecx: 0x444D_4163, edx: 0x6974_6E65),  // AuthenticAMD
            KVMCPUIDEntry(function: 1, eax: 0x00A5_0F00, ebx: 0x0510_0800, ecx: 0xFFFF_FFFF, edx: 0xFFFF_FFFF),
            KVMCPUIDEntry(function: 4, index: 0, flags: sig, eax: 0x0000_0121, ebx: 0x01C0_003F, ecx: 0x3F, edx: 0),
            KVMCPUIDEntry(function: 4, index: 1, flags: sig, eax: 0x0000_0163, ebx: 0x03C0_003F, ecx: 0xFFF, edx: 0),
            KVMCPUIDEntry(function: 6, eax: 4),
            KVMCPUIDEntry(function: 7, index: 0, flags: sig, eax: 1, ebx: 0xFFFF_FFFF, ecx: 0xFFFF_FFFF, edx: 0xFFFF_FFFF),
            KVMCPUIDEntry(function: 7, index: 1, flags: sig, eax: 0xFFFF_FFFF),
            KVMCPUIDEntry(function: 0xD, index: 0, flags: sig, eax: 0x2E7, ebx: 0x988, ecx: 0x988, edx: 0),
            KVMCPUIDEntry(function: 0xD, index: 1, flags: sig, eax: 0xF),
            KVMCPUIDEntry(function: 0xD, index: 2, flags: sig, eax: 0x100, ebx: 0x240),
            KVMCPUIDEntry(function: 0xD, index: 5, flags: sig, eax: 0x40, ebx: 0x340),
            KVMCPUIDEntry(function: 0xD, index: 6, flags: sig, eax: 0x200, ebx: 0x380),
            KVMCPUIDEntry(function: 0xD, index: 7, flags: sig, eax: 0x400, ebx: 0x580),
            KVMCPUIDEntry(function: 0xD, index: 9, flags: sig, eax: 0x8, ebx: 0x980),
            KVMCPUIDEntry(function: 0x1F, index: 0, flags: sig, eax: 1, ebx: 2, ecx: 0x100, edx: 0),
            KVMCPUIDEntry(function: 0x4000_0000, eax: 0x4000_0001, ebx: 0x4B4D_564B),
            KVMCPUIDEntry(function: 0x4000_0001, eax: 0x0100_7AFB),
            KVMCPUIDEntry(function: 0x8000_0000, eax: 0x8000_0021),
            KVMCPUIDEntry(function: 0x8000_0001, eax: 0x00A5_0F00, ecx: 0xFFFF_FFFF, edx: 0xFFFF_FFFF),
            KVMCPUIDEntry(function: 0x8000_0002, eax: 0x2044_4D41),
            KVMCPUIDEntry(function: 0x8000_0008, eax: 0x3030, ecx: 0x7007),
            KVMCPUIDEntry(function: 0x8000_001E, eax: 7, ebx: 0x100, ecx: 0),
        ]
        t.sort { ($0.function, $0.index) < ($1.function, $1.index) }
        return t
    }()

    static func entry(_ table: [KVMCPUIDEntry], _ function: UInt32, _ index: UInt32 = 0) -> KVMCPUIDEntry? {
        table.first { $0.function == function && $0.index == index }
    }

    func testIdentityComesFromTheModel() throws {
        let model = CPUModel.swiftpc
        let t = KVMCPUIDPolicy.build(host: Self.generousHost, model: model, apicID: 0, logicalCount: 1)
        let leaf0 = try XCTUnwrap(Self.entry(t, 0))
        XCTAssertEqual(leaf0.eax, model.maxBasicLeaf)
        let vendor = [leaf0.ebx, leaf0.edx, leaf0.ecx].flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
        XCTAssertEqual(String(decoding: vendor, as: UTF8.self), "GenuineIntel")
        XCTAssertEqual(Self.entry(t, 1)?.eax, model.signature)
        XCTAssertEqual(Self.entry(t, 0x8000_0000)?.eax, model.maxExtendedLeaf)
        XCTAssertEqual(Self.entry(t, 0x8000_0002)?.eax, model.cpuid(leaf: 0x8000_0002).eax)
        // Nothing above the model's maxima.
        XCTAssertTrue(t.allSatisfy { $0.function <= model.maxBasicLeaf || (0x8000_0000...model.maxExtendedLeaf).contains($0.function) })
    }

    func testFeatureRegistersAreHostANDModel() throws {
        var model = CPUModel.swiftpc
        model.leaf1ECX &= ~CPUIDBits.sse42
        let host = Self.generousHost.map { e -> KVMCPUIDEntry in
            var e = e
            if e.function == 1 { e.ecx &= ~CPUIDBits.popcnt; e.edx &= ~CPUIDBits.pat }
            return e
        }
        let t = KVMCPUIDPolicy.build(host: host, model: model, apicID: 0, logicalCount: 1)
        let leaf1 = try XCTUnwrap(Self.entry(t, 1))
        XCTAssertEqual(leaf1.ecx, model.leaf1ECX & ~CPUIDBits.popcnt)
        XCTAssertEqual(leaf1.edx, model.leaf1EDX & ~CPUIDBits.pat)
        XCTAssertEqual(leaf1.ecx & CPUIDBits.sse42, 0)
        let leaf7 = try XCTUnwrap(Self.entry(t, 7))
        XCTAssertEqual([leaf7.eax, leaf7.ebx, leaf7.ecx, leaf7.edx], [0, 0, 0, 0])
        XCTAssertNil(Self.entry(t, 7, 1), "leaf 7 subleaves beyond the model's are dropped")
        let ext1 = try XCTUnwrap(Self.entry(t, 0x8000_0001))
        XCTAssertEqual(ext1.ecx, model.ext1ECX)
        XCTAssertEqual(ext1.edx, model.ext1EDX)
    }

    /// Without XSAVE in the model, AVX goes too and leaf 0xD describes nothing.
    func testNoXSaveMeansNoAVXAndEmptyLeafD() throws {
        var model = CPUModel.swiftpc
        model.leaf1ECX &= ~CPUIDBits.xsave
        model.leaf1ECX |= Bit.avx | Bit.fma
        model.leaf7EBX |= Bit.avx2 | Bit.avx512F
        let t = KVMCPUIDPolicy.build(host: Self.generousHost, model: model, apicID: 0, logicalCount: 1)
        XCTAssertEqual(Self.entry(t, 1)!.ecx & (Bit.avx | Bit.fma | CPUIDBits.xsave), 0)
        XCTAssertEqual(Self.entry(t, 7)!.ebx & (Bit.avx2 | Bit.avx512F), 0)
        let d = t.filter { $0.function == 0xD }
        XCTAssertEqual(d.count, 1)
        XCTAssertEqual([d[0].eax, d[0].ecx, d[0].edx], [0, 0, 0])
        XCTAssertEqual(KVMCPUIDPolicy.supportedXCR0(t), 0b11)
    }

    /// With XSAVE and AVX but not AVX-512 or PKU, leaf 0xD offers x87|SSE|AVX only, its
    /// subleaves match, and the maximum size covers exactly the AVX area.
    func testLeafDFollowsTheFeaturesLeftOn() throws {
        var model = CPUModel.swiftpc
        model.leaf1ECX |= CPUIDBits.xsave | Bit.avx
        let t = KVMCPUIDPolicy.build(host: Self.generousHost, model: model, apicID: 0, logicalCount: 1)
        XCTAssertEqual(Self.entry(t, 1)!.ecx & (CPUIDBits.xsave | Bit.avx | CPUIDBits.osxsave), CPUIDBits.xsave | Bit.avx)
        let d0 = try XCTUnwrap(Self.entry(t, 0xD, 0))
        XCTAssertEqual(d0.eax, 0b111)
        XCTAssertEqual(d0.edx, 0)
        XCTAssertEqual(d0.ecx, 0x240 + 0x100)
        XCTAssertEqual(Self.entry(t, 0xD, 1)?.eax, 0b001, "XSAVEOPT only, as the interpreter has it")
        XCTAssertNotNil(Self.entry(t, 0xD, 2))
        XCTAssertNil(Self.entry(t, 0xD, 5))
        XCTAssertNil(Self.entry(t, 0xD, 9))
        XCTAssertEqual(KVMCPUIDPolicy.supportedXCR0(t), 0b111)
    }

    func testTopologyCarriesTheAPICID() throws {
        let t = KVMCPUIDPolicy.build(host: Self.generousHost, model: .swiftpc, apicID: 3, logicalCount: 4)
        let leaf1 = try XCTUnwrap(Self.entry(t, 1))
        XCTAssertEqual(leaf1.ebx >> 24, 3)
        XCTAssertEqual((leaf1.ebx >> 16) & 0xFF, 4)
        XCTAssertNotEqual(leaf1.edx & (1 << 28), 0, "HTT with more than one logical processor")
        let b = t.filter { $0.function == 0xB }
        XCTAssertEqual(b.count, 3)
        XCTAssertTrue(b.allSatisfy { $0.edx == 3 })
        XCTAssertEqual(b[1].eax, 2, "core level shift for 4 cores")
        XCTAssertEqual(b[1].ebx, 4)
        XCTAssertEqual(Self.entry(t, 4, 0)!.eax >> 26, 3)
        XCTAssertEqual(Self.entry(t, 0x8000_0008)!.ecx & 0xFF, 3)
        XCTAssertNil(Self.entry(t, 0x1F))
    }

    func testParavirtLeavesOnlyWhenAsked() {
        let without = KVMCPUIDPolicy.build(host: Self.generousHost, model: .swiftpc, apicID: 0, logicalCount: 1)
        XCTAssertFalse(without.contains { $0.function >= 0x4000_0000 && $0.function < 0x8000_0000 })
        let with = KVMCPUIDPolicy.build(host: Self.generousHost, model: .swiftpc, apicID: 0, logicalCount: 1,
                                        options: .init(exposeKVMParavirtLeaves: true))
        XCTAssertEqual(with.filter { $0.function >= 0x4000_0000 && $0.function < 0x8000_0000 }.count, 2)
    }

    /// With the Xen interface, Xen's leaves replace KVM's even when KVM's are asked for: Linux
    /// takes the highest hypervisor base it finds.
    func testXenLeavesReplaceKVMs() {
        var model = CPUModel.swiftpc
        model.xen = .default
        let t = KVMCPUIDPolicy.build(host: Self.generousHost, model: model, apicID: 2, logicalCount: 4,
                                     options: .init(exposeKVMParavirtLeaves: true))
        let hypervisor = t.filter { $0.function >= 0x4000_0000 && $0.function < 0x8000_0000 }
        XCTAssertEqual(hypervisor.map(\.function), Array(0x4000_0000...0x4000_0004))
        XCTAssertEqual(Self.entry(t, 0x4000_0000)?.ebx, XenCPUID.signatureEBX)
        XCTAssertEqual(Self.entry(t, 0x4000_0004)?.ebx, 2, "the vCPU id")
    }

    // MARK: against KVM

    /// The table given to KVM has the model's vendor, feature bits within the model's and
    /// this vCPU's APIC ID; KVM_GET_CPUID2 returns it (apart from the bits KVM maintains).
    func testKVMHoldsTheFilteredTable() throws {
        let rig = try KVMRig(vcpuID: 1)
        let model = CPUModel.swiftpc
        let given = try XCTUnwrap(Self.entry(rig.cpu.cpuidTable, 1))
        XCTAssertEqual(given.ecx & ~model.leaf1ECX, 0)
        XCTAssertEqual(given.edx & ~model.leaf1EDX, 0)
        XCTAssertEqual(given.ebx >> 24, 1)

        let table = try rig.cpu.currentCPUID()
        XCTAssertEqual(Self.entry(table, 0)?.ebx, model.cpuid(leaf: 0).ebx)
        XCTAssertEqual(Self.entry(table, 0)?.eax, model.maxBasicLeaf)
        let leaf1 = try XCTUnwrap(Self.entry(table, 1))
        XCTAssertEqual(leaf1.eax, model.signature)
        XCTAssertEqual(leaf1.ebx >> 24, 1)
        XCTAssertEqual(Self.entry(table, 0xB, 0)?.edx, 1)
        XCTAssertEqual(Self.entry(table, 0x8000_0001), Self.entry(rig.cpu.cpuidTable, 0x8000_0001))
        // KVM keeps OSXSAVE and APIC in step with CR4 and APIC_BASE; nothing else changes.
        let dynamic = (ecx: CPUIDBits.osxsave, edx: CPUIDBits.apic)
        if HostQuirks.isPVM && (leaf1.ecx & ~dynamic.ecx != given.ecx || leaf1.edx & ~dynamic.edx != given.edx) {
            throw XCTSkip("kvm_pvm replaces CPUID leaf 1 features with the host's (set ecx=0x\(String(given.ecx, radix: 16)) edx=0x\(String(given.edx, radix: 16)), reads ecx=0x\(String(leaf1.ecx, radix: 16)) edx=0x\(String(leaf1.edx, radix: 16)))")
        }
        XCTAssertEqual(leaf1.ecx & ~dynamic.ecx, given.ecx)
        XCTAssertEqual(leaf1.edx & ~dynamic.edx, given.edx)
    }

    /// A guest executing CPUID sees the model: vendor string, signature, and no feature the
    /// model lacks even when the host has it (SSE4.2 and POPCNT removed from the model).
    func testGuestCPUIDSeesTheModel() throws {
        var model = CPUModel.swiftpc
        model.leaf1ECX &= ~(CPUIDBits.sse42 | CPUIDBits.popcnt)
        let rig = try KVMRig(model: model)
        let code: [UInt8] = [
            0x31, 0xC0,                          // xor eax, eax
            0x0F, 0xA2,                          // cpuid
            0x89, 0x1D, 0x00, 0x20, 0x00, 0x00,  // mov [0x2000], ebx
            0x89, 0x15, 0x04, 0x20, 0x00, 0x00,  // mov [0x2004], edx
            0x89, 0x0D, 0x08, 0x20, 0x00, 0x00,  // mov [0x2008], ecx
            0xB8, 0x01, 0x00, 0x00, 0x00,        // mov eax, 1
            0x0F, 0xA2,                          // cpuid
            0xA3, 0x0C, 0x20, 0x00, 0x00,        // mov [0x200C], eax
            0x89, 0x1D, 0x10, 0x20, 0x00, 0x00,  // mov [0x2010], ebx
            0x89, 0x0D, 0x14, 0x20, 0x00, 0x00,  // mov [0x2014], ecx
            0x89, 0x15, 0x18, 0x20, 0x00, 0x00,  // mov [0x2018], edx
            0x66, 0xBA, 0xF4, 0x00,              // mov dx, 0xF4
            0xB0, 0x01, 0xEE,                    // out 1
            0xF4,
        ]
        try rig.memory.write(code, at: GuestState.codeAddress)
        try rig.cpu.setState(try GuestState.protectedMode(rig.memory))
        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(1))
        XCTAssertEqual(String(decoding: try rig.memory.read(0x2000, count: 12), as: UTF8.self), "GenuineIntel")
        XCTAssertEqual(try rig.memory.read32(0x200C), model.signature)
        XCTAssertEqual(try rig.memory.read32(0x2010) >> 24, 0, "APIC ID of vCPU 0")
        let ecx = try rig.memory.read32(0x2014), edx = try rig.memory.read32(0x2018)
        if HostQuirks.isPVM && (ecx & ~model.leaf1ECX != 0 || edx & ~model.leaf1EDX != 0) {
            throw XCTSkip("feature check skipped: kvm_pvm shows the guest the host's leaf 1 features (ecx=0x\(String(ecx, radix: 16)) edx=0x\(String(edx, radix: 16)))")
        }
        XCTAssertEqual(ecx & ~model.leaf1ECX, 0, "leaf 1 ECX 0x\(String(ecx, radix: 16)) has bits the model lacks")
        XCTAssertEqual(edx & ~model.leaf1EDX, 0, "leaf 1 EDX 0x\(String(edx, radix: 16)) has bits the model lacks")
        XCTAssertEqual(ecx & (CPUIDBits.sse42 | CPUIDBits.popcnt), 0)
        XCTAssertNotEqual(edx & CPUIDBits.sse2, 0, "SSE2 is in the model and on every x86-64 host")
    }
}
