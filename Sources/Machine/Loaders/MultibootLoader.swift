import MachineCore

/// Loads a Multiboot v1 kernel (Multiboot Specification 0.6.96): by the header's address
/// fields (a.out kludge, flag bit 16) or else by its ELF program headers; each module page-
/// aligned right after the kernel, in order (which meets flag bit 0 whatever the kernel asks);
/// then the boot information and a 32-bit protected-mode entry with EAX = 0x2BADB002 and EBX
/// pointing to the information.
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
        let kernel: Range<UInt64>
        let entry: UInt64
        if let layout = header.kludgeLayout(fileSize: image.bytes.count), let fields = header.addresses {
            kernel = layout.loadAddress..<layout.bssEnd
            try LoadPlacement.requireLoadable(kernel, what: "multiboot image", path: image.path, map: map,
                                              memory: memory, below4G: true)
            try memory.copy(image.bytes, range: layout.fileRange, to: layout.loadAddress)
            if layout.bssEnd > layout.loadEnd {
                try memory.fill(layout.loadEnd, count: Int(layout.bssEnd - layout.loadEnd))
            }
            entry = UInt64(fields.entryAddress)
        } else if let elf {
            try elf.loadSegments(from: image.bytes, into: memory, map: map, path: image.path, below4G: true)
            kernel = elf.physicalExtent
            entry = elf.physicalAddress(ofVirtual: elf.entry)
            guard kernel.contains(entry) else {
                throw .badImage(path: image.path, reason: "ELF entry point \(hex(elf.entry)) is outside the loaded segments")
            }
        } else {
            throw .badImage(path: image.path, reason: "multiboot header has no address fields and the image is not ELF")
        }

        // Modules: page-aligned, one after another above the kernel, in low RAM.
        var modules: [MultibootBootConfigurator.Module] = []
        var cursor = alignUp(kernel.upperBound, LoadPlacement.page)
        for path in paths {
            let size = try ImageFile.size(path)
            let address = cursor
            // mod_end is a 32-bit exclusive end, so a module must end below 4 GiB.
            guard map.isUsableRAM(address, length: max(size, 1)), address + size < LoadPlacement.fourGiB else {
                throw .memory("module \(path) (\(mebibytes(size)) MiB) does not fit at \(hex(address)) above the kernel in \(memory.size >> 20) MiB of memory")
            }
            try ImageFile.load(path, expectedSize: size, into: memory, at: address)
            modules.append(.init(loaded: LoadedModule(path: path, address: address, size: size), string: path))
            cursor = alignUp(address + size, LoadPlacement.page)
        }

        let commandLineAddress = try LoadPlacement.writeCommandLine(kernelCommandLine(path: image.path, arguments: commandLine),
                                                                    maximum: BootLayout.commandLineSize - 1,
                                                                    into: memory)
        let info = try MultibootBootConfigurator.write(commandLineAddress: commandLineAddress, modules: modules,
                                                       memoryMap: map, textFramebuffer: header.videoModeType != nil,
                                                       into: memory)
        try BootGDT.write(into: memory, longMode: false)
        var cpu = EntryState.protectedMode32(entry: UInt32(entry))
        cpu.rax = UInt64(MultibootInfo.bootloaderMagic)
        cpu.rbx = info
        return BootSetup(cpu: cpu, kind: .multiboot, kernel: kernel, entryPoint: entry, bootInfoAddress: info,
                         commandLineAddress: commandLineAddress, modules: modules.map(\.loaded), memoryMap: map)
    }
}
