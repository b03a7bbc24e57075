import MachineCore

/// Loads a Multiboot v1 kernel (Multiboot Specification 0.6.96): by the header's address
/// fields (a.out kludge, flag bit 16) or else by its ELF program headers; each module page-
/// aligned above the kernel, in order (which meets flag bit 0 whatever the kernel asks);
/// then the boot information and a 32-bit protected-mode entry with EAX = 0x2BADB002 and EBX
/// pointing to the information.
///
/// The spec fixes no address for the information, the command line or the modules, and
/// kernels may be linked anywhere in RAM above the BIOS data area, so the loader places
/// everything it writes where the image is not (`BootRegionAllocator`) and refuses only an
/// image that overlaps the interrupt vector table and BIOS data area, or RAM it cannot use.
///
/// The kernel's cmdline is its path, then the command line given (`<path> <append>`), as GRUB
/// and QEMU pass it: multiboot programs take the first word as argv[0]. Each module's string
/// is its path.
public enum MultibootLoader {
    /// The string a multiboot kernel gets as its command line.
    static func kernelCommandLine(path: String, arguments: String) -> String {
        arguments.isEmpty ? path : path + " " + arguments
    }

    static func load(_ image: KernelImage, header: MultibootHeader, elf: ELFImage?, modules paths: [String],
                     commandLine: String, into memory: GuestMemory, map: E820Map) throws(MachineError) -> BootSetup {
        let kernel = try loadImage(image, layout: header.kludgeLayout(fileSize: image.bytes.count),
                                   entryAddress: header.addresses.map { UInt64($0.entryAddress) }, elf: elf,
                                   what: "multiboot image", into: memory, map: map)
        var area = BootRegionAllocator(map: map, used: kernel.ranges)
        let loaded = try loadModules(paths, above: kernel.extent.upperBound, area: &area, into: memory)
        let modules = loaded.map { MultibootBootConfigurator.Module(loaded: $0, string: $0.path) }

        let line = try LoadPlacement.commandLineBytes(kernelCommandLine(path: image.path, arguments: commandLine),
                                                      maximum: BootLayout.commandLineSize - 1)
        let commandLineAddress = try area.place(line, alignment: 1, floor: BIOSDataArea.end, limit: structureLimit(map),
                                                what: "kernel command line", into: memory)
        let info = try MultibootBootConfigurator.write(commandLineAddress: commandLineAddress, modules: modules,
                                                       memoryMap: map, textFramebuffer: header.videoModeType != nil,
                                                       area: &area, into: memory)
        var cpu = try entryState(entry: kernel.entry, area: &area, map: map, into: memory)
        cpu.rax = UInt64(MultibootInfo.bootloaderMagic)
        cpu.rbx = info
        return BootSetup(cpu: cpu, kind: .multiboot, kernel: kernel.extent, entryPoint: kernel.entry, bootInfoAddress: info,
                         commandLineAddress: commandLineAddress, modules: loaded, memoryMap: map)
    }

    /// Where a multiboot kernel went.
    struct LoadedKernel {
        /// The memory each part occupies (the ELF segments, or the one a.out-kludge range).
        var ranges: [Range<UInt64>]
        var extent: Range<UInt64>
        var entry: UInt64
    }

    /// Highest address (exclusive) for what the loader writes: the boot information holds
    /// 32-bit pointers, and low RAM is what every kernel can reach before it sets up paging.
    static func structureLimit(_ map: E820Map) -> UInt64 { min(map.lowRAMEnd, LoadPlacement.fourGiB) }

    /// Loads the image by its address fields (`layout`, entered at `entryAddress`) or else by
    /// its ELF program headers (entered at `entryAddress` when given, else at e_entry).
    static func loadImage(_ image: KernelImage, layout: MultibootHeader.KludgeLayout?, entryAddress: UInt64?,
                          elf: ELFImage?, what: String, into memory: GuestMemory,
                          map: E820Map) throws(MachineError) -> LoadedKernel {
        if let layout, let entry = entryAddress {
            let range = layout.loadAddress..<layout.bssEnd
            try LoadPlacement.requireLoadable(range, what: what, path: image.path, map: map, memory: memory,
                                              below4G: true, fixedStructures: false)
            try memory.copy(image.bytes, range: layout.fileRange, to: layout.loadAddress)
            if layout.bssEnd > layout.loadEnd {
                try memory.fill(layout.loadEnd, count: Int(layout.bssEnd - layout.loadEnd))
            }
            return LoadedKernel(ranges: [range], extent: range, entry: entry)
        }
        guard let elf else {
            throw .badImage(path: image.path, reason: "\(what) has no address fields and is not ELF")
        }
        try elf.loadSegments(from: image.bytes, into: memory, map: map, path: image.path, below4G: true,
                             fixedStructures: false)
        let extent = elf.physicalExtent
        let entry = entryAddress ?? elf.physicalAddress(ofVirtual: elf.entry)
        let ranges = elf.physicalRanges
        guard ranges.contains(where: { $0.contains(entry) }) else {
            throw .badImage(path: image.path, reason: "entry point \(hex(entry)) is outside the loaded ELF segments \(hex(extent.lowerBound))-\(hex(extent.upperBound))")
        }
        return LoadedKernel(ranges: ranges, extent: extent, entry: entry)
    }

    /// Loads the modules page-aligned, one after another, the first as low as possible above
    /// `above` (else anywhere free); mod_end is a 32-bit exclusive end, so each ends below 4 GiB.
    static func loadModules(_ paths: [String], above: UInt64, area: inout BootRegionAllocator,
                            into memory: GuestMemory) throws(MachineError) -> [LoadedModule] {
        var modules: [LoadedModule] = []
        var floor = above
        for path in paths {
            let size = try ImageFile.size(path)
            let limit = LoadPlacement.fourGiB - 1
            guard let address = area.allocate(size, alignment: LoadPlacement.page, floor: floor, limit: limit)
                    ?? area.allocate(size, alignment: LoadPlacement.page, floor: BIOSDataArea.end, limit: limit) else {
                throw .memory("module \(path) (\(mebibytes(size)) MiB) does not fit in free RAM below 4 GiB (taken: \(area.describeUsed())) in \(memory.size >> 20) MiB of memory")
            }
            try ImageFile.load(path, expectedSize: size, into: memory, at: address)
            modules.append(LoadedModule(path: path, address: address, size: size))
            floor = address + size
        }
        return modules
    }

    /// The 32-bit protected-mode entry state both multiboot versions promise (Multiboot 0.6.96
    /// §3.2; Multiboot2 §3.3 "I386 machine state"), with the GDT and a small stack placed by
    /// `area`. The kernel must load its own GDT and stack; the loader's are only valid ones to
    /// start from.
    static func entryState(entry: UInt64, area: inout BootRegionAllocator, map: E820Map,
                           into memory: GuestMemory) throws(MachineError) -> CPUState {
        let limit = structureLimit(map)
        guard let gdt = area.allocate(BootGDT.size, alignment: 8, floor: BIOSDataArea.end, limit: limit),
              let stack = area.allocate(stackSize, alignment: LoadPlacement.page, floor: BIOSDataArea.end, limit: limit) else {
            throw .memory("no room below \(hex(limit)) for the boot GDT and stack outside the kernel and modules at \(area.describeUsed())")
        }
        try BootGDT.write(into: memory, longMode: false, at: gdt)
        try memory.fill(stack, count: Int(stackSize))
        return EntryState.protectedMode32(entry: UInt32(entry), gdt: gdt, stack: stack + stackSize - 16)
    }

    /// The loader's stack for the first instructions.
    static let stackSize: UInt64 = 0x1000
}
