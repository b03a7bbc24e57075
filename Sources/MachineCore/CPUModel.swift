/// One CPUID result (SDM Vol. 2A, CPUID).
public struct CPUIDResult: Equatable, Sendable {
    public var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32
    public init(eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0) {
        self.eax = eax; self.ebx = ebx; self.ecx = ecx; self.edx = edx
    }
}

/// CPUID feature bits by name (SDM Vol. 2A, Tables 3-8 to 3-11).
public enum CPUIDBits {
    // Leaf 1 EDX
    public static let fpu: UInt32 = 1 << 0, vme: UInt32 = 1 << 1, de: UInt32 = 1 << 2, pse: UInt32 = 1 << 3
    public static let tsc: UInt32 = 1 << 4, msr: UInt32 = 1 << 5, pae: UInt32 = 1 << 6, mce: UInt32 = 1 << 7
    public static let cx8: UInt32 = 1 << 8, apic: UInt32 = 1 << 9, sep: UInt32 = 1 << 11, mtrr: UInt32 = 1 << 12
    public static let pge: UInt32 = 1 << 13, mca: UInt32 = 1 << 14, cmov: UInt32 = 1 << 15, pat: UInt32 = 1 << 16
    public static let pse36: UInt32 = 1 << 17, clflush: UInt32 = 1 << 19, mmx: UInt32 = 1 << 23
    public static let fxsr: UInt32 = 1 << 24, sse: UInt32 = 1 << 25, sse2: UInt32 = 1 << 26
    // Leaf 1 ECX
    public static let sse3: UInt32 = 1 << 0, pclmulqdq: UInt32 = 1 << 1, ssse3: UInt32 = 1 << 9
    public static let cx16: UInt32 = 1 << 13, sse41: UInt32 = 1 << 19, sse42: UInt32 = 1 << 20
    public static let x2apic: UInt32 = 1 << 21, movbe: UInt32 = 1 << 22, popcnt: UInt32 = 1 << 23
    public static let tscDeadline: UInt32 = 1 << 24, xsave: UInt32 = 1 << 26, osxsave: UInt32 = 1 << 27
    public static let hypervisor: UInt32 = 1 << 31
    // Leaf 0x80000001 EDX / ECX
    public static let syscall: UInt32 = 1 << 11, nx: UInt32 = 1 << 20, page1GB: UInt32 = 1 << 26
    public static let rdtscp: UInt32 = 1 << 27, longMode: UInt32 = 1 << 29
    public static let lahfLM: UInt32 = 1 << 0, abm: UInt32 = 1 << 5
    // Leaf 7 EBX
    public static let fsgsbase: UInt32 = 1 << 0, bmi1: UInt32 = 1 << 3, smep: UInt32 = 1 << 7
    public static let bmi2: UInt32 = 1 << 8, erms: UInt32 = 1 << 9, adx: UInt32 = 1 << 19, smap: UInt32 = 1 << 20
}

/// The CPU a machine presents to its guest. The interpreter answers CPUID from it, and the
/// KVM engine gives KVM the intersection of it with what the host supports, so that a guest
/// sees the same features on either engine (issue: "the same model is given to KVM").
public struct CPUModel: Sendable {
    public var name: String
    public var vendor: String
    /// Leaf 1 EAX: stepping, model, family.
    public var signature: UInt32
    public var leaf1EDX: UInt32
    public var leaf1ECX: UInt32
    public var leaf7EBX: UInt32
    public var leaf7ECX: UInt32
    public var leaf7EDX: UInt32
    public var ext1EDX: UInt32
    public var ext1ECX: UInt32
    public var brand: String
    public var maxBasicLeaf: UInt32
    public var maxExtendedLeaf: UInt32
    /// Advertised TSC frequency in kHz (leaf 0x15/0x16 and the kernel's calibration).
    public var tscKHz: UInt32
    /// The Xen interface (`--xen`): Xen's hypervisor leaves at 0x40000000; nil shows none.
    public var xen: XenInterfaceVersion? = nil

    /// The model swiftpc presents by default: a 64-bit CPU with what the interpreter
    /// implements (grown issue by issue; a feature is listed only once it is implemented).
    public static let swiftpc = CPUModel(
        name: "swiftpc",
        vendor: "GenuineIntel",
        signature: 0x0006_06A6,  // family 6, model 0x6A (a 64-bit Intel core), stepping 6
        leaf1EDX: CPUIDBits.fpu | CPUIDBits.de | CPUIDBits.pse | CPUIDBits.tsc | CPUIDBits.msr
            | CPUIDBits.pae | CPUIDBits.mce | CPUIDBits.cx8 | CPUIDBits.apic | CPUIDBits.sep | CPUIDBits.mtrr
            | CPUIDBits.pge | CPUIDBits.mca | CPUIDBits.cmov | CPUIDBits.pat | CPUIDBits.pse36 | CPUIDBits.clflush
            | CPUIDBits.mmx | CPUIDBits.fxsr | CPUIDBits.sse | CPUIDBits.sse2,
        leaf1ECX: CPUIDBits.sse3 | CPUIDBits.ssse3 | CPUIDBits.cx16 | CPUIDBits.sse41 | CPUIDBits.sse42
            | CPUIDBits.popcnt | CPUIDBits.tscDeadline | CPUIDBits.xsave | CPUIDBits.hypervisor | CPUIDBits.x2apic,
        leaf7EBX: 0,
        leaf7ECX: 0,
        leaf7EDX: 0,
        ext1EDX: CPUIDBits.syscall | CPUIDBits.nx | CPUIDBits.rdtscp | CPUIDBits.longMode,
        ext1ECX: CPUIDBits.lahfLM,
        brand: "swiftpc virtual CPU",
        maxBasicLeaf: 0xD,
        maxExtendedLeaf: 0x8000_0008,
        tscKHz: 2_000_000)

    /// The CPUID answer for `leaf`/`subleaf` on vCPU `apicID`.
    public func cpuid(leaf: UInt32, subleaf: UInt32 = 0, apicID: UInt32 = 0, logicalCount: UInt32 = 1) -> CPUIDResult {
        func reg(_ s: String, _ i: Int) -> UInt32 {
            let b = Array(s.utf8) + Array(repeating: 0, count: 48)
            return UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
        }
        if let xen, let r = XenCPUID.leaf(leaf, version: xen, vcpuID: apicID) { return r }
        switch leaf {
        case 0:
            return CPUIDResult(eax: maxBasicLeaf, ebx: reg(vendor, 0), ecx: reg(vendor, 8), edx: reg(vendor, 4))
        case 1:
            // EBX: CLFLUSH line size 8 (x8 = 64 bytes), logical processor count, initial APIC ID.
            let ebx = (apicID << 24) | (logicalCount << 16) | (8 << 8)
            let htt: UInt32 = logicalCount > 1 ? 1 << 28 : 0
            return CPUIDResult(eax: signature, ebx: ebx, ecx: leaf1ECX, edx: leaf1EDX | htt)
        case 0xD where leaf1ECX & CPUIDBits.xsave != 0:
            // XSAVE state components x87 and SSE (XCR0 bits 0-1) in a 576-byte area (legacy
            // region and header); subleaf 1: XSAVEOPT (SDM Vol. 2A CPUID, leaf 0DH).
            switch subleaf {
            case 0: return CPUIDResult(eax: 0x3, ebx: 576, ecx: 576, edx: 0)
            case 1: return CPUIDResult(eax: 0x1)
            default: return CPUIDResult()
            }
        case 7 where subleaf == 0 && maxBasicLeaf >= 7:
            return CPUIDResult(eax: 0, ebx: leaf7EBX, ecx: leaf7ECX, edx: leaf7EDX)
        case 0x8000_0000:
            return CPUIDResult(eax: maxExtendedLeaf)
        case 0x8000_0001:
            return CPUIDResult(ecx: ext1ECX, edx: ext1EDX)
        case 0x8000_0002...0x8000_0004:
            let o = Int(leaf - 0x8000_0002) * 16
            return CPUIDResult(eax: reg(brand, o), ebx: reg(brand, o + 4), ecx: reg(brand, o + 8), edx: reg(brand, o + 12))
        case 0x8000_0008:
            // 40 physical address bits, 48 linear.
            return CPUIDResult(eax: 0x3028)
        default:
            if leaf <= maxBasicLeaf || (leaf >= 0x8000_0000 && leaf <= maxExtendedLeaf) { return CPUIDResult() }
            // Intel: out-of-range leaves answer as the highest basic leaf does (SDM Vol. 2A, CPUID).
            return cpuid(leaf: maxBasicLeaf, subleaf: subleaf, apicID: apicID, logicalCount: logicalCount)
        }
    }
}
