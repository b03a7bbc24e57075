import MachineCore

/// What a guest's unplug write asks for: the bits of the unplug mask (xen-doc
/// misc/hvm-emulated-unplug; Linux include/xen/platform_pci.h `XEN_UNPLUG_*`; QEMU
/// xen_platform.c). A PV driver set unplugs the emulated twins of the devices it drives, so
/// that the guest never sees one disk twice.
public struct XenUnplugRequest: OptionSet, Sendable, Equatable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Bit 0: every IDE (and SCSI) disk; CD-ROMs stay.
    public static let ideDisks = XenUnplugRequest(rawValue: 1 << 0)
    /// Bit 1: every emulated NIC.
    public static let nics = XenUnplugRequest(rawValue: 1 << 1)
    /// Bit 2: every IDE disk but the primary master ("aux" disks); bit 0 overrides it.
    public static let auxIDEDisks = XenUnplugRequest(rawValue: 1 << 2)
    /// Bit 3: every NVMe disk.
    public static let nvmeDisks = XenUnplugRequest(rawValue: 1 << 3)
    /// The bits the protocol defines; others are ignored.
    public static let defined: XenUnplugRequest = [.ideDisks, .nics, .auxIDEDisks, .nvmeDisks]
}

/// The unplug protocol at the fixed ports 0x10-0x1F (xen-doc misc/hvm-emulated-unplug; Linux
/// arch/x86/xen/platform-pci-unplug.c `check_platform_magic`, `xen_unplug_emulated_devices`;
/// QEMU `platform_fixed_ioport_*`). Linux reads the magic word at 0x10 and the protocol version
/// byte at 0x12, writes its product number (word, 0x12) and driver version (dword, 0x10),
/// reads the magic again (a host that blacklists the driver answers 0xD249 there) and writes
/// the unplug mask (word, 0x10). Byte writes to 0x12 are the drivers' log. The meaning of each
/// port depends on the access width, as on Xen; an access the protocol does not define reads
/// as all ones and writes nothing.
extension XenPlatformPCIDevice {
    /// Offsets in the fixed range (port 0x10 + offset).
    /// +0 byte: platform flags (R/W); word: magic (R) / unplug mask (W); dword: driver version (W).
    public static let fixedMagicOrUnplug: UInt16 = 0x00
    /// +2 byte: protocol version (R) / log (W); word: product number (W).
    public static let fixedVersionOrLog: UInt16 = 0x02

    /// The magic word that identifies the interface, and its byte-swapped form that tells the
    /// driver it is blacklisted (never answered here: every driver is welcome).
    public static let magic: UInt16 = 0x49D2
    public static let magicBlacklisted: UInt16 = 0xD249
    /// The protocol version this device speaks.
    public static let protocolVersion: UInt8 = 1
    /// Platform flags bit 0: the 0xC0000-0xFFFFF ROM area is read-only (a request to Xen; kept
    /// here as a register, as QEMU's Xen emulation does).
    public static let platformFlagROMLock: UInt8 = 0x01
    /// Product numbers of known driver sets (product 3 is Linux).
    public static let productLinux: UInt16 = 0x0003
    /// Longest driver log line kept; a longer one is cut there, as QEMU's buffer does.
    public static let logLineLimit = 4095

    func fixedPortRead(offset: UInt16, size: Int) -> UInt32 {
        switch (size, offset) {
        case (1, Self.fixedMagicOrUnplug): return UInt32(platformFlags)
        case (1, Self.fixedVersionOrLog): return UInt32(Self.protocolVersion)
        case (2, Self.fixedMagicOrUnplug): return UInt32(Self.magic)
        default: return UInt32(truncatingIfNeeded: allOnes(size: size))
        }
    }

    func fixedPortWrite(offset: UInt16, size: Int, value: UInt32) {
        switch (size, offset) {
        case (1, Self.fixedMagicOrUnplug): writePlatformFlags(UInt8(truncatingIfNeeded: value))
        case (1, Self.fixedVersionOrLog): appendLog(UInt8(truncatingIfNeeded: value))
        case (2, Self.fixedMagicOrUnplug): unplug(mask: UInt16(truncatingIfNeeded: value))
        case (2, Self.fixedVersionOrLog): driverProduct = UInt16(truncatingIfNeeded: value)
        case (4, Self.fixedMagicOrUnplug): driverVersion = value
        default: break
        }
    }

    func writePlatformFlags(_ value: UInt8) {
        platformFlags = value & Self.platformFlagROMLock
    }

    /// Honours an unplug mask: undefined bits are dropped, and "all IDE disks" overrides "aux
    /// IDE disks" (QEMU's reading of the protocol). Each request reaches `onUnplug` every time
    /// it is written: unplugging what is gone already does nothing.
    func unplug(mask: UInt16) {
        var request = XenUnplugRequest(rawValue: mask).intersection(.defined)
        if request.contains(.ideDisks) { request.remove(.auxIDEDisks) }
        guard !request.isEmpty else { return }
        unplugRequests |= request.rawValue
        onUnplug(request)
    }

    func appendLog(_ byte: UInt8) {
        if byte == UInt8(ascii: "\n") || logLine.count >= Self.logLineLimit {
            let line = String(decoding: logLine, as: UTF8.self)
            logLine.removeAll(keepingCapacity: true)
            logLinesCompleted += 1
            onLogLine(line)
            if byte == UInt8(ascii: "\n") { return }
        }
        logLine.append(byte)
    }

    /// Every unplug request the guest made since the last reset.
    public var unplugged: XenUnplugRequest { XenUnplugRequest(rawValue: unplugRequests) }
    /// The product number and driver version the guest's PV drivers reported.
    public var reportedDriver: (product: UInt16, version: UInt32) { (driverProduct, driverVersion) }
    /// Complete log lines since the last reset.
    public var logLineCount: Int { logLinesCompleted }
}
