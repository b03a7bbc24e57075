/// Register offsets and bits of the 16550A UART (National Semiconductor PC16550D datasheet,
/// section 8, "Registers"; table II summarises them).
public enum UART {
    // MARK: Register offsets from the base port

    /// Receiver buffer (read, DLAB=0).
    public static let rbr: UInt16 = 0
    /// Transmitter holding register (write, DLAB=0).
    public static let thr: UInt16 = 0
    /// Divisor latch, low byte (DLAB=1).
    public static let dll: UInt16 = 0
    /// Interrupt enable register (DLAB=0).
    public static let ier: UInt16 = 1
    /// Divisor latch, high byte (DLAB=1).
    public static let dlm: UInt16 = 1
    /// Interrupt identification register (read).
    public static let iir: UInt16 = 2
    /// FIFO control register (write).
    public static let fcr: UInt16 = 2
    /// Line control register.
    public static let lcr: UInt16 = 3
    /// Modem control register.
    public static let mcr: UInt16 = 4
    /// Line status register.
    public static let lsr: UInt16 = 5
    /// Modem status register.
    public static let msr: UInt16 = 6
    /// Scratch register: eight plain bits, used by drivers to tell an 8250 from a 16450.
    public static let scr: UInt16 = 7

    /// Number of ports a UART decodes.
    public static let portCount = 8

    // MARK: IER bits (§8.5)

    /// Enable received-data-available (and character timeout) interrupt.
    public static let ierRxData: UInt8 = 0x01
    /// Enable transmitter-holding-register-empty interrupt.
    public static let ierTHRE: UInt8 = 0x02
    /// Enable receiver line status interrupt.
    public static let ierLineStatus: UInt8 = 0x04
    /// Enable modem status interrupt.
    public static let ierModemStatus: UInt8 = 0x08
    /// Bits of IER that exist on a 16550A; the upper nibble reads as zero.
    public static let ierMask: UInt8 = 0x0F

    // MARK: IIR values (§8.6, table IV)

    /// Bit 0 set: no interrupt pending.
    public static let iirNoInterrupt: UInt8 = 0x01
    /// Highest priority: overrun, parity, framing error or break (cleared by reading LSR).
    public static let iirLineStatus: UInt8 = 0x06
    /// Received data reached the trigger level (cleared when the FIFO drops below it).
    public static let iirRxData: UInt8 = 0x04
    /// Character timeout: data sits in the FIFO below the trigger level (cleared by reading RBR).
    public static let iirCharTimeout: UInt8 = 0x0C
    /// Transmitter holding register empty (cleared by reading IIR or writing THR).
    public static let iirTHRE: UInt8 = 0x02
    /// Lowest priority: a modem status delta bit is set (cleared by reading MSR).
    public static let iirModemStatus: UInt8 = 0x00
    /// Bits 7:6 read as 11 while FIFOs are enabled.
    public static let iirFIFOEnabled: UInt8 = 0xC0

    // MARK: FCR bits (§8.7)

    /// Enable both FIFOs; changing this bit clears them.
    public static let fcrEnable: UInt8 = 0x01
    /// Clear the receiver FIFO (self-clearing).
    public static let fcrClearRx: UInt8 = 0x02
    /// Clear the transmitter FIFO (self-clearing).
    public static let fcrClearTx: UInt8 = 0x04
    /// DMA mode select (no effect on a PC without UART DMA).
    public static let fcrDMAMode: UInt8 = 0x08
    /// Receiver trigger level field, bits 7:6: 1, 4, 8 or 14 bytes.
    public static let fcrTriggerMask: UInt8 = 0xC0
    public static let fcrTriggerShift: UInt8 = 6
    /// Trigger levels indexed by FCR bits 7:6.
    public static let triggerLevels: [Int] = [1, 4, 8, 14]

    // MARK: LCR bits (§8.3)

    /// Word length field: 00 = 5 bits ... 11 = 8 bits.
    public static let lcrWordLengthMask: UInt8 = 0x03
    /// Stop bits: 0 = one, 1 = two (1.5 for 5-bit words).
    public static let lcrStopBits: UInt8 = 0x04
    /// Parity enable.
    public static let lcrParityEnable: UInt8 = 0x08
    /// Even parity select.
    public static let lcrEvenParity: UInt8 = 0x10
    /// Stick parity.
    public static let lcrStickParity: UInt8 = 0x20
    /// Set break: forces the serial output to spacing.
    public static let lcrBreak: UInt8 = 0x40
    /// Divisor latch access bit: offsets 0 and 1 reach the divisor latch.
    public static let lcrDLAB: UInt8 = 0x80

    // MARK: MCR bits (§8.8)

    /// Data terminal ready output.
    public static let mcrDTR: UInt8 = 0x01
    /// Request to send output.
    public static let mcrRTS: UInt8 = 0x02
    /// User output 1.
    public static let mcrOUT1: UInt8 = 0x04
    /// User output 2: on a PC it gates the UART's interrupt onto the ISA IRQ line.
    public static let mcrOUT2: UInt8 = 0x08
    /// Local loopback: TX feeds RX, the modem outputs feed the modem inputs.
    public static let mcrLoop: UInt8 = 0x10
    /// Bits of MCR that exist on a 16550A.
    public static let mcrMask: UInt8 = 0x1F

    // MARK: LSR bits (§8.4)

    /// Data ready: at least one character is in RBR or the RX FIFO.
    public static let lsrDataReady: UInt8 = 0x01
    /// Overrun error: a character arrived with no room for it.
    public static let lsrOverrun: UInt8 = 0x02
    /// Parity error.
    public static let lsrParity: UInt8 = 0x04
    /// Framing error.
    public static let lsrFraming: UInt8 = 0x08
    /// Break interrupt.
    public static let lsrBreak: UInt8 = 0x10
    /// Transmitter holding register (or TX FIFO) empty.
    public static let lsrTHRE: UInt8 = 0x20
    /// Transmitter empty: THR and the shift register are both empty.
    public static let lsrTEMT: UInt8 = 0x40
    /// At least one parity/framing/break error is in the RX FIFO.
    public static let lsrFIFOError: UInt8 = 0x80
    /// The error bits that raise a line status interrupt and clear on an LSR read.
    public static let lsrErrorBits: UInt8 = 0x1E

    // MARK: MSR bits (§8.9)

    /// Delta clear to send.
    public static let msrDCTS: UInt8 = 0x01
    /// Delta data set ready.
    public static let msrDDSR: UInt8 = 0x02
    /// Trailing edge ring indicator (RI went from on to off).
    public static let msrTERI: UInt8 = 0x04
    /// Delta data carrier detect.
    public static let msrDDCD: UInt8 = 0x08
    /// Clear to send.
    public static let msrCTS: UInt8 = 0x10
    /// Data set ready.
    public static let msrDSR: UInt8 = 0x20
    /// Ring indicator.
    public static let msrRI: UInt8 = 0x40
    /// Data carrier detect.
    public static let msrDCD: UInt8 = 0x80
    /// The four delta bits, cleared by an MSR read.
    public static let msrDeltaBits: UInt8 = 0x0F

    // MARK: Timing

    /// Input clock of a PC UART (1.8432 MHz) divided by 16: baud rate for divisor 1.
    public static let baseBaud: UInt64 = 115_200
    /// Depth of each FIFO on a 16550A.
    public static let fifoDepth = 16
}

/// A standard PC COM port: base port and ISA IRQ.
public struct COMPort: Equatable, Sendable {
    public let base: UInt16
    public let irq: Int

    public init(base: UInt16, irq: Int) {
        self.base = base
        self.irq = irq
    }

    public static let com1 = COMPort(base: 0x3F8, irq: 4)
    public static let com2 = COMPort(base: 0x2F8, irq: 3)
    public static let com3 = COMPort(base: 0x3E8, irq: 4)
    public static let com4 = COMPort(base: 0x2E8, irq: 3)
}
