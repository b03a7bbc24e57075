import Foundation
import Devices
import MachineCore

/// What a display front end needs from the machine: the board's VGA, keyboard and mouse
/// input from a window, and the screen dump of `--vga-dump`. A board without a display
/// (`pvh`) has none; the CLI refuses display options for it.
extension Machine {
    /// The board's display adapter, if it has one.
    public var vga: VGA? { board.display }

    /// The screen as text (nil in graphics modes or without a display), read under the lock.
    public func screenText() -> [String]? {
        guard let vga else { return nil }
        return lock.withLock { vga.textBuffer() }
    }

    /// Renders the current screen and writes it as a PNG (`--vga-dump FILE`).
    public func dumpScreen(to path: String) throws(MachineError) {
        guard let vga else { throw .badConfiguration("--vga-dump: the \(config.machine.rawValue) machine has no display") }
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
        guard let input = board.inputDevices else { return }
        lock.withLock { _ = input.keyboard.hidKey(usage: usage, pressed: pressed) }
    }

    /// Mouse input from a display window (PS/2 conventions, see `DisplayInputSink`: dy > 0
    /// is up). `PS2Mouse.move` takes screen coordinates (dy > 0 is down) and flips them itself.
    public func hostMouse(dx: Int, dy: Int, dz: Int, buttons: UInt8) {
        guard let input = board.inputDevices else { return }
        lock.withLock { input.mouse.move(dx: dx, dy: -dy, dz: dz, buttons: buttons) }
    }
}
