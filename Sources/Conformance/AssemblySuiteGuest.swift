import MachineCore

/// The machine a conformance binary starts in (Tests/conformance/include/harness64.inc and
/// harness32.inc describe the same from the guest's side): RAM, identity page tables for a
/// 64-bit binary, and the entry state, which is the same on every engine.
public enum AssemblySuiteGuest {
    /// 32 MiB of RAM: the binary at 1 MiB, scratch, stacks and page tables below 4 MiB, the
    /// report area at 6 MiB, room above for paging tests.
    public static let memorySize: UInt64 = 32 << 20
    /// The runner's page tables for 64-bit binaries (harness64.inc PML4_ADDRESS).
    static let pml4: UInt64 = 0x8000
    static let pdpt: UInt64 = 0x9000
    static let pd: UInt64 = 0xA000
    /// Kernel stack top (harness64.inc KSTACK_TOP).
    static let kernelStackTop: UInt64 = 0x3F_0000

    /// Page-table entry bits (SDM Vol. 3A §4.5, Tables 4-15 to 4-18).
    static let present: UInt64 = 1 << 0
    static let writable: UInt64 = 1 << 1
    /// U/S: CPL 3 test bodies and the report area need it at every level.
    static let user: UInt64 = 1 << 2
    static let largePage: UInt64 = 1 << 7

    /// Loads the binary and, for a 64-bit one, writes page tables mapping the first GiB with
    /// user-accessible, writable 2 MiB pages.
    public static func load(_ binary: AssemblySuiteBinary, into memory: GuestMemory) throws(MachineError) {
        try memory.write(binary.image, at: AssemblySuiteBinary.loadAddress)
        guard binary.bitness == 64 else { return }
        let flags = present | writable | user
        try memory.write64(pml4, pdpt | flags)
        try memory.write64(pdpt, pd | flags)
        for i in 0..<512 { try memory.write64(pd + UInt64(i * 8), UInt64(i) << 21 | flags | largePage) }
    }

    /// The entry state: CPL 0 at the binary's entry with its GDT loaded; 64-bit mode with
    /// paging (a 64-bit binary) or flat 32-bit protected mode without paging (a 32-bit one).
    /// x87 and SSE are usable (CR0.MP/NE, CR4.OSFXSR/OSXMMEXCPT, SDM Vol. 3A §13.1.3).
    public static func initialState(_ binary: AssemblySuiteBinary) -> CPUState {
        var s = CPUState()
        let long = binary.bitness == 64
        s.cr0 = CR0.pe | CR0.mp | CR0.et | CR0.ne | (long ? CR0.wp | CR0.pg : 0)
        s.cr4 = CR4.osfxsr | CR4.osxmmexcpt | (long ? CR4.pae : 0)
        if long {
            s.cr3 = pml4
            s.msr.efer = EFER.lme | EFER.lma
        }
        s.cs = SegmentRegister.flat(selector: 0x08, code: true, longMode: long)
        let data = SegmentRegister.flat(selector: 0x10, code: false)
        s.ds = data; s.es = data; s.ss = data
        s.fs = data; s.gs = data
        s.gdtr = DescriptorTableRegister(base: binary.gdtBase, limit: binary.gdtLimit)
        s.idtr = DescriptorTableRegister(base: 0, limit: 0)
        // A busy TSS until the harness loads its own with LTR (VMX wants TR usable).
        s.tr = SegmentRegister(selector: 0, base: binary.tssBase, limit: 0x67, type: 0xB, s: false, present: true)
        s.ldtr = SegmentRegister(selector: 0, base: 0, limit: 0, type: 0x2, s: false, present: false, unusable: true)
        s.rip = binary.entry
        s.rsp = kernelStackTop
        s.rflags = RFLAGS.reserved1
        return s
    }
}
