import MachineCore

/// Checks and placement rules shared by the loaders.
enum LoadPlacement {
    static let fourGiB: UInt64 = 1 << 32
    static let page: UInt64 = 0x1000

    /// Refuses a kernel range that is not usable RAM, overlaps the loader's own structures (at
    /// fixed addresses below `BootLayout.end`; with `fixedStructures` false, only the interrupt
    /// vector table and BIOS data area below 0x500 are fixed) or, for kernels entered with
    /// paging off (`below4G`), reaches above 4 GiB.
    static func requireLoadable(_ range: Range<UInt64>, what: String, path: String, map: E820Map,
                                memory: GuestMemory, below4G: Bool, fixedStructures: Bool = true) throws(MachineError) {
        let span = "\(hex(range.lowerBound))-\(hex(range.upperBound))"
        if fixedStructures, range.lowerBound < BootLayout.end {
            throw .badImage(path: path, reason: "\(what) at \(span) overlaps the boot structures at \(hex(BootLayout.gdt))-\(hex(BootLayout.end))")
        }
        if !fixedStructures, range.lowerBound < BIOSDataArea.end {
            throw .badImage(path: path, reason: "\(what) at \(span) overlaps the interrupt vector table and BIOS data area at 0x0-\(hex(BIOSDataArea.end))")
        }
        if below4G && range.upperBound > fourGiB {
            throw .badImage(path: path, reason: "\(what) at \(span) is above 4 GiB, out of reach of a 32-bit entry")
        }
        // The map check comes first: it bounds the length before it is converted to Int.
        let length = range.upperBound - range.lowerBound
        guard map.isUsableRAM(range.lowerBound, length: length),
              memory.isRAM(range.lowerBound, length: Int(length)) else {
            throw .badImage(path: path, reason: "\(what) at \(span) is outside guest RAM (\(memory.size >> 20) MiB)")
        }
    }

    /// Writes the NUL-terminated command line at `BootLayout.commandLine`, refusing one
    /// longer than `maximum` bytes (without the NUL) or than the area holds.
    static func writeCommandLine(_ line: String, maximum: UInt64, into memory: GuestMemory) throws(MachineError) -> UInt64 {
        try memory.write(try commandLineBytes(line, maximum: maximum), at: BootLayout.commandLine)
        return BootLayout.commandLine
    }

    /// The command line as the NUL-terminated bytes the kernel gets, refusing one longer than
    /// `maximum` bytes (without the NUL) or than `BootLayout`'s area holds.
    static func commandLineBytes(_ line: String, maximum: UInt64) throws(MachineError) -> [UInt8] {
        let bytes = Array(line.utf8)
        if bytes.contains(0) { throw .badConfiguration("kernel command line contains a NUL byte") }
        let limit = min(maximum, BootLayout.commandLineSize - 1)
        guard UInt64(bytes.count) <= limit else {
            throw .badConfiguration("kernel command line is \(bytes.count) bytes; the kernel accepts at most \(limit)")
        }
        return bytes + [0]
    }

    /// Loads a Linux initrd — the files concatenated, each padded to 4 bytes, which the
    /// kernel's initramfs unpacker reads as consecutive archives — at the highest page-aligned
    /// address whose end is at most `limit` and that starts at or above `floor` (the kernel's
    /// end), as boot.rst advises ("as high as possible").
    static func loadInitrd(paths: [String], floor: UInt64, limit: UInt64, map: E820Map,
                           memory: GuestMemory) throws(MachineError) -> LoadedModule? {
        guard !paths.isEmpty else { return nil }
        var sizes: [UInt64] = []
        var total: UInt64 = 0
        for path in paths {
            let size = try ImageFile.size(path)
            sizes.append(size)
            total += alignUp(size, 4)
        }
        guard total > 0 else { throw .badImage(path: paths.joined(separator: ","), reason: "initrd is empty") }
        guard let address = map.highestFit(size: total, alignment: page, floor: max(floor, BootLayout.end), limit: limit) else {
            throw .memory("initrd (\(mebibytes(total)) MiB) does not fit below \(hex(limit)) above the kernel (ending at \(hex(floor))) in \(memory.size >> 20) MiB of memory")
        }
        var cursor = address
        for (path, size) in zip(paths, sizes) {
            try ImageFile.load(path, expectedSize: size, into: memory, at: cursor)
            let padded = alignUp(size, 4)
            if padded > size { try memory.fill(cursor + size, count: Int(padded - size)) }
            cursor += padded
        }
        return LoadedModule(path: paths.joined(separator: ","), address: address, size: total)
    }
}
