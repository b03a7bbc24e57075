import MachineCore

/// Loads an ELF kernel with a PVH entry note (xen docs/misc/pvh.pandoc; Linux's
/// arch/x86/platform/pvh): segments at their physical addresses, the initrd as the single
/// module as high as possible in RAM below 4 GiB, then hvm_start_info, and a 32-bit
/// protected-mode entry at the note's address with EBX pointing to hvm_start_info.
public enum PVHLoader {
    static func load(_ image: KernelImage, elf: ELFImage, entry: UInt32, initrd: [String], commandLine: String,
                     into memory: GuestMemory, map: E820Map, rsdpAddress: UInt64) throws(MachineError) -> BootSetup {
        try elf.loadSegments(from: image.bytes, into: memory, map: map, path: image.path, below4G: true)
        let kernel = elf.physicalExtent
        guard kernel.contains(UInt64(entry)) else {
            throw .badImage(path: image.path, reason: "PVH entry point \(hex(UInt64(entry))) is outside the loaded segments \(hex(kernel.lowerBound))-\(hex(kernel.upperBound))")
        }
        let limit = min(map.lowRAMEnd, LoadPlacement.fourGiB)
        let module = try LoadPlacement.loadInitrd(paths: initrd, floor: kernel.upperBound, limit: limit, map: map, memory: memory)
        let commandLineAddress = try LoadPlacement.writeCommandLine(commandLine, maximum: BootLayout.commandLineSize - 1, into: memory)
        let modules = module.map { [$0] } ?? []
        try PVHBootConfigurator.write(commandLineAddress: commandLineAddress, modules: modules, memoryMap: map,
                                      rsdpAddress: rsdpAddress, into: memory)
        try BootGDT.write(into: memory, longMode: false)
        var cpu = EntryState.protectedMode32(entry: entry)
        cpu.rbx = BootLayout.bootInfo
        return BootSetup(cpu: cpu, kind: .pvh, kernel: kernel, entryPoint: UInt64(entry),
                         bootInfoAddress: BootLayout.bootInfo, commandLineAddress: commandLineAddress,
                         modules: modules, memoryMap: map)
    }
}
