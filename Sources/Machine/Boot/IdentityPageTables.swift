import MachineCore

/// Page tables that map the first 4 GiB of guest-physical memory 1:1 with 2 MiB pages, for
/// the Linux 64-bit boot protocol, which enters the kernel with paging on and requires the
/// kernel, the zero page and the command line to be identity-mapped (boot.rst, "64-bit
/// BOOT PROTOCOL"). One PML4 entry points to one PDPT whose first four entries point to four
/// page directories of 512 large pages each (SDM Vol. 3A §4.5, 4-level paging). 2 MiB pages
/// rather than 1 GiB ones because the CPU model does not advertise 1 GiB pages.
public enum IdentityPageTables {
    /// P: the entry is present.
    public static let present: UInt64 = 1 << 0
    /// R/W: writes allowed.
    public static let writable: UInt64 = 1 << 1
    /// PS: the PD entry maps a 2 MiB page rather than pointing to a page table.
    public static let pageSize: UInt64 = 1 << 7
    /// Size of one large page.
    public static let largePage: UInt64 = 2 << 20
    /// How many page directories (1 GiB each) are built.
    public static let directoryCount = 4
    /// Bytes mapped.
    public static let mappedSize: UInt64 = UInt64(directoryCount) << 30

    /// Builds the tables at `BootLayout.pml4` and returns the value for CR3.
    @discardableResult
    public static func write(into memory: GuestMemory) throws(MachineError) -> UInt64 {
        let tablesEnd = BootLayout.pageDirectories + UInt64(directoryCount) * 0x1000
        try memory.fill(BootLayout.pml4, count: Int(tablesEnd - BootLayout.pml4))
        try memory.write64(BootLayout.pml4, BootLayout.pdpt | present | writable)
        for d in 0..<directoryCount {
            let directory = BootLayout.pageDirectories + UInt64(d) * 0x1000
            try memory.write64(BootLayout.pdpt + UInt64(d * 8), directory | present | writable)
            for e in 0..<512 {
                let physical = UInt64(d) << 30 | UInt64(e) * largePage
                try memory.write64(directory + UInt64(e * 8), physical | present | writable | pageSize)
            }
        }
        return BootLayout.pml4
    }
}
