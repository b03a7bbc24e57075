/// A device on the port-I/O bus. `offset` is relative to the base of the claim the access
/// fell into; `size` is 1, 2 or 4 bytes. Reads of a size a device does not implement should
/// return all ones in the missing bytes, as an open ISA bus does.
public protocol PortIODevice: AnyObject {
    func portRead(offset: UInt16, size: Int) -> UInt32
    func portWrite(offset: UInt16, size: Int, value: UInt32)
}

/// A device on the memory-mapped I/O bus. `offset` is relative to the base of the claim;
/// `size` is 1, 2, 4 or 8 bytes.
public protocol MMIODevice: AnyObject {
    func mmioRead(offset: UInt64, size: Int) -> UInt64
    func mmioWrite(offset: UInt64, size: Int, value: UInt64)
}

/// All-ones value of an access of `size` bytes: what reads of nothing return.
@inline(__always)
public func allOnes(size: Int) -> UInt64 {
    size >= 8 ? UInt64.max : (UInt64(1) << UInt64(size * 8)) &- 1
}
