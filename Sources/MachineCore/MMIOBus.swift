/// The 64-bit memory-mapped I/O space: claims kept sorted by base, found by binary search.
public final class MMIOBus {
    private struct Claim {
        var base: UInt64
        let size: UInt64
        let device: MMIODevice
        let name: String
        let id: Int
        var end: UInt64 { base &+ size }
    }

    private var sorted: [Claim] = []
    private var nextID = 0
    public private(set) var unclaimedAccesses = 0

    public init() {}

    @discardableResult
    public func claim(base: UInt64, size: UInt64, device: MMIODevice, name: String) throws(MachineError) -> BusClaim {
        let id = nextID
        try insert(Claim(base: base, size: size, device: device, name: name, id: id))
        nextID += 1
        return BusClaim(id: id)
    }

    /// Moves a claim (a PCI BAR reprogrammed by the guest). On overlap the claim stays where it was.
    public func move(_ handle: BusClaim, to base: UInt64) throws(MachineError) {
        guard let i = sorted.firstIndex(where: { $0.id == handle.id }) else { return }
        var claim = sorted[i]
        claim.base = base
        guard claim.size > 0, base &+ claim.size > base else {
            throw .badBusRange(bus: "MMIO", device: claim.name, base: base, size: claim.size)
        }
        for other in sorted where other.id != handle.id && other.base < claim.end && base < other.end {
            throw .busOverlap(bus: "MMIO", device: claim.name, base: base, size: claim.size, existing: other.name)
        }
        sorted.remove(at: i)
        let j = sorted.firstIndex { $0.base > base } ?? sorted.count
        sorted.insert(claim, at: j)
    }

    public func release(_ handle: BusClaim) {
        sorted.removeAll { $0.id == handle.id }
    }

    /// The claim covering `address`, as (device, offset), or nil.
    @inline(__always)
    public func lookup(_ address: UInt64) -> (device: MMIODevice, offset: UInt64)? {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid].end <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo < sorted.count, sorted[lo].base <= address else { return nil }
        return (sorted[lo].device, address - sorted[lo].base)
    }

    /// The name of the claim covering `address`, if any.
    public func claimName(at address: UInt64) -> String? {
        sorted.first { $0.base <= address && address < $0.end }?.name
    }

    public func read(address: UInt64, size: Int) -> UInt64 {
        guard let (device, offset) = lookup(address) else {
            unclaimedAccesses += 1
            return allOnes(size: size)
        }
        return device.mmioRead(offset: offset, size: size)
    }

    public func write(address: UInt64, size: Int, value: UInt64) {
        guard let (device, offset) = lookup(address) else {
            unclaimedAccesses += 1
            return
        }
        device.mmioWrite(offset: offset, size: size, value: value)
    }

    private func insert(_ claim: Claim) throws(MachineError) {
        // A claim may not wrap past the top of the 64-bit space, so `end` is always exact.
        guard claim.size > 0, claim.base &+ claim.size > claim.base else {
            throw .badBusRange(bus: "MMIO", device: claim.name, base: claim.base, size: claim.size)
        }
        for other in sorted where other.base < claim.end && claim.base < other.end {
            throw .busOverlap(bus: "MMIO", device: claim.name, base: claim.base, size: claim.size, existing: other.name)
        }
        let i = sorted.firstIndex { $0.base > claim.base } ?? sorted.count
        sorted.insert(claim, at: i)
    }
}
