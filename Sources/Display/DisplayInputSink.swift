/// Where a display window sends the user's keyboard and mouse. The machine implements it on
/// top of its PS/2 keyboard and mouse; calls arrive on the display's thread, so the
/// implementation takes the machine lock.
public protocol DisplayInputSink: AnyObject {
    /// A key went down (`pressed`) or up. `usage` is the USB HID usage ID on the keyboard page
    /// (0x07): 0x04 = A, 0x28 = Enter, 0xE0-0xE7 the modifiers (HID Usage Tables 1.12, §10).
    /// Held keys repeat as further presses without a release, as a typematic keyboard does.
    func key(usage: UInt16, pressed: Bool)
    /// Relative pointer motion and the current buttons, in PS/2 mouse conventions: `dx` > 0
    /// right, `dy` > 0 up, `dz` > 0 wheel towards the user (down); `buttons` bit 0 left,
    /// bit 1 right, bit 2 middle.
    func mouse(dx: Int, dy: Int, dz: Int, buttons: UInt8)
}

/// A sink made of two closures (tests, and wiring before the PS/2 devices exist).
public final class ClosureInputSink: DisplayInputSink {
    private let onKey: (UInt16, Bool) -> Void
    private let onMouse: (Int, Int, Int, UInt8) -> Void

    public init(key: @escaping (UInt16, Bool) -> Void, mouse: @escaping (Int, Int, Int, UInt8) -> Void = { _, _, _, _ in }) {
        onKey = key
        onMouse = mouse
    }

    public func key(usage: UInt16, pressed: Bool) { onKey(usage, pressed) }
    public func mouse(dx: Int, dy: Int, dz: Int, buttons: UInt8) { onMouse(dx, dy, dz, buttons) }
}
