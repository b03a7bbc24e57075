import MachineCore

/// Loads a Linux bzImage (Documentation/arch/x86/boot.rst): the protected-mode kernel (the
/// file after its (setup_sects + 1) * 512 bytes of real-mode setup) goes to its preferred
/// address when the room init_size asks for fits there, else to 1 MiB rounded up to
/// kernel_alignment (relocatable kernels only); the initrd goes as high as possible below
/// initrd_addr_max; the zero page, command line and GDT go to `BootLayout`. A kernel with
/// XLF_KERNEL_64 starts in long mode at the 64-bit entry (load + 0x200) with the identity map
/// of `IdentityPageTables` ("64-bit BOOT PROTOCOL"); one without it (an i386 kernel) starts in
/// flat 32-bit protected mode, paging off, at code32_start = the load address ("32-bit BOOT
/// PROTOCOL"). Both get ESI/RSI = the zero page.
public enum BzImageLoader {
    /// The 64-bit entry point's offset from the start of the protected-mode kernel.
    public static let entryOffset: UInt64 = 0x200
    /// Where a bzImage's protected-mode part traditionally goes (boot.rst, code32_start).
    public static let defaultLoadAddress: UInt64 = 0x10_0000

    static func load(_ image: KernelImage, header h: BzImageHeader, initrd: [String], commandLine: String,
                     into memory: GuestMemory, map: E820Map, rsdpAddress: UInt64) throws(MachineError) -> BootSetup {
        let (loadAddress, kernelEnd) = try chooseLoadAddress(h, map: map, memory: memory, path: image.path)
        try memory.copy(image.bytes, range: h.kernelOffset..<(h.kernelOffset + h.kernelSize), to: loadAddress)

        // The kernel, zero page, command line and initrd must all be reachable through the
        // identity map and the 32-bit header fields, so everything stays below 4 GiB.
        let initrdLimit = min(UInt64(h.initrdAddressMax) + 1, map.lowRAMEnd, IdentityPageTables.mappedSize)
        let module = try LoadPlacement.loadInitrd(paths: initrd, floor: kernelEnd, limit: initrdLimit, map: map, memory: memory)

        let commandLineAddress = try LoadPlacement.writeCommandLine(commandLine, maximum: UInt64(h.commandLineSize), into: memory)
        let parameters = LinuxBootConfigurator.Parameters(
            image: image.bytes, header: h, loadAddress: loadAddress, commandLineAddress: commandLineAddress,
            initrd: module, memoryMap: map, rsdpAddress: rsdpAddress)
        try LinuxBootConfigurator.write(parameters, into: memory, at: BootLayout.bootInfo)

        let entry: UInt64
        var cpu: CPUState
        if h.has64BitEntry {
            try BootGDT.write(into: memory, longMode: true)
            let cr3 = try IdentityPageTables.write(into: memory)
            entry = loadAddress + entryOffset
            cpu = EntryState.longMode(entry: entry, pageTables: cr3)
        } else {
            // boot.rst, "32-bit BOOT PROTOCOL": protected mode, paging off, __BOOT_CS (0x10)
            // execute/read and __BOOT_DS (0x18) read/write, both flat 4 GiB, interrupts off,
            // the entry at code32_start (which the zero page gives as the load address), ESI the
            // zero page, and EBP, EDI and EBX zero (a fresh CPUState has them zero).
            try BootGDT.write(into: memory, longMode: false)
            entry = loadAddress
            cpu = EntryState.protectedMode32(entry: UInt32(entry))
        }
        cpu.rsi = BootLayout.bootInfo
        return BootSetup(cpu: cpu, kind: .bzImage, kernel: loadAddress..<kernelEnd, entryPoint: entry,
                         bootInfoAddress: BootLayout.bootInfo, commandLineAddress: commandLineAddress,
                         modules: module.map { [$0] } ?? [], memoryMap: map)
    }

    /// Picks the load address and returns it with the end of the memory the kernel needs.
    ///
    /// A relocatable kernel loaded below its preferred address (LOAD_PHYSICAL_ADDR) moves itself
    /// up to that address while decompressing, so it occupies [load, max(load, pref) + init_size).
    static func chooseLoadAddress(_ h: BzImageHeader, map: E820Map, memory: GuestMemory,
                                  path: String) throws(MachineError) -> (UInt64, UInt64) {
        let needed = max(UInt64(h.initSize), UInt64(h.kernelSize))
        let preferred = h.preferredAddress != 0 ? h.preferredAddress : defaultLoadAddress
        var candidates = [preferred]
        if h.relocatable {
            candidates.append(alignUp(defaultLoadAddress, alignment(h)))
        }
        for load in candidates where load >= BootLayout.end {
            let (end, overflow) = max(load, preferred).addingReportingOverflow(needed)
            if !overflow, end <= IdentityPageTables.mappedSize, map.isUsableRAM(load, length: end - load),
               memory.isRAM(load, length: Int(end - load)) {
                return (load, end)
            }
        }
        let top = max(preferred, candidates.last ?? preferred) &+ needed
        throw .memory("\(path): the kernel needs RAM up to \(hex(top)) (\(mebibytes(top)) MiB: init_size \(mebibytes(needed)) MiB from \(hex(preferred))); the machine has \(memory.size >> 20) MiB")
    }

    /// The alignment a relocatable kernel asks for: kernel_alignment when it is a sane power
    /// of two, else 2^min_alignment, else 2 MiB.
    static func alignment(_ h: BzImageHeader) -> UInt64 {
        let a = UInt64(h.kernelAlignment)
        if a >= 0x1000, a <= 1 << 30, a & (a - 1) == 0 { return a }
        if h.minimumAlignmentShift >= 12, h.minimumAlignmentShift <= 30 { return 1 << UInt64(h.minimumAlignmentShift) }
        return 2 << 20
    }
}
