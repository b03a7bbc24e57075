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

    // MARK: IPIs to itself by delivery mode and shorthand (SDM Vol. 3A §11.6.1)

    func testSelfNMIThroughTheICRBecomesPendingAndSignalsTheCPU() {
        var signals = 0
        apic.onSelfIPI = { signals += 1 }
        // Shorthand self, NMI; all including self; and the destination field naming APIC 0.
        for (high, low): (UInt32, UInt32) in [(0, 0x4_0400), (0, 0x8_0400), (0, 0x0400)] {
            write(LAPICReg.icrHigh, high)
            write(LAPICReg.icrLow, low)
            XCTAssertTrue(apic.takeNMI(), "NMI IPI \(String(low, radix: 16)) reaches this APIC")
            XCTAssertFalse(apic.takeNMI(), "taken once")
        }
        XCTAssertEqual(signals, 3)
        XCTAssertFalse(apic.interruptRequested, "an NMI sets no IRR bit")
        write(LAPICReg.icrLow, 0xC_0400)              // all excluding self: nobody else here
        write(LAPICReg.icrHigh, 0x0100_0000)
        write(LAPICReg.icrLow, 0x0400)                // APIC 1: not this one
        XCTAssertFalse(apic.takeNMI())
        XCTAssertEqual(signals, 3)
    }

    func testSelfNMIInX2APICMode() {
        XCTAssertTrue(apic.writeBaseMSR(LocalAPIC.defaultBase | APICBase.globalEnable | APICBase.x2APICEnable))
        XCTAssertTrue(apic.writeMSR(0x830, 0x4_0400))
        XCTAssertTrue(apic.takeNMI())
        XCTAssertTrue(apic.writeMSR(0x830, 0x0000_0000_0000_0400), "x2APIC destination 0 is this APIC")
        XCTAssertTrue(apic.takeNMI())
    }

    func testOtherDeliveryModesToSelf() {
        var signals = 0
        apic.onSelfIPI = { signals += 1 }
        write(LAPICReg.icrLow, 0x8_0066)              // all including self, fixed
        XCTAssertEqual(apic.acknowledge(), 0x66)
        write(LAPICReg.eoi, 0)
        write(LAPICReg.icrLow, 0x4_0167)              // self, lowest priority: the only candidate
        XCTAssertEqual(apic.acknowledge(), 0x67)
        write(LAPICReg.eoi, 0)
        write(LAPICReg.icrLow, 0xC_0068)              // all excluding self, fixed: nobody
        XCTAssertFalse(apic.interruptRequested)
        XCTAssertEqual(signals, 2)
        // SMI (no SMM here), INIT, start-up and ExtINT to itself deliver nothing.
        for mode: UInt32 in [2, 5, 6, 7] {
            write(LAPICReg.icrLow, 0x0069 | mode << 8)
            XCTAssertFalse(apic.interruptRequested, "mode \(mode)")
            XCTAssertFalse(apic.takeNMI(), "mode \(mode)")
        }
        XCTAssertEqual(signals, 2)
        // A fixed vector below 16 is illegal: ESR bits 5 and 6, nothing delivered.
        write(LAPICReg.icrLow, 0x4_0005)
        XCTAssertFalse(apic.interruptRequested)
        XCTAssertEqual(read(LAPICReg.esr) & 0x60, 0x60, "send and receive illegal vector")
    }

    // MARK: x2APIC MSR rules (SDM Vol. 3A §11.12.1.2, Table 11-6; §11.12.1.3)

    func enterX2APIC() {
        XCTAssertTrue(apic.writeBaseMSR(LocalAPIC.defaultBase | APICBase.globalEnable | APICBase.x2APICEnable | APICBase.bsp))
    }

    func testLVTCMCIIsNotThereWithSixLVTEntries() {
        XCTAssertEqual((LocalAPIC.versionValue >> 16) & 0xFF, 5, "the version reports six LVT entries")
        enterX2APIC()
        XCTAssertNil(apic.readMSR(0x82F), "RDMSR LVT CMCI: #GP")
        XCTAssertFalse(apic.writeMSR(0x82F, 0x1_0000), "WRMSR LVT CMCI: #GP")
        XCTAssertNotNil(apic.readMSR(0x837), "LVT error is there")
    }

    func testSelfIPIReservedBitsAndWriteOnlyRegisters() {
        enterX2APIC()
        XCTAssertFalse(apic.writeMSR(0x83F, 0x155), "SELF IPI bits 31:8 reserved")
        XCTAssertFalse(apic.writeMSR(0x83F, 1 << 40 | 0x55), "SELF IPI bits 63:32 reserved")
        XCTAssertFalse(apic.interruptRequested)
        XCTAssertNil(apic.readMSR(0x83F), "SELF IPI is write-only")
        XCTAssertNil(apic.readMSR(0x80B), "EOI is write-only")
        XCTAssertFalse(apic.writeMSR(0x80B, 0x100), "EOI takes only 0")
        XCTAssertTrue(apic.writeMSR(0x828, 0))
        XCTAssertFalse(apic.writeMSR(0x828, 1), "ESR takes only 0")
    }

    func testReadOnlyAndMissingX2APICRegistersFault() {
        enterX2APIC()
        for msr: UInt32 in [0x802, 0x803, 0x80A, 0x80D, 0x810, 0x818, 0x820, 0x839] {
            XCTAssertNotNil(apic.readMSR(msr), "\(String(msr, radix: 16)) is readable")
            XCTAssertFalse(apic.writeMSR(msr, 0), "\(String(msr, radix: 16)) is read-only")
        }
        // APR, RRD, DFR, ICR high and the unassigned addresses do not exist in x2APIC mode.
        for msr: UInt32 in [0x800, 0x801, 0x804, 0x809, 0x80C, 0x80E, 0x831, 0x83D, 0x840, 0x8FF] {
            XCTAssertNil(apic.readMSR(msr), String(msr, radix: 16))
            XCTAssertFalse(apic.writeMSR(msr, 0), String(msr, radix: 16))
        }
    }

    func testX2APICReservedBitsFault() {
        enterX2APIC()
        XCTAssertFalse(apic.writeMSR(0x808, 0x100), "TPR bits 31:8")
        XCTAssertFalse(apic.writeMSR(0x808, 1 << 32), "bits 63:32 of a 32-bit register")
        XCTAssertTrue(apic.writeMSR(0x808, 0x20))
        XCTAssertFalse(apic.writeMSR(0x80F, 0x8000), "SVR bit 15")
        XCTAssertFalse(apic.writeMSR(0x83E, 0x10), "divide configuration bit 4")
        XCTAssertFalse(apic.writeMSR(0x832, 0x8_0000), "LVT timer bit 19")
        XCTAssertTrue(apic.writeMSR(0x835, UInt64(0x1_5700 | LVT.deliveryStatus)), "LINT0 as read back (status bits) is accepted")
        XCTAssertFalse(apic.writeMSR(0x830, 1 << 13 | 0x4_0055), "ICR bit 13")
        XCTAssertFalse(apic.writeMSR(0x830, 1 << 12 | 0x4_0055), "ICR delivery status is not there in x2APIC mode")
        XCTAssertFalse(apic.interruptRequested)
        XCTAssertTrue(apic.writeMSR(0x830, 0x4_0055))
        XCTAssertEqual(apic.acknowledge(), 0x55)
    }

    // MARK: IA32_APIC_BASE (SDM Vol. 3A §11.4.4, §11.12.5 Figure 11-27)

    func testAPICBaseModeTransitions() {
        let base = LocalAPIC.defaultBase | APICBase.bsp
        let xAPIC = base | APICBase.globalEnable, x2APIC = xAPIC | APICBase.x2APICEnable
        XCTAssertTrue(apic.writeBaseMSR(x2APIC), "xAPIC -> x2APIC")
        XCTAssertFalse(apic.writeBaseMSR(xAPIC), "x2APIC -> xAPIC directly is invalid")
        XCTAssertTrue(apic.x2APICMode)
        XCTAssertTrue(apic.writeBaseMSR(base), "x2APIC -> disabled")
        XCTAssertFalse(apic.writeBaseMSR(x2APIC), "disabled -> x2APIC directly is invalid")
        XCTAssertFalse(apic.globallyEnabled)
        XCTAssertTrue(apic.writeBaseMSR(xAPIC), "disabled -> xAPIC")
        XCTAssertFalse(apic.writeBaseMSR(base | APICBase.x2APICEnable), "EXTD without EN")
        XCTAssertFalse(apic.writeBaseMSR(xAPIC | 1 << 40), "above MAXPHYADDR (40)")
        XCTAssertFalse(apic.writeBaseMSR(xAPIC | 1 << 9), "bit 9 is reserved")
        XCTAssertTrue(apic.writeBaseMSR(xAPIC | 1 << 38), "below MAXPHYADDR")
    }

    func testGloballyDisabledAPICHidesItsPage() {
        write(LAPICReg.tpr, 0x30)
        XCTAssertEqual(read(LAPICReg.version), LocalAPIC.versionValue)
        XCTAssertTrue(apic.writeBaseMSR(LocalAPIC.defaultBase | APICBase.bsp))
        XCTAssertEqual(read(LAPICReg.version), 0, "no APIC registers at the page while disabled")
        XCTAssertEqual(read(LAPICReg.svr), 0)
        XCTAssertTrue(apic.writeBaseMSR(LocalAPIC.defaultBase | APICBase.bsp | APICBase.globalEnable))
        XCTAssertEqual(read(LAPICReg.version), LocalAPIC.versionValue, "back once enabled")
        XCTAssertEqual(read(LAPICReg.tpr), 0, "disabling reset the APIC")
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
