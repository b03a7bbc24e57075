import Devices
import MachineCore
import XCTest
@testable import Machine

/// Host input longer than the UART's FIFO reaches the guest whole, in order, without overrun.
final class SerialInputPacerTests: XCTestCase {
    func testAPastedLineLongerThanTheFIFOArrivesWhole() {
        let clock = MachineClock(mode: .virtual)
        let timers = TimerQueue(clock: clock)
        let uart = Serial16550(irq: IRQLine.unconnected(4), timers: timers, backend: NullSerialBackend())
        uart.portWrite(offset: UART.fcr, size: 1, value: UInt32(UART.fcrEnable))
        let pacer = SerialInputPacer(serial: uart, timers: timers)
        let line = Array("echo a line well over sixteen bytes long\r".utf8)
        pacer.enqueue(line)
        var received: [UInt8] = []
        var sawOverrun = false
        for _ in 0..<1000 where received.count < line.count {
            // The guest drains what is there, then time passes (one pacing interval).
            var lsr = UInt8(truncatingIfNeeded: uart.portRead(offset: UART.lsr, size: 1))
            while lsr & UART.lsrDataReady != 0 {
                sawOverrun = sawOverrun || lsr & UART.lsrOverrun != 0
                received.append(UInt8(truncatingIfNeeded: uart.portRead(offset: UART.rbr, size: 1)))
                lsr = UInt8(truncatingIfNeeded: uart.portRead(offset: UART.lsr, size: 1))
            }
            sawOverrun = sawOverrun || lsr & UART.lsrOverrun != 0
            clock.advance(by: SerialInputPacer.interval)
            timers.runExpired()
        }
        XCTAssertEqual(received, line)
        XCTAssertFalse(sawOverrun)
    }
}
