import XCTest
import MachineCore
@testable import Devices

/// Every board device's `reset()` returns its guest-visible registers to their power-on
/// values: each test drives a device dirty through its ports, resets it, and reads the
/// registers back through the same ports (issue 14: "the reset of every board device is
/// covered").
final class DeviceResetTests: XCTestCase {
    func testStatelessPortsResetToNothingAndKeepWorking() {
        let control = MachineControl()
        var written: [UInt8] = []
        let console = DebugConsolePort { written.append($0) }
        console.reset()
        XCTAssertEqual(console.read8(0), DebugConsolePort.signature)
        console.write8(0, 0x41)
        XCTAssertEqual(written, [0x41])
        let exit = DebugExitPort(control: control)
        exit.reset()
        XCTAssertNil(control.stopReason, "a reset writes nothing to the port")
        let time = VirtualTime()
        let timer = ACPIPMTimer(clock: time.clock)
        time.advance(by: 1_000_000)
        let before = timer.portRead(offset: 0, size: 4)
        timer.reset()
        XCTAssertEqual(timer.portRead(offset: 0, size: 4), before, "the PM timer is the machine clock: a reset does not move it")
    }

    func testPOSTCodeResetForgetsTheLastCode() {
        let post = POSTCodePort()
        post.write8(0, 0x55)
        post.reset()
        XCTAssertEqual(post.read8(0), 0xFF)
    }

    func testCoprocessorErrorResetReleasesIRQ13() {
        let irq = IRQRecorder()
        let fpu = CoprocessorErrorPort(irq: irq.line(13))
        fpu.setFERR(true)
        fpu.reset()
        XCTAssertFalse(irq.level)
    }

    func testSimpleRegistersReset() {
        let control = MachineControl()
        let port92 = FastA20Port92(control: control)
        port92.write8(0, 0x42)
        port92.reset()
        XCTAssertEqual(port92.read8(0), 0)
        let rc = PIIX3ResetControl(control: control)
        rc.write8(0, PIIX3ResetControl.systemReset)
        rc.reset()
        XCTAssertEqual(rc.read8(0), 0)
        let apm = APMControlPorts()
        apm.portWrite(offset: 0, size: 2, value: 0x1234)
        apm.reset()
        XCTAssertEqual(apm.portRead(offset: 0, size: 2), 0)
        let pci = PCIConfigMechanism1(bus: PCIBus())
        pci.portWrite(offset: 0, size: 4, value: 0x8000_0800)
        pci.reset()
        XCTAssertEqual(pci.portRead(offset: 0, size: 4), 0)
    }

    func testACPIRegistersReset() {
        let control = MachineControl()
        let events = ACPIPMEventBlock()
        let power = ACPIPowerControl(control: control, events: events)
        power.portWrite(offset: 0, size: 2, value: UInt32(ACPIPowerControl.sleepEnable | 1 << ACPIPowerControl.sleepTypeShift))
        events.portWrite(offset: 2, size: 2, value: 0x0021)
        XCTAssertNotEqual(events.portRead(offset: 0, size: 4), 0)
        events.reset()
        power.reset()
        XCTAssertEqual(events.portRead(offset: 0, size: 4), 0, "PM1_STS and PM1_EN clear")
        XCTAssertEqual(power.portRead(offset: 0, size: 2), UInt32(ACPIPowerControl.sciEnable), "PM1_CNT back to SCI_EN only")
    }

    func testPortBResetDropsCounter2Gate() {
        let time = VirtualTime()
        let pit = PIT8254(irq: .unconnected(), timers: time.timers)
        let portB = SystemControlPortB(pit: pit)
        var speaker: [Bool] = []
        portB.onSpeakerChange = { speaker.append($0) }
        portB.write8(0, 0x0F)
        portB.reset()
        XCTAssertEqual(portB.read8(0) & SystemControlPortB.writableBits, 0)
        XCTAssertFalse(pit.gate(channel: 2))
        XCTAssertEqual(speaker, [true, false])
    }

    func testRTCResetClearsInterruptEnablesAndFlagsButKeepsTime() {
        let time = VirtualTime()
        let irq = IRQRecorder()
        let rtc = MC146818RTC(irq: irq.line(8), timers: time.timers, startEpochNanoseconds: 1_709_251_198 * 1_000_000_000)
        func set(_ i: Int, _ v: UInt8) { rtc.write8(0, UInt8(i)); rtc.write8(1, v) }
        func get(_ i: Int) -> UInt8 { rtc.write8(0, UInt8(i)); return rtc.read8(1) }
        set(RTCReg.regB, RTCReg.b24Hour | RTCReg.bPIE | RTCReg.bUIE | RTCReg.bSQWE | RTCReg.bDM)
        set(0x50, 0xAB)
        time.advance(by: 1_500_000_000)
        XCTAssertTrue(irq.level)
        let minutes = get(RTCReg.minutes)
        let regA = get(RTCReg.regA) & ~RTCReg.aUIP
        rtc.reset()
        XCTAssertFalse(irq.level, "IRQ8 released")
        XCTAssertEqual(get(RTCReg.regB), RTCReg.b24Hour | RTCReg.bDM, "PIE, AIE, UIE, SQWE cleared; the rest kept")
        XCTAssertEqual(get(RTCReg.regC), 0, "IRQF, PF, AF, UF cleared")
        XCTAssertEqual(get(0x50), 0xAB, "CMOS RAM kept")
        XCTAssertEqual(get(RTCReg.minutes), minutes, "time kept")
        XCTAssertEqual(get(RTCReg.regA) & ~RTCReg.aUIP, regA)
        time.advance(by: 2_000_000_000)
        XCTAssertFalse(irq.level, "no interrupt source is enabled after the reset")
    }

    func testSerialReset() {
        let time = VirtualTime()
        let irq = IRQRecorder()
        let uart = Serial16550(irq: irq.line(4), timers: time.timers, backend: BufferSerialBackend())
        uart.write8(UART.fcr, UART.fcrEnable)
        uart.write8(UART.mcr, UART.mcrOUT2 | UART.mcrDTR)
        uart.write8(UART.ier, UART.ierRxData)
        uart.write8(UART.lcr, 0x1B)
        uart.receive([1, 2])
        XCTAssertTrue(irq.level)
        uart.reset()
        XCTAssertFalse(irq.level)
        XCTAssertEqual(uart.read8(UART.ier), 0)
        XCTAssertEqual(uart.read8(UART.lcr), 0)
        XCTAssertEqual(uart.read8(UART.mcr), 0)
        XCTAssertEqual(uart.read8(UART.iir), UART.iirNoInterrupt)
        XCTAssertEqual(uart.read8(UART.lsr), UART.lsrTHRE | UART.lsrTEMT)
        XCTAssertNil(uart.state.characterTimeoutDeadline, "the character timeout was disarmed")
        time.advance(by: 100_000_000)
        XCTAssertFalse(irq.level)
    }

    func testPICAndPITReset() {
        let pic = DualPIC8259()
        pic.write8(0x00, 0x11); pic.write8(0x01, 0x20); pic.write8(0x01, 0x04); pic.write8(0x01, 0x01)
        pic.write8(0x01, 0xFA)
        pic.write8(DualPIC8259.elcrOffset, 0x08)
        pic.setIRQ(0, level: true)
        XCTAssertTrue(pic.interruptOutput)
        pic.reset()
        XCTAssertFalse(pic.interruptOutput)
        XCTAssertEqual(pic.read8(0x01), 0, "IMR cleared")
        XCTAssertEqual(pic.read8(0x00), 0, "IRR cleared")
        XCTAssertEqual(pic.read8(DualPIC8259.elcrOffset), 0, "ELCR cleared")

        let time = VirtualTime()
        let irq = IRQRecorder()
        let pit = PIT8254(irq: irq.line(0), timers: time.timers)
        pit.write8(PITReg.control, 0x34)
        pit.write8(0, 0x00); pit.write8(0, 0x10)
        time.advance(by: 1_000_000)
        pit.reset()
        XCTAssertFalse(irq.level)
        pit.write8(PITReg.control, 0xE2)                // read back status of counter 0
        XCTAssertEqual(pit.read8(0), PITReg.statusNullCount | PITReg.accessWord << PITReg.accessShift,
                       "mode 0, LSB/MSB, null count, OUT low")
        let edges = irq.risingEdges
        time.advance(by: 100_000_000)
        XCTAssertEqual(irq.risingEdges, edges, "no counting after a reset")
    }

    func testAPICsReset() {
        let ioapic = IOAPIC()
        ioapic.mmioWrite(offset: IOAPICReg.select, size: 4, value: UInt64(IOAPICReg.redirectionBase + 2))
        ioapic.mmioWrite(offset: IOAPICReg.window, size: 4, value: 0x31)
        ioapic.reset()
        ioapic.mmioWrite(offset: IOAPICReg.select, size: 4, value: UInt64(IOAPICReg.redirectionBase + 2))
        XCTAssertEqual(ioapic.mmioRead(offset: IOAPICReg.window, size: 4), IOAPICRedirection.masked & 0xFFFF_FFFF)

        let time = VirtualTime()
        let apic = LocalAPIC(timers: time.timers)
        apic.mmioWrite(offset: LAPICReg.svr, size: 4, value: 0x1FF)
        apic.mmioWrite(offset: LAPICReg.tpr, size: 4, value: 0x30)
        apic.mmioWrite(offset: LAPICReg.lvtTimer, size: 4, value: 0x40)
        apic.mmioWrite(offset: LAPICReg.timerInitialCount, size: 4, value: 100)
        apic.reset()
        XCTAssertEqual(apic.mmioRead(offset: LAPICReg.svr, size: 4), 0xFF)
        XCTAssertEqual(apic.mmioRead(offset: LAPICReg.tpr, size: 4), 0)
        XCTAssertEqual(apic.mmioRead(offset: LAPICReg.timerInitialCount, size: 4), 0)
        time.advance(by: 1_000_000)
        XCTAssertFalse(apic.interruptRequested, "the timer was stopped")
    }

    func testI8042Reset() {
        let h = KBCHarness()
        h.writeCommandByte(0x00)
        h.command(KBC.cmdDisableA20)
        h.keyboard.hidKey(usage: 0x04, pressed: true)
        XCTAssertEqual(h.drain(), [0x1C])
        h.keyboard.hidKey(usage: 0x05, pressed: true)
        h.kbc.reset()
        XCTAssertEqual(h.readCommandByte(), KBC.cbKeyboardInterrupt | KBC.cbSystemFlag | KBC.cbTranslate)
        XCTAssertTrue(h.kbc.a20Enabled)
        XCTAssertEqual(h.drain(), [])
        h.writeCommandByte(KBC.cbSystemFlag)
        h.data(PS2.cmdResend)
        XCTAssertEqual(h.drain(), [PS2.selfTestPassed], "after power-on the byte to resend is the BAT code, not the last key")
    }

    func testHostBridgeResetReturnsEveryRegister() {
        let bridge = I440FXHostBridge()
        let fresh = I440FXHostBridge()
        var pamWrites: [Int] = []
        bridge.onPAMWrite = { pamWrites.append($0) }
        bridge.configWrite(offset: PCIConfig.command, size: 2, value: UInt32(I440FXHostBridge.commandWritable))
        bridge.configWrite(offset: PCIConfig.latencyTimer, size: 1, value: 0xF8)
        bridge.enableShadowRAM()
        bridge.configWrite(offset: I440FXHostBridge.smram, size: 1, value: 0x48)
        pamWrites.removeAll()
        bridge.reset()
        for offset in [PCIConfig.command, PCIConfig.latencyTimer, I440FXHostBridge.pam0, I440FXHostBridge.pam6, I440FXHostBridge.smram] {
            XCTAssertEqual(bridge.configRead(offset: offset, size: 2), fresh.configRead(offset: offset, size: 2),
                           "register 0x\(String(offset, radix: 16)) back to power-on")
        }
        XCTAssertEqual(pamWrites, Array(I440FXHostBridge.pam0...I440FXHostBridge.pam6), "PAM changes reach the memory map")
    }

    func testPCIFunctionsReset() throws {
        let bridge = PIIX3ISABridge { _, _ in }
        bridge.configWrite(offset: PIIX3ISABridge.pirqRouteControl, size: 4, value: 0x0B0B_0A0A)
        bridge.reset()
        XCTAssertEqual(bridge.configRead(offset: PIIX3ISABridge.pirqRouteControl, size: 4), 0x8080_8080)

        let control = MachineControl()
        let bus = PortIOBus()
        let events = ACPIPMEventBlock()
        let pm = PIIX4PowerManagement(portBus: bus, events: events, powerControl: ACPIPowerControl(control: control, events: events),
                                      timer: ACPIPMTimer(clock: MachineClock(mode: .virtual)))
        pm.configWrite(offset: PIIX4PowerManagement.pmBase, size: 4, value: 0xB000)
        pm.reset()
        XCTAssertEqual(pm.decodedBase, PIIX4PowerManagement.defaultBase)

        let mmio = MMIOBus()
        let vga = StdVGAPCIFunction(vga: VGA(), mmioBus: mmio)
        vga.configWrite(offset: StdVGAPCIFunction.mmioBAR, size: 4, value: 0xE100_0000)
        vga.configWrite(offset: PCIConfig.command, size: 2, value: UInt32(PCIConfig.commandMemorySpace))
        XCTAssertNotNil(vga.registersBase)
        vga.reset()
        XCTAssertEqual(vga.configRead(offset: PCIConfig.command, size: 2), 0, "command register 0 after RST#")
        XCTAssertEqual(vga.configRead(offset: StdVGAPCIFunction.mmioBAR, size: 4), 0, "BAR unassigned")
        XCTAssertNil(vga.registersBase, "the register window is released")
        XCTAssertEqual(mmio.read(address: 0xE100_0000 + VGAMMIORegisters.dispiOffset, size: 2), mmio.read(address: 0xE200_0000, size: 2),
                       "nothing decodes at the old BAR")
    }

    func testVGAAndFirmwareConfigReset() throws {
        let vga = VGA()
        vga.setSeq(VGASeq.mapMask, 0x03)
        vga.vbe(BochsVBE.indexXRes, 1024)
        vga.reset()
        vga.out(0x3C4, UInt8(VGASeq.mapMask))
        XCTAssertEqual(vga.inb(0x3C5), 0x0F)
        XCTAssertEqual(vga.vbe(BochsVBE.indexXRes), 640)

        let fw = FirmwareConfig(memory: try GuestMemory(size: 4 << 20))
        fw.portWrite(offset: 0, size: 2, value: UInt32(FirmwareConfig.Key.signature))
        _ = fw.portRead(offset: 1, size: 1)
        fw.reset()
        XCTAssertEqual(fw.state, FirmwareConfig.State())
        XCTAssertEqual(fw.portRead(offset: 1, size: 4), UInt32(0x554D_4551), "item 0 from its start: \"QEMU\"")
    }

    func testIDEReset() throws {
        let rig = try IDERig()
        rig.outb(IDERig.busMasterBase + BMIDE.status, BMIDE.statusDrive0DMA)
        rig.outl(IDERig.busMasterBase + BMIDE.prdTable, 0x4000)
        rig.ide.reset()
        XCTAssertEqual(rig.ide.configRead(offset: PCIConfig.command, size: 2), 0)
        XCTAssertEqual(rig.ide.configRead(offset: PIIX3IDE.bar4, size: 4), PIIX3IDE.barIOSpace)
        rig.ide.setUpAsFirmware(busMasterBase: IDERig.busMasterBase)
        XCTAssertEqual(rig.busMasterStatus, 0)
        XCTAssertEqual(rig.inl(IDERig.busMasterBase + BMIDE.prdTable), 0)
    }
}

/// A reset that is a power-on leaves exactly the state a new device has: the whole value, not
/// only the registers a test thinks of reading.
final class DeviceResetStateTests: XCTestCase {
    func assertResetIsPowerOn<D: StatefulDevice>(_ make: () throws -> D, drive: (D) throws -> Void,
                                                 file: StaticString = #filePath, line: UInt = #line) rethrows {
        let fresh = try make(), device = try make()
        try drive(device)
        XCTAssertNotEqual(device.state, fresh.state, "the device was driven away from power-on", file: file, line: line)
        device.reset()
        XCTAssertEqual(device.state, fresh.state, "reset gives the power-on state", file: file, line: line)
    }

    func testResetsArePowerOn() throws {
        let control = MachineControl()
        let time = VirtualTime()
        assertResetIsPowerOn({ APMControlPorts() }) { $0.write8(1, 7) }
        assertResetIsPowerOn({ ACPIPMEventBlock() }) { $0.portWrite(offset: 2, size: 2, value: 1); $0.setStatus(0x8000) }
        assertResetIsPowerOn({ ACPIPowerControl(control: control) }) { $0.portWrite(offset: 0, size: 2, value: 0x0404) }
        assertResetIsPowerOn({ FastA20Port92(control: control) }) { $0.write8(0, 0x02) }
        assertResetIsPowerOn({ PIIX3ResetControl(control: control) }) { $0.write8(0, 0x0A) }
        assertResetIsPowerOn({ PCIConfigMechanism1(bus: PCIBus()) }) { $0.portWrite(offset: 0, size: 4, value: 0x8000_0000) }
        assertResetIsPowerOn({ POSTCodePort() }) { $0.write8(0, 0x12) }
        assertResetIsPowerOn({ CoprocessorErrorPort(irq: .unconnected(13)) }) { $0.setFERR(true) }
        assertResetIsPowerOn({ DualPIC8259() }) { pic in
            pic.write8(0x00, 0x11); pic.write8(0x01, 0x08); pic.write8(0x01, 0x04); pic.write8(0x01, 0x01)
            pic.write8(0x01, 0xFE)
        }
        assertResetIsPowerOn({ PIT8254(irq: .unconnected(), timers: time.timers) }) { pit in
            pit.write8(PITReg.control, 0x34); pit.write8(0, 0x10); pit.write8(0, 0x00)
            pit.write8(PITReg.control, 0xB0); pit.write8(2, 0x55)
            time.advance(by: 5_000)
        }
        assertResetIsPowerOn({ I8042(keyboardIRQ: .unconnected(), mouseIRQ: .unconnected(), control: control, timers: time.timers) }) { kbc in
            kbc.keyboard.hidKey(usage: 0x04, pressed: true)
            kbc.write8(KBC.dataOffset, PS2.kbdSetTypematic)
            kbc.write8(KBC.commandOffset, KBC.cmdWriteToMouse); kbc.write8(KBC.dataOffset, PS2.mouseGetID)
            kbc.write8(KBC.commandOffset, KBC.cmdDisableA20)
            for _ in 0..<4 { _ = kbc.read8(KBC.dataOffset) }
        }
        assertResetIsPowerOn({ IOAPIC() }) { a in
            a.mmioWrite(offset: IOAPICReg.select, size: 4, value: UInt64(IOAPICReg.redirectionBase))
            a.mmioWrite(offset: IOAPICReg.window, size: 4, value: 0x30)
        }
        assertResetIsPowerOn({ LocalAPIC(timers: time.timers) }) { a in
            a.mmioWrite(offset: LAPICReg.svr, size: 4, value: 0x1FF)
            a.mmioWrite(offset: LAPICReg.timerInitialCount, size: 4, value: 1000)
            a.acceptInterrupt(vector: 0x40, levelTriggered: true)
        }
        assertResetIsPowerOn({ I440FXHostBridge() }) { b in
            b.enableShadowRAM()
            b.configWrite(offset: PCIConfig.command, size: 2, value: 0x0140)
            b.configWrite(offset: PCIConfig.status, size: 2, value: 0xFFFF)
        }
        assertResetIsPowerOn({ PIIX3ISABridge { _, _ in } }) { $0.configWrite(offset: PIIX3ISABridge.pirqRouteControl, size: 2, value: 0x0B0A) }
        assertResetIsPowerOn({ PIIX4PowerManagement(portBus: PortIOBus(), events: ACPIPMEventBlock(),
                                                    powerControl: ACPIPowerControl(control: control),
                                                    timer: ACPIPMTimer(clock: time.clock)) }) {
            $0.configWrite(offset: PIIX4PowerManagement.pmBase, size: 4, value: 0xB000)
        }
        assertResetIsPowerOn({ StdVGAPCIFunction(vga: VGA(vramSize: 256 << 10), mmioBus: MMIOBus()) }) {
            $0.configWrite(offset: StdVGAPCIFunction.lfbBAR, size: 4, value: 0xE000_0000)
            $0.configWrite(offset: PCIConfig.command, size: 2, value: UInt32(PCIConfig.commandMemorySpace))
        }
        assertResetIsPowerOn({ VGA(vramSize: 256 << 10) }) { v in
            v.setGC(VGAGC.mode, 3)
            v.setDAC(1, 2, 3, 4)
            v.vbe(BochsVBE.indexBPP, 16)
        }
        let memory = try GuestMemory(size: 4 << 20)
        assertResetIsPowerOn({ FirmwareConfig(memory: memory) }) { f in
            f.portWrite(offset: 0, size: 2, value: 0)
            _ = f.portRead(offset: 1, size: 2)
        }
        let images = try TemporaryImages()
        let path = try images.make("disk.img", size: 32 * 512)
        try assertResetIsPowerOn({ () throws -> PIIX3IDE in
            let ide = PIIX3IDE(portBus: PortIOBus(), memory: memory, irq14: .unconnected(14), irq15: .unconnected(15))
            try ide.attach(ATADisk(image: DiskImage(path: path, readOnly: true)), channel: 0, position: .master)
            return ide
        }) { ide in
            ide.setUpAsFirmware()
            ide.primary.portWrite(offset: ATA.sectorCount, size: 1, value: 1)
            ide.primary.portWrite(offset: ATA.statusCommand, size: 1, value: UInt32(ATA.cmdReadSectors))
        }
    }

    /// Every device class the pc board holds is a `BoardDevice`, so a board can keep them in
    /// one list and reset them all.
    func testEveryPCDeviceIsABoardDevice() throws {
        let control = MachineControl()
        let time = VirtualTime()
        let pit = PIT8254(irq: .unconnected(), timers: time.timers)
        let memory = try GuestMemory(size: 4 << 20)
        let events = ACPIPMEventBlock(), power = ACPIPowerControl(control: control, events: events)
        let timer = ACPIPMTimer(clock: time.clock)
        let vga = VGA(vramSize: 256 << 10)
        let devices: [any BoardDevice] = [
            Serial16550(irq: .unconnected(), timers: time.timers, backend: BufferSerialBackend()),
            MC146818RTC(irq: .unconnected(), timers: time.timers, startEpochNanoseconds: 0),
            I8042(keyboardIRQ: .unconnected(), control: control), FastA20Port92(control: control),
            DebugExitPort(control: control), DebugConsolePort { _ in }, POSTCodePort(),
            PCIConfigMechanism1(bus: PCIBus()), PIIX3ResetControl(control: control), I440FXHostBridge(),
            PIIX3ISABridge { _, _ in }, PIIX4PowerManagement(portBus: PortIOBus(), events: events, powerControl: power, timer: timer),
            APMControlPorts(), FirmwareConfig(memory: memory),
            PIIX3IDE(portBus: PortIOBus(), memory: memory, irq14: .unconnected(), irq15: .unconnected()),
            power, events, timer, CoprocessorErrorPort(irq: .unconnected()), DualPIC8259(), pit, SystemControlPortB(pit: pit),
            IOAPIC(), LocalAPIC(timers: time.timers), vga, StdVGAPCIFunction(vga: vga, mmioBus: MMIOBus()),
        ]
        XCTAssertEqual(devices.count, 26)
        for device in devices { device.reset() }
        XCTAssertFalse(control.isStopRequested, "no reset asks the machine to stop")
    }
}
