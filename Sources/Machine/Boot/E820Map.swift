import MachineCore

/// Address-range types of the BIOS INT 15h E820 interface (ACPI 6.5 §15, Table 15.1); the PVH
/// memmap (hvm_memmap_table_entry) and the multiboot mmap use the same numbers.
public enum E820Type: UInt32, Sendable {
    /// Usable RAM.
    case ram = 1
    /// Reserved: not usable by the OS.
    case reserved = 2
    /// ACPI tables, reclaimable once read.
    case acpi = 3
    /// ACPI non-volatile storage.
    case nvs = 4
    /// Memory with errors.
    case unusable = 5
}

/// One entry of the memory map.
public struct E820Entry: Equatable, Sendable {
    public var base: UInt64
    public var size: UInt64
    public var type: E820Type
    public var end: UInt64 { base + size }

    public init(base: UInt64, size: UInt64, type: E820Type) {
        self.base = base; self.size = size; self.type = type
    }
}

/// The PC memory map the loaders hand to the guest, built from a `GuestMemory`: the classic
/// layout of a PC BIOS (conventional memory up to the EBDA, the VGA/option-ROM hole, the
/// BIOS ROM below 1 MiB, RAM up to the PCI hole, RAM above 4 GiB). All three boot protocols
/// describe memory from this one value, so they always agree.
public struct E820Map: Equatable, Sendable {
    /// Start of the Extended BIOS Data Area: the top 1 KiB of conventional memory.
    public static let ebdaBase: UInt64 = 0x9_FC00
    /// Start of the legacy VGA window; conventional memory ends here.
    public static let legacyHoleBase: UInt64 = 0xA_0000
    /// Start of the system BIOS ROM window.
    public static let biosBase: UInt64 = 0xF_0000
    /// 1 MiB: start of extended memory.
    public static let extendedBase: UInt64 = 0x10_0000
    /// Most entries the Linux zero page holds (E820_MAX_ENTRIES_ZEROPAGE).
    public static let zeroPageCapacity = 128

    /// Entries sorted by base address, not overlapping.
    public private(set) var entries: [E820Entry]

    /// The map of a PC with `memory`'s RAM regions.
    public init(memory: GuestMemory) {
        var entries = [
            E820Entry(base: 0, size: E820Map.ebdaBase, type: .ram),
            E820Entry(base: E820Map.ebdaBase, size: E820Map.legacyHoleBase - E820Map.ebdaBase, type: .reserved),
            E820Entry(base: E820Map.biosBase, size: E820Map.extendedBase - E820Map.biosBase, type: .reserved),
        ]
        // RAM as GuestMemory lays it out: up to the board's low limit, the rest from 4 GiB. (Computed
        // from the size rather than from `regions`, which may also list ROM.)
        let low = min(memory.size, memory.map.lowRAMLimit)
        if low > E820Map.extendedBase {
            entries.append(E820Entry(base: E820Map.extendedBase, size: low - E820Map.extendedBase, type: .ram))
        }
        if memory.size > low {
            entries.append(E820Entry(base: GuestMemoryMap.highRAMBase, size: memory.size - low, type: .ram))
        }
        self.entries = entries
    }

    /// A map with the given entries (sorted here); for tests and unusual boards.
    public init(entries: [E820Entry]) {
        self.entries = entries.filter { $0.size > 0 }.sorted { $0.base < $1.base }
    }

    /// Marks `[base, base + size)` as `type`, carving it out of whatever entries it overlaps
    /// (for a board's ACPI tables or firmware areas).
    public mutating func reserve(base: UInt64, size: UInt64, as type: E820Type = .reserved) {
        guard size > 0 else { return }
        let end = base &+ size < base ? UInt64.max : base + size
        var result: [E820Entry] = []
        for e in entries {
            if e.end <= base || e.base >= end { result.append(e); continue }
            if e.base < base { result.append(E820Entry(base: e.base, size: base - e.base, type: e.type)) }
            if e.end > end { result.append(E820Entry(base: end, size: e.end - end, type: e.type)) }
        }
        result.append(E820Entry(base: base, size: end - base, type: type))
        entries = result.sorted { $0.base < $1.base }
    }

    /// True when `[base, base + length)` lies entirely inside one usable-RAM entry.
    public func isUsableRAM(_ base: UInt64, length: UInt64) -> Bool {
        let (end, overflow) = base.addingReportingOverflow(length)
        if overflow { return false }
        return entries.contains { $0.type == .ram && $0.base <= base && end <= $0.end }
    }

    /// End of the RAM entry that starts at 1 MiB: the top of RAM below the PCI hole.
    public var lowRAMEnd: UInt64 {
        entries.first { $0.type == .ram && $0.base <= E820Map.extendedBase && $0.end > E820Map.extendedBase }?.end
            ?? E820Map.extendedBase
    }

    /// Conventional memory in KiB (multiboot mem_lower): the RAM entry at address 0.
    public var lowerMemoryKiB: UInt32 {
        let e = entries.first { $0.type == .ram && $0.base == 0 }
        return UInt32(min(e?.size ?? 0, E820Map.legacyHoleBase) / 1024)
    }

    /// Extended memory from 1 MiB to the first hole, in KiB (multiboot mem_upper).
    public var upperMemoryKiB: UInt32 {
        UInt32(truncatingIfNeeded: (lowRAMEnd - E820Map.extendedBase) / 1024)
    }

    /// Total usable RAM in bytes.
    public var usableRAM: UInt64 { entries.filter { $0.type == .ram }.reduce(0) { $0 + $1.size } }

    /// The highest `alignment`-aligned address `a` with `[a, a + size)` inside one RAM entry,
    /// `a >= floor` and `a + size <= limit`; nil when there is none.
    public func highestFit(size: UInt64, alignment: UInt64, floor: UInt64, limit: UInt64) -> UInt64? {
        var best: UInt64?
        for e in entries where e.type == .ram {
            let top = min(e.end, limit)
            guard top >= size else { continue }
            let candidate = (top - size) & ~(alignment - 1)
            if candidate >= max(e.base, floor), candidate + size <= top {
                best = max(best ?? 0, candidate)
            }
        }
        return best
    }

    /// The lowest `alignment`-aligned address `a >= floor` with `[a, a + size)` inside one RAM
    /// entry and `a + size <= limit`; nil when there is none.
    public func lowestFit(size: UInt64, alignment: UInt64, floor: UInt64, limit: UInt64) -> UInt64? {
        for e in entries where e.type == .ram {
            let start = alignUp(max(e.base, floor), alignment)
            if start < e.end, e.end - start >= size, start + size <= limit { return start }
        }
        return nil
    }
}

/// `value` rounded up to a multiple of the power of two `alignment`.
@inline(__always)
func alignUp(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
    (value &+ alignment &- 1) & ~(alignment &- 1)
}

/// Bytes as whole MiB, rounded up, for messages.
func mebibytes(_ bytes: UInt64) -> UInt64 { (bytes + (1 << 20) - 1) >> 20 }

/// An address for messages.
func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
