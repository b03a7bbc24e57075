import MachineCore

/// Builds the CPUID table given to KVM_SET_CPUID2 from the host's KVM_GET_SUPPORTED_CPUID and
/// the machine's CPUModel, so that a guest sees the model's identity and at most the model's
/// features on either engine (CPUModel's doc comment).
///
/// Rules:
/// - identity (vendor, leaf 1 signature, brand string, maximum leaves) comes from the model;
/// - every other leaf up to the model's maxima is the host-supported entry, except that the
///   feature registers of leaves 1, 7.0 and 0x80000001 are ANDed with the model's;
/// - features that depend on a removed feature are removed too (AVX needs XSAVE, AVX2 needs
///   AVX, ...), and leaf 0xD then only describes the XSAVE components left on;
/// - topology (leaf 1 EBX, leaf 4, leaf 0xB, AMD 0x80000008 ECX and 0x8000001E) says
///   `logicalCount` single-threaded cores and carries this vCPU's APIC ID;
/// - KVM's paravirtual leaves (0x40000000...) are left out unless asked for, because the
///   interpreter does not implement kvmclock and a vCPU must be able to move between engines.
public enum KVMCPUIDPolicy {
    public struct Options: Sendable {
        /// Keep KVM's hypervisor leaves 0x40000000... (kvmclock, PV EOI, ...).
        public var exposeKVMParavirtLeaves = false
        /// The in-kernel LAPIC provides the TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER);
        /// KVM_GET_SUPPORTED_CPUID never reports that bit, so the caller says so here.
        public var tscDeadlineTimerAvailable = false
        public init(exposeKVMParavirtLeaves: Bool = false, tscDeadlineTimerAvailable: Bool = false) {
            self.exposeKVMParavirtLeaves = exposeKVMParavirtLeaves
            self.tscDeadlineTimerAvailable = tscDeadlineTimerAvailable
        }
    }

    // Feature bits the consistency rules need that CPUIDBits does not name (SDM Vol. 2A, CPUID).
    enum Bit {
        // Leaf 1 ECX
        static let fma: UInt32 = 1 << 12
        static let avx: UInt32 = 1 << 28
        static let f16c: UInt32 = 1 << 29
        // Leaf 7.0 EBX
        static let avx2: UInt32 = 1 << 5
        static let mpx: UInt32 = 1 << 14
        /// AVX512F, DQ, IFMA, PF, ER, CD, BW, VL.
        static let avx512EBX: UInt32 = (1 << 16) | (1 << 17) | (1 << 21) | (1 << 26) | (1 << 27) | (1 << 28) | (1 << 30) | (1 << 31)
        static let avx512F: UInt32 = 1 << 16
        // Leaf 7.0 ECX
        static let pku: UInt32 = 1 << 3
        static let ospke: UInt32 = 1 << 4
        /// AVX512_VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ.
        static let avx512ECX: UInt32 = (1 << 1) | (1 << 6) | (1 << 11) | (1 << 12) | (1 << 14)
        /// VAES, VPCLMULQDQ (VEX-encoded forms need AVX).
        static let avxVectorCryptoECX: UInt32 = (1 << 9) | (1 << 10)
        // Leaf 7.0 EDX
        /// AVX512_4VNNIW, 4FMAPS, VP2INTERSECT, FP16.
        static let avx512EDX: UInt32 = (1 << 2) | (1 << 3) | (1 << 8) | (1 << 23)
        /// AMX-BF16, AMX-TILE, AMX-INT8: never offered (their state needs a permission
        /// request and an XSAVE buffer larger than struct kvm_xsave).
        static let amxEDX: UInt32 = (1 << 22) | (1 << 24) | (1 << 25)
        // Leaf 0xD subleaf 1 EAX: XSAVEOPT only, as the interpreter implements it (XSAVEC,
        // XGETBV with ECX=1, XSAVES and XFD are left out).
        static let xsaveSubleaf1EAX: UInt32 = 0b001
    }

    /// XSAVE state components (SDM Vol. 1 §13.1).
    enum XComponent {
        static let x87: UInt64 = 1 << 0
        static let sse: UInt64 = 1 << 1
        static let avx: UInt64 = 1 << 2
        static let mpx: UInt64 = (1 << 3) | (1 << 4)
        static let avx512: UInt64 = (1 << 5) | (1 << 6) | (1 << 7)
        static let pkru: UInt64 = 1 << 9
    }

    static let kvmParavirtLeaves: ClosedRange<UInt32> = 0x4000_0000...0x4000_FFFF

    /// The table for vCPU `apicID` of a machine with `logicalCount` vCPUs.
    public static func build(host: [KVMCPUIDEntry], model: CPUModel, apicID: UInt32, logicalCount: UInt32,
                             options: Options = Options()) -> [KVMCPUIDEntry] {
        let count = max(1, logicalCount)
        func hostEntries(_ function: UInt32) -> [KVMCPUIDEntry] { host.filter { $0.function == function } }
        func hostEntry(_ function: UInt32, _ index: UInt32 = 0) -> KVMCPUIDEntry {
            host.first { $0.function == function && ($0.flags & KVMCPUIDEntry.significantIndex == 0 || $0.index == index) }
                ?? KVMCPUIDEntry(function: function, index: index)
        }

        // Feature registers: host AND model.
        var leaf1 = hostEntry(1)
        let modelLeaf1 = model.cpuid(leaf: 1, apicID: apicID, logicalCount: count)
        var l1ecx = leaf1.ecx & model.leaf1ECX
        // Purely virtual bits that need no host support.
        l1ecx |= model.leaf1ECX & CPUIDBits.hypervisor
        if options.tscDeadlineTimerAvailable { l1ecx |= model.leaf1ECX & CPUIDBits.tscDeadline }
        // OSXSAVE mirrors CR4.OSXSAVE; KVM keeps it up to date at run time.
        l1ecx &= ~CPUIDBits.osxsave
        var l1edx = leaf1.edx & model.leaf1EDX
        l1edx |= modelLeaf1.edx & (1 << 28)  // HTT when the model says more than one logical CPU

        var leaf7 = hostEntry(7, 0)
        var l7ebx = leaf7.ebx & model.leaf7EBX
        var l7ecx = leaf7.ecx & model.leaf7ECX & ~Bit.ospke  // OSPKE mirrors CR4.PKE
        var l7edx = leaf7.edx & model.leaf7EDX & ~Bit.amxEDX

        // Dependencies: drop what needs a feature that is now off.
        if l1ecx & CPUIDBits.xsave == 0 {
            l1ecx &= ~(Bit.avx | Bit.fma | Bit.f16c)
            l7ebx &= ~Bit.mpx
            l7ecx &= ~Bit.pku
        }
        if l1ecx & Bit.avx == 0 {
            l1ecx &= ~(Bit.fma | Bit.f16c)
            l7ebx &= ~(Bit.avx2 | Bit.avx512EBX)
            l7ecx &= ~(Bit.avx512ECX | Bit.avxVectorCryptoECX)
            l7edx &= ~Bit.avx512EDX
        }
        if l7ebx & Bit.avx512F == 0 {
            l7ebx &= ~Bit.avx512EBX
            l7ecx &= ~Bit.avx512ECX
            l7edx &= ~Bit.avx512EDX
        }

        // XSAVE components that remain, limited to what the host offers in leaf 0xD.
        var xcr0: UInt64 = XComponent.x87 | XComponent.sse
        if l1ecx & Bit.avx != 0 { xcr0 |= XComponent.avx }
        if l7ebx & Bit.mpx != 0 { xcr0 |= XComponent.mpx }
        if l7ebx & Bit.avx512F != 0 { xcr0 |= XComponent.avx512 }
        if l7ecx & Bit.pku != 0 { xcr0 |= XComponent.pkru }
        let hostD0 = hostEntry(0xD, 0)
        xcr0 &= UInt64(hostD0.eax) | UInt64(hostD0.edx) << 32 | XComponent.x87 | XComponent.sse

        leaf1.eax = model.signature
        leaf1.ebx = modelLeaf1.ebx
        leaf1.ecx = l1ecx
        leaf1.edx = l1edx
        leaf7 = KVMCPUIDEntry(function: 7, index: 0, flags: KVMCPUIDEntry.significantIndex, eax: 0, ebx: l7ebx, ecx: l7ecx, edx: l7edx)

        var ext1 = hostEntry(0x8000_0001)
        let modelExt1 = model.cpuid(leaf: 0x8000_0001)
        ext1 = KVMCPUIDEntry(function: 0x8000_0001, eax: modelExt1.eax, ebx: 0,
                             ecx: ext1.ecx & model.ext1ECX, edx: ext1.edx & model.ext1EDX)

        var out: [KVMCPUIDEntry] = []
        func identity(_ leaf: UInt32) -> KVMCPUIDEntry {
            let r = model.cpuid(leaf: leaf, apicID: apicID, logicalCount: count)
            return KVMCPUIDEntry(function: leaf, eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx)
        }

        // Basic leaves 0 ... model.maxBasicLeaf.
        for leaf in 0...model.maxBasicLeaf {
            switch leaf {
            case 0: out.append(identity(0))
            case 1: out.append(leaf1)
            case 4: out += leaf4(hostEntries(4), logicalCount: count)
            case 7: out.append(leaf7)
            case 0xB: out += leafB(apicID: apicID, logicalCount: count)
            case 0xD:
                if l1ecx & CPUIDBits.xsave != 0 { out += leafD(hostEntries(0xD), xcr0: xcr0) }
                else { out.append(KVMCPUIDEntry(function: 0xD, index: 0, flags: KVMCPUIDEntry.significantIndex)) }
            case 0x1F:
                break  // V2 topology: absent; leaf 0xB describes the topology.
            default:
                let entries = hostEntries(leaf)
                out += entries.isEmpty ? [KVMCPUIDEntry(function: leaf)] : entries
            }
        }

        if let xen = model.xen {
            // Xen's leaves replace KVM's: Linux takes the highest hypervisor base it finds, so
            // KVM's at 0x40000100 would win over Xen's (facts §2.1, as QEMU's Xen mode does).
            for leaf in XenCPUID.base...XenCPUID.lastLeaf {
                if let r = XenCPUID.leaf(leaf, version: xen, vcpuID: apicID) {
                    out.append(KVMCPUIDEntry(function: leaf, eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx))
                }
            }
        } else if options.exposeKVMParavirtLeaves {
            out += host.filter { kvmParavirtLeaves.contains($0.function) }
        }

        // Extended leaves 0x80000000 ... model.maxExtendedLeaf.
        if model.maxExtendedLeaf >= 0x8000_0000 {
            for leaf in 0x8000_0000...model.maxExtendedLeaf {
                switch leaf {
                case 0x8000_0000: out.append(identity(leaf))
                case 0x8000_0001: out.append(ext1)
                case 0x8000_0002...0x8000_0004: out.append(identity(leaf))
                case 0x8000_0008:
                    // Address sizes stay the host's (a guest MAXPHYADDR above the host's
                    // cannot work); NC says how many cores the package has.
                    var e = hostEntry(leaf)
                    e.ecx = (e.ecx & ~0xF0FF) | (count - 1)
                    out.append(e)
                case 0x8000_001E:
                    // AMD extended APIC ID and compute-unit ID.
                    var e = hostEntry(leaf)
                    e.eax = apicID
                    e.ebx = apicID & 0xFF
                    e.ecx = 0
                    out.append(e)
                default:
                    let entries = hostEntries(leaf)
                    out += entries.isEmpty ? [KVMCPUIDEntry(function: leaf)] : entries
                }
            }
        }
        return out
    }

    /// Deterministic cache parameters (leaf 4): the host's caches, with the sharing fields
    /// rewritten for `logicalCount` single-threaded cores (SDM Vol. 2A, CPUID leaf 04H).
    static func leaf4(_ entries: [KVMCPUIDEntry], logicalCount: UInt32) -> [KVMCPUIDEntry] {
        entries.map { entry in
            var e = entry
            guard e.eax & 0x1F != 0 else { return e }  // cache type 0: no more caches
            let level = (e.eax >> 5) & 7
            let sharing: UInt32 = level >= 3 ? logicalCount - 1 : 0
            e.eax = (e.eax & 0x3FFF) | ((sharing & 0xFFF) << 14) | (((logicalCount - 1) & 0x3F) << 26)
            return e
        }
    }

    /// Extended topology (leaf 0BH): an SMT level of one thread and a core level of
    /// `logicalCount` cores, each reporting this vCPU's x2APIC ID in EDX.
    static func leafB(apicID: UInt32, logicalCount: UInt32) -> [KVMCPUIDEntry] {
        var shift: UInt32 = 0
        while (UInt32(1) << shift) < logicalCount { shift += 1 }
        let flags = KVMCPUIDEntry.significantIndex
        return [
            KVMCPUIDEntry(function: 0xB, index: 0, flags: flags, eax: 0, ebx: 1, ecx: 0 | (1 << 8), edx: apicID),
            KVMCPUIDEntry(function: 0xB, index: 1, flags: flags, eax: shift, ebx: logicalCount, ecx: 1 | (2 << 8), edx: apicID),
            KVMCPUIDEntry(function: 0xB, index: 2, flags: flags, eax: 0, ebx: 0, ecx: 2, edx: apicID),
        ]
    }

    /// XSAVE enumeration (leaf 0DH) restricted to the components in `xcr0`
    /// (SDM Vol. 1 §13.2; Vol. 2A, CPUID leaf 0DH).
    static func leafD(_ entries: [KVMCPUIDEntry], xcr0: UInt64) -> [KVMCPUIDEntry] {
        var out: [KVMCPUIDEntry] = []
        // Size of the standard-format area for all enabled components: legacy area and
        // header (576 bytes), then each user component at the offset the host reports.
        var maxSize: UInt32 = 576
        for e in entries where e.index >= 2 && e.index < 64 && xcr0 & (1 << UInt64(e.index)) != 0 {
            maxSize = max(maxSize, e.ebx &+ e.eax)
            out.append(e)
        }
        let flags = KVMCPUIDEntry.significantIndex
        let sub1 = entries.first { $0.index == 1 } ?? KVMCPUIDEntry(function: 0xD, index: 1)
        // EBX of subleaf 0 is the size for the current XCR0; KVM recomputes it whenever the
        // guest writes XCR0, and after reset only x87 and SSE are enabled.
        let head = [
            KVMCPUIDEntry(function: 0xD, index: 0, flags: flags, eax: UInt32(truncatingIfNeeded: xcr0), ebx: 576,
                          ecx: maxSize, edx: UInt32(truncatingIfNeeded: xcr0 >> 32)),
            KVMCPUIDEntry(function: 0xD, index: 1, flags: flags, eax: sub1.eax & Bit.xsaveSubleaf1EAX, ebx: 0, ecx: 0, edx: 0),
        ]
        return head + out
    }

    /// The XCR0 bits a table built by `build` allows (leaf 0xD subleaf 0 EDX:EAX), or
    /// x87|SSE when XSAVE is off.
    public static func supportedXCR0(_ table: [KVMCPUIDEntry]) -> UInt64 {
        let leaf1 = table.first { $0.function == 1 }
        guard let leaf1, leaf1.ecx & CPUIDBits.xsave != 0,
              let d0 = table.first(where: { $0.function == 0xD && $0.index == 0 }) else {
            return XComponent.x87 | XComponent.sse
        }
        return UInt64(d0.eax) | UInt64(d0.edx) << 32
    }
}
