import XCTest
import MachineCore
@testable import Devices

final class Serial16550Tests: XCTestCase {
    var time: VirtualTime!
    var recorder: IRQRecorder!
    var backend: BufferSerialBackend!
    var uart: Serial16550!

    override func setUp() {
        time = VirtualTime()
        recorder = IRQRecorder()
        backend = BufferSerialBackend()
        uart = Serial16550(port: .com1, irq: recorder.line(4), timers: time.timers, backend: backend)
    }

    private func iir() -> UInt8 { uart.read8(UART.iir) }

    func testResetState() {
        XCTAssertEqual(uart.read8(UART.ier), 0)
        XCTAssertEqual(iir(), UART.iirNoInterrupt)
        XCTAssertEqual(uart.read8(UART.lsr), UART.lsrTHRE | UART.lsrTEMT)
        XCTAssertEqual(uart.read8(UART.msr) & 0xF0, UART.msrCTS | UART.msrDSR | UART.msrDCD)
        XCTAssertFalse(recorder.level)
    }

    func testTransmitGoesToBackendThroughBus() throws {
        let bus = PortIOBus()
        try uart.attach(to: bus)
        for byte in "hi\n".utf8 { bus.write(port: 0x3F8, size: 1, value: UInt32(byte)) }
        XCTAssertEqual(backend.outputString, "hi\n")
        XCTAssertEqual(bus.read(port: 0x3FD, size: 1) & UInt32(UART.lsrTHRE), UInt32(UART.lsrTHRE))
        bus.write(port: 0x3FF, size: 1, value: 0x5A)
        XCTAssertEqual(bus.read(port: 0x3FF, size: 1), 0x5A)
        XCTAssertEqual(bus.claimInfo(at: 0x3FF)?.base, 0x3F8)
        XCTAssertNil(bus.claimInfo(at: 0x400))
    }

    func testOtherCOMPortsClaimTheirBase() throws {
        let bus = PortIOBus()
        let com2 = Serial16550(port: .com2, irq: recorder.line(3), timers: time.timers, backend: backend)
        try com2.attach(to: bus)
        bus.write(port: 0x2FF, size: 1, value: 0x77)
        XCTAssertEqual(com2.read8(UART.scr), 0x77)
        XCTAssertEqual(COMPort.com3, COMPort(base: 0x3E8, irq: 4))
        XCTAssertEqual(COMPort.com4, COMPort(base: 0x2E8, irq: 3))
        // COM1 and COM3 do not overlap, COM2 twice does.
        XCTAssertThrowsError(try com2.attach(to: bus))
    }

    func testDivisorLatchSharesOffsetsWithRBRAndIER() {
        uart.write8(UART.ier, 0x05)
        uart.write8(UART.lcr, UART.lcrDLAB | 0x03)
        uart.write8(UART.dll, 0x01)
        uart.write8(UART.dlm, 0x02)
        XCTAssertEqual(uart.read8(UART.dll), 0x01)
        XCTAssertEqual(uart.read8(UART.dlm), 0x02)
        // Nothing was transmitted while DLAB was set.
        XCTAssertTrue(backend.output.isEmpty)
        uart.write8(UART.lcr, 0x03)
        XCTAssertEqual(uart.read8(UART.ier), 0x05)
        XCTAssertEqual(uart.read8(UART.lcr), 0x03)
    }

    func testIERUpperBitsReadZero() {
        uart.write8(UART.ier, 0xFF)
        XCTAssertEqual(uart.read8(UART.ier), 0x0F)
    }

    func testReceiveWithoutFIFOHoldsOneByteAndOverruns() {
        uart.receive([0x41, 0x42])
        let lsr = uart.read8(UART.lsr)
        XCTAssertEqual(lsr & UART.lsrDataReady, UART.lsrDataReady)
        XCTAssertEqual(lsr & UART.lsrOverrun, UART.lsrOverrun)
        // OE clears on the LSR read.
        XCTAssertEqual(uart.read8(UART.lsr) & UART.lsrOverrun, 0)
        XCTAssertEqual(uart.read8(UART.rbr), 0x41)
        XCTAssertEqual(uart.read8(UART.lsr) & UART.lsrDataReady, 0)
    }

    func testFIFOHolds16BytesThenOverruns() {
        uart.write8(UART.fcr, UART.fcrEnable)
        XCTAssertEqual(uart.receiveCapacity, 16)
        uart.receive(Array(0..<20))
        XCTAssertEqual(uart.receiveCapacity, 0)
        XCTAssertNotEqual(uart.read8(UART.lsr) & UART.lsrOverrun, 0)
        var got: [UInt8] = []
        while uart.read8(UART.lsr) & UART.lsrDataReady != 0 { got.append(uart.read8(UART.rbr)) }
        XCTAssertEqual(got, Array(0..<16))
    }

    func testFCRClearsRxFIFOAndIIRShowsFIFOBits() {
        uart.write8(UART.fcr, UART.fcrEnable)
        XCTAssertEqual(iir() & UART.iirFIFOEnabled, UART.iirFIFOEnabled)
        uart.receive([1, 2, 3])
        uart.write8(UART.fcr, UART.fcrEnable | UART.fcrClearRx)
        XCTAssertEqual(uart.read8(UART.lsr) & UART.lsrDataReady, 0)
        uart.receive([4])
        // Turning the FIFOs off clears them too.
        uart.write8(UART.fcr, 0)
        XCTAssertEqual(uart.read8(UART.lsr) & UART.lsrDataReady, 0)
        XCTAssertEqual(iir() & UART.iirFIFOEnabled, 0)
    }

    func testRxTriggerLevelAndCharacterTimeout() {
        uart.write8(UART.mcr, UART.mcrOUT2)
        uart.write8(UART.ier, UART.ierRxData)
        uart.write8(UART.lcr, 0x03) // 8N1
        uart.write8(UART.fcr, UART.fcrEnable | 0x80) // trigger at 8
        uart.receive(Array(repeating: 0x61, count: 7))
        XCTAssertEqual(iir() & 0x0F, UART.iirNoInterrupt)
        XCTAssertFalse(recorder.level)
        uart.receive([0x62])
        XCTAssertEqual(iir() & 0x0F, UART.iirRxData)
        XCTAssertTrue(recorder.level)
        // Reading one byte drops below the trigger level: no interrupt until the timeout.
        _ = uart.read8(UART.rbr)
        XCTAssertEqual(iir() & 0x0F, UART.iirNoInterrupt)
        XCTAssertFalse(recorder.level)
        // Four characters at 9600 8N1 (divisor 12): 4 * 10 / 9600 s ≈ 4.17 ms.
        time.advance(by: 4_000_000)
        XCTAssertFalse(recorder.level)
        time.advance(by: 300_000)
        XCTAssertEqual(iir() & 0x0F, UART.iirCharTimeout)
        XCTAssertTrue(recorder.level)
        // Reading RBR clears the timeout indication.
        _ = uart.read8(UART.rbr)
        XCTAssertEqual(iir() & 0x0F, UART.iirNoInterrupt)
        XCTAssertFalse(recorder.level)
    }

    func testTimeoutScalesWithDivisorAndFormat() {
        uart.write8(UART.lcr, UART.lcrDLAB)
        uart.write8(UART.dll, 1)
        uart.write8(UART.dlm, 0)
        uart.write8(UART.lcr, 0x03 | UART.lcrParityEnable | UART.lcrStopBits) // 8E2: 12 bits
        XCTAssertEqual(uart.characterTimeoutNanoseconds, 4 * 12 * 1_000_000_000 / 115_200)
    }

    func testTHREInterruptSemantics() {
        uart.write8(UART.mcr, UART.mcrOUT2)
        // Enabling ETBEI with THR empty raises the interrupt at once.
        uart.write8(UART.ier, UART.ierTHRE)
        XCTAssertTrue(recorder.level)
        // Reading IIR reports and clears it.
        XCTAssertEqual(iir(), UART.iirTHRE)
        XCTAssertFalse(recorder.level)
        XCTAssertEqual(iir(), UART.iirNoInterrupt)
        // Each write empties THR again at once: the interrupt comes back.
        uart.write8(UART.thr, 0x30)
        XCTAssertTrue(recorder.level)
        XCTAssertEqual(iir(), UART.iirTHRE)
        // Disabling ETBEI drops it.
        uart.write8(UART.thr, 0x31)
        uart.write8(UART.ier, 0)
        XCTAssertFalse(recorder.level)
        XCTAssertEqual(iir(), UART.iirNoInterrupt)
    }

    func testOUT2GatesTheIRQLine() {
        uart.write8(UART.ier, UART.ierRxData)
        uart.receive([0x41])
        // Pending inside the UART but not on the ISA line.
        XCTAssertEqual(iir(), UART.iirRxData)
        XCTAssertFalse(recorder.level)
        uart.write8(UART.mcr, UART.mcrOUT2)
        XCTAssertTrue(recorder.level)
        uart.write8(UART.mcr, 0)
        XCTAssertFalse(recorder.level)
    }

    func testInterruptPriority() {
        uart.write8(UART.mcr, UART.mcrOUT2)
        uart.write8(UART.ier, UART.ierMask)
        // THRE and modem status pending: THRE wins.
        uart.setModemInputs(UART.msrCTS)
        XCTAssertEqual(iir(), UART.iirTHRE) // reading clears THRE
        XCTAssertEqual(iir(), UART.iirModemStatus)
        // Data and an overrun: line status first, then data.
        uart.receive([1, 2])
        XCTAssertEqual(iir(), UART.iirLineStatus)
        _ = uart.read8(UART.lsr)
        XCTAssertEqual(iir(), UART.iirRxData)
        _ = uart.read8(UART.rbr)
        XCTAssertEqual(iir(), UART.iirModemStatus)
        _ = uart.read8(UART.msr)
        XCTAssertEqual(iir(), UART.iirNoInterrupt)
        XCTAssertFalse(recorder.level)
    }

    func testLineStatusInterruptNeedsELSI() {
        uart.write8(UART.mcr, UART.mcrOUT2)
        uart.receive([1, 2]) // overrun
        XCTAssertEqual(iir(), UART.iirNoInterrupt)
        uart.write8(UART.ier, UART.ierLineStatus)
        XCTAssertEqual(iir(), UART.iirLineStatus)
        XCTAssertTrue(recorder.level)
        _ = uart.read8(UART.lsr)
        XCTAssertFalse(recorder.level)
    }

    func testLoopbackEchoesTXAndModemLines() {
        uart.write8(UART.mcr, UART.mcrLoop)
        _ = uart.read8(UART.msr) // clear deltas from entering loopback
        uart.write8(UART.thr, 0x99)
        XCTAssertTrue(backend.output.isEmpty, "loopback keeps TX off the line")
        XCTAssertEqual(uart.read8(UART.rbr), 0x99)
        // Host input is cut off in loopback.
        uart.receive([0x11])
        XCTAssertEqual(uart.read8(UART.lsr) & UART.lsrDataReady, 0)

        uart.write8(UART.mcr, UART.mcrLoop | UART.mcrRTS | UART.mcrDTR | UART.mcrOUT1 | UART.mcrOUT2)
        let msr = uart.read8(UART.msr)
        XCTAssertEqual(msr & 0xF0, UART.msrCTS | UART.msrDSR | UART.msrRI | UART.msrDCD)
        XCTAssertEqual(msr & UART.msrDeltaBits, UART.msrDCTS | UART.msrDDSR | UART.msrDDCD)
        // Dropping OUT1 (RI) is a trailing edge: TERI.
        uart.write8(UART.mcr, UART.mcrLoop | UART.mcrRTS | UART.mcrDTR | UART.mcrOUT2)
        XCTAssertEqual(uart.read8(UART.msr) & UART.msrDeltaBits, UART.msrTERI)
        XCTAssertEqual(uart.read8(UART.msr) & UART.msrDeltaBits, 0, "delta bits clear on read")
        // Raising RI is not a trailing edge.
        uart.write8(UART.mcr, UART.mcrLoop | UART.mcrOUT1)
        XCTAssertEqual(uart.read8(UART.msr) & UART.msrTERI, 0)
    }

    func testModemStatusInterruptFromInputs() {
        uart.write8(UART.mcr, UART.mcrOUT2)
        uart.write8(UART.ier, UART.ierModemStatus)
        XCTAssertFalse(recorder.level)
        uart.setModemInputs(UART.msrCTS | UART.msrDSR) // DCD dropped
        XCTAssertTrue(recorder.level)
        XCTAssertEqual(uart.read8(UART.msr), UART.msrCTS | UART.msrDSR | UART.msrDDCD)
        XCTAssertFalse(recorder.level)
    }

    func testPollBackendFeedsReceiver() {
        backend.queueInput(Array("ok".utf8))
        uart.write8(UART.fcr, UART.fcrEnable)
        uart.pollBackend()
        XCTAssertEqual(uart.read8(UART.rbr), UInt8(ascii: "o"))
        XCTAssertEqual(uart.read8(UART.rbr), UInt8(ascii: "k"))
    }

    func testWordAccessSplitsIntoBytes() {
        uart.write8(UART.scr, 0xAB)
        // A 16-bit read at offset 6 reads MSR and SCR.
        let value = uart.portRead(offset: UART.msr, size: 2)
        XCTAssertEqual(value >> 8, 0xAB)
    }
}

extension Serial16550Tests {
    func testResetRestoresPowerOnState() {
        uart.write8(UART.mcr, UART.mcrOUT2)
        uart.write8(UART.ier, UART.ierTHRE)
        uart.write8(UART.fcr, UART.fcrEnable)
        uart.receive([1, 2, 3])
        XCTAssertTrue(recorder.level)
        uart.reset()
        XCTAssertFalse(recorder.level)
        XCTAssertEqual(uart.read8(UART.ier), 0)
        XCTAssertEqual(uart.read8(UART.iir), UART.iirNoInterrupt)
        XCTAssertEqual(uart.read8(UART.lsr), UART.lsrTHRE | UART.lsrTEMT)
    }
}
