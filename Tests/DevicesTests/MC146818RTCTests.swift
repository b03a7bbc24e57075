import XCTest
import MachineCore
@testable import Devices

final class MC146818RTCTests: XCTestCase {
    var time: VirtualTime!
    var recorder: IRQRecorder!
    var rtc: MC146818RTC!
    /// 2024-02-29 23:59:58.5 UTC (a Thursday, the last day of a leap February).
    let start: Int64 = 1_709_251_198 * 1_000_000_000 + 500_000_000

    override func setUp() {
        time = VirtualTime()
        recorder = IRQRecorder()
        rtc = MC146818RTC(irq: recorder.line(8), timers: time.timers, startEpochNanoseconds: start)
    }

    func reg(_ i: Int) -> UInt8 {
        rtc.write8(RTCReg.indexOffset, UInt8(i))
        return rtc.read8(RTCReg.dataOffset)
    }

    func setReg(_ i: Int, _ v: UInt8) {
        rtc.write8(RTCReg.indexOffset, UInt8(i))
        rtc.write8(RTCReg.dataOffset, v)
    }

    func clockBytes() -> [UInt8] {
        [RTCReg.seconds, RTCReg.minutes, RTCReg.hours, RTCReg.dayOfWeek, RTCReg.dayOfMonth,
         RTCReg.month, RTCReg.year, RTCReg.century].map(reg)
    }

    func testReadsHostTimeInBCDThroughBus() throws {
        let bus = PortIOBus()
        try rtc.attach(to: bus)
        bus.write(port: 0x70, size: 1, value: 0x00)
        XCTAssertEqual(bus.read(port: 0x71, size: 1), 0x58)
        bus.write(port: 0x70, size: 1, value: 0x80 | 0x04) // with NMI masked
        XCTAssertEqual(bus.read(port: 0x71, size: 1), 0x23)
        XCTAssertTrue(rtc.nmiMasked)
        XCTAssertEqual(bus.read(port: 0x70, size: 1), 0xFF, "index port is write-only")
        XCTAssertEqual(clockBytes(), [0x58, 0x59, 0x23, 5, 0x29, 0x02, 0x24, 0x20])
    }

    func testClockRollsOverIntoMarch() {
        time.advance(by: 1_600_000_000)
        XCTAssertEqual(clockBytes(), [0x00, 0x00, 0x00, 6, 0x01, 0x03, 0x24, 0x20])
    }

    func testBinaryMode() {
        setReg(RTCReg.regB, RTCReg.b24Hour | RTCReg.bDM)
        XCTAssertEqual(clockBytes(), [58, 59, 23, 5, 29, 2, 24, 20])
    }

    func testTwelveHourMode() {
        setReg(RTCReg.regB, 0) // BCD, 12-hour
        XCTAssertEqual(reg(RTCReg.hours), RTCReg.hoursPM | 0x11, "11 PM")
        time.advance(by: 2_000_000_000)
        XCTAssertEqual(reg(RTCReg.hours), 0x12, "midnight is 12 AM")
        // Setting 1 PM in 12-hour mode and reading back in 24-hour mode.
        setReg(RTCReg.hours, RTCReg.hoursPM | 0x01)
        setReg(RTCReg.regB, RTCReg.b24Hour)
        XCTAssertEqual(reg(RTCReg.hours), 0x13)
    }

    func testSETFreezesAndSetsTheClock() {
        setReg(RTCReg.regB, RTCReg.b24Hour | RTCReg.bSET)
        time.advance(by: 5_000_000_000)
        XCTAssertEqual(reg(RTCReg.seconds), 0x58, "frozen while SET")
        XCTAssertEqual(reg(RTCReg.regA) & RTCReg.aUIP, 0)
        // 2031-07-04 13:05:00
        for (i, v) in [(RTCReg.seconds, 0x00), (RTCReg.minutes, 0x05), (RTCReg.hours, 0x13),
                       (RTCReg.dayOfMonth, 0x04), (RTCReg.month, 0x07), (RTCReg.year, 0x31), (RTCReg.century, 0x20)] {
            setReg(i, UInt8(v))
        }
        setReg(RTCReg.regB, RTCReg.b24Hour)
        XCTAssertEqual(rtc.guestTime, 1_940_936_700)
        time.advance(by: 1_000_000_000)
        XCTAssertEqual(reg(RTCReg.seconds), 0x01)
        XCTAssertEqual(reg(RTCReg.dayOfWeek), 6, "weekday follows the date (a Friday)")
        XCTAssertEqual(rtc.guestTime, 1_940_936_701)
    }

    func testWritingAFieldWhileRunningMovesTheClock() {
        setReg(RTCReg.year, 0x25)
        XCTAssertEqual(reg(RTCReg.year), 0x25)
        XCTAssertEqual(reg(RTCReg.month), 0x03, "2025 has no Feb 29: rolls over arithmetically")
        time.advance(by: 3_000_000_000)
        XCTAssertEqual(reg(RTCReg.year), 0x25)
    }

    func testDividerResetFreezesTime() {
        setReg(RTCReg.regA, 0x70 | 0x06)
        time.advance(by: 3_000_000_000)
        XCTAssertEqual(reg(RTCReg.seconds), 0x58)
        setReg(RTCReg.regA, 0x26)
        time.advance(by: 1_000_000_000)
        XCTAssertEqual(reg(RTCReg.seconds), 0x59)
    }

    func testUpdateInProgressBit() {
        // Start is at .5 s into a second.
        XCTAssertEqual(reg(RTCReg.regA), 0x26)
        time.advance(by: 500_000_000 - 300_000)
        XCTAssertEqual(reg(RTCReg.regA) & RTCReg.aUIP, 0)
        time.advance(by: 100_000)
        XCTAssertEqual(reg(RTCReg.regA) & RTCReg.aUIP, RTCReg.aUIP, "within 244 µs of the update")
        XCTAssertEqual(reg(RTCReg.seconds), 0x58, "time not yet updated")
        time.advance(by: 200_000)
        XCTAssertEqual(reg(RTCReg.regA) & RTCReg.aUIP, 0)
        XCTAssertEqual(reg(RTCReg.seconds), 0x59)
        // UIP is read-only.
        setReg(RTCReg.regA, 0xA6)
        XCTAssertEqual(reg(RTCReg.regA) & 0x7F, 0x26)
    }

    func testPeriodicInterruptAt1024Hz() {
        setReg(RTCReg.regB, RTCReg.b24Hour | RTCReg.bPIE)
        XCTAssertFalse(recorder.level)
        var interrupts = 0
        // 10 ms in 100 µs steps, acknowledging each interrupt by reading register C.
        for _ in 0..<100 {
            time.advance(by: 100_000)
            if recorder.level {
                interrupts += 1
                XCTAssertEqual(reg(RTCReg.regC), RTCReg.cIRQF | RTCReg.cPF)
                XCTAssertFalse(recorder.level)
            }
        }
        XCTAssertEqual(interrupts, 10) // 10 ms * 1.024 kHz = 10.24
    }

    func testPeriodicRateSelect() {
        setReg(RTCReg.regA, 0x20 | 0x0F) // 2 Hz
        setReg(RTCReg.regB, RTCReg.b24Hour | RTCReg.bPIE)
        time.advance(by: 499_000_000)
        XCTAssertFalse(recorder.level)
        time.advance(by: 1_000_000)
        XCTAssertTrue(recorder.level)
        _ = reg(RTCReg.regC)
        setReg(RTCReg.regA, 0x20) // RS = 0: off
        time.advance(by: 2_000_000_000)
        XCTAssertFalse(recorder.level)
        XCTAssertEqual(reg(RTCReg.regC) & RTCReg.cPF, 0)
    }

    func testFlagsSetWithoutInterruptEnables() {
        time.advance(by: 1_000_000_000)
        XCTAssertFalse(recorder.level)
        // PF and UF are set even with PIE/UIE off, but IRQF is not.
        XCTAssertEqual(reg(RTCReg.regC), RTCReg.cPF | RTCReg.cUF)
        XCTAssertEqual(reg(RTCReg.regC), 0, "read clears")
    }

    func testUpdateEndedInterrupt() {
        setReg(RTCReg.regA, 0x20) // no periodic flag noise
        setReg(RTCReg.regB, RTCReg.b24Hour | RTCReg.bUIE)
        time.advance(by: 400_000_000)
        XCTAssertFalse(recorder.level)
        time.advance(by: 100_000_000)
        XCTAssertTrue(recorder.level)
        XCTAssertEqual(reg(RTCReg.regC), RTCReg.cIRQF | RTCReg.cUF)
        XCTAssertFalse(recorder.level)
        time.advance(by: 1_000_000_000)
        XCTAssertTrue(recorder.level, "once per second")
    }

    func testSETClearsUIE() {
        setReg(RTCReg.regB, RTCReg.b24Hour | RTCReg.bUIE | RTCReg.bSET)
        XCTAssertEqual(reg(RTCReg.regB) & RTCReg.bUIE, 0)
    }

    func testAlarmInterrupt() {
        setReg(RTCReg.regA, 0x20)
        setReg(RTCReg.secondsAlarm, 0x00)
        setReg(RTCReg.minutesAlarm, 0x00)
        setReg(RTCReg.hoursAlarm, 0x00)
        setReg(RTCReg.regB, RTCReg.b24Hour | RTCReg.bAIE)
        time.advance(by: 500_000_000, step: 100_000_000) // 23:59:59
        XCTAssertFalse(recorder.level)
        time.advance(by: 1_000_000_000, step: 100_000_000) // 00:00:00
        XCTAssertTrue(recorder.level)
        XCTAssertEqual(reg(RTCReg.regC), RTCReg.cIRQF | RTCReg.cAF | RTCReg.cUF)
    }

    func testAlarmDontCareMatchesEveryMinute() {
        setReg(RTCReg.regA, 0x20)
        setReg(RTCReg.secondsAlarm, 0x30)
        setReg(RTCReg.minutesAlarm, 0xC0)
        setReg(RTCReg.hoursAlarm, 0xFF)
        setReg(RTCReg.regB, RTCReg.b24Hour | RTCReg.bAIE)
        var alarmTimes: [UInt8] = []
        for _ in 0..<150 {
            time.advance(by: 1_000_000_000)
            if recorder.level {
                alarmTimes.append(reg(RTCReg.seconds))
                _ = reg(RTCReg.regC)
            }
        }
        XCTAssertEqual(alarmTimes, [0x30, 0x30])
    }

    func testAlarmFlagSeenLazilyAfterLongGap() {
        setReg(RTCReg.secondsAlarm, 0x10)
        setReg(RTCReg.minutesAlarm, 0x01)
        setReg(RTCReg.hoursAlarm, 0x00)
        time.clock.advance(by: 120_000_000_000) // no timers run: interrupts are off anyway
        XCTAssertEqual(reg(RTCReg.regC) & RTCReg.cAF, RTCReg.cAF)
    }

    func testRegisterDAndReadOnlyC() {
        XCTAssertEqual(reg(RTCReg.regD), RTCReg.dVRT)
        setReg(RTCReg.regD, 0x00)
        XCTAssertEqual(reg(RTCReg.regD), RTCReg.dVRT)
        setReg(RTCReg.regC, 0xFF)
        XCTAssertEqual(reg(RTCReg.regC), 0)
    }

    func testCMOSRAMBytes() {
        setReg(0x40, 0xA5)
        setReg(0x7F, 0x5A)
        XCTAssertEqual(reg(0x40), 0xA5)
        XCTAssertEqual(reg(0x7F), 0x5A)
        rtc.write8(RTCReg.indexOffset, 0xC0) // index 0x40 with the NMI mask bit
        XCTAssertEqual(rtc.read8(RTCReg.dataOffset), 0xA5)
    }

    func checksum() -> UInt16 {
        (0x10...0x2D).reduce(0) { $0 &+ UInt16(rtc.cmosByte($1)) }
    }

    func testMemorySize128M() {
        rtc.setMemorySize(bytes: 128 << 20)
        XCTAssertEqual([0x15, 0x16].map(reg), [0x80, 0x02])
        XCTAssertEqual([0x17, 0x18, 0x30, 0x31].map(reg), [0xFF, 0xFF, 0xFF, 0xFF], "127 MiB in KiB is capped")
        XCTAssertEqual([0x34, 0x35].map(reg), [0x00, 0x07], "112 MiB in 64 KiB units")
        XCTAssertEqual([0x5B, 0x5C, 0x5D].map(reg), [0, 0, 0])
        XCTAssertEqual(UInt16(reg(0x2E)) << 8 | UInt16(reg(0x2F)), checksum())
        XCTAssertNotEqual(checksum(), 0)
    }

    func testMemorySizeSmallAndLarge() {
        rtc.setMemorySize(bytes: 12 << 20)
        XCTAssertEqual([0x17, 0x18].map(reg), [0x00, 0x2C], "11 MiB = 11264 KiB")
        XCTAssertEqual([0x30, 0x31].map(reg), [0x00, 0x2C])
        XCTAssertEqual([0x34, 0x35].map(reg), [0, 0])

        rtc.setMemorySize(bytes: 8 << 30, pciHoleStart: 0xE000_0000)
        XCTAssertEqual([0x34, 0x35].map(reg), [0x00, 0xDF])
        XCTAssertEqual([0x5B, 0x5C, 0x5D].map(reg), [0x00, 0x20, 0x01], "4.5 GiB above 4 GiB")
        XCTAssertEqual(UInt16(reg(0x2E)) << 8 | UInt16(reg(0x2F)), checksum())
    }

    func testSetCMOSByteKeepsChecksum() {
        rtc.setCMOSByte(0x10, 0x40) // floppy type
        rtc.setCMOSByte(0x2D, 0x20)
        XCTAssertEqual(UInt16(reg(0x2E)) << 8 | UInt16(reg(0x2F)), 0x60)
    }

    func testCenturyByteIsComputedAndSettable() {
        XCTAssertEqual(reg(RTCReg.century), 0x20)
        setReg(RTCReg.century, 0x19)
        XCTAssertEqual(reg(RTCReg.year), 0x24)
        XCTAssertEqual(reg(RTCReg.century), 0x19)
    }

    func testHostTimeDefault() {
        let host = MC146818RTC(irq: .unconnected(8), timers: time.timers)
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        XCTAssertLessThan(abs(host.guestTime - Int64(ts.tv_sec)), 5)
    }
}
