import MachineCore

/// The PC keyboard controller (8042) at 0x60/0x64 with a PS/2 keyboard behind it.
///
/// Controller commands complete at once: the input buffer is never seen full. Replies and
/// keyboard bytes go through one output buffer; while it holds a keyboard byte and command-byte
/// bit 0 is set, IRQ1 is asserted (and dropped when the byte is read, so each byte is a new
/// edge). The output port's A20 bit is reported through `onA20Change`; pulsing or clearing its
/// reset bit asks the machine to reset. No mouse is modelled yet: the mouse port fails its
/// interface test and bytes sent to it vanish.
///
/// As a `PortIODevice` it decodes offsets relative to 0x60 (0x64 is offset 4).
public final class I8042: ByteRegisterDevice {
    private let keyboardIRQ: IRQLine
    private let mouseIRQ: IRQLine?
    private let control: MachineControl

    /// Called with the new A20 state whenever the output port's A20 bit changes.
    public var onA20Change: ((Bool) -> Void)?
    /// Called when the guest sets the keyboard LEDs (bit 0 scroll, 1 num, 2 caps lock).
    public var onLEDChange: ((UInt8) -> Void)?

    /// Controller RAM; byte 0 is the command byte.
    private var ram = [UInt8](repeating: 0, count: 32)
    private var outputPort: UInt8
    private var lastWriteWasCommand = false
    /// The controller command waiting for its data byte on port 0x60.
    private var pendingCommand: UInt8?

    /// Output buffer queue: controller replies and keyboard bytes, oldest first.
    private var queue: [(byte: UInt8, aux: Bool)] = []

    // The PS/2 keyboard.
    private var keyboardCommand: UInt8?
    public private(set) var scanningEnabled = true
    public private(set) var scanCodeSet: UInt8 = 2
    public private(set) var leds: UInt8 = 0

    /// `a20Enabled` is the output port's A20 bit at power-on.
    public init(keyboardIRQ: IRQLine, mouseIRQ: IRQLine? = nil, control: MachineControl, a20Enabled: Bool = true) {
        self.keyboardIRQ = keyboardIRQ
        self.mouseIRQ = mouseIRQ
        self.control = control
        outputPort = KBC.outLinesHigh | KBC.outReset | (a20Enabled ? KBC.outA20 : 0)
        ram[0] = KBC.cbKeyboardInterrupt | KBC.cbSystemFlag | KBC.cbTranslate
    }

    public static let portRanges = [
        PortRange(base: KBC.dataPort, count: 1),
        PortRange(base: KBC.commandPort, count: 1, offsetBias: KBC.commandOffset),
    ]

    public func attach(to bus: PortIOBus, name: String = "i8042") throws(MachineError) {
        try bus.claim(Self.portRanges, device: self, name: name)
    }

    public var commandByte: UInt8 { ram[0] }
    public var a20Enabled: Bool { outputPort & KBC.outA20 != 0 }

    // MARK: Host input

    /// A key event from the host as scan code set 1 bytes (make or break, with any 0xE0
    /// prefix). Dropped while the keyboard is disabled or not scanning, or when its queue is
    /// full. The bytes are delivered as they are: a guest that turns translation off and
    /// expects set 2 is not served yet.
    public func keyPressed(scanCodeSet1 bytes: [UInt8]) {
        guard scanningEnabled, ram[0] & KBC.cbKeyboardDisabled == 0 else { return }
        guard queue.count + bytes.count <= KBC.queueDepth else { return }
        for b in bytes { queue.append((b, false)) }
        updateIRQ()
    }

    // MARK: Ports

    public func readByte(offset: UInt16) -> UInt8 {
        switch offset {
        case KBC.dataOffset: return readData()
        case KBC.commandOffset: return status
        default: return 0xFF
        }
    }

    public func writeByte(offset: UInt16, value: UInt8) {
        switch offset {
        case KBC.dataOffset:
            lastWriteWasCommand = false
            writeData(value)
        case KBC.commandOffset:
            lastWriteWasCommand = true
            writeCommand(value)
        default:
            break
        }
        updateIRQ()
    }

    public var status: UInt8 {
        var s = KBC.statusUnlocked
        if let head = queue.first {
            s |= KBC.statusOBF
            if head.aux { s |= KBC.statusAuxOBF }
        }
        if ram[0] & KBC.cbSystemFlag != 0 { s |= KBC.statusSYS }
        if lastWriteWasCommand { s |= KBC.statusCommand }
        return s
    }

    private func readData() -> UInt8 {
        guard !queue.isEmpty else { return 0 }
        let byte = queue.removeFirst().byte
        // The buffer empties before the next byte is loaded: drop the lines so the next
        // byte is a new edge at the PIC.
        keyboardIRQ.lower()
        mouseIRQ?.lower()
        updateIRQ()
        return byte
    }

    private func reply(_ bytes: UInt8..., aux: Bool = false) {
        for b in bytes { queue.append((b, aux)) }
    }

    private func updateIRQ() {
        let keyboardByte = queue.first.map { !$0.aux } ?? false
        let mouseByte = queue.first.map { $0.aux } ?? false
        keyboardIRQ.set(keyboardByte && ram[0] & KBC.cbKeyboardInterrupt != 0)
        mouseIRQ?.set(mouseByte && ram[0] & KBC.cbMouseInterrupt != 0)
    }

    // MARK: Controller commands

    private func writeCommand(_ command: UInt8) {
        pendingCommand = nil
        switch command {
        case KBC.cmdReadCommandByte...KBC.cmdReadRAMLast:
            reply(ram[Int(command & 0x1F)])
        case KBC.cmdWriteCommandByte...KBC.cmdWriteRAMLast,
             KBC.cmdWriteOutputPort, KBC.cmdWriteKeyboardBuffer, KBC.cmdWriteMouseBuffer, KBC.cmdWriteToMouse:
            pendingCommand = command
        case KBC.cmdDisableMouse:
            ram[0] |= KBC.cbMouseDisabled
        case KBC.cmdEnableMouse:
            ram[0] &= ~KBC.cbMouseDisabled
        case KBC.cmdTestKeyboardPort:
            reply(KBC.interfaceTestPassed)
        case KBC.cmdTestMousePort:
            reply(KBC.interfaceClockStuckHigh)
        case KBC.cmdSelfTest:
            // The self-test also sets the system flag, as after POST.
            ram[0] |= KBC.cbSystemFlag
            reply(KBC.selfTestPassed)
        case KBC.cmdDisableKeyboard:
            ram[0] |= KBC.cbKeyboardDisabled
        case KBC.cmdEnableKeyboard:
            ram[0] &= ~KBC.cbKeyboardDisabled
        case KBC.cmdReadInputPort:
            reply(KBC.inputPortValue)
        case KBC.cmdReadOutputPort:
            var value = outputPort & ~(KBC.outKeyboardOBF | KBC.outAuxOBF)
            if let head = queue.first { value |= head.aux ? KBC.outAuxOBF : KBC.outKeyboardOBF }
            reply(value)
        case KBC.cmdDisableA20:
            setOutputPort(outputPort & ~KBC.outA20)
        case KBC.cmdEnableA20:
            setOutputPort(outputPort | KBC.outA20)
        case KBC.cmdReadTestInputs:
            reply(0x00)
        case KBC.cmdPulseFirst...0xFF:
            // Bits 3:0 clear pulse the matching output port lines low for ~6 µs; only the
            // reset line has an effect.
            if command & KBC.outReset == 0 { control.requestStop(.reset) }
        default:
            break
        }
    }

    private func writeData(_ value: UInt8) {
        guard let command = pendingCommand else {
            keyboardReceive(value)
            return
        }
        pendingCommand = nil
        switch command {
        case KBC.cmdWriteCommandByte...KBC.cmdWriteRAMLast:
            ram[Int(command & 0x1F)] = value
        case KBC.cmdWriteOutputPort:
            setOutputPort(value)
            if value & KBC.outReset == 0 { control.requestStop(.reset) }
        case KBC.cmdWriteKeyboardBuffer:
            reply(value)
        case KBC.cmdWriteMouseBuffer, KBC.cmdWriteToMouse:
            // No mouse yet: the byte is consumed without an answer, which is how a port with
            // nothing attached looks to a driver.
            break
        default:
            break
        }
    }

    private func setOutputPort(_ value: UInt8) {
        let old = outputPort
        outputPort = value & ~(KBC.outKeyboardOBF | KBC.outAuxOBF)
        if (old ^ outputPort) & KBC.outA20 != 0 { onA20Change?(a20Enabled) }
    }

    // MARK: The keyboard

    private var translating: Bool { ram[0] & KBC.cbTranslate != 0 }

    /// A byte sent to the keyboard (port 0x60 with no controller command pending). Writing to
    /// the keyboard also re-enables its interface, as AT controllers do.
    private func keyboardReceive(_ value: UInt8) {
        ram[0] &= ~KBC.cbKeyboardDisabled
        if let command = keyboardCommand {
            keyboardCommand = nil
            switch command {
            case KBC.kbdSetLEDs:
                leds = value & 0x07
                onLEDChange?(leds)
                reply(KBC.kbdAck)
                return
            case KBC.kbdScanCodeSet:
                switch value {
                case 0:
                    reply(KBC.kbdAck, translating ? Self.translatedSetNumber[Int(scanCodeSet)] : scanCodeSet)
                case 1...3:
                    scanCodeSet = value
                    reply(KBC.kbdAck)
                default:
                    reply(KBC.kbdResendReply)
                }
                return
            case KBC.kbdSetTypematic:
                reply(KBC.kbdAck)
                return
            default:
                break
            }
        }
        switch value {
        case KBC.kbdReset:
            resetKeyboard()
            reply(KBC.kbdAck, KBC.kbdSelfTestPassed)
        case KBC.kbdEcho:
            reply(KBC.kbdEcho)
        case KBC.kbdSetLEDs, KBC.kbdScanCodeSet, KBC.kbdSetTypematic:
            keyboardCommand = value
            reply(KBC.kbdAck)
        case KBC.kbdIdentify:
            reply(KBC.kbdAck, KBC.kbdIDFirst, translating ? KBC.kbdIDSecondTranslated : KBC.kbdIDSecond)
        case KBC.kbdEnableScanning:
            scanningEnabled = true
            reply(KBC.kbdAck)
        case KBC.kbdDisableScanning:
            // Disable also restores the defaults.
            scanningEnabled = false
            scanCodeSet = 2
            reply(KBC.kbdAck)
        case KBC.kbdSetDefaults:
            scanCodeSet = 2
            reply(KBC.kbdAck)
        default:
            reply(KBC.kbdResendReply)
        }
    }

    /// What a translating controller turns the keyboard's set-number reply into (1, 2, 3 pass
    /// through the set 2 to set 1 translation table).
    private static let translatedSetNumber: [UInt8] = [0x00, 0x43, 0x41, 0x3F]

    private func resetKeyboard() {
        queue.removeAll { !$0.aux }
        keyboardCommand = nil
        scanningEnabled = true
        scanCodeSet = 2
        leds = 0
    }

    /// Machine reset: controller and keyboard back to power-on state (A20 on).
    public func reset() {
        queue.removeAll()
        pendingCommand = nil
        lastWriteWasCommand = false
        ram = [UInt8](repeating: 0, count: 32)
        ram[0] = KBC.cbKeyboardInterrupt | KBC.cbSystemFlag | KBC.cbTranslate
        setOutputPort(KBC.outLinesHigh | KBC.outReset | KBC.outA20)
        resetKeyboard()
        updateIRQ()
    }
}
