import MachineCore
import X86Decoder

/// The guest of the host-CPU differential test (issue "Interpreter", "Differential against the
/// host CPU"): 64-bit mode at CPL 3 with identity paging, so that under KVM on a software
/// KVM (kvm_pvm) the random stream runs natively on the host CPU. Both engines get the same
/// memory image and the same `CPUState`.
///
/// Layout (guest-physical = linear, one 2 MiB user page):
///   0x1000 GDT, 0x1800 TSS, 0x2000 PML4, 0x3000 PDPT, 0x4000 PD,
///   0x10000 code, 0x11000 data page, 0x12000 stack page.
public enum DifferentialGuest {
    public static let gdtAddress: UInt64 = 0x1000
    public static let tssAddress: UInt64 = 0x1800
    public static let pml4Address: UInt64 = 0x2000
    static let pdptAddress: UInt64 = 0x3000
    static let pdAddress: UInt64 = 0x4000
    public static let codeAddress: UInt64 = 0x10000
    public static let dataAddress: UInt64 = 0x11000
    public static let stackAddress: UInt64 = 0x12000
    public static let pageSize = 4096
    /// RSP at the start: the middle of the stack page, so pushes and pops both stay inside it.
    public static let initialRSP: UInt64 = stackAddress + 0x800
    /// The base register of every generated memory operand points at the middle of the data
    /// page: disp8 and the generated disp32 (±0x7F0) both stay inside it.
    public static let dataBase: UInt64 = dataAddress + 0x800
    public static let dataBaseRegister = CPUState.GPR.r14.rawValue

    /// The data base register for a bitness: R14 in 64-bit mode, EDI in compatibility mode.
    public static func dataBaseRegister(bitness: Int) -> Int {
        bitness == 64 ? CPUState.GPR.r14.rawValue : CPUState.GPR.rdi.rawValue
    }

    /// The stream ends with `out imm8, al` to this port; under KVM it is a KVM_EXIT_IO. CPL 3
    /// may use it through the TSS I/O permission bitmap (SDM Vol. 1 §19.5.2), with IOPL 0 so
    /// that PUSHF stores the same flags image on both engines (kvm_pvm does not let user code
    /// see a virtual IOPL).
    public static let endPort: UInt8 = 0xF4
    public static let endMarker: [UInt8] = [0xE6, endPort]

    /// Selectors: user code and data with RPL 3 (GDT entries 3 and 4).
    public static let userCode: UInt16 = 0x18 | 3
    public static let userData: UInt16 = 0x20 | 3
    static let tssSelector: UInt16 = 0x28
    /// 32-bit user code (DPL 3, D): compatibility mode (GDT entry 7).
    public static let userCode32: UInt16 = 0x38 | 3

    /// Descriptors (SDM Vol. 3A §3.4.5): null, kernel code 64, kernel data, user code 64
    /// (DPL 3, L), user data (DPL 3), 64-bit TSS (two slots).
    static let gdt: [UInt64] = [
        0,
        0x00AF_9A00_0000_FFFF,
        0x00CF_9200_0000_FFFF,
        0x00AF_FA00_0000_FFFF,
        0x00CF_F200_0000_FFFF,
        UInt64(tssLimit) | 0x0000_8900_0000_0000 | (tssAddress & 0xFF_FFFF) << 16,
        0,
        0x00CF_FA00_0000_FFFF,
    ]

    /// The 64-bit TSS (SDM Vol. 3A §7.7): 0x68 bytes, the I/O map base at offset 0x66, then a
    /// bitmap for ports 0-255 (a set bit denies the port) and the 0xFF byte that must follow it.
    static let ioMapBase = 0x68
    static let tssLimit = ioMapBase + 32

    /// Page-table entry bits (SDM Vol. 3A §4.5, Table 4-15ff.).
    static let present: UInt64 = 1 << 0
    static let writable: UInt64 = 1 << 1
    /// U/S: user-mode accesses need it at every level.
    static let user: UInt64 = 1 << 2
    static let largePage: UInt64 = 1 << 7

    /// Writes GDT, TSS (zeroed) and page tables. Call once per memory.
    public static func writeTables(_ memory: GuestMemory) throws(MachineError) {
        for (i, d) in gdt.enumerated() { try memory.write64(gdtAddress + UInt64(i * 8), d) }
        for i in 0..<ioMapBase { try memory.write8(tssAddress + UInt64(i), 0) }
        try memory.write16(tssAddress + 0x66, UInt16(ioMapBase))
        for i in 0...32 {
            // Every port denied but the end port.
            var bits: UInt8 = 0xFF
            if i == Int(endPort) / 8 { bits &= ~(1 << (endPort % 8)) }
            try memory.write8(tssAddress + UInt64(ioMapBase + i), bits)
        }
        let flags = present | writable | user
        try memory.write64(pml4Address, pdptAddress | flags)
        try memory.write64(pdptAddress, pdAddress | flags)
        try memory.write64(pdAddress, 0 | flags | largePage)
    }

    /// 64-bit mode at CPL 3 with IOPL 0 and IF set; `gpr` and the arithmetic flags come from
    /// the stream.
    public static func initialState(gpr: [UInt64], statusFlags: UInt64, bitness: Int = 64) -> CPUState {
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.mp | CR0.et | CR0.ne | CR0.wp | CR0.pg
        s.cr3 = pml4Address
        s.cr4 = CR4.pae | CR4.osfxsr | CR4.osxmmexcpt
        s.msr.efer = EFER.lme | EFER.lma | EFER.sce
        var cs = SegmentRegister.flat(selector: bitness == 64 ? userCode : userCode32, code: true, longMode: bitness == 64)
        cs.dpl = 3
        s.cs = cs
        var data = SegmentRegister.flat(selector: userData, code: false)
        data.dpl = 3
        s.ds = data; s.es = data; s.ss = data; s.fs = data; s.gs = data
        s.gdtr = DescriptorTableRegister(base: gdtAddress, limit: UInt16(gdt.count * 8 - 1))
        s.idtr = DescriptorTableRegister(base: 0, limit: 0)
        s.tr = SegmentRegister(selector: tssSelector, base: tssAddress, limit: UInt32(tssLimit), type: 0xB, s: false, present: true)
        s.ldtr = SegmentRegister(selector: 0, base: 0, limit: 0, type: 0x2, s: false, present: false, unusable: true)
        s.gpr = gpr
        s.rip = codeAddress
        s.rflags = (statusFlags & DifferentialFlags.status) | RFLAGS.reserved1 | RFLAGS.if
        return s
    }
}

/// RFLAGS groups the comparison uses.
public enum DifferentialFlags {
    /// CF PF AF ZF SF DF OF: what a stream may set at the start and what it may change.
    public static let status: UInt64 = RFLAGS.cf | RFLAGS.pf | RFLAGS.af | RFLAGS.zf | RFLAGS.sf | RFLAGS.df | RFLAGS.of

    /// The RFLAGS bits of an ISA-table flag set (`FlagBits`).
    public static func rflags(_ bits: UInt16) -> UInt64 {
        var r: UInt64 = 0
        if bits & FlagBits.of != 0 { r |= RFLAGS.of }
        if bits & FlagBits.sf != 0 { r |= RFLAGS.sf }
        if bits & FlagBits.zf != 0 { r |= RFLAGS.zf }
        if bits & FlagBits.af != 0 { r |= RFLAGS.af }
        if bits & FlagBits.cf != 0 { r |= RFLAGS.cf }
        if bits & FlagBits.pf != 0 { r |= RFLAGS.pf }
        if bits & FlagBits.df != 0 { r |= RFLAGS.df }
        if bits & FlagBits.if != 0 { r |= RFLAGS.if }
        if bits & FlagBits.ac != 0 { r |= RFLAGS.ac }
        return r
    }
}
