import XCTest
import MachineCore
@testable import Devices

/// The local APIC and IOAPIC models (SDM Vol. 3A ch. 11; 82093AA datasheet).
final class LocalAPICTests: XCTestCase {
    var time: VirtualTime!
    var apic: LocalAPIC!

    override func setUp() {
        time = VirtualTime()
        apic = LocalAPIC(timers: time.timers)
        write(LAPICReg.svr, 0x1FF)  // software enable, spurious vector 0xFF
    }

    func read(_ r: UInt64) -> UInt32 { UInt32(apic.mmioRead(offset: r, size: 4)) }
    func write(_ r: UInt64, _ v: UInt32) { apic.mmioWrite(offset: r, size: 4, value: UInt64(v)) }

    func testResetStateIsVirtualWireWithTheLegacyPICPassedThrough() {
        let fresh = LocalAPIC(timers: time.timers)
        XCTAssertEqual(fresh.mmioRead(offset: LAPICReg.version, size: 4), UInt64(LocalAPIC.versionValue))
        XCTAssertEqual(fresh.mmioRead(offset: LAPICReg.svr, size: 4), 0xFF)
        XCTAssertEqual(fresh.mmioRead(offset: LAPICReg.lvtLINT0, size: 4), 0x700, "LINT0: ExtINT, unmasked")
        XCTAssertEqual(fresh.mmioRead(offset: LAPICReg.lvtTimer, size: 4), UInt64(LVT.masked))
        var picRequest = false
        fresh.extINTRequested = { picRequest }
        fresh.extINTAcknowledge = { 0x08 }
        XCTAssertFalse(fresh.interruptRequested)
        picRequest = true
        XCTAssertTrue(fresh.interruptRequested)
        XCTAssertEqual(fresh.acknowledge(), 0x08)
    }

    func testPriorityOrderAndEOI() {
        apic.acceptInterrupt(vector: 0x31, levelTriggered: false)
        apic.acceptInterrupt(vector: 0x52, levelTriggered: false)
        XCTAssertTrue(apic.interruptRequested)
        XCTAssertEqual(apic.acknowledge(), 0x52, "the highest vector first")
        // 0x31 is in a lower priority class than the in-service 0x52: held until EOI.
        XCTAssertFalse(apic.interruptRequested)
        XCTAssertEqual(read(LAPICReg.ppr), 0x50)
        XCTAssertEqual(read(LAPICReg.isrBase + 0x20), 1 << (0x52 - 0x40), "ISR word 2 holds vector 0x52")
        write(LAPICReg.eoi, 0)
        XCTAssertTrue(apic.interruptRequested)
        XCTAssertEqual(apic.acknowledge(), 0x31)
    }

    func testTaskPriorityHoldsLowerClasses() {
        write(LAPICReg.tpr, 0x40)
        apic.acceptInterrupt(vector: 0x45, levelTriggered: false)
        XCTAssertFalse(apic.interruptRequested, "class 4 is not above TPR class 4")
        apic.acceptInterrupt(vector: 0x51, levelTriggered: false)
        XCTAssertEqual(apic.acknowledge(), 0x51)
        write(LAPICReg.tpr, 0)
        write(LAPICReg.eoi, 0)
        XCTAssertEqual(apic.acknowledge(), 0x45)
    }

    func testLevelTriggeredEOIReachesTheIOAPIC() {
        var eoiVectors: [UInt8] = []
        apic.onLevelEOI = { eoiVectors.append($0) }
        apic.acceptInterrupt(vector: 0x61, levelTriggered: true)
        XCTAssertEqual(read(LAPICReg.tmrBase + 0x30), 1 << 1)
        _ = apic.acknowledge()
        write(LAPICReg.eoi, 0)
        XCTAssertEqual(eoiVectors, [0x61])
    }

    func testOneShotTimerCountsDownAndInterruptsOnce() {
        write(LAPICReg.timerDivide, 0x3)              // divide by 16
        write(LAPICReg.lvtTimer, 0x40)                // one-shot, vector 0x40
        write(LAPICReg.timerInitialCount, 1000)       // 16 us at 1 GHz / 16
        time.advance(by: 8_000)
        XCTAssertEqual(read(LAPICReg.timerCurrentCount), 500)
        XCTAssertFalse(apic.interruptRequested)
        time.advance(by: 8_000)
        XCTAssertEqual(read(LAPICReg.timerCurrentCount), 0)
        XCTAssertEqual(apic.acknowledge(), 0x40)
        write(LAPICReg.eoi, 0)
        time.advance(by: 100_000)
        XCTAssertFalse(apic.interruptRequested, "one-shot: no second interrupt")
    }

    func testPeriodicTimerReloads() {
        write(LAPICReg.timerDivide, 0xB)              // divide by 1
        write(LAPICReg.lvtTimer, 0x2_0041)            // periodic, vector 0x41
        write(LAPICReg.timerInitialCount, 10_000)     // 10 us
        var count = 0
        for _ in 0..<5 {
            time.advance(by: 10_000)
            if apic.interruptRequested {
                XCTAssertEqual(apic.acknowledge(), 0x41)
                write(LAPICReg.eoi, 0)
                count += 1
            }
        }
        XCTAssertEqual(count, 5)
    }

    func testTSCDeadlineFiresWhenTheTSCReachesIt() {
        var tsc: UInt64 = 1_000_000
        apic.tscKHz = 1_000_000                       // 1 GHz: one tick per ns
        apic.currentTSC = { tsc }
        write(LAPICReg.lvtTimer, 0x4_0042)            // TSC-deadline, vector 0x42
        write(LAPICReg.timerInitialCount, 5)          // ignored in this mode
        XCTAssertEqual(read(LAPICReg.timerInitialCount), 0)
        apic.writeTSCDeadline(tsc + 50_000)
        time.advance(by: 49_000)
        XCTAssertFalse(apic.interruptRequested)
        tsc += 50_000
        time.advance(by: 1_000)
        XCTAssertEqual(apic.acknowledge(), 0x42)
        XCTAssertEqual(apic.tscDeadline, 0, "the deadline clears when it fires")
    }

    func testX2APICModeMovesRegistersToMSRs() {
        XCTAssertNil(apic.readMSR(0x803), "no x2APIC MSRs in xAPIC mode")
        XCTAssertFalse(apic.writeBaseMSR(LocalAPIC.defaultBase | APICBase.x2APICEnable), "EXTD without EN is invalid")
        XCTAssertTrue(apic.writeBaseMSR(LocalAPIC.defaultBase | APICBase.globalEnable | APICBase.x2APICEnable | APICBase.bsp))
        XCTAssertEqual(apic.readMSR(0x802), 0, "x2APIC ID")
        XCTAssertEqual(apic.readMSR(0x803), UInt64(LocalAPIC.versionValue))
        XCTAssertEqual(apic.readMSR(0x80D), 1, "logical ID of APIC 0: cluster 0, bit 0")
        XCTAssertTrue(apic.writeMSR(0x83F, 0x77), "self IPI")
        XCTAssertEqual(apic.acknowledge(), 0x77)
        XCTAssertTrue(apic.writeMSR(0x80B, 0), "EOI")
        XCTAssertFalse(apic.writeMSR(0x80B, 1), "EOI with a non-zero value is #GP")
        XCTAssertEqual(apic.mmioRead(offset: LAPICReg.version, size: 4), 0, "the MMIO page is off in x2APIC mode")
    }

    func testFixedSelfIPIThroughTheICR() {
        write(LAPICReg.icrHigh, 0)
        write(LAPICReg.icrLow, 0x4_0055)              // shorthand self, fixed, vector 0x55
        XCTAssertEqual(apic.acknowledge(), 0x55)
    }
}

final class IOAPICTests: XCTestCase {
    var ioapic: IOAPIC!
    var delivered: [(UInt8, Bool)] = []

    override func setUp() {
        ioapic = IOAPIC()
        delivered = []
        ioapic.deliver = { [unowned self] vector, level, destination, logical in
            guard destination == 0, !logical else { return false }
            delivered.append((vector, level))
            return true
        }
    }

    func writeEntry(_ pin: Int, _ value: UInt64) {
        ioapic.mmioWrite(offset: IOAPICReg.select, size: 4, value: UInt64(0x10 + 2 * pin))
        ioapic.mmioWrite(offset: IOAPICReg.window, size: 4, value: value & 0xFFFF_FFFF)
        ioapic.mmioWrite(offset: IOAPICReg.select, size: 4, value: UInt64(0x11 + 2 * pin))
        ioapic.mmioWrite(offset: IOAPICReg.window, size: 4, value: value >> 32)
    }

    func testVersionAndMaskedReset() {
        ioapic.mmioWrite(offset: IOAPICReg.select, size: 4, value: 1)
        XCTAssertEqual(ioapic.mmioRead(offset: IOAPICReg.window, size: 4), 0x17_0020)
        ioapic.setLevel(pin: 4, true)
        XCTAssertTrue(delivered.isEmpty, "entries start masked")
    }

    func testEdgeTriggeredSendsOnTheRisingEdgeOnly() {
        writeEntry(2, 0x30)
        ioapic.setLevel(pin: 2, true)
        ioapic.setLevel(pin: 2, true)
        ioapic.setLevel(pin: 2, false)
        ioapic.setLevel(pin: 2, true)
        XCTAssertEqual(delivered.map(\.0), [0x30, 0x30])
    }

    func testLevelTriggeredWaitsForEOIAndResendsWhileAsserted() {
        writeEntry(9, 0x39 | IOAPICRedirection.levelTriggered)
        ioapic.setLevel(pin: 9, true)
        XCTAssertEqual(delivered.count, 1)
        XCTAssertNotEqual(ioapic.redirection(9) & IOAPICRedirection.remoteIRR, 0)
        ioapic.setLevel(pin: 9, true)
        XCTAssertEqual(delivered.count, 1, "remote IRR holds it")
        ioapic.endOfInterrupt(vector: 0x39)
        XCTAssertEqual(delivered.count, 2, "still asserted after EOI: sent again")
        ioapic.setLevel(pin: 9, false)
        ioapic.endOfInterrupt(vector: 0x39)
        XCTAssertEqual(delivered.count, 2)
        XCTAssertEqual(ioapic.redirection(9) & IOAPICRedirection.remoteIRR, 0)
    }

    func testDestinationIsHonoured() {
        writeEntry(5, 0x35 | (UInt64(3) << IOAPICRedirection.destinationShift))
        ioapic.setLevel(pin: 5, true)
        XCTAssertTrue(delivered.isEmpty, "APIC 3 does not exist")
    }
}

final class ACPIPMTimerTests: XCTestCase {
    func testCountsAt3579545Hz() {
        let time = VirtualTime()
        let timer = ACPIPMTimer(clock: time.clock)
        let start = timer.portRead(offset: 0, size: 4)
        time.advance(by: 1_000_000_000)
        let end = timer.portRead(offset: 0, size: 4)
        XCTAssertEqual(end &- start, 3_579_545)
    }

    func testEventBlockStatusIsWriteOneToClearAndEnableIsStored() {
        let block = ACPIPMEventBlock()
        block.portWrite(offset: 2, size: 2, value: 0x0120)
        XCTAssertEqual(block.portRead(offset: 0, size: 4), 0x0120_0000)
        block.portWrite(offset: 0, size: 2, value: 0xFFFF)
        XCTAssertEqual(block.status, 0)
    }
}
