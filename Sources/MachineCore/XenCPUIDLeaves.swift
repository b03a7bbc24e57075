/// The Xen interface a machine presents (`--xen`, `--xen-version`), as the CPU model carries
/// it: its hypervisor CPUID leaves are the one thing both engines must show alike, and a guest
/// decides "I run on Xen" from them alone (Linux `xen_cpuid_base`, facts §2.1).
public struct XenInterfaceVersion: Equatable, Sendable, CustomStringConvertible {
    public var major: UInt16
    public var minor: UInt16

    public init(major: UInt16, minor: UInt16) { self.major = major; self.minor = minor }

    /// What `--xen` alone gives: the version of Debian 12's Xen, whose public headers the
    /// interface follows.
    public static let `default` = XenInterfaceVersion(major: 4, minor: 17)

    /// Parses `MAJOR.MINOR` (each 0...65535); nil for anything else.
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 5 && $0.allSatisfy(\.isASCII) }),
              let major = UInt16(parts[0]), let minor = UInt16(parts[1]) else { return nil }
        self.init(major: major, minor: minor)
    }

    public var description: String { "\(major).\(minor)" }

    /// The value xen_version(XENVER_version) and CPUID base+1 EAX report.
    public var packed: UInt32 { UInt32(major) << 16 | UInt32(minor) }

    public func atLeast(_ major: UInt16, _ minor: UInt16) -> Bool { (self.major, self.minor) >= (major, minor) }
}

/// Xen's hypervisor CPUID leaves (public/arch-x86/cpuid.h) and the hypercall-page MSR.
public enum XenCPUID {
    /// Xen's leaves start here; Linux scans 0x40000000...0x4000FF00 in 0x100 steps and takes
    /// the highest hypervisor base it recognises, so KVM's leaves must not appear beside them.
    public static let base: UInt32 = 0x4000_0000
    /// The highest leaf answered (base+4, HVM flags), as QEMU's Xen emulation answers.
    public static let lastLeaf: UInt32 = base + 4
    /// "XenVMMXenVMM" in EBX, ECX, EDX.
    public static let signatureEBX: UInt32 = 0x566E_6558, signatureECX: UInt32 = 0x6558_4D4D, signatureEDX: UInt32 = 0x4D4D_566E
    /// The MSR a guest writes a page's address to so that the hypervisor fills it with
    /// hypercall stubs (leaf base+2 EBX; QEMU and KVM use this index).
    public static let hypercallPageMSR: UInt32 = 0x4000_0000
    /// Hypercall pages the MSR can fill (leaf base+2 EAX).
    public static let hypercallPageCount: UInt32 = 1

    // Leaf base+4 EAX (XEN_HVM_CPUID_*).
    /// EBX holds the vCPU id (Linux `xen_vcpu_id`).
    public static let hvmVCPUIDPresent: UInt32 = 1 << 3
    /// HVMOP_set_evtchn_upcall_vector exists (per-vCPU upcall vectors, Xen 4.17).
    public static let hvmUpcallVector: UInt32 = 1 << 6

    /// The answer for `leaf` in 0x40000000...0x400000FF, nil outside Xen's range (the caller
    /// answers as the CPU model does). Leaves past `lastLeaf` in the range read as zeros.
    public static func leaf(_ leaf: UInt32, version: XenInterfaceVersion, vcpuID: UInt32) -> CPUIDResult? {
        guard leaf & 0xFFFF_FF00 == base else { return nil }
        switch leaf - base {
        case 0:
            return CPUIDResult(eax: lastLeaf, ebx: signatureEBX, ecx: signatureECX, edx: signatureEDX)
        case 1:
            return CPUIDResult(eax: version.packed)
        case 2:
            return CPUIDResult(eax: hypercallPageCount, ebx: hypercallPageMSR)
        case 4:
            // The flags follow the version, as QEMU's xen-version does: the vCPU id from 4.6,
            // the per-vCPU upcall vector from 4.17. No APIC or x2APIC virtualisation (those
            // describe hardware assists the guest could rely on).
            var flags: UInt32 = 0
            if version.atLeast(4, 6) { flags |= hvmVCPUIDPresent }
            if version.atLeast(4, 17) { flags |= hvmUpcallVector }
            return CPUIDResult(eax: flags, ebx: flags & hvmVCPUIDPresent != 0 ? vcpuID : 0)
        default:
            return CPUIDResult()
        }
    }
}
