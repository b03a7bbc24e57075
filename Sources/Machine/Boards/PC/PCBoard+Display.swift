import Foundation
import Devices
import MachineCore

/// The `pc` board's display adapter: the standard VGA at 00:02.0 (as in QEMU's `pc` machine).
extension PCBoard {
    /// Where the standard VGA sits on the PCI bus.
    static let vgaAddress = PCIAddress(device: 2)!

    /// Builds the VGA with its PCI function (expansion ROM = `config.vgaBIOS`, if any) and
    /// claims its ports, its 0xA0000 window and its PCI slot.
    static func makeVGA(config: MachineConfig, pciBus: PCIBus, portBus: PortIOBus,
                        mmioBus: MMIOBus) throws(MachineError) -> StdVGAPCIFunction {
        let rom = try config.vgaBIOS.map { path throws(MachineError) in try FirmwareImage.readOptionROM(path: path) }
        let vga = VGA()
        let function = StdVGAPCIFunction(vga: vga, romImage: rom, mmioBus: mmioBus)
        try vga.attach(portBus: portBus, mmioBus: mmioBus)
        try pciBus.register(function, at: vgaAddress, name: "stdvga")
        return function
    }
}

extension FirmwareImage {
    /// The largest option ROM accepted (PCI 3.0 allows 16 MiB; VGA BIOSes are 32-64 KiB).
    public static let maximumOptionROMSize = 1 << 20

    /// Reads a PCI option ROM image (it must start with the 55 AA signature).
    public static func readOptionROM(path: String) throws(MachineError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw .unreadableFile(path: path, reason: reason)
        }
        guard data.count >= 3, data.count <= maximumOptionROMSize, data[0] == 0x55, data[1] == 0xAA else {
            throw .badImage(path: path, reason: "not an option ROM (no 55 AA signature, or larger than 1 MiB)")
        }
        return [UInt8](data)
    }
}
