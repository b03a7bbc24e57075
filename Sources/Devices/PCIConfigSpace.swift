import MachineCore

/// Offsets and bits of the PCI type 0 configuration header (PCI Local Bus Specification 3.0,
/// §6.1 and §6.2).
public enum PCIConfig {
    public static let size = 256

    public static let vendorID = 0x00
    public static let deviceID = 0x02
    public static let command = 0x04
    public static let status = 0x06
    public static let revisionID = 0x08
    public static let progIF = 0x09
    public static let subclass = 0x0A
    public static let classCode = 0x0B
    public static let cacheLineSize = 0x0C
    public static let latencyTimer = 0x0D
    public static let headerType = 0x0E
    public static let bist = 0x0F
    public static let bar0 = 0x10
    public static let subsystemVendorID = 0x2C
    public static let subsystemID = 0x2E
    public static let expansionROM = 0x30
    public static let capabilitiesPointer = 0x34
    public static let interruptLine = 0x3C
    public static let interruptPin = 0x3D

    // Header type.
    /// Bits 6:0: layout (0 = device, 1 = PCI-to-PCI bridge).
    public static let headerTypeDevice: UInt8 = 0x00
    /// Bit 7: the device has more than one function.
    public static let headerTypeMultiFunction: UInt8 = 0x80

    // Command register (§6.2.2).
    public static let commandIOSpace: UInt16 = 0x0001
    public static let commandMemorySpace: UInt16 = 0x0002
    public static let commandBusMaster: UInt16 = 0x0004
    public static let commandSpecialCycles: UInt16 = 0x0008
    public static let commandMWIEnable: UInt16 = 0x0010
    public static let commandVGASnoop: UInt16 = 0x0020
    public static let commandParityErrorResponse: UInt16 = 0x0040
    public static let commandSERREnable: UInt16 = 0x0100
    public static let commandFastBackToBack: UInt16 = 0x0200
    public static let commandInterruptDisable: UInt16 = 0x0400

    // Status register (§6.2.3). The error bits are write-1-to-clear.
    public static let statusInterrupt: UInt16 = 0x0008
    public static let statusCapabilitiesList: UInt16 = 0x0010
    public static let status66MHz: UInt16 = 0x0020
    public static let statusFastBackToBack: UInt16 = 0x0080
    public static let statusMasterDataParityError: UInt16 = 0x0100
    /// DEVSEL timing, bits 10:9: 00 fast, 01 medium, 10 slow.
    public static let statusDevselMedium: UInt16 = 0x0200
    public static let statusSignaledTargetAbort: UInt16 = 0x0800
    public static let statusReceivedTargetAbort: UInt16 = 0x1000
    public static let statusReceivedMasterAbort: UInt16 = 0x2000
    public static let statusSignaledSystemError: UInt16 = 0x4000
    public static let statusDetectedParityError: UInt16 = 0x8000
    /// All the write-1-to-clear error bits.
    public static let statusErrorBits: UInt16 = 0xF900
}

/// The 256 bytes of a function's configuration space, with a write mask per byte (bits the
/// guest may change) and a write-1-to-clear mask per byte (status bits a write of 1 clears).
/// Read-only fields are set up by the device with the `set` methods, which ignore the masks.
public struct PCIConfigSpace {
    public private(set) var bytes = [UInt8](repeating: 0, count: PCIConfig.size)
    public private(set) var writeMask = [UInt8](repeating: 0, count: PCIConfig.size)
    public private(set) var clearMask = [UInt8](repeating: 0, count: PCIConfig.size)

    public init() {}

    /// A header with identity fields filled in.
    public init(vendorID: UInt16, deviceID: UInt16, revision: UInt8, classCode: UInt8, subclass: UInt8,
                progIF: UInt8, headerType: UInt8 = PCIConfig.headerTypeDevice) {
        set16(PCIConfig.vendorID, vendorID)
        set16(PCIConfig.deviceID, deviceID)
        set8(PCIConfig.revisionID, revision)
        set8(PCIConfig.progIF, progIF)
        set8(PCIConfig.subclass, subclass)
        set8(PCIConfig.classCode, classCode)
        set8(PCIConfig.headerType, headerType)
    }

    // MARK: Device-side setup (no masks applied)

    public mutating func set8(_ offset: Int, _ value: UInt8) { bytes[offset] = value }

    public mutating func set16(_ offset: Int, _ value: UInt16) {
        for i in 0..<2 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    public mutating func set32(_ offset: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    /// Declares which bits of `width` bytes at `offset` the guest may write.
    public mutating func setWriteMask(_ offset: Int, width: Int, _ mask: UInt32) {
        for i in 0..<width { writeMask[offset + i] = UInt8(truncatingIfNeeded: mask >> (8 * i)) }
    }

    /// Declares which bits of `width` bytes at `offset` clear when written with 1.
    public mutating func setClearMask(_ offset: Int, width: Int, _ mask: UInt32) {
        for i in 0..<width { clearMask[offset + i] = UInt8(truncatingIfNeeded: mask >> (8 * i)) }
    }

    // MARK: Reads

    public func read8(_ offset: Int) -> UInt8 { bytes[offset] }
    public func read16(_ offset: Int) -> UInt16 { UInt16(read(offset: offset, size: 2)) }
    public func read32(_ offset: Int) -> UInt32 { read(offset: offset, size: 4) }

    /// Little-endian read of `size` bytes; bytes past the end read as 0xFF.
    public func read(offset: Int, size: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<size {
            let o = offset + i
            let byte: UInt8 = (0..<PCIConfig.size).contains(o) ? bytes[o] : 0xFF
            value |= UInt32(byte) << UInt32(8 * i)
        }
        return value
    }

    // MARK: Guest writes

    /// A guest write of `size` bytes: writable bits take the new value, write-1-to-clear bits
    /// written with 1 clear, everything else is unchanged. Bytes past the end are ignored.
    public mutating func write(offset: Int, size: Int, value: UInt32) {
        for i in 0..<size {
            let o = offset + i
            guard (0..<PCIConfig.size).contains(o) else { continue }
            let v = UInt8(truncatingIfNeeded: value >> UInt32(8 * i))
            var b = bytes[o] & ~writeMask[o] | v & writeMask[o]
            b &= ~(v & clearMask[o])
            bytes[o] = b
        }
    }
}

extension PCIConfigSpace {
    /// Puts back 256 saved bytes. The bytes may differ from the current ones only in bits the
    /// guest can write or the device can set and the guest clear (the masks): the rest is the
    /// function's identity and hardwired fields, which no saved state may change.
    public mutating func restore(_ saved: [UInt8], device: String) throws(MachineError) {
        guard saved.count == PCIConfig.size else {
            throw .invalidDeviceState(device: device, reason: "\(saved.count) configuration bytes, not \(PCIConfig.size)")
        }
        for i in 0..<PCIConfig.size where (saved[i] ^ bytes[i]) & ~(writeMask[i] | clearMask[i]) != 0 {
            throw .invalidDeviceState(device: device,
                                      reason: "read-only configuration byte 0x\(String(i, radix: 16)) differs from the function's")
        }
        bytes = saved
    }
}
