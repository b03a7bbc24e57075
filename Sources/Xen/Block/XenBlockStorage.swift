/// What a block backend serves: a disk image as the machine opened it (the IDE disks'
/// `DiskImage` conforms in the Machine module), so that locking, read-only opening and fsync
/// are the same for xvda as for hda.
public protocol XenBlockStorage: AnyObject {
    /// Bytes in the image, fixed at open.
    var size: UInt64 { get }
    var readOnly: Bool { get }
    /// Reads `buffer.count` bytes at `offset`; false when the host read failed.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Bool
    /// Writes `buffer` at `offset`; false for a read-only image, a range past its end or a failed host write.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) -> Bool
    /// Makes completed writes durable (fsync); false when the host failed.
    func flush() -> Bool
}
