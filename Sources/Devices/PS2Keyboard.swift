import MachineCore

/// A PS/2 keyboard (the IBM 101/102-key keyboard plus the Windows and Application keys), as
/// it sits behind the 8042's keyboard port.
///
/// The host presses keys by USB HID usage (`hidKey(usage:pressed:)`); the keyboard turns them
/// into scan code set 2 (the power-on set), set 1 or set 3 and queues the bytes for the
/// controller, which pulls them one at a time and translates them to set 1 when its command
/// byte asks for it. The keyboard repeats the last key held (typematic) on the machine's timer
/// queue at the delay and rate the guest set with 0xF3; without a timer queue it passes the
/// host's own key repeat through instead.
///
/// Not thread-safe: the host side (`hidKey`, `reset`) must be called with the machine lock
/// held, like every device access.
public final class PS2Keyboard {
    /// How a set 3 key reports (IBM keyboard reference, commands 0xF7-0xFD).
    public enum KeyType: Sendable {
        case typematic, makeBreak, makeOnly, typematicMakeBreak
        var repeats: Bool { self == .typematic || self == .typematicMakeBreak }
        var breaks: Bool { self == .makeBreak || self == .typematicMakeBreak }
    }

    /// Bytes waiting for the controller, oldest first.
    private(set) var output: [UInt8] = []
    /// Told when bytes were queued, so the controller can pull them.
    var onOutput: (() -> Void)?
    /// Called when the guest sets the LEDs (bit 0 scroll, 1 num, 2 caps lock).
    public var onLEDChange: ((UInt8) -> Void)?

    public private(set) var scanCodeSet: UInt8 = 2
    public private(set) var scanningEnabled = true
    public private(set) var leds: UInt8 = 0
    /// The last typematic byte set with 0xF3 (bits 6:5 delay, 4:0 rate).
    public private(set) var typematic: UInt8 = PS2.kbdDefaultTypematic

    /// The command (0xED, 0xF0, 0xF3) whose parameter byte comes next.
    private var parameterFor: UInt8?
    /// Set by 0xFB-0xFD: the set 3 key codes that follow get this type.
    private var keyListType: KeyType?
    private var allKeysType: KeyType = .typematicMakeBreak
    private var keyTypes: [UInt8: KeyType] = [:]
    /// The last byte handed to the controller, for the resend command.
    private var lastSent: UInt8 = PS2.selfTestPassed

    /// Usages held down, and the one that repeats.
    private var down: Set<UInt16> = []
    private var repeating: UInt16?
    private let timers: TimerQueue?
    private var repeatTimer: TimerQueue.Handle?
    /// When the repeating key's next make code is due (machine time, ns).
    private var nextRepeat: UInt64 = 0

    /// Most bytes the keyboard holds for replies and keys together; beyond it replies to a
    /// guest that sends commands without reading are dropped.
    static let replyLimit = 64

    /// `timers` drives typematic repeat; nil leaves repeating to the host.
    public init(timers: TimerQueue? = nil) {
        self.timers = timers
        repeatTimer = timers?.makeTimer { [weak self] in self?.repeatExpired() }
    }

    var hasOutput: Bool { !output.isEmpty }

    /// The next byte for the controller, if any.
    func takeByte() -> UInt8? {
        guard !output.isEmpty else { return nil }
        let byte = output.removeFirst()
        lastSent = byte
        return byte
    }

    /// Power-on state (machine reset): defaults, LEDs off, scanning, nothing queued.
    public func reset() {
        output.removeAll()
        down.removeAll()
        parameterFor = nil
        keyListType = nil
        // After its power-on self-test the last byte a keyboard sent is the BAT code.
        lastSent = PS2.selfTestPassed
        nextRepeat = 0
        loadDefaults()
        scanningEnabled = true
        setLEDs(0)
    }

    private func loadDefaults() {
        stopRepeat()
        typematic = PS2.kbdDefaultTypematic
        scanCodeSet = 2
        allKeysType = .typematicMakeBreak
        keyTypes.removeAll()
    }

    private func setLEDs(_ value: UInt8) {
        let changed = value != leds
        leds = value
        if changed { onLEDChange?(value) }
    }

    // MARK: Output

    /// Queues a reply to the host (never dropped for want of buffer space, up to `replyLimit`).
    private func reply(_ bytes: UInt8...) {
        for b in bytes where output.count < Self.replyLimit { output.append(b) }
        onOutput?()
    }

    /// Queues the bytes of one key event whole, or an overrun code in the last free slot when
    /// the 16-byte buffer cannot take them (IBM keyboard reference, "Keyboard Buffer").
    private func sendKey(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let overrun = scanCodeSet == 1 ? PS2.kbdOverrunSet1 : PS2.kbdOverrun
        if output.count + bytes.count < PS2.kbdBufferDepth {
            output.append(contentsOf: bytes)
        } else if output.count < PS2.kbdBufferDepth && output.last != overrun {
            output.append(overrun)
        } else {
            return
        }
        onOutput?()
    }

    // MARK: Host input

    /// The host pressed or released the key with USB HID usage `usage` (Keyboard/Keypad page
    /// 0x07). Returns false for a usage this keyboard has no key for (nothing is sent).
    /// Keys are tracked while scanning is off but send nothing. Call with the machine lock held.
    @discardableResult
    public func hidKey(usage: UInt16, pressed: Bool) -> Bool {
        guard let key = PS2ScanCodes.key(usage: usage) else { return false }
        if pressed {
            if down.contains(usage) {
                // The host's own auto-repeat: ours does the job when we have a timer queue.
                if timers == nil && scanningEnabled && repeats(usage, key) { sendKey(repeatBytes(usage, key)) }
                return true
            }
            down.insert(usage)
            guard scanningEnabled else { return true }
            sendKey(makeBytes(usage, key))
            // A new key takes typematic repeat over from the previous one.
            stopRepeat()
            if repeats(usage, key) { startRepeat(usage) }
        } else {
            guard down.remove(usage) != nil else { return true }
            if repeating == usage { stopRepeat() }
            guard scanningEnabled else { return true }
            sendKey(breakBytes(usage, key))
        }
        return true
    }

    // MARK: Scan codes

    private func isDown(_ a: UInt16, _ b: UInt16) -> Bool { down.contains(a) || down.contains(b) }

    private func keyType(_ key: PS2KeyCode) -> KeyType { keyTypes[key.set3] ?? allKeysType }

    private func repeats(_ usage: UInt16, _ key: PS2KeyCode) -> Bool {
        switch scanCodeSet {
        case 3: return key.set3 != 0 && keyType(key).repeats
        default: return usage != PS2ScanCodes.pause
        }
    }

    /// The set 2 make sequence, with Print Screen and Pause depending on the modifiers held.
    private func set2Make(_ usage: UInt16, _ key: PS2KeyCode) -> [UInt8] {
        let e0 = PS2ScanCodes.extendedPrefix
        switch usage {
        case PS2ScanCodes.printScreen:
            if isDown(PS2ScanCodes.leftAlt, PS2ScanCodes.rightAlt) { return [PS2ScanCodes.sysRq] }
            if isDown(PS2ScanCodes.leftShift, PS2ScanCodes.rightShift)
                || isDown(PS2ScanCodes.leftControl, PS2ScanCodes.rightControl) {
                return [e0, PS2ScanCodes.printScreenKey]
            }
            return [e0, PS2ScanCodes.printScreenFakeShift, e0, PS2ScanCodes.printScreenKey]
        case PS2ScanCodes.pause:
            return isDown(PS2ScanCodes.leftControl, PS2ScanCodes.rightControl)
                ? PS2ScanCodes.breakMake : PS2ScanCodes.pauseMake
        default:
            return key.extended ? [e0, key.set2] : [key.set2]
        }
    }

    private func set2Break(_ usage: UInt16, _ key: PS2KeyCode) -> [UInt8] {
        let e0 = PS2ScanCodes.extendedPrefix, f0 = PS2ScanCodes.breakPrefix
        switch usage {
        case PS2ScanCodes.printScreen:
            if isDown(PS2ScanCodes.leftAlt, PS2ScanCodes.rightAlt) { return [f0, PS2ScanCodes.sysRq] }
            if isDown(PS2ScanCodes.leftShift, PS2ScanCodes.rightShift)
                || isDown(PS2ScanCodes.leftControl, PS2ScanCodes.rightControl) {
                return [e0, f0, PS2ScanCodes.printScreenKey]
            }
            return [e0, f0, PS2ScanCodes.printScreenKey, e0, f0, PS2ScanCodes.printScreenFakeShift]
        case PS2ScanCodes.pause:
            return []
        default:
            return key.extended ? [e0, f0, key.set2] : [f0, key.set2]
        }
    }

    private func makeBytes(_ usage: UInt16, _ key: PS2KeyCode) -> [UInt8] {
        switch scanCodeSet {
        case 1: return PS2ScanCodes.translate(sequence: set2Make(usage, key))
        case 3: return key.set3 == 0 ? [] : [key.set3]
        default: return set2Make(usage, key)
        }
    }

    private func breakBytes(_ usage: UInt16, _ key: PS2KeyCode) -> [UInt8] {
        switch scanCodeSet {
        case 1: return PS2ScanCodes.translate(sequence: set2Break(usage, key))
        case 3: return key.set3 == 0 || !keyType(key).breaks ? [] : [PS2ScanCodes.breakPrefix, key.set3]
        default: return set2Break(usage, key)
        }
    }

    /// What a held key repeats: its make code, except that Print Screen repeats without the
    /// fake shift.
    private func repeatBytes(_ usage: UInt16, _ key: PS2KeyCode) -> [UInt8] {
        let bytes = makeBytes(usage, key)
        guard usage == PS2ScanCodes.printScreen, scanCodeSet != 3, bytes.count == 4 else { return bytes }
        return Array(bytes.suffix(2))
    }

    // MARK: Typematic

    /// Delay before the first repeat: (1 + bits 6:5) × 250 ms.
    var typematicDelayNanoseconds: UInt64 { (UInt64((typematic >> 5) & 0x03) + 1) * 250_000_000 }

    /// Repeat period: (8 + bits 2:0) × 2^(bits 4:3) × 1/240 s, from 30 cps (0x00) down to
    /// 2 cps (0x1F) (IBM keyboard reference, "Set Typematic Rate/Delay").
    var typematicPeriodNanoseconds: UInt64 {
        let a = UInt64(typematic & 0x07), b = UInt64((typematic >> 3) & 0x03)
        return (8 + a) * (1 << b) * 1_000_000_000 / 240
    }

    private func startRepeat(_ usage: UInt16) {
        guard let timers, let repeatTimer else { return }
        repeating = usage
        nextRepeat = timers.clock.now &+ typematicDelayNanoseconds
        timers.arm(repeatTimer, at: nextRepeat)
    }

    private func stopRepeat() {
        repeating = nil
        if let timers, let repeatTimer { timers.disarm(repeatTimer) }
    }

    private func repeatExpired() {
        guard let usage = repeating, down.contains(usage), scanningEnabled,
              let key = PS2ScanCodes.key(usage: usage), let timers, let repeatTimer else {
            repeating = nil
            return
        }
        sendKey(repeatBytes(usage, key))
        // Keep to the rate even when the timer fires late; after a long stall (the host
        // paused) start afresh instead of catching up with a burst.
        let now = timers.clock.now
        nextRepeat &+= typematicPeriodNanoseconds
        if nextRepeat <= now { nextRepeat = now &+ typematicPeriodNanoseconds }
        timers.arm(repeatTimer, at: nextRepeat)
    }

    // MARK: Commands from the host

    /// A byte the host sent to the keyboard.
    func receive(_ byte: UInt8) {
        if let command = parameterFor {
            parameterFor = nil
            // A command byte in place of the parameter is taken as a new command.
            if byte < PS2.kbdFirstCommand {
                parameter(byte, for: command)
                return
            }
        }
        if let type = keyListType {
            if byte < PS2.kbdFirstCommand {
                keyTypes[byte] = type
                reply(PS2.ack)
                return
            }
            keyListType = nil
        }
        command(byte)
    }

    private func parameter(_ value: UInt8, for command: UInt8) {
        switch command {
        case PS2.kbdSetLEDs:
            setLEDs(value & 0x07)
            reply(PS2.ack)
        case PS2.kbdSetTypematic:
            typematic = value & 0x7F
            reply(PS2.ack)
        case PS2.kbdScanCodeSet:
            switch value {
            case 0:
                reply(PS2.ack, scanCodeSet)
            case 1...3:
                stopRepeat()
                scanCodeSet = value
                reply(PS2.ack)
            default:
                reply(PS2.resend)
            }
        default:
            break
        }
    }

    private func command(_ byte: UInt8) {
        switch byte {
        case PS2.kbdSetLEDs, PS2.kbdSetTypematic, PS2.kbdScanCodeSet:
            parameterFor = byte
            reply(PS2.ack)
        case PS2.kbdEcho:
            reply(PS2.kbdEchoReply)
        case PS2.kbdIdentify:
            reply(PS2.ack, PS2.kbdIDFirst, PS2.kbdIDSecond)
        case PS2.kbdEnable:
            output.removeAll()
            scanningEnabled = true
            reply(PS2.ack)
        case PS2.kbdDefaultDisable:
            output.removeAll()
            loadDefaults()
            scanningEnabled = false
            reply(PS2.ack)
        case PS2.kbdSetDefault:
            loadDefaults()
            reply(PS2.ack)
        case PS2.kbdSetAllTypematic, PS2.kbdSetAllMakeBreak, PS2.kbdSetAllMake, PS2.kbdSetAllTypematicMakeBreak:
            allKeysType = [.typematic, .makeBreak, .makeOnly, .typematicMakeBreak][Int(byte - PS2.kbdSetAllTypematic)]
            keyTypes.removeAll()
            reply(PS2.ack)
        case PS2.kbdSetKeyTypematic, PS2.kbdSetKeyMakeBreak, PS2.kbdSetKeyMake:
            keyListType = [.typematic, .makeBreak, .makeOnly][Int(byte - PS2.kbdSetKeyTypematic)]
            reply(PS2.ack)
        case PS2.cmdResend:
            output.insert(lastSent, at: 0)
            onOutput?()
        case PS2.cmdReset:
            let held = down
            reset()
            down = held
            reply(PS2.ack, PS2.selfTestPassed)
        default:
            reply(PS2.resend)
        }
    }
}

extension PS2Keyboard {
    /// The keyboard's settings, its output queue, the command it waits on, the keys the host
    /// holds and the typematic repeat (as its deadline; `restore` re-arms the timer).
    public struct State: Equatable, Sendable {
        public var output: [UInt8] = []
        public var scanCodeSet: UInt8 = 2
        public var scanningEnabled = true
        public var leds: UInt8 = 0
        public var typematic: UInt8 = PS2.kbdDefaultTypematic
        /// The command (0xED, 0xF0, 0xF3) whose parameter byte comes next.
        public var parameterFor: UInt8?
        /// Set 3 key types: the one the key list being sent gets, the default, per key code.
        public var keyListType: KeyType?
        public var allKeysType: KeyType = .typematicMakeBreak
        public var keyTypes: [UInt8: KeyType] = [:]
        public var lastSent: UInt8 = PS2.selfTestPassed
        /// USB HID usages of the keys held, ascending; the one that repeats and when.
        public var keysDown: [UInt16] = []
        public var repeating: UInt16?
        public var nextRepeat: UInt64 = 0

        public init() {}
    }

    public var state: State {
        var s = State()
        s.output = output
        s.scanCodeSet = scanCodeSet
        s.scanningEnabled = scanningEnabled
        s.leds = leds
        s.typematic = typematic
        s.parameterFor = parameterFor
        s.keyListType = keyListType
        s.allKeysType = allKeysType
        s.keyTypes = keyTypes
        s.lastSent = lastSent
        s.keysDown = down.sorted()
        s.repeating = repeating
        s.nextRepeat = nextRepeat
        return s
    }

    /// Why `state` is not one a keyboard holds, or nil (IBM keyboard reference: sets 1-3,
    /// three LEDs, a 7-bit typematic byte, the three commands that take a parameter; the
    /// output queue's bound; keys this keyboard has).
    static func invalidReason(_ state: State) -> String? {
        if state.output.count > replyLimit { return "\(state.output.count) queued bytes, more than \(replyLimit)" }
        if !(1...3).contains(state.scanCodeSet) { return "scan code set \(state.scanCodeSet)" }
        if state.leds & ~0x07 != 0 { return "LED bits 0x\(String(state.leds, radix: 16))" }
        if state.typematic & ~0x7F != 0 { return "typematic byte 0x\(String(state.typematic, radix: 16))" }
        if let command = state.parameterFor, ![PS2.kbdSetLEDs, PS2.kbdSetTypematic, PS2.kbdScanCodeSet].contains(command) {
            return "parameter awaited for command 0x\(String(command, radix: 16))"
        }
        if let usage = state.keysDown.first(where: { PS2ScanCodes.key(usage: $0) == nil }) { return "no key for usage 0x\(String(usage, radix: 16))" }
        if let usage = state.repeating, !state.keysDown.contains(usage) { return "repeating a key not held" }
        return nil
    }

    /// Puts a checked state back. The controller pulls the queued bytes when it wants them.
    func apply(_ state: State) {
        output = state.output
        scanCodeSet = state.scanCodeSet
        scanningEnabled = state.scanningEnabled
        typematic = state.typematic
        parameterFor = state.parameterFor
        keyListType = state.keyListType
        allKeysType = state.allKeysType
        keyTypes = state.keyTypes
        lastSent = state.lastSent
        down = Set(state.keysDown)
        repeating = state.repeating
        nextRepeat = state.nextRepeat
        if let timers, let repeatTimer {
            if repeating != nil { timers.arm(repeatTimer, at: nextRepeat) } else { timers.disarm(repeatTimer) }
        }
        setLEDs(state.leds)
    }
}
