/// Handle for one claim on a bus; used to move or release the claim later (PCI BAR moves).
public struct BusClaim: Hashable, Sendable {
    public let id: Int
}

/// The 16-bit port-I/O space. A flat table maps each port to the claim that owns it, so a
/// lookup on an I/O exit is one array index (the port space is only 64 Ki entries).
public final class PortIOBus {
    private struct Claim {
        var base: UInt16
        var count: Int
        let device: PortIODevice
        let name: String
    }

    /// claimIndexPlusOne[port] == 0 means unclaimed.
    private var owner = [UInt16](repeating: 0, count: 0x10000)
    private var claims: [Claim?] = []
    /// Accesses that hit no device, for diagnostics (`swiftpc run` can report them).
    public private(set) var unclaimedAccesses = 0

    public init() {}

    /// Claims `count` ports starting at `base` for `device`.
    @discardableResult
    public func claim(base: UInt16, count: Int, device: PortIODevice, name: String) throws(MachineError) -> BusClaim {
        guard count > 0, Int(base) + count <= 0x10000 else {
            throw .badBusRange(bus: "port I/O", device: name, base: UInt64(base), size: UInt64(count))
        }
        try checkFree(base: base, count: count, name: name, ignoring: nil)
        claims.append(Claim(base: base, count: count, device: device, name: name))
        let id = claims.count - 1
        fill(base: base, count: count, with: UInt16(id + 1))
        return BusClaim(id: id)
    }

    /// Moves an existing claim to a new base (same size).
    public func move(_ handle: BusClaim, to base: UInt16) throws(MachineError) {
        guard let claim = claims[handle.id] else { return }
        guard Int(base) + claim.count <= 0x10000 else {
            throw .badBusRange(bus: "port I/O", device: claim.name, base: UInt64(base), size: UInt64(claim.count))
        }
        try checkFree(base: base, count: claim.count, name: claim.name, ignoring: handle.id)
        fill(base: claim.base, count: claim.count, with: 0)
        claims[handle.id]!.base = base
        fill(base: base, count: claim.count, with: UInt16(handle.id + 1))
    }

    /// Removes a claim; its ports read as all ones again.
    public func release(_ handle: BusClaim) {
        guard let claim = claims[handle.id] else { return }
        fill(base: claim.base, count: claim.count, with: 0)
        claims[handle.id] = nil
    }

    /// The base and name of the claim covering `port`, if any.
    public func claimInfo(at port: UInt16) -> (base: UInt16, name: String)? {
        let index = Int(owner[Int(port)])
        guard index != 0, let claim = claims[index - 1] else { return nil }
        return (claim.base, claim.name)
    }

    public func read(port: UInt16, size: Int) -> UInt32 {
        let index = Int(owner[Int(port)])
        guard index != 0, let claim = claims[index - 1] else {
            unclaimedAccesses += 1
            return UInt32(truncatingIfNeeded: allOnes(size: size))
        }
        return claim.device.portRead(offset: port &- claim.base, size: size)
    }

    public func write(port: UInt16, size: Int, value: UInt32) {
        let index = Int(owner[Int(port)])
        guard index != 0, let claim = claims[index - 1] else {
            unclaimedAccesses += 1
            return
        }
        claim.device.portWrite(offset: port &- claim.base, size: size, value: value)
    }

    private func checkFree(base: UInt16, count: Int, name: String, ignoring: Int?) throws(MachineError) {
        for port in Int(base)..<(Int(base) + count) {
            let index = Int(owner[port])
            if index != 0, index - 1 != ignoring, let other = claims[index - 1] {
                throw .busOverlap(bus: "port I/O", device: name, base: UInt64(base), size: UInt64(count), existing: other.name)
            }
        }
    }

    private func fill(base: UInt16, count: Int, with value: UInt16) {
        for port in Int(base)..<(Int(base) + count) { owner[port] = value }
    }
}
