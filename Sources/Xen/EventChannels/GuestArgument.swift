import MachineCore

/// A hypercall's argument structure in guest memory, at the guest-physical address the
/// hypercall layer translated the guest's pointer to. The structure must be contiguous there
/// (the caller copies one that straddles two unrelated pages into a bounce buffer first).
///
/// Fields are read once each into Swift values before any decision is made on them, so a guest
/// that rewrites the structure while the VMM works cannot make it act on two different values.
/// Reads accept any guest memory that is backed; writes only RAM (a ROM structure gives
/// -EFAULT, as a write-protected page does on Xen).
struct GuestArgument {
    let memory: GuestMemory
    let address: UInt64
    let size: Int
    let source: UnsafeMutableRawPointer

    /// Nil (the hypercall answers -EFAULT) when the structure is not entirely in guest memory.
    init?(memory: GuestMemory, address: UInt64, size: Int) {
        guard let p = memory.pointer(address, length: size) else { return nil }
        self.memory = memory; self.address = address; self.size = size; source = p
    }

    func u16(_ offset: UInt64) -> UInt16 { UInt16(littleEndian: source.loadUnaligned(fromByteOffset: Int(offset), as: UInt16.self)) }
    func u32(_ offset: UInt64) -> UInt32 { UInt32(littleEndian: source.loadUnaligned(fromByteOffset: Int(offset), as: UInt32.self)) }
    func u64(_ offset: UInt64) -> UInt64 { UInt64(littleEndian: source.loadUnaligned(fromByteOffset: Int(offset), as: UInt64.self)) }

    /// Writes output fields, each (offset, little-endian bytes); false when the structure is not
    /// writable RAM. All fields land or none does.
    func write(_ fields: [(UInt64, [UInt8])]) -> Bool {
        guard let target = memory.ramPointer(address, length: size) else { return false }
        for (offset, bytes) in fields where Int(offset) + bytes.count <= size {
            for (i, byte) in bytes.enumerated() { target.storeBytes(of: byte, toByteOffset: Int(offset) + i, as: UInt8.self) }
        }
        memory.noteDeviceWrite(physical: address, length: size)
        return true
    }
}

extension FixedWidthInteger {
    /// The value's bytes in guest (little-endian) order, for `GuestArgument.write`.
    var guestBytes: [UInt8] { withUnsafeBytes(of: littleEndian) { Array($0) } }
}
