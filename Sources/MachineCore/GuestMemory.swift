#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One contiguous run of guest-physical RAM backed by host memory.
public struct MemoryRegion: @unchecked Sendable {
    /// Guest-physical address of the first byte.
    public let guestBase: UInt64
    /// Length in bytes (a multiple of 4 KiB).
    public let size: UInt64
    /// Host address of the first byte. Shared with KVM through KVM_SET_USER_MEMORY_REGION.
    public let host: UnsafeMutableRawPointer
    /// ROM: the guest reads it, guest writes are dropped (KVM: a KVM_MEM_READONLY slot,
    /// whose writes exit as MMIO). Loaders may still fill it through `GuestMemory`.
    public let readOnly: Bool

    public init(guestBase: UInt64, size: UInt64, host: UnsafeMutableRawPointer, readOnly: Bool = false) {
        self.guestBase = guestBase; self.size = size; self.host = host; self.readOnly = readOnly
    }

    public var guestEnd: UInt64 { guestBase + size }

    @inline(__always)
    public func contains(_ address: UInt64, length: Int = 1) -> Bool {
        address >= guestBase && address &+ UInt64(length) <= guestEnd && address &+ UInt64(length) >= address
    }
}

/// Guest RAM: one anonymous host mapping split into the regions of the PC memory map.
///
/// RAM below 4 GiB stops at `lowMemoryLimit` so that the PCI hole (MMIO BARs, the IOAPIC,
/// the local APIC and the BIOS flash at the top of the 4 GiB space) stays free; the rest of
/// the RAM is mapped from 4 GiB upward, as on a real board and in QEMU's `pc` machine.
/// All unsafe access to guest RAM goes through this type (DESIGN.md, "Guest memory").
public final class GuestMemory: @unchecked Sendable {
    /// Highest guest-physical address (exclusive) of RAM below 4 GiB.
    public static let lowMemoryLimit: UInt64 = 0xC000_0000
    /// The legacy VGA window, not RAM (the VGA's memory decodes it).
    public static let vgaHoleBase: UInt64 = 0xA_0000
    public static let vgaHoleEnd: UInt64 = 0xC_0000
    /// Guest-physical start of RAM above the PCI hole.
    public static let highMemoryBase: UInt64 = 0x1_0000_0000
    /// Smallest machine we build: enough for real-mode guests and the boot structures.
    public static let minimumSize: UInt64 = 2 << 20
    /// Largest machine we accept (the host's memory limits it further at mmap time).
    public static let maximumSize: UInt64 = 1 << 40

    /// Bytes of RAM (ROM regions not included).
    public let size: UInt64
    /// RAM regions first (low, then high), then any ROM regions in the order they were added.
    public private(set) var regions: [MemoryRegion]
    /// The RAM below the PCI hole (from 0) and above 4 GiB, fixed at init: `ramPointer` finds
    /// them without touching `regions` (whose accesses pay Swift's dynamic exclusivity checks).
    public let lowRAMSize: UInt64
    public let highRAMSize: UInt64
    @usableFromInline let mapping: UnsafeMutableRawPointer
    private let mappingSize: Int
    private var romMappings: [(UnsafeMutableRawPointer, Int)] = []

    /// The legacy VGA window left out of RAM (`vgaHoleBase..<vgaHoleEnd`), or an empty range.
    @usableFromInline let holeStart: UInt64
    @usableFromInline let holeEnd: UInt64

    /// Maps `size` bytes of zeroed guest RAM. `size` must be a multiple of 4 KiB. With
    /// `vgaHole` (a PC), 0xA0000-0xBFFFF is not RAM: the VGA decodes it. Bare CPUs (tests,
    /// the conformance runners) keep RAM there.
    public init(size: UInt64, vgaHole: Bool = false) throws(MachineError) {
        guard size >= GuestMemory.minimumSize, size <= GuestMemory.maximumSize, size % 4096 == 0 else {
            throw .memory("memory size \(size) bytes is outside \(GuestMemory.minimumSize >> 20) MiB ... \(GuestMemory.maximumSize >> 30) GiB or not a multiple of 4 KiB")
        }
        let raw = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let raw, raw != MAP_FAILED else {
            throw .memory("cannot map \(size >> 20) MiB of guest memory: \(String(cString: strerror(errno)))")
        }
        mapping = raw
        mappingSize = Int(size)
        self.size = size
        let low = min(size, GuestMemory.lowMemoryLimit)
        lowRAMSize = low
        highRAMSize = size - low
        holeStart = vgaHole ? GuestMemory.vgaHoleBase : 0
        holeEnd = vgaHole ? GuestMemory.vgaHoleEnd : 0
        var regions: [MemoryRegion]
        if vgaHole {
            regions = [MemoryRegion(guestBase: 0, size: min(low, GuestMemory.vgaHoleBase), host: raw)]
            if low > GuestMemory.vgaHoleEnd {
                regions.append(MemoryRegion(guestBase: GuestMemory.vgaHoleEnd, size: low - GuestMemory.vgaHoleEnd,
                                            host: raw + Int(GuestMemory.vgaHoleEnd)))
            }
        } else {
            regions = [MemoryRegion(guestBase: 0, size: low, host: raw)]
        }
        if size > low {
            regions.append(MemoryRegion(guestBase: GuestMemory.highMemoryBase, size: size - low, host: raw + Int(low)))
        }
        self.regions = regions
    }

    deinit {
        munmap(mapping, mappingSize)
        for (p, n) in romMappings { munmap(p, n) }
    }

    /// Adds a ROM region holding `image` at `guestBase` (for the BIOS flash at the top of the
    /// 4 GiB space). Must happen before an engine is created. Overlap with RAM or ROM is an error.
    public func addROM(_ image: [UInt8], at guestBase: UInt64) throws(MachineError) {
        let size = (UInt64(image.count) + 4095) & ~4095
        guard size > 0, guestBase % 4096 == 0, guestBase &+ size > guestBase else {
            throw .memory("ROM of \(image.count) bytes at 0x\(String(guestBase, radix: 16)) is empty or misplaced")
        }
        for r in regions where guestBase < r.guestEnd && r.guestBase < guestBase + size {
            throw .memory("ROM at 0x\(String(guestBase, radix: 16)) overlaps guest memory at 0x\(String(r.guestBase, radix: 16))")
        }
        let raw = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { throw .memory("cannot map a ROM of \(size) bytes") }
        image.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: image.count) }
        romMappings.append((raw, Int(size)))
        regions.append(MemoryRegion(guestBase: guestBase, size: size, host: raw, readOnly: true))
    }

    /// Host pointer for `length` bytes at guest-physical `address`, or nil when the range is
    /// not entirely inside one RAM region.
    @inline(__always)
    public func pointer(_ address: UInt64, length: Int = 1) -> UnsafeMutableRawPointer? {
        if let p = ramPointer(address, length: length) { return p }
        for region in regions where region.readOnly && region.contains(address, length: length) {
            return region.host + Int(address - region.guestBase)
        }
        return nil
    }

    /// Host pointer for `length` bytes of RAM (not ROM) at guest-physical `address`, or nil.
    /// The page walker's and the TLB fill's fast path.
    @inlinable @inline(__always)
    public func ramPointer(_ address: UInt64, length: Int) -> UnsafeMutableRawPointer? {
        let end = address &+ UInt64(length)
        if end <= lowRAMSize && end >= address && (end <= holeStart || address >= holeEnd) {
            return mapping + Int(address)
        }
        let high = address &- GuestMemory.highMemoryBase
        if address >= GuestMemory.highMemoryBase && high &+ UInt64(length) <= highRAMSize {
            return mapping + Int(lowRAMSize &+ high)
        }
        return nil
    }

    /// Bytes of RAM (not ROM) from `address` to the end of the contiguous run holding it: 0
    /// when `address` is not RAM. Bounds a device's transfer to what the guest really has.
    public func ramBytes(from address: UInt64) -> UInt64 {
        if address < lowRAMSize {
            if address >= holeStart && address < holeEnd { return 0 }
            return (address < holeStart ? holeStart : lowRAMSize) - address
        }
        let high = address &- GuestMemory.highMemoryBase
        if address >= GuestMemory.highMemoryBase && high < highRAMSize { return highRAMSize - high }
        return 0
    }

    /// Like `pointer` but throws for ranges outside RAM; for loaders and tests.
    public func checkedPointer(_ address: UInt64, length: Int) throws(MachineError) -> UnsafeMutableRawPointer {
        guard let p = pointer(address, length: length) else { throw .addressNotInRAM(address, length: length) }
        return p
    }

    /// True when every byte of the range is RAM.
    public func isRAM(_ address: UInt64, length: Int = 1) -> Bool { pointer(address, length: length) != nil }

    // MARK: little-endian scalar access (x86 is little-endian, and so is the host)

    public func read8(_ a: UInt64) throws(MachineError) -> UInt8 { try checkedPointer(a, length: 1).load(as: UInt8.self) }
    public func read16(_ a: UInt64) throws(MachineError) -> UInt16 { UInt16(littleEndian: try checkedPointer(a, length: 2).loadUnaligned(as: UInt16.self)) }
    public func read32(_ a: UInt64) throws(MachineError) -> UInt32 { UInt32(littleEndian: try checkedPointer(a, length: 4).loadUnaligned(as: UInt32.self)) }
    public func read64(_ a: UInt64) throws(MachineError) -> UInt64 { UInt64(littleEndian: try checkedPointer(a, length: 8).loadUnaligned(as: UInt64.self)) }

    public func write8(_ a: UInt64, _ v: UInt8) throws(MachineError) { try checkedPointer(a, length: 1).storeBytes(of: v, as: UInt8.self) }
    public func write16(_ a: UInt64, _ v: UInt16) throws(MachineError) { try checkedPointer(a, length: 2).storeBytes(of: v.littleEndian, toByteOffset: 0, as: UInt16.self) }
    public func write32(_ a: UInt64, _ v: UInt32) throws(MachineError) { try checkedPointer(a, length: 4).storeBytes(of: v.littleEndian, toByteOffset: 0, as: UInt32.self) }
    public func write64(_ a: UInt64, _ v: UInt64) throws(MachineError) { try checkedPointer(a, length: 8).storeBytes(of: v.littleEndian, toByteOffset: 0, as: UInt64.self) }

    /// Copies host bytes into guest RAM.
    public func write<C: Collection>(_ bytes: C, at address: UInt64) throws(MachineError) where C.Element == UInt8 {
        let p = try checkedPointer(address, length: bytes.count)
        var i = 0
        for b in bytes { p.storeBytes(of: b, toByteOffset: i, as: UInt8.self); i += 1 }
    }

    /// Copies from a raw buffer into guest RAM (fast path for large images).
    public func write(_ buffer: UnsafeRawBufferPointer, at address: UInt64) throws(MachineError) {
        guard buffer.count > 0 else { return }
        let p = try checkedPointer(address, length: buffer.count)
        p.copyMemory(from: buffer.baseAddress!, byteCount: buffer.count)
    }

    /// Copies guest RAM out to a new array.
    public func read(_ address: UInt64, count: Int) throws(MachineError) -> [UInt8] {
        let p = try checkedPointer(address, length: count)
        return Array(UnsafeRawBufferPointer(start: p, count: count))
    }

    /// Fills a guest range with one byte value.
    public func fill(_ address: UInt64, count: Int, with value: UInt8 = 0) throws(MachineError) {
        let p = try checkedPointer(address, length: count)
        p.initializeMemory(as: UInt8.self, repeating: value, count: count)
    }
}
