import XCTest
import MachineCore
@testable import Devices

final class PIT8254Tests: XCTestCase {
    var time: VirtualTime!
    var recorder: IRQRecorder!
    var pit: PIT8254!

    override func setUp() {
        time = VirtualTime()
        recorder = IRQRecorder()
        pit = PIT8254(irq: recorder.line(0), timers: time.timers)
    }

    /// Control word for `channel`, access, mode, bcd.
    func control(_ channel: UInt8, access: UInt8 = PITReg.accessWord, mode: UInt8, bcd: Bool = false) {
        pit.write8(PITReg.control, channel << 6 | access << 4 | mode << 1 | (bcd ? 1 : 0))
    }

    func load(_ channel: UInt8, _ count: UInt16) {
        pit.write8(UInt16(channel), UInt8(count & 0xFF))
        pit.write8(UInt16(channel), UInt8(count >> 8))
    }

    func readCount(_ channel: UInt8) -> UInt16 {
        let lo = UInt16(pit.read8(UInt16(channel)))
        let hi = UInt16(pit.read8(UInt16(channel)))
        return hi << 8 | lo
    }

    /// Moves the clock to `ticks` after `origin` (ns), firing timers at every deadline on the way.
    func advance(toTick ticks: UInt64, from origin: UInt64) {
        let target = origin + PITClock.nanoseconds(ticks)
        while let d = time.timers.nextDeadline, d <= target {
            if d > time.clock.now { time.clock.advance(by: d - time.clock.now) }
            time.timers.runExpired()
        }
        if target > time.clock.now { time.clock.advance(by: target - time.clock.now) }
        time.timers.runExpired()
    }

    func testClockConversionRoundTrips() {
        for ticks: UInt64 in [0, 1, 2, 1193, 65536, 1_193_182, 123_456_789] {
            XCTAssertEqual(PITClock.ticks(PITClock.nanoseconds(ticks)), ticks)
            XCTAssertEqual(PITClock.ticks(PITClock.nanoseconds(ticks) - (ticks == 0 ? 0 : 1)), ticks == 0 ? 0 : ticks - 1)
        }
        XCTAssertEqual(PITClock.ticks(1_000_000_000), 1_193_182)
        // No overflow far into a run (about 5000 years of nanoseconds).
        XCTAssertEqual(PITClock.ticks(UInt64(1) << 62), (UInt64(1) << 62) / 1_000_000_000 * 1_193_182 + PITClock.ticks((UInt64(1) << 62) % 1_000_000_000))
    }

    func testMode2RateGeneratorDrivesIRQ0ThroughBus() throws {
        let bus = PortIOBus()
        try pit.attach(to: bus)
        bus.write(port: 0x43, size: 1, value: 0x34) // counter 0, LSB/MSB, mode 2
        bus.write(port: 0x40, size: 1, value: 0xA9)
        bus.write(port: 0x40, size: 1, value: 0x04) // 1193: ~1 kHz
        let t0 = time.clock.now
        XCTAssertTrue(recorder.level, "mode 2 OUT is high while counting")
        let before = recorder.risingEdges
        advance(toTick: 10 * 1193, from: t0)
        XCTAssertEqual(recorder.risingEdges - before, 10)
        advance(toTick: 10 * 1193 + 1192, from: t0)
        XCTAssertEqual(recorder.risingEdges - before, 10, "no edge until the period ends")
        advance(toTick: 11 * 1193, from: t0)
        XCTAssertEqual(recorder.risingEdges - before, 11)
    }

    func testMode2LateTimerStillDeliversAnEdge() {
        control(0, mode: 2)
        load(0, 1000)
        let before = recorder.risingEdges
        // The run loop was away for five periods: at least one edge reaches the PIC.
        time.clock.advance(by: PITClock.nanoseconds(5 * 1000 + 10))
        time.timers.runExpired()
        XCTAssertGreaterThanOrEqual(recorder.risingEdges - before, 1)
        XCTAssertTrue(recorder.level)
    }

    func testMode2CountDownAndLowPulse() {
        control(2, mode: 2)
        pit.setGate(channel: 2, level: true)
        load(2, 10)
        let t0 = time.clock.now
        advance(toTick: 3, from: t0)
        XCTAssertEqual(readCount(2), 7)
        advance(toTick: 9, from: t0)
        XCTAssertFalse(pit.outputLevel(channel: 2), "low for the tick at count 1")
        XCTAssertEqual(readCount(2), 1)
        advance(toTick: 10, from: t0)
        XCTAssertTrue(pit.outputLevel(channel: 2))
        XCTAssertEqual(readCount(2), 10)
    }

    func testMode2NewCountTakesEffectAtPeriodEnd() {
        control(0, mode: 2)
        load(0, 100)
        let t0 = time.clock.now
        advance(toTick: 30, from: t0)
        let before = recorder.risingEdges
        load(0, 50)
        advance(toTick: 60, from: t0)
        XCTAssertEqual(pit.currentCount(channel: 0), 40, "old period still running")
        advance(toTick: 100, from: t0)
        XCTAssertEqual(recorder.risingEdges - before, 1)
        XCTAssertEqual(pit.currentCount(channel: 0), 50)
        advance(toTick: 150, from: t0)
        XCTAssertEqual(recorder.risingEdges - before, 2, "new period of 50")
        advance(toTick: 200, from: t0)
        XCTAssertEqual(recorder.risingEdges - before, 3)
    }

    func testMode0InterruptOnTerminalCount() {
        control(0, mode: 0)
        XCTAssertFalse(recorder.level, "mode 0 OUT starts low")
        load(0, 100)
        let t0 = time.clock.now
        advance(toTick: 40, from: t0)
        XCTAssertEqual(readCount(0), 60)
        advance(toTick: 99, from: t0)
        XCTAssertFalse(recorder.level)
        advance(toTick: 100, from: t0)
        XCTAssertTrue(recorder.level)
        XCTAssertEqual(recorder.risingEdges, 1)
        // OUT stays high; the counter wraps and keeps counting.
        advance(toTick: 101, from: t0)
        XCTAssertTrue(recorder.level)
        XCTAssertEqual(readCount(0), 0xFFFF)
        XCTAssertNil(time.timers.nextDeadline, "no further output change to wait for")
    }

    func testMode0FirstByteStopsCountingAndOutputGoesLow() {
        control(0, mode: 0)
        load(0, 10)
        let t0 = time.clock.now
        advance(toTick: 20, from: t0)
        XCTAssertTrue(recorder.level)
        pit.write8(0, 0x05) // LSB of a new count
        XCTAssertFalse(recorder.level)
        let held = pit.currentCount(channel: 0)
        time.advance(by: 100_000)
        XCTAssertEqual(pit.currentCount(channel: 0), held, "counting disabled between the two bytes")
        pit.write8(0, 0x00)
        let t1 = time.clock.now
        advance(toTick: 5, from: t1)
        XCTAssertTrue(recorder.level)
    }

    func testMode0GateSuspendsCounting() {
        control(2, mode: 0)
        pit.setGate(channel: 2, level: true)
        load(2, 100)
        let t0 = time.clock.now
        advance(toTick: 30, from: t0)
        pit.setGate(channel: 2, level: false)
        advance(toTick: 200, from: t0)
        XCTAssertEqual(readCount(2), 70)
        XCTAssertFalse(pit.outputLevel(channel: 2))
        pit.setGate(channel: 2, level: true)
        let t1 = time.clock.now
        advance(toTick: 70, from: t1)
        XCTAssertTrue(pit.outputLevel(channel: 2))
    }

    func testCounterLatchCommand() {
        control(0, mode: 2)
        load(0, 1000)
        let t0 = time.clock.now
        advance(toTick: 100, from: t0)
        pit.write8(PITReg.control, 0x00) // latch counter 0
        advance(toTick: 300, from: t0)
        pit.write8(PITReg.control, 0x00) // a second latch is ignored while the first is held
        XCTAssertEqual(readCount(0), 900)
        XCTAssertEqual(readCount(0), 700, "latch released after both bytes")
    }

    func testReadBackStatusAndCount() {
        control(1, access: PITReg.accessWord, mode: 3, bcd: false)
        // Null count until a count is written.
        pit.write8(PITReg.control, 0xC0 | PITReg.readBackNoCount | PITReg.readBackCounter1)
        XCTAssertEqual(pit.read8(1), PITReg.statusOutput | PITReg.statusNullCount | 0x30 | 3 << 1)
        load(1, 18)
        let t0 = time.clock.now
        advance(toTick: 3, from: t0)
        // Status and count together: status comes first.
        pit.write8(PITReg.control, 0xC0 | PITReg.readBackCounter1)
        let status = pit.read8(1)
        XCTAssertEqual(status & PITReg.statusNullCount, 0)
        XCTAssertEqual(status & PITReg.statusOutput, PITReg.statusOutput)
        advance(toTick: 5, from: t0)
        XCTAssertEqual(readCount(1), 12, "count latched at tick 3: 18 - 2*3")
    }

    func testReadBackLatchesSeveralCounters() {
        control(0, mode: 2); load(0, 500)
        control(2, mode: 0); pit.setGate(channel: 2, level: true); load(2, 600)
        let t0 = time.clock.now
        advance(toTick: 50, from: t0)
        pit.write8(PITReg.control, 0xC0 | PITReg.readBackNoStatus | PITReg.readBackCounter0 | PITReg.readBackCounter2)
        advance(toTick: 90, from: t0)
        XCTAssertEqual(readCount(0), 450)
        XCTAssertEqual(readCount(2), 550)
    }

    func testLSBOnlyAndMSBOnlyAccess() {
        control(2, access: PITReg.accessLSB, mode: 0)
        pit.setGate(channel: 2, level: true)
        pit.write8(2, 0x40)
        XCTAssertEqual(pit.read8(2), 0x40)
        XCTAssertEqual(pit.read8(2), 0x40, "LSB-only reads never flip to the MSB")
        control(2, access: PITReg.accessMSB, mode: 0)
        pit.write8(2, 0x12)
        XCTAssertEqual(pit.currentCount(channel: 2), 0x1200)
        XCTAssertEqual(pit.read8(2), 0x12)
    }

    func testBCDCounting() {
        control(2, mode: 2, bcd: true)
        pit.setGate(channel: 2, level: true)
        load(2, 0x0100) // 100 decimal
        let t0 = time.clock.now
        advance(toTick: 30, from: t0)
        XCTAssertEqual(readCount(2), 0x0070)
        advance(toTick: 100, from: t0)
        XCTAssertEqual(readCount(2), 0x0100)
        // Count 0 in BCD is 10000.
        control(2, mode: 0, bcd: true)
        load(2, 0)
        let t1 = time.clock.now
        advance(toTick: 1, from: t1)
        XCTAssertEqual(readCount(2), 0x9999)
        advance(toTick: 9999, from: t1)
        XCTAssertFalse(pit.outputLevel(channel: 2))
        advance(toTick: 10000, from: t1)
        XCTAssertTrue(pit.outputLevel(channel: 2))
    }

    func testMode3SquareWave() {
        control(0, mode: 3)
        load(0, 10)
        let t0 = time.clock.now
        let before = recorder.risingEdges
        advance(toTick: 4, from: t0)
        XCTAssertTrue(recorder.level)
        XCTAssertEqual(pit.currentCount(channel: 0), 2)
        advance(toTick: 5, from: t0)
        XCTAssertFalse(recorder.level)
        XCTAssertEqual(pit.currentCount(channel: 0), 10)
        advance(toTick: 10, from: t0)
        XCTAssertTrue(recorder.level)
        advance(toTick: 100, from: t0)
        XCTAssertEqual(recorder.risingEdges - before, 10)
        // Odd count: high one clock longer than low.
        control(2, mode: 3)
        pit.setGate(channel: 2, level: true)
        load(2, 5)
        let t1 = time.clock.now
        advance(toTick: 2, from: t1)
        XCTAssertTrue(pit.outputLevel(channel: 2))
        advance(toTick: 3, from: t1)
        XCTAssertFalse(pit.outputLevel(channel: 2))
        advance(toTick: 5, from: t1)
        XCTAssertTrue(pit.outputLevel(channel: 2))
    }

    func testMode3GateLowForcesOutputHighAndRisingGateReloads() {
        control(2, mode: 3)
        pit.setGate(channel: 2, level: true)
        load(2, 100)
        let t0 = time.clock.now
        advance(toTick: 60, from: t0)
        XCTAssertFalse(pit.outputLevel(channel: 2))
        pit.setGate(channel: 2, level: false)
        XCTAssertTrue(pit.outputLevel(channel: 2))
        advance(toTick: 500, from: t0)
        XCTAssertTrue(pit.outputLevel(channel: 2))
        pit.setGate(channel: 2, level: true)
        XCTAssertEqual(pit.currentCount(channel: 2), 100, "reloaded by the rising gate")
        let t1 = time.clock.now
        advance(toTick: 50, from: t1)
        XCTAssertFalse(pit.outputLevel(channel: 2))
    }

    func testMode1HardwareRetriggerableOneShot() {
        control(2, mode: 1)
        load(2, 20)
        XCTAssertTrue(pit.outputLevel(channel: 2), "no trigger yet")
        pit.setGate(channel: 2, level: true)
        let t0 = time.clock.now
        XCTAssertFalse(pit.outputLevel(channel: 2))
        advance(toTick: 10, from: t0)
        XCTAssertEqual(readCount(2), 10)
        // Retrigger restarts the full count.
        pit.setGate(channel: 2, level: false)
        pit.setGate(channel: 2, level: true)
        let t1 = time.clock.now
        advance(toTick: 19, from: t1)
        XCTAssertFalse(pit.outputLevel(channel: 2))
        advance(toTick: 20, from: t1)
        XCTAssertTrue(pit.outputLevel(channel: 2))
    }

    func testMode4SoftwareStrobe() {
        control(0, mode: 4)
        XCTAssertTrue(recorder.level)
        load(0, 50)
        let t0 = time.clock.now
        let before = recorder.risingEdges
        advance(toTick: 49, from: t0)
        XCTAssertTrue(recorder.level)
        advance(toTick: 50, from: t0)
        XCTAssertFalse(recorder.level, "one-clock low strobe at terminal count")
        advance(toTick: 51, from: t0)
        XCTAssertTrue(recorder.level)
        XCTAssertEqual(recorder.risingEdges - before, 1)
        advance(toTick: 70_000, from: t0)
        XCTAssertEqual(recorder.risingEdges - before, 1, "strobes once")
    }

    func testMode5HardwareStrobe() {
        control(2, mode: 5)
        load(2, 8)
        let t0 = time.clock.now
        advance(toTick: 20, from: t0)
        XCTAssertTrue(pit.outputLevel(channel: 2), "waits for the gate")
        pit.setGate(channel: 2, level: true)
        let t1 = time.clock.now
        advance(toTick: 8, from: t1)
        XCTAssertFalse(pit.outputLevel(channel: 2))
        advance(toTick: 9, from: t1)
        XCTAssertTrue(pit.outputLevel(channel: 2))
    }

    func testModes6And7AliasModes2And3() {
        control(2, mode: 6)
        pit.write8(PITReg.control, 0xE0 | PITReg.readBackNoCount | PITReg.readBackCounter2)
        XCTAssertEqual((pit.read8(2) & PITReg.modeMask) >> 1, 6, "status shows the mode as written")
        XCTAssertEqual(pit.channels[2].mode, 2)
        control(2, mode: 7)
        XCTAssertEqual(pit.channels[2].mode, 3)
    }

    func testControlPortReadsAllOnes() {
        XCTAssertEqual(pit.read8(PITReg.control), 0xFF)
    }
}

extension PIT8254Tests {
    func testResetStopsCounter0() {
        control(0, mode: 2)
        load(0, 100)
        XCTAssertNotNil(time.timers.nextDeadline)
        pit.reset()
        XCTAssertNil(time.timers.nextDeadline)
        XCTAssertFalse(recorder.level)
        let edges = recorder.risingEdges
        time.advance(by: 10_000_000)
        XCTAssertEqual(recorder.risingEdges, edges)
    }
}
