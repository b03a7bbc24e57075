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

/// Guest RAM: one anonymous host mapping split into regions by the board's `GuestMemoryMap`.
///
/// RAM below 4 GiB stops at the map's low limit so that the board's devices (a PC's PCI hole,
/// IOAPIC, local APIC and BIOS flash) keep the top of the 4 GiB space; the rest of the RAM is
/// mapped from 4 GiB upward, as on a real board. Besides the bytes it holds the state the
/// platform contract puts on memory: the A20 gate, the write-protected pages of the first MiB
/// and the engines that observe device writes (GuestMemoryObserver.swift).
/// All unsafe access to guest RAM goes through this type (docs/ARCHITECTURE.md, "Guest memory").
public final class GuestMemory: @unchecked Sendable {
    /// Smallest machine we build: enough for real-mode guests and the boot structures.
    public static let minimumSize: UInt64 = 2 << 20
    /// Largest machine we accept (the host's memory limits it further at mmap time).
    public static let maximumSize: UInt64 = 1 << 40

    /// Bytes of RAM (ROM regions not included).
    public let size: UInt64
    /// The board's map this memory was laid out by.
    public let map: GuestMemoryMap
    /// RAM regions first (low, then high), then any ROM regions in the order they were added,
    /// then the pages added while the machine runs (GuestMemory+RuntimePages.swift).
    public internal(set) var regions: [MemoryRegion]
    /// The RAM below the low limit (from 0) and above 4 GiB, fixed at init: `ramPointer` finds
    /// them without touching `regions` (whose accesses pay Swift's dynamic exclusivity checks).
    public let lowRAMSize: UInt64
    public let highRAMSize: UInt64
    @usableFromInline let mapping: UnsafeMutableRawPointer
    private let mappingSize: Int
    private var romMappings: [(UnsafeMutableRawPointer, Int)] = []
    /// Host pages backing `regions`' runtime pages, by guest-physical address.
    var runtimePages: [UInt64: UnsafeMutableRawPointer] = [:]

    /// The map's legacy hole (`legacyHole`), or an empty range.
    @usableFromInline let holeStart: UInt64
    @usableFromInline let holeEnd: UInt64

    /// All ones, or all but bit 20 while the A20 gate is closed (`setA20(enabled:)`).
    public internal(set) var a20Mask: UInt64 = ~0
    /// Pages of the first MiB whose CPU writes are dropped (`setWriteProtectedLowPages`).
    public internal(set) var writeProtectedLowPages = LowMemoryPageMask()
    /// The engines to tell of device writes and attribute changes (weak references).
    var observers: [WeakGuestMemoryObserver] = []

    /// Maps `size` bytes of zeroed guest RAM laid out by `map`. `size` must be a multiple of
    /// 4 KiB. Bare CPUs (tests, the conformance runners) take the default map.
    public init(size: UInt64, map: GuestMemoryMap = .bare) throws(MachineError) {
        guard size >= GuestMemory.minimumSize, size <= GuestMemory.maximumSize, size % 4096 == 0 else {
            throw .memory("memory size \(size) bytes is outside \(GuestMemory.minimumSize >> 20) MiB ... \(GuestMemory.maximumSize >> 30) GiB or not a multiple of 4 KiB")
        }
        guard map.lowRAMLimit % 4096 == 0, map.lowRAMLimit <= GuestMemoryMap.highRAMBase,
              map.legacyHole.map({ $0.lowerBound % 4096 == 0 && $0.upperBound % 4096 == 0 && $0.upperBound <= map.lowRAMLimit }) ?? true else {
            throw .memory("memory map \(map) is not page-aligned or its hole lies outside low RAM")
        }
        let raw = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let raw, raw != MAP_FAILED else {
            throw .memory("cannot map \(size >> 20) MiB of guest memory: \(String(cString: strerror(errno)))")
        }
        mapping = raw
        mappingSize = Int(size)
        self.size = size
        self.map = map
        let low = min(size, map.lowRAMLimit)
        lowRAMSize = low
        highRAMSize = size - low
        holeStart = map.legacyHole?.lowerBound ?? 0
        holeEnd = map.legacyHole?.upperBound ?? 0
        var regions: [MemoryRegion]
        if let hole = map.legacyHole {
            regions = [MemoryRegion(guestBase: 0, size: min(low, hole.lowerBound), host: raw)]
            if low > hole.upperBound {
                regions.append(MemoryRegion(guestBase: hole.upperBound, size: low - hole.upperBound,
                                            host: raw + Int(hole.upperBound)))
            }
        } else {
            regions = [MemoryRegion(guestBase: 0, size: low, host: raw)]
        }
        if size > low {
            regions.append(MemoryRegion(guestBase: GuestMemoryMap.highRAMBase, size: size - low, host: raw + Int(low)))
        }
        self.regions = regions
    }

    deinit {
        munmap(mapping, mappingSize)
        for (p, n) in romMappings { munmap(p, n) }
        for p in runtimePages.values { munmap(p, Int(GuestMemory.runtimePageSize)) }
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
        // ROM, and the pages added at run time (RAM itself was found above).
        for region in regions where region.contains(address, length: length) {
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
        let high = address &- GuestMemoryMap.highRAMBase
        if address >= GuestMemoryMap.highRAMBase && high &+ UInt64(length) <= highRAMSize {
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
        let high = address &- GuestMemoryMap.highRAMBase
        if address >= GuestMemoryMap.highRAMBase && high < highRAMSize { return highRAMSize - high }
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
