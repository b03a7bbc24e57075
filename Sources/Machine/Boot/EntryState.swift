import MachineCore

/// Initial CPU states for the kernel entry points. Each protocol promises flat segments,
/// interrupts off and a few registers; the rest is the RESET state.
public enum EntryState {
    /// The TR every entry state uses: the busy TSS of `BootGDT`.
    static var taskRegister: SegmentRegister {
        SegmentRegister(selector: BootGDT.tssSelector, base: 0, limit: BootGDT.tssLimit, type: 0xB, s: false,
                        present: true)
    }

    /// 32-bit protected mode, paging off, flat CS/DS/ES/FS/GS/SS from `BootGDT` (written with
    /// `longMode: false`), interrupts off: the entry state of PVH (xen docs/misc/pvh.pandoc)
    /// and multiboot (Multiboot Specification 0.6.96 §3.2, "Machine state").
    /// `gdt` is where the table was written, `stack` the initial ESP.
    public static func protectedMode32(entry: UInt32, gdt: UInt64 = BootLayout.gdt,
                                       stack: UInt64 = BootLayout.stackTop) -> CPUState {
        var cpu = CPUState()
        let code = SegmentRegister.flat(selector: BootGDT.codeSelector, code: true)
        let data = SegmentRegister.flat(selector: BootGDT.dataSelector, code: false)
        cpu.cs = code
        cpu.ds = data; cpu.es = data; cpu.fs = data; cpu.gs = data; cpu.ss = data
        cpu.tr = taskRegister
        cpu.gdtr = DescriptorTableRegister(base: gdt, limit: BootGDT.limit)
        // No IDT: an exception before the kernel installs its own becomes a visible triple fault.
        cpu.idtr = DescriptorTableRegister(base: 0, limit: 0)
        // PE only (ET is hard-wired to 1 on every CPU since the i486); CD/NW cleared.
        cpu.cr0 = CR0.pe | CR0.et
        cpu.cr4 = 0
        cpu.msr.efer = 0
        // What firmware leaves: MTRRs on, memory write-back by default.
        cpu.msr.mtrrDefType = MTRR.firmwareDefType
        cpu.rflags = RFLAGS.reserved1
        cpu.rip = UInt64(entry)
        cpu.rsp = stack
        return cpu
    }

    /// 64-bit long mode with the identity map of `IdentityPageTables`, flat 64-bit CS and
    /// flat data segments from `BootGDT` (written with `longMode: true`), interrupts off: the
    /// entry state of the Linux 64-bit boot protocol (boot.rst, "64-bit BOOT PROTOCOL").
    public static func longMode(entry: UInt64, pageTables: UInt64) -> CPUState {
        var cpu = CPUState()
        let code = SegmentRegister.flat(selector: BootGDT.codeSelector, code: true, longMode: true)
        let data = SegmentRegister.flat(selector: BootGDT.dataSelector, code: false)
        cpu.cs = code
        cpu.ds = data; cpu.es = data; cpu.fs = data; cpu.gs = data; cpu.ss = data
        cpu.tr = taskRegister
        cpu.gdtr = DescriptorTableRegister(base: BootLayout.gdt, limit: BootGDT.limit)
        cpu.idtr = DescriptorTableRegister(base: 0, limit: 0)
        // Long mode needs PE, PG, PAE and EFER.LME; LMA is what the CPU sets once they are
        // all on (SDM Vol. 3A §9.8.5), so a loaded state carries it too.
        cpu.cr0 = CR0.pe | CR0.et | CR0.pg
        cpu.cr3 = pageTables
        cpu.cr4 = CR4.pae
        cpu.msr.efer = EFER.lme | EFER.lma
        cpu.msr.mtrrDefType = MTRR.firmwareDefType
        cpu.rflags = RFLAGS.reserved1
        cpu.rip = entry
        cpu.rsp = BootLayout.stackTop
        return cpu
    }
}
