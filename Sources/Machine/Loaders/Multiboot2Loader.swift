import MachineCore

/// Loads a Multiboot2 kernel (Multiboot2 Specification 2.0; Xen and GRUB-built kernels carry
/// one): by the header's address and entry tags or else by its ELF program headers (entered at
/// the entry tag's address when there is one); modules page-aligned above it; the boot
/// information in one piece where the image is not; then the 32-bit protected-mode entry of
/// §3.3 with EAX = 0x36D76289 and EBX pointing to the information. The command line is
/// `<path> <append>` and each module's string its path, as for multiboot v1.
public enum Multiboot2Loader {
    static func load(_ image: KernelImage, header: Multiboot2Header, elf: ELFImage?, modules paths: [String],
                     commandLine: String, into memory: GuestMemory, map: E820Map,
                     rsdpAddress: UInt64) throws(MachineError) -> BootSetup {
        let layout = header.addresses.map {
            MultibootHeader.kludgeLayout($0, headerOffset: header.offset, fileSize: image.bytes.count)
        }
        let kernel = try MultibootLoader.loadImage(image, layout: layout, entryAddress: header.entryAddress.map(UInt64.init),
                                                   elf: elf, what: "multiboot2 image", into: memory, map: map)
        var area = BootRegionAllocator(map: map, used: kernel.ranges)
        let loaded = try MultibootLoader.loadModules(paths, above: kernel.extent.upperBound, area: &area, into: memory)
        let line = try LoadPlacement.commandLineBytes(
            MultibootLoader.kernelCommandLine(path: image.path, arguments: commandLine), maximum: BootLayout.commandLineSize - 1)
        let info = Multiboot2Info.build(commandLine: line, modules: loaded.map { .init(loaded: $0, string: $0.path) },
                                        memoryMap: map, rsdp: Multiboot2Info.rsdp(at: rsdpAddress, in: memory))
        let infoAddress = try area.place(info.bytes, alignment: 8, floor: BIOSDataArea.end,
                                         limit: MultibootLoader.structureLimit(map), what: "multiboot2 boot information",
                                         into: memory)
        var cpu = try MultibootLoader.entryState(entry: kernel.entry, area: &area, map: map, into: memory)
        cpu.rax = UInt64(Multiboot2Info.bootloaderMagic)
        cpu.rbx = infoAddress
        return BootSetup(cpu: cpu, kind: .multiboot2, kernel: kernel.extent, entryPoint: kernel.entry,
                         bootInfoAddress: infoAddress, commandLineAddress: infoAddress + UInt64(info.commandLineOffset),
                         modules: loaded, memoryMap: map)
    }
}
