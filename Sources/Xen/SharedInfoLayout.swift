/// Byte layout of Xen's `shared_info` page for a 64-bit guest (public/xen.h `struct shared_info`,
/// public/arch-x86/xen.h `struct arch_shared_info`; offsets checked with gcc against libxen-dev
/// 4.17). The page belongs to the hypervisor: the guest places it in its physical address space
/// with XENMEM_add_to_physmap(XENMAPSPACE_shared_info) and both sides then share it.
public enum SharedInfoLayout {
    /// The structure lives in one 4 KiB page and uses 3136 bytes of it.
    public static let pageSize: UInt64 = 4096
    public static let size: UInt64 = 3136

    /// `XEN_LEGACY_MAX_VCPUS` (arch-x86/xen.h): the vCPUs whose vcpu_info has a slot in the page.
    /// Others must register theirs elsewhere (VCPUOP_register_vcpu_info).
    public static let legacyVCPUCount = 32
    /// `vcpu_info[XEN_LEGACY_MAX_VCPUS]` starts the page, one 64-byte slot per vCPU.
    public static let vcpuInfoOffset: UInt64 = 0

    /// `xen_ulong_t` is 64 bits for a 64-bit guest: one pending/mask word covers 64 ports and the
    /// arrays hold `sizeof(xen_ulong_t) * 8` = 64 words each.
    public static let eventWordBits = 64
    public static let eventWordCount = 64
    /// `evtchn_pending[64]`: bit p set = port p has an event the guest has not consumed.
    public static let eventPendingOffset: UInt64 = 2048
    /// `evtchn_mask[64]`: bit p set = no upcall for port p (only the guest writes it).
    public static let eventMaskOffset: UInt64 = 2560

    /// Wall clock (`wc_version`, `wc_sec`, `wc_nsec`, `wc_sec_hi`): a seqlock version then the
    /// time of system time zero as seconds (low and high halves) and nanoseconds since the epoch.
    public static let wallClockVersionOffset: UInt64 = 3072
    public static let wallClockSecondsOffset: UInt64 = 3076
    public static let wallClockNanosecondsOffset: UInt64 = 3080
    public static let wallClockSecondsHighOffset: UInt64 = 3084
    /// `struct arch_shared_info` (max_pfn, p2m list pointers, nmi_reason: PV guests only).
    public static let archOffset: UInt64 = 3088

    /// Offset of vCPU `vcpu`'s legacy vcpu_info slot, or nil past XEN_LEGACY_MAX_VCPUS.
    public static func legacyVCPUInfoOffset(vcpu: Int) -> UInt64? {
        guard vcpu >= 0, vcpu < legacyVCPUCount else { return nil }
        return vcpuInfoOffset + UInt64(vcpu) * VCPUInfoLayout.size
    }
}

/// Byte layout of `struct vcpu_info` for a 64-bit guest (public/xen.h, arch_vcpu_info in
/// public/arch-x86/xen-x86_64.h): 64 bytes, 8-byte aligned. It sits in the shared_info page
/// until the guest moves it with VCPUOP_register_vcpu_info (vcpu.h: a frame number and an offset
/// inside that page), after which the copy at the registered address is the live one.
public enum VCPUInfoLayout {
    public static let size: UInt64 = 64
    /// `alignof(vcpu_info_t)`: Xen refuses a registration at an offset not a multiple of it.
    public static let alignment: UInt64 = 8
    /// `evtchn_upcall_pending` (u8): Xen sets it when a selector bit goes 0→1; the guest clears it.
    public static let upcallPendingOffset: UInt64 = 0
    /// `evtchn_upcall_mask` (u8): PV guests' interrupt flag; HVM guests leave it alone.
    public static let upcallMaskOffset: UInt64 = 1
    /// `evtchn_pending_sel` (xen_ulong_t): bit w set = pending word w may hold unmasked events.
    public static let pendingSelectorOffset: UInt64 = 8
    /// `struct arch_vcpu_info` (cr2, pad) then `struct vcpu_time_info` (32 bytes, pvclock).
    public static let archOffset: UInt64 = 16
    public static let timeOffset: UInt64 = 32
}
