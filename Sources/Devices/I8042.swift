import MachineCore

/// The PC keyboard controller (8042) at 0x60/0x64, with a PS/2 keyboard on its keyboard port
/// and a PS/2 mouse on its auxiliary port.
///
/// Controller commands complete at once: the input buffer is never seen full. The controller
/// has one output buffer byte. Its own replies go there first; otherwise it pulls the next
/// byte from the keyboard, then from the mouse, each only while its port is enabled (command
/// byte bits 4 and 5): a disabled port's device holds its data, as a device does whose clock
/// line is inhibited. Keyboard bytes pass through the set 2 to set 1 translation when command
/// byte bit 6 asks for it. While the buffer holds a keyboard byte and command byte bit 0 is
/// set, IRQ1 is asserted; a mouse byte asserts IRQ12 under bit 1. Reading the byte drops the
/// line, so each byte is a new edge. The output port's A20 bit is reported through
/// `onA20Change`; pulsing or clearing its reset bit asks the machine to reset.
///
/// The host side reaches the devices through `keyboard` and `mouse`; like every device access
/// this must happen with the machine lock held.
///
/// As a `PortIODevice` it decodes offsets relative to 0x60 (0x64 is offset 4).
public final class I8042: ByteRegisterDevice {
    private let keyboardIRQ: IRQLine
    private let mouseIRQ: IRQLine?
    private let control: MachineControl

    /// The keyboard on the keyboard port.
    public let keyboard: PS2Keyboard
    /// The mouse on the auxiliary port.
    public let mouse: PS2Mouse

    /// Called with the new A20 state whenever the output port's A20 bit changes.
    public var onA20Change: ((Bool) -> Void)?

    /// Controller RAM; byte 0 is the command byte.
    var ram = [UInt8](repeating: 0, count: 32)
    var outputPort: UInt8
    var lastWriteWasCommand = false
    /// The controller command waiting for its data byte on port 0x60.
    var pendingCommand: UInt8?

    /// Bytes the controller itself produced (command replies, 0xD2/0xD3 loopback), oldest
    /// first, with the port each appears to come from.
    var controllerOutput: [(byte: UInt8, aux: Bool)] = []
    /// The output buffer: the byte at 0x60, whether it holds one, and from which port.
    var outputByte: UInt8 = 0
    var outputFull = false
    var outputAux = false
    /// Translation swallowed a 0xF0: the next keyboard byte is a break code (bit 7 set).
    var translatedBreak = false

    /// Most controller replies held (a guest issuing read commands without reading).
    static let controllerOutputLimit = 16

    /// `timers` drives the keyboard's typematic repeat (without it the host's key repeat is
    /// passed through). `a20Enabled` is the output port's A20 bit at power-on.
    public init(keyboardIRQ: IRQLine, mouseIRQ: IRQLine? = nil, control: MachineControl,
                timers: TimerQueue? = nil, a20Enabled: Bool = true) {
        self.keyboardIRQ = keyboardIRQ
        self.mouseIRQ = mouseIRQ
        self.control = control
        keyboard = PS2Keyboard(timers: timers)
        mouse = PS2Mouse()
        outputPort = KBC.outLinesHigh | KBC.outReset | (a20Enabled ? KBC.outA20 : 0)
        ram[0] = Self.powerOnCommandByte
        keyboard.onOutput = { [unowned self] in self.deviceOutputArrived() }
        mouse.onOutput = { [unowned self] in self.deviceOutputArrived() }
    }

    /// Keyboard interrupt, system flag and translation on: what the BIOS leaves for DOS.
    private static let powerOnCommandByte = KBC.cbKeyboardInterrupt | KBC.cbSystemFlag | KBC.cbTranslate

    public static let portRanges = [
        PortRange(base: KBC.dataPort, count: 1),
        PortRange(base: KBC.commandPort, count: 1, offsetBias: KBC.commandOffset),
    ]

    public func attach(to bus: PortIOBus, name: String = "i8042") throws(MachineError) {
        try bus.claim(Self.portRanges, device: self, name: name)
    }

    public var commandByte: UInt8 { ram[0] }
    public var a20Enabled: Bool { outputPort & KBC.outA20 != 0 }

    private var translating: Bool { ram[0] & KBC.cbTranslate != 0 }
    private var keyboardPortEnabled: Bool { ram[0] & KBC.cbKeyboardDisabled == 0 }
    private var mousePortEnabled: Bool { ram[0] & KBC.cbMouseDisabled == 0 }

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
        // A command may have enabled a port whose device holds data.
        fillOutputBuffer()
        updateIRQ()
    }

    public var status: UInt8 {
        var s = KBC.statusUnlocked
        if outputFull {
            s |= KBC.statusOBF
            if outputAux { s |= KBC.statusAuxOBF }
        }
        if ram[0] & KBC.cbSystemFlag != 0 { s |= KBC.statusSYS }
        if lastWriteWasCommand { s |= KBC.statusCommand }
        return s
    }

    /// Reads the output buffer. With nothing new in it, the last byte is read again.
    private func readData() -> UInt8 {
        guard outputFull else { return outputByte }
        let byte = outputByte
        outputFull = false
        // The buffer empties before the next byte is loaded: drop the lines so the next
        // byte is a new edge at the PIC.
        keyboardIRQ.lower()
        mouseIRQ?.lower()
        fillOutputBuffer()
        updateIRQ()
        return byte
    }

    private func reply(_ bytes: UInt8..., aux: Bool = false) {
        for b in bytes where controllerOutput.count < Self.controllerOutputLimit { controllerOutput.append((b, aux)) }
    }

    // MARK: Output buffer

    /// A device queued bytes from the host side (key, mouse motion) or in answer to a command.
    private func deviceOutputArrived() {
        fillOutputBuffer()
        updateIRQ()
    }

    private func load(_ byte: UInt8, aux: Bool) {
        outputByte = byte
        outputAux = aux
        outputFull = true
    }

    /// Loads the output buffer when it is empty: controller replies first, then the keyboard,
    /// then the mouse.
    private func fillOutputBuffer() {
        guard !outputFull else { return }
        if !controllerOutput.isEmpty {
            let next = controllerOutput.removeFirst()
            load(next.byte, aux: next.aux)
            return
        }
        if keyboardPortEnabled {
            while let byte = keyboard.takeByte() {
                guard translating else {
                    load(byte, aux: false)
                    return
                }
                // Translation folds the set 2 break prefix into bit 7 of the next code.
                if byte == PS2ScanCodes.breakPrefix {
                    translatedBreak = true
                    continue
                }
                load(PS2ScanCodes.translate(byte) | (translatedBreak ? 0x80 : 0), aux: false)
                translatedBreak = false
                return
            }
        }
        if mousePortEnabled, let byte = mouse.takeByte() {
            load(byte, aux: true)
        }
    }

    func updateIRQ() {
        keyboardIRQ.set(outputFull && !outputAux && ram[0] & KBC.cbKeyboardInterrupt != 0)
        mouseIRQ?.set(outputFull && outputAux && ram[0] & KBC.cbMouseInterrupt != 0)
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
        case KBC.cmdPasswordInstalled:
            reply(KBC.noPasswordInstalled)
        case KBC.cmdDisableMouse:
            ram[0] |= KBC.cbMouseDisabled
        case KBC.cmdEnableMouse:
            ram[0] &= ~KBC.cbMouseDisabled
        case KBC.cmdTestKeyboardPort, KBC.cmdTestMousePort:
            reply(KBC.interfaceTestPassed)
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
            if outputFull { value |= outputAux ? KBC.outAuxOBF : KBC.outKeyboardOBF }
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
            // A byte for the keyboard. Writing to the keyboard also re-enables its
            // interface, as AT controllers do.
            ram[0] &= ~KBC.cbKeyboardDisabled
            keyboard.receive(value)
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
        case KBC.cmdWriteMouseBuffer:
            reply(value, aux: true)
        case KBC.cmdWriteToMouse:
            mouse.receive(value)
        default:
            break
        }
    }

    private func setOutputPort(_ value: UInt8) {
        let old = outputPort
        outputPort = value & ~(KBC.outKeyboardOBF | KBC.outAuxOBF)
        if (old ^ outputPort) & KBC.outA20 != 0 { onA20Change?(a20Enabled) }
    }

    /// Machine reset: controller, keyboard and mouse back to power-on state (A20 on).
    public func reset() {
        controllerOutput.removeAll()
        // The output buffer holds no byte after a reset: a read of port 60h before the
        // controller sends anything finds 00h, as after power-on.
        outputByte = 0
        outputFull = false
        outputAux = false
        translatedBreak = false
        pendingCommand = nil
        lastWriteWasCommand = false
        ram = [UInt8](repeating: 0, count: 32)
        ram[0] = Self.powerOnCommandByte
        setOutputPort(KBC.outLinesHigh | KBC.outReset | KBC.outA20)
        keyboard.reset()
        mouse.reset()
        updateIRQ()
    }
}
