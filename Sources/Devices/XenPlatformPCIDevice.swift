import MachineCore

/// Xen's platform PCI device, the one a Xen HVM guest's PV drivers bind to (QEMU
/// hw/i386/xen/xen_platform.c; Linux drivers/xen/platform-pci.c; facts §2.7). It does two
/// jobs: it gives the guest an address range for the grant-table frames (BAR1), and it
/// carries the emulated-device unplug protocol at the fixed ports 0x10-0x1F
/// (XenPlatformPCIDevice+Unplug.swift; xen-doc misc/hvm-emulated-unplug).
///
/// - BAR0: 256 ports of I/O space: the platform flags at +0, the SUSE unplug port at +4, the
///   unplug-or-log port at +8 (byte accesses, as QEMU decodes them).
/// - BAR1: 16 MiB of prefetchable memory the device never decodes. Linux puts its grant frames
///   there with XENMEM_add_to_physmap (`alloc_xen_mmio`, `gnttab_setup_auto_xlat_frames`), and
///   the hypervisor backs each such frame with a page of its own where no device answers; so
///   BAR1 must stay unclaimed on the MMIO bus.
/// - INTA#: the event-channel interrupt of guests without the callback vector; swiftpc's Xen
///   delivers events through the vector (XENFEAT_hvm_callback_vector), so the line is declared
///   (Linux's probe reads the pin) and never driven.
///
/// Knows nothing of Xen itself: an unplug request goes to `onUnplug`, which the board wires to
/// the emulated devices.
public final class XenPlatformPCIDevice: PCIDevice, PortIODevice {
    /// Vendor 5853h is XenSource; device 0001h the platform device (QEMU PCI_VENDOR_ID_XEN,
    /// PCI_DEVICE_ID_XEN_PLATFORM; Linux's driver matches on these two).
    public static let vendorID: UInt16 = 0x5853
    public static let deviceID: UInt16 = 0x0001
    public static let subsystemVendorID: UInt16 = 0x5853
    public static let subsystemID: UInt16 = 0x0001
    public static let revision: UInt8 = 0x01
    /// Class FFh ("device does not fit any defined class"), subclass 80h, interface 0.
    public static let classCode: UInt8 = 0xFF
    public static let subclass: UInt8 = 0x80
    /// Interrupt pin register value 1: INTA#.
    public static let interruptPinINTA: UInt8 = 0x01
    /// Where the device sits on the pc board: the first free slot after the VGA (00:02.0), as
    /// QEMU's `pc` machine places it with Xen.
    public static let address = PCIAddress(device: 3)!

    /// BAR0: an I/O BAR (bit 0 set) of 256 ports.
    public static let ioBAR = PCIConfig.bar0
    public static let ioBARSize = 0x100
    public static let barIOSpace: UInt32 = 0x01
    /// BAR1: a 32-bit prefetchable memory BAR (bits 2:1 = 00, bit 3 set) of 16 MiB.
    public static let memoryBAR = PCIConfig.bar0 + 4
    public static let memoryBARSize: UInt64 = 16 << 20
    public static let barPrefetchable: UInt32 = 0x08
    /// Command register bits the device implements: I/O and memory space.
    public static let commandWritable: UInt16 = PCIConfig.commandIOSpace | PCIConfig.commandMemorySpace

    // BAR0 registers (QEMU `xen_platform_ioport_writeb`).
    /// +0: the platform flags byte, as at fixed port 0x10.
    public static let barPlatformFlags: UInt16 = 0x00
    /// +4: SUSE's xen-kmp unplug: writing 1 unplugs every disk and NIC.
    public static let barSUSEUnplug: UInt16 = 0x04
    public static let barSUSEUnplugAll: UInt8 = 0x01
    /// +8: 1 unplugs the disks, 2 the NICs, anything else is a byte of the driver log.
    public static let barUnplugOrLog: UInt16 = 0x08
    public static let barUnplugDisks: UInt8 = 0x01
    public static let barUnplugNICs: UInt8 = 0x02

    public var config: PCIConfigSpace
    let portBus: PortIOBus
    /// The configuration space as built, which a reset returns to.
    let powerOnConfigSpace: PCIConfigSpace
    private var ioClaim: BusClaim?
    private var ioBase: UInt16?
    /// The fixed ports 0x10-0x1F, claimed by `attach(to:)`.
    public private(set) lazy var fixedPorts = XenPlatformFixedPorts(device: self)

    // The unplug protocol's registers (XenPlatformPCIDevice+Unplug.swift).
    /// The platform flags byte: only the ROM-lock bit exists.
    var platformFlags: UInt8 = 0
    /// What the guest's drivers said they are (product number written at 0x12, version at 0x10).
    var driverProduct: UInt16 = 0
    var driverVersion: UInt32 = 0
    /// Every unplug request the guest made since the last reset, as an unplug mask.
    var unplugRequests: UInt16 = 0
    /// The driver log line being assembled, and the lines completed since the last reset.
    var logLine: [UInt8] = []
    var logLinesCompleted = 0

    /// Called (machine lock held) with each honoured unplug request.
    public var onUnplug: (XenUnplugRequest) -> Void = { _ in }
    /// Called (machine lock held) with each complete line of the guest's driver log.
    public var onLogLine: (String) -> Void = { _ in }

    public init(portBus: PortIOBus) {
        self.portBus = portBus
        var c = PCIConfigSpace(vendorID: Self.vendorID, deviceID: Self.deviceID, revision: Self.revision,
                               classCode: Self.classCode, subclass: Self.subclass, progIF: 0)
        c.setWriteMask(PCIConfig.command, width: 2, UInt32(Self.commandWritable))
        c.set16(PCIConfig.subsystemVendorID, Self.subsystemVendorID)
        c.set16(PCIConfig.subsystemID, Self.subsystemID)
        c.set32(Self.ioBAR, Self.barIOSpace)
        c.setWriteMask(Self.ioBAR, width: 4, ~UInt32(Self.ioBARSize - 1))
        c.set32(Self.memoryBAR, Self.barPrefetchable)
        c.setWriteMask(Self.memoryBAR, width: 4, ~UInt32(Self.memoryBARSize - 1))
        c.set8(PCIConfig.interruptPin, Self.interruptPinINTA)
        c.setWriteMask(PCIConfig.interruptLine, width: 1, 0xFF)
        config = c
        powerOnConfigSpace = c
    }

    /// Claims the fixed unplug ports (0x10-0x1F) and places the function on `pciBus`.
    public func attach(to pciBus: PCIBus, at address: PCIAddress = XenPlatformPCIDevice.address) throws(MachineError) {
        try portBus.claim(base: XenPlatformFixedPorts.base, count: XenPlatformFixedPorts.count, device: fixedPorts,
                          name: "xen-platform-fixed")
        try pciBus.register(self, at: address, name: "xen-platform")
    }

    // MARK: Configuration space

    public func configWrite(offset: Int, size: Int, value: UInt32) {
        config.write(offset: offset, size: size, value: value)
        updateDecoding()
    }

    /// BAR0 follows its BAR and the I/O enable. BAR1 decodes nothing on purpose (see above):
    /// its address only tells the guest where to put grant frames.
    func updateDecoding() {
        let ioEnabled = config.read16(PCIConfig.command) & PCIConfig.commandIOSpace != 0
        let raw = config.read32(Self.ioBAR) & ~UInt32(Self.ioBARSize - 1)
        // An I/O BAR is 32 bits wide; only bases inside the 64 KiB port space decode.
        let wanted: UInt16? = ioEnabled && raw != 0 && raw <= 0x10000 - UInt32(Self.ioBARSize) ? UInt16(raw) : nil
        guard wanted != ioBase else { return }
        if let claim = ioClaim {
            if let wanted, (try? portBus.move(claim, to: wanted)) != nil {
                ioBase = wanted
                return
            }
            portBus.release(claim)
            ioClaim = nil
            ioBase = nil
        }
        // A BAR over ports another device owns stays unmapped.
        if let wanted, let claim = try? portBus.claim(base: wanted, count: Self.ioBARSize, device: self, name: "xen-platform-io") {
            ioClaim = claim
            ioBase = wanted
        }
    }

    /// Where BAR0 decodes now (nil while unmapped).
    public var ioPortBase: UInt16? { ioBase }
    /// The guest-physical address BAR1 holds (nil while unassigned or memory decoding is off).
    public var grantFrameWindow: Range<UInt64>? {
        guard config.read16(PCIConfig.command) & PCIConfig.commandMemorySpace != 0 else { return nil }
        let base = UInt64(config.read32(Self.memoryBAR) & ~UInt32(Self.memoryBARSize - 1))
        return base == 0 ? nil : base..<(base + Self.memoryBARSize)
    }

    // MARK: BAR0

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        // Byte registers; a wider access reads consecutive bytes.
        var value: UInt32 = 0
        for i in 0..<max(1, min(size, 4)) {
            let byte: UInt8 = offset &+ UInt16(i) == Self.barPlatformFlags ? platformFlags : 0xFF
            value |= UInt32(byte) << UInt32(8 * i)
        }
        return value
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        for i in 0..<max(1, min(size, 4)) {
            let byte = UInt8(truncatingIfNeeded: value >> UInt32(8 * i))
            switch offset &+ UInt16(i) {
            case Self.barPlatformFlags:
                writePlatformFlags(byte)
            case Self.barSUSEUnplug where byte == Self.barSUSEUnplugAll:
                unplug(mask: XenUnplugRequest.ideDisks.rawValue | XenUnplugRequest.nics.rawValue)
            case Self.barUnplugOrLog:
                switch byte {
                case Self.barUnplugDisks: unplug(mask: XenUnplugRequest.ideDisks.rawValue)
                case Self.barUnplugNICs: unplug(mask: XenUnplugRequest.nics.rawValue)
                default: appendLog(byte)
                }
            default:
                break
            }
        }
    }
}

/// The fixed ports 0x10-0x1F of the platform device, as a port-I/O device of their own.
public final class XenPlatformFixedPorts: PortIODevice {
    public static let base: UInt16 = 0x10
    public static let count = 16
    unowned let device: XenPlatformPCIDevice

    init(device: XenPlatformPCIDevice) { self.device = device }

    public func portRead(offset: UInt16, size: Int) -> UInt32 { device.fixedPortRead(offset: offset, size: size) }
    public func portWrite(offset: UInt16, size: Int, value: UInt32) { device.fixedPortWrite(offset: offset, size: size, value: value) }
}
