import MachineCore

extension GuestMemory {
    /// The host address of the 4-KiB page at guest-physical `address` when it may hold a ring
    /// a backend shares with the guest: RAM, or a page the machine backed outside RAM (Xen's
    /// special pages, GuestMemory+RuntimePages.swift). Never ROM: the guest cannot write it.
    public func backendPagePointer(_ address: UInt64) -> UnsafeMutableRawPointer? {
        guard address & 0xFFF == 0 else { return nil }
        if let page = ramPointer(address, length: 4096) { return page }
        return isRuntimePage(address) ? pointer(address, length: 4096) : nil
    }
}
