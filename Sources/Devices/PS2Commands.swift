/// Commands and replies of the PS/2 keyboard and mouse, after the IBM PS/2 Hardware Interface
/// Technical Reference ("Keyboards (101- and 102-Key)" and "Pointing Device" sections).
public enum PS2 {
    // Replies both devices send.
    /// Acknowledge: the command or parameter was accepted.
    public static let ack: UInt8 = 0xFA
    /// Resend: the byte was not understood (invalid command or parameter).
    public static let resend: UInt8 = 0xFE
    /// Basic assurance test (power-on self test) passed.
    public static let selfTestPassed: UInt8 = 0xAA

    // Keyboard commands (host to keyboard).
    /// Set the mode indicators; one parameter byte (bit 0 scroll, 1 num, 2 caps lock).
    public static let kbdSetLEDs: UInt8 = 0xED
    /// Echo: the keyboard answers 0xEE (no acknowledge).
    public static let kbdEcho: UInt8 = 0xEE
    /// Select or query the scan code set; parameter 0 queries, 1-3 select.
    public static let kbdScanCodeSet: UInt8 = 0xF0
    /// Read ID: acknowledge, then 0xAB 0x83.
    public static let kbdIdentify: UInt8 = 0xF2
    /// Set typematic rate and delay; one parameter byte.
    public static let kbdSetTypematic: UInt8 = 0xF3
    /// Clear the output buffer and start scanning.
    public static let kbdEnable: UInt8 = 0xF4
    /// Load defaults and stop scanning.
    public static let kbdDefaultDisable: UInt8 = 0xF5
    /// Load defaults (typematic 10.9 cps / 500 ms, set 2, all keys typematic make/break).
    public static let kbdSetDefault: UInt8 = 0xF6
    /// Scan code set 3: every key typematic (make only, repeating).
    public static let kbdSetAllTypematic: UInt8 = 0xF7
    /// Scan code set 3: every key make/break.
    public static let kbdSetAllMakeBreak: UInt8 = 0xF8
    /// Scan code set 3: every key make only.
    public static let kbdSetAllMake: UInt8 = 0xF9
    /// Scan code set 3: every key typematic make/break.
    public static let kbdSetAllTypematicMakeBreak: UInt8 = 0xFA
    /// Scan code set 3: the keys that follow become typematic.
    public static let kbdSetKeyTypematic: UInt8 = 0xFB
    /// Scan code set 3: the keys that follow become make/break.
    public static let kbdSetKeyMakeBreak: UInt8 = 0xFC
    /// Scan code set 3: the keys that follow become make only.
    public static let kbdSetKeyMake: UInt8 = 0xFD
    /// Resend the last byte sent.
    public static let cmdResend: UInt8 = 0xFE
    /// Reset and run the self test: acknowledge, then 0xAA.
    public static let cmdReset: UInt8 = 0xFF
    /// Lowest keyboard command byte: anything below is a parameter (or a set 3 key code).
    public static let kbdFirstCommand: UInt8 = 0xED

    // Keyboard replies.
    /// Read ID reply: first byte, then the second (0x83 untranslated, 0x41 through translation).
    public static let kbdIDFirst: UInt8 = 0xAB
    public static let kbdIDSecond: UInt8 = 0x83
    /// Echo reply.
    public static let kbdEchoReply: UInt8 = 0xEE
    /// Overrun: the keyboard's buffer was full (sets 2 and 3; 0xFF in set 1).
    public static let kbdOverrun: UInt8 = 0x00
    public static let kbdOverrunSet1: UInt8 = 0xFF
    /// Keyboard buffer depth, as on the 101-key keyboard (16 bytes).
    public static let kbdBufferDepth = 16
    /// Power-on typematic setting: 10.9 characters per second after 500 ms.
    public static let kbdDefaultTypematic: UInt8 = 0x2B

    // Mouse commands (host to mouse, through controller command 0xD4).
    /// Scaling 1:1.
    public static let mouseSetScaling11: UInt8 = 0xE6
    /// Scaling 2:1 (stream mode reports only).
    public static let mouseSetScaling21: UInt8 = 0xE7
    /// Set resolution; one parameter 0-3 (1, 2, 4, 8 counts per mm).
    public static let mouseSetResolution: UInt8 = 0xE8
    /// Status request: acknowledge, then three status bytes.
    public static let mouseStatusRequest: UInt8 = 0xE9
    /// Stream mode.
    public static let mouseSetStreamMode: UInt8 = 0xEA
    /// Read data: acknowledge, then one movement packet (the remote-mode poll).
    public static let mouseReadData: UInt8 = 0xEB
    /// Leave wrap (echo) mode.
    public static let mouseResetWrapMode: UInt8 = 0xEC
    /// Wrap mode: every byte but 0xEC and 0xFF is echoed back.
    public static let mouseSetWrapMode: UInt8 = 0xEE
    /// Remote mode: packets only on Read Data.
    public static let mouseSetRemoteMode: UInt8 = 0xF0
    /// Read device type: acknowledge, then the ID (0 standard, 3 IntelliMouse).
    public static let mouseGetID: UInt8 = 0xF2
    /// Set sample rate; one parameter (10, 20, 40, 60, 80, 100 or 200 reports per second).
    public static let mouseSetSampleRate: UInt8 = 0xF3
    /// Enable data reporting (stream mode).
    public static let mouseEnable: UInt8 = 0xF4
    /// Disable data reporting.
    public static let mouseDisable: UInt8 = 0xF5
    /// Set defaults: 100 reports/s, 4 counts/mm, 1:1, stream mode, reporting disabled.
    public static let mouseSetDefaults: UInt8 = 0xF6

    // Mouse IDs and packet bits.
    /// Standard PS/2 mouse ID.
    public static let mouseIDStandard: UInt8 = 0x00
    /// IntelliMouse (wheel, 4-byte packets) ID, reached by the sample-rate sequence 200, 100, 80.
    public static let mouseIDIntelliMouse: UInt8 = 0x03
    public static let intelliMouseKnock: [UInt8] = [200, 100, 80]
    /// Packet byte 0: left, right, middle button.
    public static let packetLeft: UInt8 = 0x01
    public static let packetRight: UInt8 = 0x02
    public static let packetMiddle: UInt8 = 0x04
    /// Packet byte 0: always set (lets drivers resynchronise on packet boundaries).
    public static let packetAlwaysOne: UInt8 = 0x08
    /// Packet byte 0: X and Y sign bits (bit 8 of the 9-bit two's complement counts).
    public static let packetXSign: UInt8 = 0x10
    public static let packetYSign: UInt8 = 0x20
    /// Packet byte 0: X and Y counter overflow.
    public static let packetXOverflow: UInt8 = 0x40
    public static let packetYOverflow: UInt8 = 0x80
    /// Status byte 0: right, middle, left button; scaling 2:1; reporting enabled; remote mode.
    public static let statusRight: UInt8 = 0x01
    public static let statusMiddle: UInt8 = 0x02
    public static let statusLeft: UInt8 = 0x04
    public static let statusScaling21: UInt8 = 0x10
    public static let statusEnabled: UInt8 = 0x20
    public static let statusRemote: UInt8 = 0x40
    /// Power-on sample rate (reports per second) and resolution code (4 counts/mm).
    public static let mouseDefaultSampleRate: UInt8 = 100
    public static let mouseDefaultResolution: UInt8 = 2
    /// Sample rates the mouse accepts.
    public static let mouseSampleRates: Set<UInt8> = [10, 20, 40, 60, 80, 100, 200]
}
