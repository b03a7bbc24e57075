import XCTest
import MachineCore
@testable import Devices

final class DualPIC8259Tests: XCTestCase {
    var pic: DualPIC8259!
    var outputChanges: [Bool] = []

    let masterCmd: UInt16 = 0x00, masterData: UInt16 = 0x01
    let slaveCmd: UInt16 = DualPIC8259.slaveOffset, slaveData: UInt16 = DualPIC8259.slaveOffset + 1

    override func setUp() {
        pic = DualPIC8259()
        outputChanges = []
        pic.onInterruptOutputChange = { [unowned self] in self.outputChanges.append($0) }
    }

    /// The BIOS/Linux initialisation: vectors 0x20 and 0x28, cascade on IR2, 8086 mode.
    func initialise(autoEOI: Bool = false, sfnm: Bool = false) {
        let icw4: UInt8 = PIC.icw4Microprocessor | (autoEOI ? PIC.icw4AutoEOI : 0) | (sfnm ? PIC.icw4SpecialFullyNested : 0)
        pic.write8(masterCmd, PIC.icw1Select | PIC.icw1IC4)
        pic.write8(masterData, 0x20)
        pic.write8(masterData, 0x04)
        pic.write8(masterData, icw4)
        pic.write8(slaveCmd, PIC.icw1Select | PIC.icw1IC4)
        pic.write8(slaveData, 0x28)
        pic.write8(slaveData, 0x02)
        pic.write8(slaveData, PIC.icw4Microprocessor)
        pic.write8(masterData, 0x00)
        pic.write8(slaveData, 0x00)
    }

    func pulse(_ irq: Int) {
        pic.setIRQ(irq, level: true)
        pic.setIRQ(irq, level: false)
    }

    func eoi(slave: Bool = false) {
        if slave { pic.write8(slaveCmd, PIC.ocw2NonSpecificEOI) }
        pic.write8(masterCmd, PIC.ocw2NonSpecificEOI)
    }

    func readISR(_ offset: UInt16) -> UInt8 {
        pic.write8(offset, PIC.ocw3Select | PIC.ocw3ReadRegister | PIC.ocw3ReadISR)
        return pic.read8(offset)
    }

    func readIRR(_ offset: UInt16) -> UInt8 {
        pic.write8(offset, PIC.ocw3Select | PIC.ocw3ReadRegister)
        return pic.read8(offset)
    }

    func testInitialisationSequenceThroughBus() throws {
        let bus = PortIOBus()
        try pic.attach(to: bus)
        bus.write(port: 0x20, size: 1, value: 0x11)
        bus.write(port: 0x21, size: 1, value: 0x08)
        bus.write(port: 0x21, size: 1, value: 0x04)
        bus.write(port: 0x21, size: 1, value: 0x01)
        bus.write(port: 0xA0, size: 1, value: 0x11)
        bus.write(port: 0xA1, size: 1, value: 0x70)
        bus.write(port: 0xA1, size: 1, value: 0x02)
        bus.write(port: 0xA1, size: 1, value: 0x01)
        bus.write(port: 0x21, size: 1, value: 0xFB)
        bus.write(port: 0xA1, size: 1, value: 0xFF)
        XCTAssertEqual(pic.master.vectorBase, 0x08)
        XCTAssertEqual(pic.slave.vectorBase, 0x70)
        XCTAssertEqual(pic.slave.icw3, 0x02)
        XCTAssertEqual(bus.read(port: 0x21, size: 1), 0xFB)
        XCTAssertEqual(bus.read(port: 0xA1, size: 1), 0xFF)
        bus.write(port: 0x4D1, size: 1, value: 0x0C)
        XCTAssertEqual(bus.read(port: 0x4D1, size: 1), 0x0C)
    }

    func testEdgeInterruptDeliveryAndEOI() {
        initialise()
        pulse(1)
        XCTAssertTrue(pic.interruptOutput)
        XCTAssertEqual(outputChanges, [true])
        XCTAssertEqual(readIRR(masterCmd), 0x02)
        XCTAssertEqual(pic.acknowledge(), 0x21)
        XCTAssertFalse(pic.interruptOutput)
        XCTAssertEqual(readISR(masterCmd), 0x02)
        XCTAssertEqual(readIRR(masterCmd), 0x00)
        eoi()
        XCTAssertEqual(readISR(masterCmd), 0x00)
        XCTAssertEqual(outputChanges, [true, false])
    }

    func testEdgeNeedsANewRisingEdge() {
        initialise()
        pic.setIRQ(3, level: true)
        XCTAssertEqual(pic.acknowledge(), 0x23)
        eoi()
        // Still high, but no new edge: nothing pending.
        pic.setIRQ(3, level: true)
        XCTAssertFalse(pic.interruptOutput)
        pic.setIRQ(3, level: false)
        pic.setIRQ(3, level: true)
        XCTAssertTrue(pic.interruptOutput)
    }

    func testMaskedRequestStaysInIRR() {
        initialise()
        pic.write8(masterData, 0x10)
        pulse(4)
        XCTAssertFalse(pic.interruptOutput)
        XCTAssertEqual(readIRR(masterCmd), 0x10)
        pic.write8(masterData, 0x00)
        XCTAssertTrue(pic.interruptOutput)
        XCTAssertEqual(pic.acknowledge(), 0x24)
    }

    func testFullyNestedPriority() {
        initialise()
        pulse(5)
        XCTAssertEqual(pic.acknowledge(), 0x25)
        // A lower priority request waits while IR5 is in service.
        pulse(6)
        XCTAssertFalse(pic.interruptOutput)
        // A higher one nests.
        pulse(3)
        XCTAssertTrue(pic.interruptOutput)
        XCTAssertEqual(pic.acknowledge(), 0x23)
        XCTAssertEqual(readISR(masterCmd), 0x28)
        eoi() // clears IR3, the highest in service
        XCTAssertEqual(readISR(masterCmd), 0x20)
        XCTAssertFalse(pic.interruptOutput)
        eoi() // clears IR5: IR6 now goes out
        XCTAssertTrue(pic.interruptOutput)
        XCTAssertEqual(pic.acknowledge(), 0x26)
    }

    func testSimultaneousRequestsLowestNumberFirst() {
        initialise()
        pulse(7)
        pulse(0)
        pulse(4)
        XCTAssertEqual(pic.acknowledge(), 0x20)
        eoi()
        XCTAssertEqual(pic.acknowledge(), 0x24)
        eoi()
        XCTAssertEqual(pic.acknowledge(), 0x27)
        XCTAssertEqual(readISR(masterCmd), 0x80, "a real IR7 sets its ISR bit, unlike a spurious one")
    }

    func testSpecificEOI() {
        initialise()
        pulse(3)
        _ = pic.acknowledge()
        pulse(1)
        _ = pic.acknowledge()
        XCTAssertEqual(readISR(masterCmd), 0x0A)
        pic.write8(masterCmd, PIC.ocw2SpecificEOI | 3)
        XCTAssertEqual(readISR(masterCmd), 0x02)
    }

    func testSlaveCascade() {
        initialise()
        pulse(12)
        XCTAssertTrue(pic.interruptOutput)
        XCTAssertEqual(pic.acknowledge(), 0x2C)
        XCTAssertEqual(readISR(slaveCmd), 0x10)
        XCTAssertEqual(readISR(masterCmd), 0x04, "cascade line in service on the master")
        pulse(8)
        XCTAssertFalse(pic.interruptOutput, "master IR2 in service blocks the slave")
        eoi(slave: true)
        XCTAssertTrue(pic.interruptOutput)
        XCTAssertEqual(pic.acknowledge(), 0x28)
    }

    func testSlaveMaskedByMasterIMRBit2() {
        initialise()
        pic.write8(masterData, 0x04)
        pulse(9)
        XCTAssertFalse(pic.interruptOutput)
        pic.write8(masterData, 0x00)
        XCTAssertEqual(pic.acknowledge(), 0x29)
    }

    func testSpecialFullyNestedLetsHigherSlaveRequestThrough() {
        initialise(sfnm: true)
        pulse(12)
        XCTAssertEqual(pic.acknowledge(), 0x2C)
        pulse(9)
        XCTAssertTrue(pic.interruptOutput)
        XCTAssertEqual(pic.acknowledge(), 0x29)
    }

    func testAutoEOI() {
        initialise(autoEOI: true)
        pulse(1)
        XCTAssertEqual(pic.acknowledge(), 0x21)
        XCTAssertEqual(readISR(masterCmd), 0x00)
        pulse(1)
        XCTAssertTrue(pic.interruptOutput, "no EOI needed")
    }

    func testRotateOnAutoEOI() {
        initialise(autoEOI: true)
        pic.write8(masterCmd, PIC.ocw2SetRotateAutoEOI)
        pulse(1)
        XCTAssertEqual(pic.acknowledge(), 0x21)
        // IR1 is now lowest priority: IR7 beats it.
        pulse(1)
        pulse(7)
        XCTAssertEqual(pic.acknowledge(), 0x27)
        XCTAssertEqual(pic.master.highestPriority, 0)
        pic.write8(masterCmd, PIC.ocw2ClearRotateAutoEOI)
        XCTAssertEqual(pic.acknowledge(), 0x21)
        XCTAssertEqual(pic.master.highestPriority, 0)
    }

    func testRotateOnNonSpecificEOI() {
        initialise()
        pulse(3)
        _ = pic.acknowledge()
        pic.write8(masterCmd, PIC.ocw2RotateNonSpecificEOI)
        XCTAssertEqual(readISR(masterCmd), 0)
        XCTAssertEqual(pic.master.highestPriority, 4)
        pulse(3)
        pulse(5)
        XCTAssertEqual(pic.acknowledge(), 0x25, "IR4 is now highest, IR3 lowest")
    }

    func testRotateOnSpecificEOIAndSetPriority() {
        initialise()
        pulse(6)
        _ = pic.acknowledge()
        pic.write8(masterCmd, PIC.ocw2RotateSpecificEOI | 6)
        XCTAssertEqual(readISR(masterCmd), 0)
        XCTAssertEqual(pic.master.highestPriority, 7)
        pic.write8(masterCmd, PIC.ocw2SetPriority | 2)
        XCTAssertEqual(pic.master.highestPriority, 3)
        pulse(1)
        pulse(4)
        XCTAssertEqual(pic.acknowledge(), 0x24)
    }

    func testPollCommand() {
        initialise()
        pic.write8(masterData, 0xFF) // polling works with the CPU's interrupts off; mask irrelevant here
        pic.write8(masterData, 0x00)
        pulse(5)
        pic.write8(masterCmd, PIC.ocw3Select | PIC.ocw3Poll)
        XCTAssertEqual(pic.read8(masterCmd), PIC.pollInterrupt | 5)
        XCTAssertEqual(readISR(masterCmd), 0x20, "poll acts as INTA")
        XCTAssertFalse(pic.interruptOutput)
        pic.write8(masterCmd, PIC.ocw3Select | PIC.ocw3Poll)
        XCTAssertEqual(pic.read8(masterCmd), 0x00, "nothing pending")
    }

    func testSpecialMaskMode() {
        initialise()
        pulse(3)
        _ = pic.acknowledge()
        pulse(6)
        XCTAssertFalse(pic.interruptOutput)
        // Mask IR3 and enter special mask mode: lower priorities are let through.
        pic.write8(masterData, 0x08)
        pic.write8(masterCmd, PIC.ocw3Select | PIC.ocw3ESMM | PIC.ocw3SMM)
        XCTAssertTrue(pic.interruptOutput)
        XCTAssertEqual(pic.acknowledge(), 0x26)
        pic.write8(masterCmd, PIC.ocw3Select | PIC.ocw3ESMM)
        XCTAssertFalse(pic.master.specialMaskMode)
    }

    func testSpuriousIRQ7WhenLevelRequestVanishes() {
        initialise()
        pic.write8(DualPIC8259.elcrOffset, 0x20) // IRQ5 level
        pic.setIRQ(5, level: true)
        XCTAssertTrue(pic.interruptOutput)
        pic.setIRQ(5, level: false)
        XCTAssertFalse(pic.interruptOutput)
        XCTAssertEqual(pic.acknowledge(), 0x27)
        XCTAssertEqual(readISR(masterCmd), 0x00, "spurious IR7 is not put in service")
    }

    func testSpuriousIRQ15() {
        initialise()
        pic.write8(DualPIC8259.elcrOffset + 1, 0x08) // IRQ11 level
        pic.setIRQ(11, level: true)
        XCTAssertTrue(pic.interruptOutput)
        // The device drops its request but the master still latched its IR2 edge.
        pic.setIRQ(11, level: false)
        XCTAssertTrue(pic.interruptOutput)
        XCTAssertEqual(pic.acknowledge(), 0x2F)
        XCTAssertEqual(readISR(slaveCmd), 0x00)
        XCTAssertEqual(readISR(masterCmd), 0x04, "the master's cascade line needs an EOI")
    }

    func testLevelTriggeredLineRequestsAgainAfterEOI() {
        initialise()
        pic.write8(DualPIC8259.elcrOffset + 1, 0x08) // IRQ11 level
        pic.setIRQ(11, level: true)
        XCTAssertEqual(pic.acknowledge(), 0x2B)
        eoi(slave: true)
        XCTAssertTrue(pic.interruptOutput, "still high: requests again")
        XCTAssertEqual(pic.acknowledge(), 0x2B)
        pic.setIRQ(11, level: false)
        eoi(slave: true)
        XCTAssertFalse(pic.interruptOutput)
    }

    func testELCRWritableBits() {
        pic.write8(DualPIC8259.elcrOffset, 0xFF)
        pic.write8(DualPIC8259.elcrOffset + 1, 0xFF)
        XCTAssertEqual(pic.read8(DualPIC8259.elcrOffset), 0xF8, "IRQ0-2 stay edge")
        XCTAssertEqual(pic.read8(DualPIC8259.elcrOffset + 1), 0xDE, "IRQ8 and IRQ13 stay edge")
    }

    func testICW1ClearsMaskAndInService() {
        initialise()
        pic.write8(masterData, 0xF0)
        pulse(2 + 1)
        _ = pic.acknowledge()
        pic.write8(masterCmd, PIC.icw1Select | PIC.icw1IC4)
        XCTAssertEqual(pic.master.imr, 0)
        XCTAssertEqual(pic.master.isr, 0)
        XCTAssertEqual(pic.master.initStep, 2)
    }

    func testSingleModeSkipsICW3() {
        pic.write8(masterCmd, PIC.icw1Select | PIC.icw1Single | PIC.icw1IC4)
        pic.write8(masterData, 0x40)
        pic.write8(masterData, PIC.icw4Microprocessor | PIC.icw4AutoEOI) // ICW4, not ICW3
        XCTAssertTrue(pic.master.autoEOI)
        pic.write8(masterData, 0x55)
        XCTAssertEqual(pic.master.imr, 0x55)
    }

    func testIRQLineHelperDrivesInput() {
        initialise()
        let line = pic.irqLine(4)
        line.pulse()
        XCTAssertEqual(pic.acknowledge(), 0x24)
    }

    func testSpuriousWhenNothingPending() {
        initialise()
        XCTAssertEqual(pic.acknowledge(), 0x27)
        XCTAssertEqual(readISR(masterCmd), 0)
    }
}
