import XCTest
import MachineCore
@testable import Devices

/// Saves a device driven into a non-default state, restores it into a fresh device, and checks
/// that the value round-trips and that the restored device answers the guest as the original.
/// Issue 14, "Device state as plain data".
func assertRestores<D: StatefulDevice>(_ original: D, into fresh: D, file: StaticString = #filePath, line: UInt = #line) throws {
    let saved = original.state
    XCTAssertNotEqual(saved, fresh.state, "the test must drive the device away from its power-on state", file: file, line: line)
    try fresh.restore(saved)
    XCTAssertEqual(fresh.state, saved, "state → restore → state gives the same value", file: file, line: line)
}

/// Checks that `restore` refuses `bad` and leaves the device as it was.
func assertRefuses<D: StatefulDevice>(_ device: D, _ bad: D.State, file: StaticString = #filePath, line: UInt = #line) {
    let before = device.state
    do {
        try device.restore(bad)
        XCTFail("restore accepted an impossible state", file: file, line: line)
    } catch {
        guard case .invalidDeviceState = error else {
            return XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }
    XCTAssertEqual(device.state, before, "a refused restore leaves the device unchanged", file: file, line: line)
}

final class DeviceStateTests: XCTestCase {
    // MARK: Small port devices

    func testPortDevicesRoundTrip() throws {
        let control = MachineControl()
        let port92 = FastA20Port92(control: control), port92b = FastA20Port92(control: control)
        var a20: [Bool] = []
        port92b.onA20Change = { a20.append($0) }
        port92.write8(0, 0x03 | 0x40)   // A20 on, fast reset (a stop request), a kept bit
        control.clear()
        try assertRestores(port92, into: port92b)
        XCTAssertEqual(port92b.read8(0), 0x43)
        XCTAssertEqual(a20, [true], "the restored A20 output is reported once")
        XCTAssertNil(control.stopReason, "putting bit 0 back is no 0→1 edge: no reset")
        port92b.write8(0, 0x42)
        port92b.write8(0, 0x43)
        XCTAssertEqual(control.stopReason, .reset, "after a restore the next edge of bit 0 resets, as on the original")

        let rc = PIIX3ResetControl(control: control), rc2 = PIIX3ResetControl(control: control)
        control.clear()
        rc.write8(0, PIIX3ResetControl.systemReset | PIIX3ResetControl.fullReset)
        try assertRestores(rc, into: rc2)
        XCTAssertEqual(rc2.read8(0), PIIX3ResetControl.systemReset | PIIX3ResetControl.fullReset)
        XCTAssertNil(control.stopReason)

        let apm = APMControlPorts(), apm2 = APMControlPorts()
        apm.write8(0, 0x5A)
        apm.write8(1, 0xA5)
        try assertRestores(apm, into: apm2)
        XCTAssertEqual(apm2.portRead(offset: 0, size: 2), 0xA55A)

        let post = POSTCodePort(), post2 = POSTCodePort()
        post.write8(0, 0x3C)
        try assertRestores(post, into: post2)
        XCTAssertEqual(post2.read8(0), 0x3C)

        let pci = PCIConfigMechanism1(bus: PCIBus()), pci2 = PCIConfigMechanism1(bus: PCIBus())
        pci.portWrite(offset: 0, size: 4, value: 0x8000_0810)
        try assertRestores(pci, into: pci2)
        XCTAssertEqual(pci2.portRead(offset: 0, size: 4), 0x8000_0810)
    }

    func testCoprocessorErrorLatchRoundTrip() throws {
        let irq = IRQRecorder(), irq2 = IRQRecorder()
        let fpu = CoprocessorErrorPort(irq: irq.line(13)), fpu2 = CoprocessorErrorPort(irq: irq2.line(13))
        fpu.setFERR(true)
        try assertRestores(fpu, into: fpu2)
        XCTAssertTrue(irq2.level, "the restored latch drives IRQ13")
        fpu2.write8(0, 0)
        XCTAssertFalse(irq2.level, "and a write to 0xF0 clears it as on the original")
    }

    func testACPIRegistersRoundTrip() throws {
        let control = MachineControl()
        let events = ACPIPMEventBlock(), events2 = ACPIPMEventBlock()
        let power = ACPIPowerControl(control: control, events: events)
        let power2 = ACPIPowerControl(control: control, events: events2)
        power.portWrite(offset: 0, size: 2, value: UInt32(ACPIPowerControl.sleepEnable | 1 << ACPIPowerControl.sleepTypeShift
                                                           | ACPIPowerControl.globalRelease))
        events.portWrite(offset: 2, size: 2, value: 0x0121)
        XCTAssertNil(control.stopReason, "S3 is refused, not a power-off")
        try assertRestores(events, into: events2)
        try assertRestores(power, into: power2)
        XCTAssertEqual(events2.portRead(offset: 0, size: 4), UInt32(ACPIPMEventBlock.wakeStatus) | 0x0121 << 16)
        XCTAssertEqual(power2.portRead(offset: 0, size: 2), UInt32(1 << ACPIPowerControl.sleepTypeShift | ACPIPowerControl.globalRelease))
        events2.portWrite(offset: 0, size: 2, value: UInt32(ACPIPMEventBlock.wakeStatus))
        XCTAssertEqual(events2.portRead(offset: 0, size: 2), 0, "WAK_STS is write-1-to-clear after a restore too")
        assertRefuses(power2, ACPIPowerControl.State(value: ACPIPowerControl.sleepEnable))
    }

    func testPortDeviceRefusals() {
        let control = MachineControl()
        assertRefuses(PIIX3ResetControl(control: control), .init(value: 0x10))
        assertRefuses(PCIConfigMechanism1(bus: PCIBus()), .init(configAddress: 0x8000_0001))
        let time = VirtualTime()
        assertRefuses(SystemControlPortB(pit: PIT8254(irq: .unconnected(), timers: time.timers)), .init(control: 0x20))
    }

    func testPortBRoundTripMovesCounter2Gate() throws {
        let time = VirtualTime()
        let pit = PIT8254(irq: .unconnected(), timers: time.timers), pit2 = PIT8254(irq: .unconnected(), timers: time.timers)
        let portB = SystemControlPortB(pit: pit), portB2 = SystemControlPortB(pit: pit2)
        var speaker: [Bool] = []
        portB2.onSpeakerChange = { speaker.append($0) }
        portB.write8(0, SystemControlPortB.timer2Gate | SystemControlPortB.speakerEnable | SystemControlPortB.channelCheckDisable)
        try assertRestores(portB, into: portB2)
        XCTAssertTrue(pit2.gate(channel: 2), "counter 2's gate is the wire bit 0 drives")
        XCTAssertEqual(speaker, [true])
        XCTAssertEqual(portB2.read8(0) & SystemControlPortB.writableBits, 0x0B)
    }

    // MARK: UART

    func testSerialRoundTripKeepsFIFOAndTimeout() throws {
        let time = VirtualTime()
        let irq = IRQRecorder(), irq2 = IRQRecorder()
        let uart = Serial16550(irq: irq.line(4), timers: time.timers, backend: BufferSerialBackend())
        let uart2 = Serial16550(irq: irq2.line(4), timers: time.timers, backend: BufferSerialBackend())
        uart.write8(UART.lcr, UART.lcrDLAB)
        uart.write8(UART.dll, 0x03)
        uart.write8(UART.dlm, 0x00)
        uart.write8(UART.lcr, 0x03)
        uart.write8(UART.fcr, UART.fcrEnable | 0xC0)       // FIFO, trigger level 14
        uart.write8(UART.mcr, UART.mcrDTR | UART.mcrRTS | UART.mcrOUT2)
        uart.write8(UART.ier, UART.ierRxData | UART.ierLineStatus)
        uart.write8(UART.scr, 0x5A)
        uart.receive([0x31, 0x32, 0x33])
        XCTAssertFalse(irq.level, "three bytes are below the trigger level")
        try assertRestores(uart, into: uart2)
        XCTAssertEqual(uart2.read8(UART.scr), 0x5A)
        XCTAssertEqual(uart2.read8(UART.ier), UART.ierRxData | UART.ierLineStatus)
        XCTAssertEqual(uart2.read8(UART.iir), uart.read8(UART.iir))
        // The character timeout was armed by the original: the restored one fires it too.
        time.advance(by: 10_000_000)
        XCTAssertTrue(irq2.level, "the restored UART re-armed its character timeout")
        XCTAssertEqual(uart2.read8(UART.iir), UART.iirCharTimeout | UART.iirFIFOEnabled)
        XCTAssertEqual([uart2.read8(UART.rbr), uart2.read8(UART.rbr), uart2.read8(UART.rbr)], [0x31, 0x32, 0x33])
        XCTAssertEqual(uart2.read8(UART.lsr) & UART.lsrDataReady, 0)
        uart2.write8(UART.lcr, 0x83)
        XCTAssertEqual(uart2.read8(UART.dll), 0x03, "the divisor latch came back")
    }

    func testSerialRefusesAnOverlongFIFO() {
        let time = VirtualTime()
        let uart = Serial16550(irq: .unconnected(), timers: time.timers, backend: BufferSerialBackend())
        var bad = uart.state
        bad.fifoEnabled = true
        bad.receiveFIFO = [UInt8](repeating: 0x41, count: UART.fifoDepth + 1)
        assertRefuses(uart, bad)
        var noFIFO = uart.state
        noFIFO.receiveFIFO = [1, 2]
        assertRefuses(uart, noFIFO)
        var trigger = uart.state
        trigger.triggerLevel = 3
        assertRefuses(uart, trigger)
    }

    // MARK: RTC

    func testRTCRoundTripKeepsTimeCMOSAndPeriodicInterrupt() throws {
        let time = VirtualTime()
        let start: Int64 = 1_709_251_198 * 1_000_000_000
        let irq = IRQRecorder(), irq2 = IRQRecorder()
        let rtc = MC146818RTC(irq: irq.line(8), timers: time.timers, startEpochNanoseconds: start)
        let rtc2 = MC146818RTC(irq: irq2.line(8), timers: time.timers, startEpochNanoseconds: 0)
        func set(_ r: MC146818RTC, _ i: Int, _ v: UInt8) { r.write8(0, UInt8(i)); r.write8(1, v) }
        func get(_ r: MC146818RTC, _ i: Int) -> UInt8 { r.write8(0, UInt8(i)); return r.read8(1) }
        set(rtc, RTCReg.minutes, 0x42)                 // the guest moves its clock
        set(rtc, 0x40, 0x99)                           // a CMOS RAM byte
        set(rtc, RTCReg.regB, RTCReg.b24Hour | RTCReg.bPIE)
        rtc.write8(0, 0x80 | UInt8(RTCReg.regA))        // NMI masked, index register A
        try assertRestores(rtc, into: rtc2)
        XCTAssertTrue(rtc2.nmiMasked)
        XCTAssertEqual(rtc2.read8(1), get(rtc, RTCReg.regA) & ~RTCReg.aUIP, "index latch restored: data reads register A")
        XCTAssertEqual(get(rtc2, RTCReg.minutes), get(rtc, RTCReg.minutes))
        XCTAssertEqual(get(rtc2, RTCReg.hours), get(rtc, RTCReg.hours))
        XCTAssertEqual(get(rtc2, 0x40), 0x99)
        XCTAssertEqual(rtc2.guestTime, rtc.guestTime)
        // The periodic interrupt (1024 Hz) was armed from register B: the restored RTC raises IRQ8.
        time.advance(by: 2_000_000)
        XCTAssertTrue(irq2.level, "periodic timer re-armed")
        XCTAssertEqual(get(rtc2, RTCReg.regC) & (RTCReg.cIRQF | RTCReg.cPF), RTCReg.cIRQF | RTCReg.cPF)
    }

    func testRTCRefusals() {
        let time = VirtualTime()
        let rtc = MC146818RTC(irq: .unconnected(), timers: time.timers, startEpochNanoseconds: 0)
        var short = rtc.state
        short.cmos.removeLast()
        assertRefuses(rtc, short)
        var index = rtc.state
        index.index = 0x80
        assertRefuses(rtc, index)
        var flags = rtc.state
        flags.flags = RTCReg.cIRQF
        assertRefuses(rtc, flags)
    }

    // MARK: PIC

    func testPICRoundTripKeepsInitialisationMasksAndINTR() throws {
        let pic = DualPIC8259(), pic2 = DualPIC8259()
        // The BIOS's initialisation: vectors 0x08 and 0x70, cascade on IR2, 8086 mode.
        for (port, value) in [(0x00, 0x11), (0x01, 0x08), (0x01, 0x04), (0x01, 0x01),
                              (0x80, 0x11), (0x81, 0x70), (0x81, 0x02), (0x81, 0x01)] as [(UInt16, UInt8)] {
            pic.write8(port, value)
        }
        pic.write8(0x01, 0xB8)                         // mask IRQ3-5, 7
        pic.write8(DualPIC8259.elcrOffset + 1, 0x0C)    // IRQ10, 11 level
        pic.setIRQ(0, level: true)
        XCTAssertEqual(pic.acknowledge(), 0x08)         // IRQ0 in service
        pic.setIRQ(1, level: true)                      // pending behind it
        pic.setIRQ(10, level: true)
        pic.write8(0x00, PIC.ocw3Select | PIC.ocw3ReadRegister | PIC.ocw3ReadISR)
        try assertRestores(pic, into: pic2)
        XCTAssertEqual(pic2.interruptOutput, pic.interruptOutput)
        XCTAssertEqual(pic2.read8(0x01), 0xB8)
        XCTAssertEqual(pic2.read8(0x00), 0x01, "OCW3 read-ISR selection came back: ISR shows IRQ0")
        XCTAssertEqual(pic2.read8(DualPIC8259.elcrOffset + 1), 0x0C)
        pic2.write8(0x00, PIC.ocw2NonSpecificEOI)
        pic.write8(0x00, PIC.ocw2NonSpecificEOI)
        XCTAssertTrue(pic2.interruptOutput, "with IRQ0 ended, the pending IRQ1 raises INTR")
        XCTAssertEqual(pic2.acknowledge(), pic.acknowledge(), "the next INTA gives the same vector (IRQ1, 0x09)")
        pic2.write8(0x00, PIC.ocw2NonSpecificEOI)
        XCTAssertEqual(pic2.acknowledge(), 0x72, "then the level-triggered IRQ10 through the slave's vector base")
    }

    func testPICRestoreRaisesINTRForAPendingRequest() throws {
        let pic = DualPIC8259(), pic2 = DualPIC8259()
        var intr: [Bool] = []
        pic2.onInterruptOutputChange = { intr.append($0) }
        for (port, value) in [(0x00, 0x11), (0x01, 0x20), (0x01, 0x04), (0x01, 0x01)] as [(UInt16, UInt8)] {
            pic.write8(port, value)
        }
        pic.setIRQ(4, level: true)
        XCTAssertTrue(pic.interruptOutput)
        try assertRestores(pic, into: pic2)
        XCTAssertTrue(pic2.interruptOutput, "INTR follows the restored request")
        XCTAssertEqual(intr, [true], "and the CPU side is told")
        XCTAssertEqual(pic2.acknowledge(), 0x24)
    }

    func testPICRefusals() {
        let pic = DualPIC8259()
        var step = pic.state
        step.master.initStep = 1
        assertRefuses(pic, step)
        var elcr = pic.state
        elcr.master.elcr = 0x01                         // IRQ0 is edge-only on PIIX
        assertRefuses(pic, elcr)
        var priority = pic.state
        priority.slave.highestPriority = 8
        assertRefuses(pic, priority)
    }

    // MARK: PIT

    func testPITRoundTripKeepsCountingAndIRQ0() throws {
        let time = VirtualTime()
        let irq = IRQRecorder(), irq2 = IRQRecorder()
        let pit = PIT8254(irq: irq.line(0), timers: time.timers)
        let pit2 = PIT8254(irq: irq2.line(0), timers: time.timers)
        pit.write8(PITReg.control, 0x34)                // counter 0, LSB/MSB, mode 2
        pit.write8(0, 0x9C)
        pit.write8(0, 0x2E)                             // 11932: 100 Hz
        pit.write8(PITReg.control, 0xB6)                // counter 2, mode 3
        pit.write8(2, 0x00)                             // first byte only: the write is half done
        time.advance(by: 3_000_000)
        pit.write8(PITReg.control, 0x00)                // latch counter 0
        try assertRestores(pit, into: pit2)
        XCTAssertEqual(pit2.read8(0), pit.read8(0), "latched count, low byte")
        XCTAssertEqual(pit2.read8(0), pit.read8(0), "latched count, high byte")
        XCTAssertEqual(pit2.currentCount(channel: 0), pit.currentCount(channel: 0))
        pit2.write8(2, 0x10)
        pit.write8(2, 0x10)
        XCTAssertEqual(pit2.currentCount(channel: 2), pit.currentCount(channel: 2), "the pending LSB completed the count")
        // Counter 0's timer was re-armed: IRQ0 rises on the restored PIT as on the original.
        let edges = irq2.risingEdges
        time.advance(by: 10_000_000)
        XCTAssertEqual(irq2.risingEdges - edges, 1, "one period, one IRQ0 edge")
    }

    func testPITRefusals() {
        let time = VirtualTime()
        let pit = PIT8254(irq: .unconnected(), timers: time.timers)
        var counters = pit.state
        counters.counters.removeLast()
        assertRefuses(pit, counters)
        var access = pit.state
        access.counters[1].access = PITReg.accessLatch
        assertRefuses(pit, access)
        var count = pit.state
        count.counters[0].bcd = true
        count.counters[0].period = 20_000
        assertRefuses(pit, count)
    }
}
