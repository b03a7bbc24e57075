import MachineCore

/// The guest-physical pages a board sets aside for the rings the Xen toolstack provides: the
/// console (HVM_PARAM_CONSOLE_PFN) and xenstore (HVM_PARAM_STORE_PFN) pages. On a Xen host
/// they are "special pages" below the firmware that the E820 map reserves; swiftpc's pc board
/// puts them where QEMU's Xen emulation does (include/sysemu/kvm_xen.h XEN_SPECIAL_AREA_ADDR,
/// target/i386/kvm/xen-emu.c `kvm_xen_init`), outside RAM, so firmware and kernel alike leave
/// them alone, and backs them with pages of their own.
struct XenSpecialPages {
    /// QEMU's special area: 16 KiB at 0xFEFF8000, above the local APIC and below the 16 MiB
    /// the BIOS flash may occupy; page 0 is the console, page 1 xenstore.
    static let areaBase: UInt64 = 0xFEFF_8000
    static let areaSize: UInt64 = 0x4000
    static let consoleIndex: UInt64 = 0
    static let storeIndex: UInt64 = 1

    let console: UInt64
    let store: UInt64
    /// The E820 entry that keeps the whole area out of the guest's RAM.
    let reservation: E820Entry

    /// Backs the console and store pages of the special area in `memory` (before the guest
    /// runs; engines map them as they map every region).
    static func backSpecialArea(in memory: GuestMemory) throws(MachineError) -> XenSpecialPages {
        let pages = XenSpecialPages(console: areaBase + consoleIndex * GuestMemory.runtimePageSize,
                                    store: areaBase + storeIndex * GuestMemory.runtimePageSize,
                                    reservation: E820Entry(base: areaBase, size: areaSize, type: .reserved))
        try memory.addRuntimePage(at: pages.console)
        try memory.addRuntimePage(at: pages.store)
        return pages
    }
}
