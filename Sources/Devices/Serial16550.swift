import MachineCore

/// A 16550A UART as found on PC COM ports.
///
/// Transmission is instantaneous: a byte written to THR goes to the backend at once and THR is
/// empty again by the next access. Reception is driven by the host (`receive(_:)`), so the
/// receiver FIFO and its interrupts are modelled in full: trigger levels, the character timeout
/// (four character times of silence with data below the trigger level), overrun.
///
/// The interrupt output reaches the IRQ line only while MCR.OUT2 is set, as on a PC where OUT2
/// drives the buffer between the UART's INTR pin and the ISA bus (Linux relies on this to keep
/// the port quiet while probing). The register bit gates the line even in loopback mode, where a
/// real part forces the OUT2 pin inactive; drivers do not depend on that difference.
public final class Serial16550: ByteRegisterDevice {
    public let port: COMPort
    public let backend: SerialBackend
    private let irq: IRQLine
    private let timers: TimerQueue
    private var timeoutTimer: TimerQueue.Handle!

    // Registers.
    private var ier: UInt8 = 0
    private var lcr: UInt8 = 0
    private var mcr: UInt8 = 0
    private var lsr: UInt8 = UART.lsrTHRE | UART.lsrTEMT
    /// Delta bits of MSR (bits 3:0); the status bits are computed from `modemInputs` or loopback.
    private var msrDelta: UInt8 = 0
    private var scr: UInt8 = 0
    private var divisor: UInt16 = 12
    private var fifoEnabled = false
    private var triggerLevel = 1

    /// Modem inputs driven by whatever is attached (status bits of MSR: CTS, DSR, RI, DCD).
    /// A connected terminal looks like a modem with carrier, as QEMU presents it.
    private var modemInputs: UInt8 = UART.msrCTS | UART.msrDSR | UART.msrDCD

    // Interrupt sources that are latched rather than computed from state.
    private var thrEmptyPending = false
    private var charTimeoutPending = false

    private var rxFIFO = ByteRing(capacity: UART.fifoDepth)
    /// When the character timeout fires (machine time), while it is armed: kept beside the
    /// timer so that a saved state can re-arm it.
    private var timeoutDeadline: UInt64?

    /// Builds a UART. `timers` provides the character-timeout timer.
    public init(port: COMPort = .com1, irq: IRQLine, timers: TimerQueue, backend: SerialBackend) {
        self.port = port
        self.irq = irq
        self.timers = timers
        self.backend = backend
        timeoutTimer = timers.makeTimer { [weak self] in self?.characterTimeoutExpired() }
    }

    /// The ports this UART decodes.
    public var portRanges: [PortRange] { [PortRange(base: port.base, count: UART.portCount)] }

    /// Claims the UART's eight ports on `bus`.
    public func attach(to bus: PortIOBus, name: String = "serial16550") throws(MachineError) {
        try bus.claim(portRanges, device: self, name: name)
    }

    // MARK: Host side

    /// Room left in the receiver (FIFO, or the single holding register when FIFOs are off).
    public var receiveCapacity: Int { rxCapacity - rxFIFO.count }

    /// Pushes host input into the receiver. Bytes that find the receiver full are dropped and
    /// set the overrun error (PC16550D §8.4, LSR bit 1). Input is ignored in loopback mode,
    /// where the serial input pin is disconnected from the receiver.
    public func receive(_ bytes: [UInt8]) {
        guard mcr & UART.mcrLoop == 0 else { return }
        for byte in bytes { receiveByte(byte) }
        updateInterrupt()
    }

    /// Reads whatever input the backend has and pushes it into the receiver.
    public func pollBackend() {
        let input = backend.readAvailableInput()
        if !input.isEmpty { receive(input) }
    }

    /// Changes the modem input lines (CTS, DSR, RI, DCD as MSR bits 4-7), setting the delta
    /// bits as the hardware does. Has no visible effect in loopback mode until it ends.
    public func setModemInputs(_ bits: UInt8) {
        let old = currentModemStatus()
        modemInputs = bits & 0xF0
        noteModemChange(from: old)
        updateInterrupt()
    }

    /// Whether the UART's interrupt output is asserted on the IRQ line.
    public var interruptAsserted: Bool { irq.level }

    /// Machine reset: registers to their power-on values (PC16550D table IV, "Reset"),
    /// FIFOs emptied. The divisor latch and scratch register are not reset on real parts.
    public func reset() {
        ier = 0
        lcr = 0
        mcr = 0
        lsr = UART.lsrTHRE | UART.lsrTEMT
        msrDelta = 0
        fifoEnabled = false
        triggerLevel = 1
        thrEmptyPending = false
        charTimeoutPending = false
        rxFIFO.removeAll()
        disarmCharacterTimeout()
        updateInterrupt()
    }

    // MARK: Register access

    public func readByte(offset: UInt16) -> UInt8 {
        let dlab = lcr & UART.lcrDLAB != 0
        switch offset {
        case UART.rbr where dlab:
            return UInt8(truncatingIfNeeded: divisor)
        case UART.rbr:
            return readRBR()
        case UART.ier where dlab:
            return UInt8(truncatingIfNeeded: divisor >> 8)
        case UART.ier:
            return ier
        case UART.iir:
            return readIIR()
        case UART.lcr:
            return lcr
        case UART.mcr:
            return mcr
        case UART.lsr:
            // Reading LSR clears the error bits and with them the line status interrupt (§8.4).
            let value = lsrValue()
            lsr &= ~(UART.lsrErrorBits | UART.lsrFIFOError)
            updateInterrupt()
            return value
        case UART.msr:
            let value = currentModemStatus() | msrDelta
            msrDelta = 0
            updateInterrupt()
            return value
        case UART.scr:
            return scr
        default:
            return 0xFF
        }
    }

    public func writeByte(offset: UInt16, value: UInt8) {
        let dlab = lcr & UART.lcrDLAB != 0
        switch offset {
        case UART.thr where dlab:
            divisor = divisor & 0xFF00 | UInt16(value)
        case UART.thr:
            writeTHR(value)
        case UART.ier where dlab:
            divisor = divisor & 0x00FF | UInt16(value) << 8
        case UART.ier:
            let old = ier
            ier = value & UART.ierMask
            // Enabling ETBEI while THR is empty raises the THRE interrupt at once; drivers
            // (Linux's 8250 start_tx) rely on it to get the first interrupt.
            if old & UART.ierTHRE == 0, ier & UART.ierTHRE != 0 { thrEmptyPending = true }
            if ier & UART.ierTHRE == 0 { thrEmptyPending = false }
            updateInterrupt()
        case UART.fcr:
            writeFCR(value)
        case UART.lcr:
            lcr = value
        case UART.mcr:
            let old = currentModemStatus()
            mcr = value & UART.mcrMask
            noteModemChange(from: old)
            updateInterrupt()
        case UART.lsr, UART.msr:
            // Writable only for factory test on the 16550; ignored.
            break
        case UART.scr:
            scr = value
        default:
            break
        }
    }

    // MARK: Receiver

    private var rxCapacity: Int { fifoEnabled ? UART.fifoDepth : 1 }

    private func receiveByte(_ byte: UInt8) {
        if rxFIFO.count >= rxCapacity {
            lsr |= UART.lsrOverrun
            return
        }
        rxFIFO.push(byte)
        restartCharacterTimeout()
    }

    private func readRBR() -> UInt8 {
        let byte = rxFIFO.pop() ?? 0
        // Reading RBR clears the timeout indication and restarts its timer (§8.6).
        charTimeoutPending = false
        restartCharacterTimeout()
        updateInterrupt()
        return byte
    }

    /// Time of four characters at the current line settings, in nanoseconds (§8.6: the timeout
    /// fires when no character has entered or left the FIFO for four character times).
    var characterTimeoutNanoseconds: UInt64 {
        let dataBits = UInt64(lcr & UART.lcrWordLengthMask) + 5
        let parity: UInt64 = lcr & UART.lcrParityEnable != 0 ? 1 : 0
        let stop: UInt64 = lcr & UART.lcrStopBits != 0 ? 2 : 1
        let bitsPerChar = 1 + dataBits + parity + stop
        let div = UInt64(divisor == 0 ? 1 : divisor)
        // bit time = div / 115200 s
        return 4 * bitsPerChar * div * 1_000_000_000 / UART.baseBaud
    }

    private func restartCharacterTimeout() {
        if fifoEnabled && !rxFIFO.isEmpty {
            armCharacterTimeout(at: timers.clock.now &+ characterTimeoutNanoseconds)
        } else {
            disarmCharacterTimeout()
        }
    }

    private func armCharacterTimeout(at deadline: UInt64) {
        timeoutDeadline = deadline
        timers.arm(timeoutTimer, at: deadline)
    }

    private func disarmCharacterTimeout() {
        timeoutDeadline = nil
        timers.disarm(timeoutTimer)
    }

    private func characterTimeoutExpired() {
        timeoutDeadline = nil
        if fifoEnabled && !rxFIFO.isEmpty {
            charTimeoutPending = true
            updateInterrupt()
        }
    }

    // MARK: Transmitter

    private func writeTHR(_ value: UInt8) {
        // Writing THR clears a pending THRE interrupt; the byte leaves at once, so THR is empty
        // again and the interrupt is raised anew, as the end of a real transmission would.
        thrEmptyPending = false
        if mcr & UART.mcrLoop != 0 {
            receiveByte(value)
        } else {
            backend.write(value)
        }
        if ier & UART.ierTHRE != 0 { thrEmptyPending = true }
        updateInterrupt()
    }

    private func writeFCR(_ value: UInt8) {
        let enable = value & UART.fcrEnable != 0
        if enable != fifoEnabled {
            // Changing the FIFO enable bit clears both FIFOs (§8.7).
            rxFIFO.removeAll()
            charTimeoutPending = false
        }
        fifoEnabled = enable
        if enable {
            if value & UART.fcrClearRx != 0 {
                rxFIFO.removeAll()
                charTimeoutPending = false
            }
            // The TX FIFO is always empty: transmission is instantaneous.
            triggerLevel = UART.triggerLevels[Int((value & UART.fcrTriggerMask) >> UART.fcrTriggerShift)]
        }
        restartCharacterTimeout()
        updateInterrupt()
    }

    // MARK: Status

    private func lsrValue() -> UInt8 {
        var value = lsr | UART.lsrTHRE | UART.lsrTEMT
        if !rxFIFO.isEmpty { value |= UART.lsrDataReady }
        return value
    }

    /// MSR bits 7:4: the modem inputs, or in loopback the MCR outputs wired back (§8.8:
    /// RTS→CTS, DTR→DSR, OUT1→RI, OUT2→DCD).
    private func currentModemStatus() -> UInt8 {
        guard mcr & UART.mcrLoop != 0 else { return modemInputs }
        var status: UInt8 = 0
        if mcr & UART.mcrRTS != 0 { status |= UART.msrCTS }
        if mcr & UART.mcrDTR != 0 { status |= UART.msrDSR }
        if mcr & UART.mcrOUT1 != 0 { status |= UART.msrRI }
        if mcr & UART.mcrOUT2 != 0 { status |= UART.msrDCD }
        return status
    }

    private func noteModemChange(from old: UInt8) {
        let new = currentModemStatus()
        let changed = old ^ new
        if changed & UART.msrCTS != 0 { msrDelta |= UART.msrDCTS }
        if changed & UART.msrDSR != 0 { msrDelta |= UART.msrDDSR }
        if changed & UART.msrDCD != 0 { msrDelta |= UART.msrDDCD }
        // TERI is set only on the trailing edge of RI.
        if old & UART.msrRI != 0, new & UART.msrRI == 0 { msrDelta |= UART.msrTERI }
    }

    // MARK: Interrupts

    /// The highest-priority pending interrupt's IIR code, or nil (PC16550D table IV).
    private func pendingInterrupt() -> UInt8? {
        if ier & UART.ierLineStatus != 0, lsr & UART.lsrErrorBits != 0 { return UART.iirLineStatus }
        if ier & UART.ierRxData != 0 {
            let level = fifoEnabled ? triggerLevel : 1
            if rxFIFO.count >= level { return UART.iirRxData }
            if charTimeoutPending, !rxFIFO.isEmpty { return UART.iirCharTimeout }
        }
        if ier & UART.ierTHRE != 0, thrEmptyPending { return UART.iirTHRE }
        if ier & UART.ierModemStatus != 0, msrDelta != 0 { return UART.iirModemStatus }
        return nil
    }

    private func readIIR() -> UInt8 {
        let source = pendingInterrupt()
        var value = source ?? UART.iirNoInterrupt
        if fifoEnabled { value |= UART.iirFIFOEnabled }
        // Reading IIR clears the THRE interrupt when it is the one reported (§8.6).
        if source == UART.iirTHRE {
            thrEmptyPending = false
            updateInterrupt()
        }
        return value
    }

    private func updateInterrupt() {
        irq.set(pendingInterrupt() != nil && mcr & UART.mcrOUT2 != 0)
    }
}

/// A fixed-capacity byte queue (the UART FIFOs).
struct ByteRing {
    private var storage: [UInt8]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) { storage = [UInt8](repeating: 0, count: capacity) }

    var isEmpty: Bool { count == 0 }
    var capacity: Int { storage.count }

    mutating func push(_ byte: UInt8) {
        guard count < storage.count else { return }
        storage[(head + count) % storage.count] = byte
        count += 1
    }

    mutating func pop() -> UInt8? {
        guard count > 0 else { return nil }
        let byte = storage[head]
        head = (head + 1) % storage.count
        count -= 1
        return byte
    }

    mutating func removeAll() {
        head = 0
        count = 0
    }

    /// The bytes held, oldest first.
    var contents: [UInt8] { (0..<count).map { storage[(head + $0) % storage.count] } }
}

extension Serial16550: StatefulDevice {
    /// The UART's registers and latches (the vm-superio `SerialState` shape, with the 16550's
    /// FIFO control and the character timeout added).
    public struct State: Equatable, Sendable {
        public var ier: UInt8 = 0
        public var lcr: UInt8 = 0
        public var mcr: UInt8 = 0
        /// LSR's latched bits (the error bits); DR, THRE and TEMT follow from the FIFO.
        public var lsr: UInt8 = UART.lsrTHRE | UART.lsrTEMT
        /// MSR bits 3:0 (the deltas) and the modem inputs (MSR bits 7:4 outside loopback).
        public var msrDelta: UInt8 = 0
        public var modemInputs: UInt8 = UART.msrCTS | UART.msrDSR | UART.msrDCD
        public var scr: UInt8 = 0
        public var divisor: UInt16 = 12
        public var fifoEnabled = false
        /// Receiver trigger level in bytes: 1, 4, 8 or 14 (FCR bits 7:6).
        public var triggerLevel: UInt8 = 1
        public var thrEmptyPending = false
        public var charTimeoutPending = false
        /// The receiver FIFO (or holding register), oldest byte first.
        public var receiveFIFO: [UInt8] = []
        /// When the armed character timeout fires, in machine time (nil: not armed).
        public var characterTimeoutDeadline: UInt64?

        public init() {}
    }

    public var state: State {
        var s = State()
        s.ier = ier
        s.lcr = lcr
        s.mcr = mcr
        s.lsr = lsr
        s.msrDelta = msrDelta
        s.modemInputs = modemInputs
        s.scr = scr
        s.divisor = divisor
        s.fifoEnabled = fifoEnabled
        s.triggerLevel = UInt8(triggerLevel)
        s.thrEmptyPending = thrEmptyPending
        s.charTimeoutPending = charTimeoutPending
        s.receiveFIFO = rxFIFO.contents
        s.characterTimeoutDeadline = timeoutDeadline
        return s
    }

    /// Refuses what a 16550 cannot hold (PC16550D §8: a 16-byte receiver FIFO, one byte
    /// without FIFOs; IER bits 7:4 and MCR bits 7:5 read as zero; the trigger levels of
    /// FCR). The IRQ line is driven from the restored registers and the character timeout
    /// re-armed at its saved deadline.
    public func restore(_ state: State) throws(MachineError) {
        func refuse(_ reason: String) -> MachineError { .invalidDeviceState(device: "16550 UART", reason: reason) }
        let capacity = state.fifoEnabled ? UART.fifoDepth : 1
        guard state.receiveFIFO.count <= capacity else {
            throw refuse("\(state.receiveFIFO.count) received bytes, the receiver holds \(capacity)")
        }
        guard UART.triggerLevels.contains(Int(state.triggerLevel)) else { throw refuse("trigger level \(state.triggerLevel)") }
        guard state.ier & ~UART.ierMask == 0 else { throw refuse("reserved IER bits") }
        guard state.mcr & ~UART.mcrMask == 0 else { throw refuse("reserved MCR bits") }
        guard state.msrDelta & ~UART.msrDeltaBits == 0, state.modemInputs & UART.msrDeltaBits == 0 else {
            throw refuse("modem status bits out of place")
        }
        guard state.lsr & UART.lsrDataReady == 0 else { throw refuse("LSR data ready is not a latch") }
        ier = state.ier
        lcr = state.lcr
        mcr = state.mcr
        lsr = state.lsr
        msrDelta = state.msrDelta
        modemInputs = state.modemInputs
        scr = state.scr
        divisor = state.divisor
        fifoEnabled = state.fifoEnabled
        triggerLevel = Int(state.triggerLevel)
        thrEmptyPending = state.thrEmptyPending
        charTimeoutPending = state.charTimeoutPending
        rxFIFO.removeAll()
        for byte in state.receiveFIFO { rxFIFO.push(byte) }
        if let deadline = state.characterTimeoutDeadline {
            armCharacterTimeout(at: deadline)
        } else {
            disarmCharacterTimeout()
        }
        updateInterrupt()
    }
}
