import Foundation
import Devices
import MachineCore

/// The machine's VGA and what a display front end needs from the machine: the device at
/// 00:02.0, keyboard and mouse input from a window, and the screen dump of `--vga-dump`.
extension PCMachine {
    /// Where the standard VGA sits on the PCI bus (as in QEMU's `pc` machine).
    public static let vgaAddress = PCIAddress(device: 2)!

    /// Builds the VGA with its PCI function (expansion ROM = `config.vgaBIOS`, if any) and
    /// claims its ports, its 0xA0000 window and its PCI slot.
    static func makeVGA(config: MachineConfig, devices: LegacyDevices, portBus: PortIOBus,
                        mmioBus: MMIOBus) throws(MachineError) -> StdVGAPCIFunction {
        let rom = try config.vgaBIOS.map { path throws(MachineError) in try FirmwareImage.readOptionROM(path: path) }
        let vga = VGA()
        let function = StdVGAPCIFunction(vga: vga, romImage: rom, mmioBus: mmioBus)
        try vga.attach(portBus: portBus, mmioBus: mmioBus)
        try devices.pciBus.register(function, at: vgaAddress, name: "stdvga")
        return function
    }

    public var vga: VGA { vgaFunction.vga }

    /// The screen as text (nil in graphics modes), read under the machine lock.
    public func screenText() -> [String]? { lock.withLock { vga.textBuffer() } }

    /// Renders the current screen and writes it as a PNG (`--vga-dump FILE`).
    public func dumpScreen(to path: String) throws(MachineError) {
        var frame = VGAFramebuffer()
        lock.withLock { vga.render(into: &frame) }
        do { try PNGWriter.write(frame, to: path) } catch {
            throw .badConfiguration("--vga-dump: \(error)")
        }
    }

    /// Termination signals must be blocked before any host thread exists (a display thread
    /// included) so that they reach the machine's signal thread; call before starting one.
    public static func prepareHostThreads() { HostEventLoop.blockTerminationSignals() }

    /// A key from a display window, as a USB HID keyboard usage: the PS/2 keyboard sends its
    /// scan codes. (Called on the display's thread; the device is reached under the lock and
    /// a halted vCPU notices the interrupt at its next poll.)
    public func hostKey(usage: UInt16, pressed: Bool) {
        lock.withLock { _ = devices.i8042.keyboard.hidKey(usage: usage, pressed: pressed) }
    }

    /// Mouse input from a display window (PS/2 conventions, see `DisplayInputSink`: dy > 0
    /// is up). `PS2Mouse.move` takes screen coordinates (dy > 0 is down) and flips them itself.
    public func hostMouse(dx: Int, dy: Int, dz: Int, buttons: UInt8) {
        lock.withLock { devices.i8042.mouse.move(dx: dx, dy: -dy, dz: dz, buttons: buttons) }
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
