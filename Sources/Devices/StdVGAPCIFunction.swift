import MachineCore

/// The PCI face of the standard VGA: QEMU's "stdvga" function 1234:1111, which Linux's bochs
/// DRM driver binds and SeaBIOS's VGA BIOS drives (PCI Local Bus Specification 3.0, §6.2.5
/// "Base Addresses" and §6.2.5.2 "Expansion ROM Base Address Register").
///
/// - BAR 0: the linear framebuffer, 32-bit prefetchable memory, the size of video memory.
/// - BAR 2: the 4 KiB MMIO register block (VGA ports at 0x400, DISPI registers at 0x500).
/// - Expansion ROM BAR: the VGA BIOS image, when one is supplied.
///
/// The MMIO claims follow the BARs and the command register's memory-space bit. A placement
/// that overlaps another claim (a BAR mid-sizing, a guest mistake) leaves the region unmapped.
public final class StdVGAPCIFunction: PCIDevice {
    public static let vendorID: UInt16 = 0x1234
    public static let deviceID: UInt16 = 0x1111
    public static let revision: UInt8 = 0x02
    /// Class 03 (display), subclass 00 (VGA compatible), programming interface 00.
    public static let classCode: UInt8 = 0x03
    public static let subclass: UInt8 = 0x00
    /// Subsystem IDs QEMU gives the device (Red Hat, QEMU).
    public static let subsystemVendorID: UInt16 = 0x1AF4
    public static let subsystemID: UInt16 = 0x1100

    /// Memory BAR low bits: bit 0 clear (memory), bits 2:1 type 00 (32-bit), bit 3 prefetchable.
    public static let barPrefetchable: UInt32 = 0x08
    /// Expansion ROM BAR bit 0: address decode enable.
    public static let romEnable: UInt32 = 0x01
    public static let lfbBAR = PCIConfig.bar0
    public static let mmioBAR = PCIConfig.bar0 + 8
    /// Smallest expansion ROM window (PCI 3.0 §6.2.5.2: at most 16 MiB, at least 2 KiB here).
    public static let minimumROMSize = 2048

    public var config: PCIConfigSpace
    public let vga: VGA
    public let rom: PCIOptionROM?
    private let mmioBus: MMIOBus
    private var regions: [Region]
    /// The configuration space as built, which a reset returns to.
    private let powerOnConfig: PCIConfigSpace

    private struct Region {
        let offset: Int
        let size: UInt64
        let device: MMIODevice
        let name: String
        var claim: BusClaim?
        var base: UInt64?
    }

    /// `romImage`: the VGA BIOS to serve through the expansion ROM BAR (nil: no ROM BAR).
    public init(vga: VGA, romImage: [UInt8]? = nil, mmioBus: MMIOBus, name: String = "stdvga") {
        self.vga = vga
        self.mmioBus = mmioBus
        var c = PCIConfigSpace(vendorID: Self.vendorID, deviceID: Self.deviceID, revision: Self.revision,
                               classCode: Self.classCode, subclass: Self.subclass, progIF: 0)
        c.setWriteMask(PCIConfig.command, width: 2, UInt32(PCIConfig.commandIOSpace | PCIConfig.commandMemorySpace))
        c.set16(PCIConfig.subsystemVendorID, Self.subsystemVendorID)
        c.set16(PCIConfig.subsystemID, Self.subsystemID)
        c.set32(Self.lfbBAR, Self.barPrefetchable)
        c.setWriteMask(Self.lfbBAR, width: 4, ~UInt32(vga.vramSize - 1))
        c.setWriteMask(Self.mmioBAR, width: 4, ~UInt32(VGAMMIORegisters.size - 1))
        c.setWriteMask(PCIConfig.interruptLine, width: 1, 0xFF)
        regions = [
            Region(offset: Self.lfbBAR, size: UInt64(vga.vramSize), device: vga.linearFramebuffer, name: name + "-lfb"),
            Region(offset: Self.mmioBAR, size: VGAMMIORegisters.size, device: vga.mmioRegisters, name: name + "-mmio"),
        ]
        if let romImage, !romImage.isEmpty {
            let rom = PCIOptionROM(image: romImage, minimumSize: Self.minimumROMSize)
            self.rom = rom
            c.setWriteMask(PCIConfig.expansionROM, width: 4, ~UInt32(rom.size - 1) | Self.romEnable)
            regions.append(Region(offset: PCIConfig.expansionROM, size: UInt64(rom.size), device: rom, name: name + "-rom"))
        } else {
            rom = nil
        }
        config = c
        powerOnConfig = c
    }

    public func configWrite(offset: Int, size: Int, value: UInt32) {
        config.write(offset: offset, size: size, value: value)
        updateMappings()
    }

    /// Where region `i` should decode now, or nil when it should not.
    private func wantedBase(_ region: Region) -> UInt64? {
        guard config.read16(PCIConfig.command) & PCIConfig.commandMemorySpace != 0 else { return nil }
        let bar = config.read32(region.offset)
        if region.offset == PCIConfig.expansionROM {
            guard bar & Self.romEnable != 0 else { return nil }
            let base = UInt64(bar & ~UInt32(region.size - 1))
            return base == 0 ? nil : base
        }
        let base = UInt64(bar & ~0xF)
        return base == 0 ? nil : base
    }

    /// Brings the MMIO claims in line with the BARs and the command register.
    private func updateMappings() {
        for i in regions.indices {
            let want = wantedBase(regions[i])
            guard want != regions[i].base else { continue }
            if let claim = regions[i].claim {
                if let want, (try? mmioBus.move(claim, to: want)) != nil {
                    regions[i].base = want
                    continue
                }
                mmioBus.release(claim)
                regions[i].claim = nil
                regions[i].base = nil
            }
            if let want, let claim = try? mmioBus.claim(base: want, size: regions[i].size, device: regions[i].device,
                                                         name: regions[i].name) {
                regions[i].claim = claim
                regions[i].base = want
            }
        }
    }

    /// Where the linear framebuffer decodes now (nil while unmapped).
    public var framebufferBase: UInt64? { regions[0].base }
    /// Where the register BAR decodes now.
    public var registersBase: UInt64? { regions[1].base }
    /// Where the expansion ROM decodes now.
    public var romBase: UInt64? { regions.count > 2 ? regions[2].base : nil }
}

/// A read-only expansion ROM image, padded to a power-of-two window with zeros.
public final class PCIOptionROM: MMIODevice {
    public let image: [UInt8]
    public let size: Int

    public init(image: [UInt8], minimumSize: Int) {
        self.image = image
        var size = minimumSize
        while size < image.count { size <<= 1 }
        self.size = size
    }

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<size {
            let o = Int(offset) + i
            if o < image.count { value |= UInt64(image[o]) << UInt64(8 * i) }
        }
        return value
    }

    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {}
}

extension StdVGAPCIFunction: StatefulDevice {
    /// The function's configuration (command register and BARs among them). The VGA behind
    /// it is a device of its own, with its own state.
    public struct State: Equatable, Sendable {
        public var configuration: [UInt8]
        public init(configuration: [UInt8]) { self.configuration = configuration }
    }

    public var state: State { State(configuration: config.bytes) }

    /// Refuses bytes that change a read-only field (identity, BAR type bits and sizes, which
    /// are the video memory's and the ROM's); the framebuffer, register and ROM windows then
    /// decode where the restored BARs and command register put them.
    public func restore(_ state: State) throws(MachineError) {
        try config.restore(state.configuration, device: "stdvga PCI function")
        updateMappings()
    }

    /// PCI RST# (PCI Local Bus Specification 3.0, §6.2.2: the command register resets to 0,
    /// so the function decodes nothing; §6.2.5: the BARs are unassigned): the configuration
    /// goes back to power-on and every window is released.
    public func reset() {
        config = powerOnConfig
        updateMappings()
    }
}
