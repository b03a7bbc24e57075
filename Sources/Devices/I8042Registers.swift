/// Ports, status bits, commands and the command byte of the PC keyboard controller (8042),
/// after the IBM PC/AT Technical Reference "Keyboard Controller" section and the IBM PS/2
/// Hardware Interface Technical Reference "Keyboard and Auxiliary Device Controller".
/// The commands of the devices behind it are in `PS2`.
public enum KBC {
    /// Offsets relative to 0x60: the data port and the status/command port (0x64).
    public static let dataOffset: UInt16 = 0
    public static let commandOffset: UInt16 = 4
    public static let dataPort: UInt16 = 0x60
    public static let commandPort: UInt16 = 0x64

    // Status register (read 0x64).
    /// Output buffer full: a byte waits at 0x60.
    public static let statusOBF: UInt8 = 0x01
    /// Input buffer full (never set: commands are processed at once).
    public static let statusIBF: UInt8 = 0x02
    /// System flag: POST passed (mirrors command byte bit 2).
    public static let statusSYS: UInt8 = 0x04
    /// The last write went to 0x64 (a command), not 0x60.
    public static let statusCommand: UInt8 = 0x08
    /// Keyboard not inhibited by the keylock.
    public static let statusUnlocked: UInt8 = 0x10
    /// The output buffer holds a byte from the auxiliary (mouse) port.
    public static let statusAuxOBF: UInt8 = 0x20
    /// General timeout.
    public static let statusTimeout: UInt8 = 0x40
    /// Parity error.
    public static let statusParity: UInt8 = 0x80

    // Command byte (controller RAM byte 0).
    /// Raise IRQ1 when the output buffer holds a keyboard byte.
    public static let cbKeyboardInterrupt: UInt8 = 0x01
    /// Raise IRQ12 when the output buffer holds a mouse byte.
    public static let cbMouseInterrupt: UInt8 = 0x02
    /// System flag.
    public static let cbSystemFlag: UInt8 = 0x04
    /// Ignore the keylock.
    public static let cbIgnoreLock: UInt8 = 0x08
    /// Keyboard interface disabled (clock held low).
    public static let cbKeyboardDisabled: UInt8 = 0x10
    /// Mouse interface disabled.
    public static let cbMouseDisabled: UInt8 = 0x20
    /// Translate keyboard scan code set 2 to set 1.
    public static let cbTranslate: UInt8 = 0x40

    // Controller commands (write 0x64).
    public static let cmdReadCommandByte: UInt8 = 0x20
    /// 0x21-0x3F read controller RAM byte (command & 0x1F).
    public static let cmdReadRAMLast: UInt8 = 0x3F
    public static let cmdWriteCommandByte: UInt8 = 0x60
    /// 0x61-0x7F write controller RAM byte (command & 0x1F).
    public static let cmdWriteRAMLast: UInt8 = 0x7F
    /// Is a password installed? (0xF1: no.)
    public static let cmdPasswordInstalled: UInt8 = 0xA4
    public static let cmdDisableMouse: UInt8 = 0xA7
    public static let cmdEnableMouse: UInt8 = 0xA8
    public static let cmdTestMousePort: UInt8 = 0xA9
    public static let cmdSelfTest: UInt8 = 0xAA
    public static let cmdTestKeyboardPort: UInt8 = 0xAB
    public static let cmdDisableKeyboard: UInt8 = 0xAD
    public static let cmdEnableKeyboard: UInt8 = 0xAE
    public static let cmdReadInputPort: UInt8 = 0xC0
    public static let cmdReadOutputPort: UInt8 = 0xD0
    public static let cmdWriteOutputPort: UInt8 = 0xD1
    public static let cmdWriteKeyboardBuffer: UInt8 = 0xD2
    /// The next data byte comes back as if the mouse had sent it (loopback).
    public static let cmdWriteMouseBuffer: UInt8 = 0xD3
    /// The next data byte goes to the mouse.
    public static let cmdWriteToMouse: UInt8 = 0xD4
    public static let cmdDisableA20: UInt8 = 0xDD
    public static let cmdEnableA20: UInt8 = 0xDF
    public static let cmdReadTestInputs: UInt8 = 0xE0
    /// 0xF0-0xFF pulse the output port bits whose command bits 3:0 are 0.
    public static let cmdPulseFirst: UInt8 = 0xF0
    /// Pulse bit 0 (CPU reset).
    public static let cmdPulseReset: UInt8 = 0xFE

    /// Self-test passed.
    public static let selfTestPassed: UInt8 = 0x55
    /// Interface test passed.
    public static let interfaceTestPassed: UInt8 = 0x00
    /// Password-installed query reply: no password.
    public static let noPasswordInstalled: UInt8 = 0xF1

    // Output port bits.
    /// System reset, active low.
    public static let outReset: UInt8 = 0x01
    /// A20 gate.
    public static let outA20: UInt8 = 0x02
    /// Output buffer full with a mouse byte (IRQ12).
    public static let outAuxOBF: UInt8 = 0x20
    /// Output buffer full with a keyboard byte (IRQ1).
    public static let outKeyboardOBF: UInt8 = 0x10
    /// Keyboard clock and data lines, and the unused bits, read as high.
    public static let outLinesHigh: UInt8 = 0xCC

    /// Input port value: keyboard not inhibited, everything else high.
    public static let inputPortValue: UInt8 = 0xBF
}
