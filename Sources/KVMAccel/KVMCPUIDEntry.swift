import CKVM

/// One CPUID leaf/subleaf as KVM exchanges it (struct kvm_cpuid_entry2, api.rst
/// KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2).
public struct KVMCPUIDEntry: Equatable, Sendable, CustomStringConvertible {
    /// The subleaf (ECX input) matters for this leaf (KVM_CPUID_FLAG_SIGNIFCANT_INDEX).
    public static let significantIndex: UInt32 = UInt32(KVM_CPUID_FLAG_SIGNIFCANT_INDEX)

    public var function: UInt32
    public var index: UInt32
    public var flags: UInt32
    public var eax: UInt32
    public var ebx: UInt32
    public var ecx: UInt32
    public var edx: UInt32

    public init(function: UInt32, index: UInt32 = 0, flags: UInt32 = 0,
                eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0) {
        self.function = function; self.index = index; self.flags = flags
        self.eax = eax; self.ebx = ebx; self.ecx = ecx; self.edx = edx
    }

    init(_ e: kvm_cpuid_entry2) {
        self.init(function: e.function, index: e.index, flags: e.flags, eax: e.eax, ebx: e.ebx, ecx: e.ecx, edx: e.edx)
    }

    var raw: kvm_cpuid_entry2 {
        var e = kvm_cpuid_entry2()
        e.function = function; e.index = index; e.flags = flags
        e.eax = eax; e.ebx = ebx; e.ecx = ecx; e.edx = edx
        return e
    }

    public var description: String {
        func h(_ v: UInt32) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: 8 - s.count) + s }
        return "\(h(function)).\(index): eax=\(h(eax)) ebx=\(h(ebx)) ecx=\(h(ecx)) edx=\(h(edx))"
    }
}
