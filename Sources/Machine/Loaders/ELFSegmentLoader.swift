import MachineCore

extension ELFImage {
    /// Copies every PT_LOAD segment to its physical address (p_paddr) and zero-fills the part
    /// of p_memsz past p_filesz (the bss). Ranges are checked before anything is written.
    func loadSegments(from bytes: [UInt8], into memory: GuestMemory, map: E820Map, path: String,
                      below4G: Bool, fixedStructures: Bool = true) throws(MachineError) {
        for (i, s) in loadSegments.enumerated() {
            try LoadPlacement.requireLoadable(s.physicalAddress..<(s.physicalAddress + s.memorySize),
                                              what: "ELF segment \(i)", path: path, map: map, memory: memory,
                                              below4G: below4G, fixedStructures: fixedStructures)
        }
        for s in loadSegments {
            let start = Int(s.fileOffset)
            try memory.copy(bytes, range: start..<(start + Int(s.fileSize)), to: s.physicalAddress)
            if s.memorySize > s.fileSize {
                try memory.fill(s.physicalAddress + s.fileSize, count: Int(s.memorySize - s.fileSize))
            }
        }
    }

    /// The physical ranges the segments occupy.
    var physicalRanges: [Range<UInt64>] {
        loadSegments.map { $0.physicalAddress..<($0.physicalAddress + $0.memorySize) }
    }

    /// The physical address of virtual address `address` when a segment maps it, else
    /// `address` itself (for kernels linked at their load address).
    func physicalAddress(ofVirtual address: UInt64) -> UInt64 {
        for s in loadSegments where address >= s.virtualAddress && address - s.virtualAddress < s.memorySize {
            return s.physicalAddress + (address - s.virtualAddress)
        }
        return address
    }
}
