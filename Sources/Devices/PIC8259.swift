/// Register bits of the 8259A programmable interrupt controller (Intel 8259A datasheet,
/// "Programming the 8259A": ICW1-ICW4 figure 6, OCW1-OCW3 figure 8).
public enum PIC {
    // Port offsets within one chip.
    /// Command port: ICW1, OCW2, OCW3 (write); IRR, ISR or poll byte (read).
    public static let commandOffset: UInt16 = 0
    /// Data port: ICW2-ICW4 during initialisation, else OCW1 (the IMR).
    public static let dataOffset: UInt16 = 1

    // ICW1 (command port, bit 4 set).
    /// Marks a command-port write as ICW1.
    public static let icw1Select: UInt8 = 0x10
    /// ICW4 will follow.
    public static let icw1IC4: UInt8 = 0x01
    /// Single chip: no ICW3.
    public static let icw1Single: UInt8 = 0x02
    /// Call address interval 4 (8080 mode only; ignored).
    public static let icw1ADI: UInt8 = 0x04
    /// Level-triggered mode for all inputs (on PIIX the ELCR decides; both are honoured).
    public static let icw1LTIM: UInt8 = 0x08

    // ICW2: vector base, bits 7:3.
    public static let icw2VectorMask: UInt8 = 0xF8

    // ICW4.
    /// 8086/8088 mode (8080 mode is not supported on a PC and is treated as 8086).
    public static let icw4Microprocessor: UInt8 = 0x01
    /// Automatic end of interrupt at the second INTA.
    public static let icw4AutoEOI: UInt8 = 0x02
    /// Buffered mode master/slave select (no effect here).
    public static let icw4BufferMaster: UInt8 = 0x04
    /// Buffered mode (no effect here).
    public static let icw4Buffered: UInt8 = 0x08
    /// Special fully nested mode: the master accepts a higher-priority slave request while a
    /// slave interrupt is in service.
    public static let icw4SpecialFullyNested: UInt8 = 0x10

    // OCW2 (command port, bits 4:3 = 00): R, SL, EOI in bits 7:5, level in bits 2:0.
    public static let ocw2LevelMask: UInt8 = 0x07
    public static let ocw2CommandMask: UInt8 = 0xE0
    /// Rotate in automatic EOI mode (clear).
    public static let ocw2ClearRotateAutoEOI: UInt8 = 0x00
    /// Non-specific EOI.
    public static let ocw2NonSpecificEOI: UInt8 = 0x20
    /// No operation.
    public static let ocw2NoOp: UInt8 = 0x40
    /// Specific EOI for the level in bits 2:0.
    public static let ocw2SpecificEOI: UInt8 = 0x60
    /// Rotate in automatic EOI mode (set).
    public static let ocw2SetRotateAutoEOI: UInt8 = 0x80
    /// Rotate on non-specific EOI.
    public static let ocw2RotateNonSpecificEOI: UInt8 = 0xA0
    /// Set priority: the level in bits 2:0 becomes the lowest priority.
    public static let ocw2SetPriority: UInt8 = 0xC0
    /// Rotate on specific EOI.
    public static let ocw2RotateSpecificEOI: UInt8 = 0xE0

    // OCW3 (command port, bits 4:3 = 01).
    /// Bits 4:3 of a command-port write that select OCW3.
    public static let ocw3Select: UInt8 = 0x08
    public static let ocw3SelectMask: UInt8 = 0x18
    /// Read register command: act on RIS.
    public static let ocw3ReadRegister: UInt8 = 0x02
    /// Read the ISR (else the IRR) on the next command-port read.
    public static let ocw3ReadISR: UInt8 = 0x01
    /// Poll command: the next command-port read acknowledges and returns the level.
    public static let ocw3Poll: UInt8 = 0x04
    /// Special mask mode command: act on SMM.
    public static let ocw3ESMM: UInt8 = 0x40
    /// Special mask mode on (with ESMM).
    public static let ocw3SMM: UInt8 = 0x20

    /// Poll byte: bit 7 set when an interrupt was pending.
    public static let pollInterrupt: UInt8 = 0x80

    /// The IR line of the master that the slave is cascaded to on a PC.
    public static let cascadeLine = 2
    /// The level reported for a spurious interrupt.
    public static let spuriousLevel = 7

    /// ELCR bits that must stay edge-triggered on PIIX (82371AB datasheet, ELCR1/ELCR2:
    /// IRQ0, 1, 2 on the master; IRQ8 and IRQ13 on the slave).
    public static let elcrMasterWritable: UInt8 = 0xF8
    public static let elcrSlaveWritable: UInt8 = 0xDE
}

/// One 8259A. Holds the registers and the priority logic; the pair and the cascade live in
/// `DualPIC8259`, which calls back after every change so it can update the INTR output.
public final class PIC8259 {
    /// Interrupt request register: lines requesting service.
    public internal(set) var irr: UInt8 = 0
    /// In-service register.
    public internal(set) var isr: UInt8 = 0
    /// Interrupt mask register (OCW1).
    public internal(set) var imr: UInt8 = 0
    /// Vector of IR0 (ICW2 bits 7:3).
    public internal(set) var vectorBase: UInt8 = 0
    /// Edge/level control (ELCR): 1 = level-triggered.
    public internal(set) var elcr: UInt8 = 0
    /// Last level seen on each input, for edge detection.
    var inputLevels: UInt8 = 0

    /// The IR line that has the highest priority (rotation moves it).
    public internal(set) var highestPriority = 0
    public internal(set) var autoEOI = false
    var rotateOnAutoEOI = false
    public internal(set) var specialMaskMode = false
    public internal(set) var specialFullyNested = false
    var levelTriggeredAll = false
    var singleMode = false
    var readISR = false
    var pollPending = false
    /// Initialisation step: 0 = ready; 2, 3, 4 = expecting that ICW on the data port.
    var initStep = 0
    var expectICW4 = false
    public internal(set) var icw3: UInt8 = 0

    let isMaster: Bool

    init(isMaster: Bool) { self.isMaster = isMaster }

    // MARK: Priority

    /// Priority rank of a line: 0 is highest.
    @inline(__always)
    func rank(_ line: Int) -> Int { (line - highestPriority) & 7 }

    /// Highest-priority line set in `bits`, if any.
    func highest(in bits: UInt8) -> Int? {
        guard bits != 0 else { return nil }
        for i in 0..<8 {
            let line = (highestPriority + i) & 7
            if bits & (1 << line) != 0 { return line }
        }
        return nil
    }

    /// The line this chip would present on INT now, under the fully nested rules: a request
    /// is presented if it outranks everything in service (special mask mode ignores in-service
    /// lines that are masked; special fully nested mode ignores the cascade line).
    func pendingLine() -> Int? {
        guard let request = highest(in: irr & ~imr) else { return nil }
        var inService = isr
        if specialMaskMode { inService &= ~imr }
        if isMaster && specialFullyNested { inService &= ~UInt8(1 << PIC.cascadeLine) }
        if let current = highest(in: inService), rank(current) <= rank(request) { return nil }
        return request
    }

    /// Input line change. Edge mode latches a rising edge in IRR until acknowledged;
    /// level mode makes IRR follow the input.
    func setInput(_ line: Int, level: Bool) {
        let bit = UInt8(1 << line)
        let wasHigh = inputLevels & bit != 0
        if level { inputLevels |= bit } else { inputLevels &= ~bit }
        if isLevelTriggered(line) {
            if level { irr |= bit } else { irr &= ~bit }
        } else if level && !wasHigh {
            irr |= bit
        }
    }

    func isLevelTriggered(_ line: Int) -> Bool {
        levelTriggeredAll || elcr & (1 << line) != 0
    }

    /// The INTA sequence for `line`: IRR is cleared for an edge-triggered line (a level line
    /// keeps requesting while its input is high), ISR is set unless in automatic EOI mode.
    func acknowledge(_ line: Int) {
        let bit = UInt8(1 << line)
        if !isLevelTriggered(line) { irr &= ~bit }
        if autoEOI {
            if rotateOnAutoEOI { highestPriority = (line + 1) & 7 }
        } else {
            isr |= bit
        }
    }

    func setELCR(_ value: UInt8) {
        elcr = value
        // A line that becomes level-triggered requests exactly while its input is high.
        for line in 0..<8 where isLevelTriggered(line) {
            let bit = UInt8(1 << line)
            if inputLevels & bit != 0 { irr |= bit } else { irr &= ~bit }
        }
    }

    // MARK: Command port

    func writeCommand(_ value: UInt8) {
        if value & PIC.icw1Select != 0 {
            writeICW1(value)
        } else if value & PIC.ocw3SelectMask == PIC.ocw3Select {
            writeOCW3(value)
        } else {
            writeOCW2(value)
        }
    }

    /// ICW1 starts initialisation (8259A datasheet, "Initialization command words"): the
    /// IMR and ISR are cleared, IR7 becomes lowest priority, special mask mode is cleared,
    /// the status read is set to IRR and, without IC4, the ICW4 functions are cleared.
    private func writeICW1(_ value: UInt8) {
        imr = 0
        isr = 0
        // The edge-sense latches are reset: pending edges are forgotten, levels stay.
        irr = 0
        levelTriggeredAll = value & PIC.icw1LTIM != 0
        for line in 0..<8 where isLevelTriggered(line) && inputLevels & (1 << line) != 0 {
            irr |= 1 << line
        }
        highestPriority = 0
        specialMaskMode = false
        readISR = false
        pollPending = false
        singleMode = value & PIC.icw1Single != 0
        expectICW4 = value & PIC.icw1IC4 != 0
        if !expectICW4 {
            autoEOI = false
            specialFullyNested = false
        }
        rotateOnAutoEOI = false
        initStep = 2
    }

    private func writeOCW2(_ value: UInt8) {
        let level = Int(value & PIC.ocw2LevelMask)
        switch value & PIC.ocw2CommandMask {
        case PIC.ocw2NonSpecificEOI:
            if let line = highest(in: isr) { isr &= ~UInt8(1 << line) }
        case PIC.ocw2RotateNonSpecificEOI:
            if let line = highest(in: isr) {
                isr &= ~UInt8(1 << line)
                highestPriority = (line + 1) & 7
            }
        case PIC.ocw2SpecificEOI:
            isr &= ~UInt8(1 << level)
        case PIC.ocw2RotateSpecificEOI:
            isr &= ~UInt8(1 << level)
            highestPriority = (level + 1) & 7
        case PIC.ocw2SetPriority:
            highestPriority = (level + 1) & 7
        case PIC.ocw2SetRotateAutoEOI:
            rotateOnAutoEOI = true
        case PIC.ocw2ClearRotateAutoEOI:
            rotateOnAutoEOI = false
        default: // PIC.ocw2NoOp
            break
        }
    }

    private func writeOCW3(_ value: UInt8) {
        if value & PIC.ocw3ESMM != 0 { specialMaskMode = value & PIC.ocw3SMM != 0 }
        if value & PIC.ocw3Poll != 0 { pollPending = true }
        if value & PIC.ocw3ReadRegister != 0 { readISR = value & PIC.ocw3ReadISR != 0 }
    }

    /// Command-port read: the poll byte after a poll command, else IRR or ISR per OCW3.
    func readCommand() -> UInt8 {
        if pollPending {
            pollPending = false
            guard let line = pendingLine() else { return 0 }
            // A poll acts as an INTA: the line is put in service.
            acknowledge(line)
            return PIC.pollInterrupt | UInt8(line)
        }
        return readISR ? isr : irr
    }

    // MARK: Data port

    func writeData(_ value: UInt8) {
        switch initStep {
        case 2:
            vectorBase = value & PIC.icw2VectorMask
            initStep = singleMode ? (expectICW4 ? 4 : 0) : 3
        case 3:
            icw3 = value
            initStep = expectICW4 ? 4 : 0
        case 4:
            autoEOI = value & PIC.icw4AutoEOI != 0
            specialFullyNested = value & PIC.icw4SpecialFullyNested != 0
            initStep = 0
        default:
            imr = value
        }
    }

    func readData() -> UInt8 { imr }

    /// Power-on state (registers cleared, vector base 0, not initialised).
    func reset() {
        irr = 0
        isr = 0
        imr = 0
        vectorBase = 0
        elcr = 0
        inputLevels = 0
        highestPriority = 0
        autoEOI = false
        rotateOnAutoEOI = false
        specialMaskMode = false
        specialFullyNested = false
        levelTriggeredAll = false
        singleMode = false
        readISR = false
        pollPending = false
        initStep = 0
        expectICW4 = false
        icw3 = 0
    }
}

extension PIC8259 {
    /// One 8259A's registers and its initialisation and read-back latches.
    public struct State: Equatable, Sendable {
        public var irr: UInt8 = 0
        public var isr: UInt8 = 0
        public var imr: UInt8 = 0
        public var vectorBase: UInt8 = 0
        public var elcr: UInt8 = 0
        /// The last level seen on each input (the edge detectors' memory).
        public var inputLevels: UInt8 = 0
        /// The IR line of highest priority (0-7).
        public var highestPriority: UInt8 = 0
        public var autoEOI = false
        public var rotateOnAutoEOI = false
        public var specialMaskMode = false
        public var specialFullyNested = false
        public var levelTriggeredAll = false
        public var singleMode = false
        public var readISR = false
        public var pollPending = false
        /// Initialisation step: 0 ready, 2-4 the ICW expected next on the data port.
        public var initStep: UInt8 = 0
        public var expectICW4 = false
        public var icw3: UInt8 = 0

        public init() {}
    }

    var state: State {
        var s = State()
        s.irr = irr; s.isr = isr; s.imr = imr; s.vectorBase = vectorBase; s.elcr = elcr
        s.inputLevels = inputLevels; s.highestPriority = UInt8(highestPriority)
        s.autoEOI = autoEOI; s.rotateOnAutoEOI = rotateOnAutoEOI; s.specialMaskMode = specialMaskMode
        s.specialFullyNested = specialFullyNested; s.levelTriggeredAll = levelTriggeredAll
        s.singleMode = singleMode; s.readISR = readISR; s.pollPending = pollPending
        s.initStep = UInt8(initStep); s.expectICW4 = expectICW4; s.icw3 = icw3
        return s
    }

    /// Why `state` is one this chip cannot hold, or nil: a priority beyond IR7, an
    /// initialisation step that does not exist, a vector base with bits 2:0 set (ICW2 only
    /// sets 7:3), an edge-only ELCR bit set (PIIX ELCR1/ELCR2).
    func invalidReason(_ state: State) -> String? {
        if state.highestPriority > 7 { return "priority line \(state.highestPriority)" }
        if ![0, 2, 3, 4].contains(state.initStep) { return "initialisation step \(state.initStep)" }
        if state.vectorBase & ~PIC.icw2VectorMask != 0 { return "vector base 0x\(String(state.vectorBase, radix: 16))" }
        let writable = isMaster ? PIC.elcrMasterWritable : PIC.elcrSlaveWritable
        if state.elcr & ~writable != 0 { return "ELCR 0x\(String(state.elcr, radix: 16)) marks an edge-only IRQ level-triggered" }
        return nil
    }

    func apply(_ s: State) {
        irr = s.irr; isr = s.isr; imr = s.imr; vectorBase = s.vectorBase; elcr = s.elcr
        inputLevels = s.inputLevels; highestPriority = Int(s.highestPriority)
        autoEOI = s.autoEOI; rotateOnAutoEOI = s.rotateOnAutoEOI; specialMaskMode = s.specialMaskMode
        specialFullyNested = s.specialFullyNested; levelTriggeredAll = s.levelTriggeredAll
        singleMode = s.singleMode; readISR = s.readISR; pollPending = s.pollPending
        initStep = Int(s.initStep); expectICW4 = s.expectICW4; icw3 = s.icw3
    }
}
