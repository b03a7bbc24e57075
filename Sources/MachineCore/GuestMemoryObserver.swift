/// An engine that caches what it derived from guest memory (decoded instructions, address
/// translations) and must hear of what changes behind it (docs/ARCHITECTURE.md, "Platform
/// contract"). Engines register themselves with `GuestMemory.addObserver`; every engine that
/// exists hears every change, the standby engine of `--migrate-every` included.
public protocol GuestMemoryObserver: AnyObject {
    /// A device wrote guest RAM directly (DMA), bypassing the CPUs.
    func guestMemoryWritten(physical address: UInt64, length: Int)
    /// The address-line or write-protection state of `memory` changed (A20M#, PAM): what
    /// was translated under the old state is stale.
    func guestMemoryAttributesChanged(_ memory: GuestMemory)
    /// A page of guest-physical address space gained backing memory while the machine runs
    /// (`GuestMemory.addRuntimePage`): an engine that maps guest memory itself maps it too.
    func guestMemoryRegionAdded(_ region: MemoryRegion)
    /// A runtime page is going away (`removeRuntimePage`): nothing may keep its host address
    /// once this returns (it is unmapped next), and the address is unbacked again.
    func guestMemoryRegionRemoved(_ region: MemoryRegion)
}

/// The pages of the first MiB whose CPU writes the chipset drops (a PC's PAM registers
/// with write-enable clear over the BIOS shadow at 0xC0000-0xFFFFF). Bit `page % 64` of
/// word `page / 64` stands for the 4-KiB page `page`.
public struct LowMemoryPageMask: Equatable, Sendable {
    /// Pages the mask covers: the first MiB.
    public static let pageCount: UInt64 = 256
    public var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init() {}

    public static func == (a: LowMemoryPageMask, b: LowMemoryPageMask) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public var isEmpty: Bool { self == LowMemoryPageMask() }

    @inline(__always)
    public func contains(page: UInt64) -> Bool {
        guard page < Self.pageCount else { return false }
        let word: UInt64
        switch page >> 6 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        return word >> (page & 63) & 1 != 0
    }

    public mutating func set(page: UInt64, _ on: Bool) {
        guard page < Self.pageCount else { return }
        let bit: UInt64 = 1 << (page & 63)
        func apply(_ w: inout UInt64) { if on { w |= bit } else { w &= ~bit } }
        switch page >> 6 {
        case 0: apply(&words.0)
        case 1: apply(&words.1)
        case 2: apply(&words.2)
        default: apply(&words.3)
        }
    }

    /// The pages in `range` (guest-physical bytes), a partial page included.
    public mutating func set(range: Range<UInt64>, _ on: Bool) {
        guard !range.isEmpty else { return }
        var page = range.lowerBound >> 12
        while page <= (range.upperBound - 1) >> 12 && page < Self.pageCount {
            set(page: page, on)
            page += 1
        }
    }

    /// Every page set in the mask, in order (for engines that map it onto their own slots).
    public var pages: [UInt64] { (0..<Self.pageCount).filter { contains(page: $0) } }
}

extension GuestMemory {
    /// Registers an engine (held weakly) to hear of device writes and attribute changes.
    public func addObserver(_ observer: GuestMemoryObserver) {
        observers.removeAll { $0.object == nil }
        observers.append(WeakGuestMemoryObserver(object: observer))
    }

    /// Whether an engine other than `observer` is registered: an engine whose vCPUs write RAM
    /// behind the others' backs (KVM) reports those writes only when someone needs them.
    public func hasObservers(besides observer: GuestMemoryObserver) -> Bool {
        observers.contains { $0.object != nil && $0.object !== observer }
    }

    /// A device wrote `length` bytes of RAM at `address` by DMA: every engine forgets what
    /// it decoded there. Devices call this after each transfer into guest RAM.
    public func noteDeviceWrite(physical address: UInt64, length: Int) {
        guard length > 0 else { return }
        for o in observers { o.object?.guestMemoryWritten(physical: address, length: length) }
    }

    /// A20M# (SDM Vol. 3A §8.7.13.4 / the chipset's gate A20): while the gate is closed,
    /// address bit 20 of every CPU access is 0. Engines apply `a20Mask` at translation.
    public func setA20(enabled: Bool) {
        let mask: UInt64 = enabled ? ~0 : ~(1 << 20)
        guard mask != a20Mask else { return }
        a20Mask = mask
        attributesChanged()
    }

    public var a20Enabled: Bool { a20Mask == ~0 }

    /// Sets which pages of the first MiB drop CPU writes (the board's shadow-RAM write
    /// enables). Loaders and DMA still write them, as on a PC.
    public func setWriteProtectedLowPages(_ mask: LowMemoryPageMask) {
        guard mask != writeProtectedLowPages else { return }
        writeProtectedLowPages = mask
        attributesChanged()
    }

    func regionAdded(_ region: MemoryRegion) {
        for o in observers { o.object?.guestMemoryRegionAdded(region) }
    }

    func regionRemoved(_ region: MemoryRegion) {
        for o in observers { o.object?.guestMemoryRegionRemoved(region) }
    }

    private func attributesChanged() {
        for o in observers { o.object?.guestMemoryAttributesChanged(self) }
    }
}

/// A weak reference to an observer: engines own the memory, not the other way round.
struct WeakGuestMemoryObserver {
    weak var object: GuestMemoryObserver?
}
