import XCTest
import MachineCore
@testable import Devices

/// State round trips of the interrupt controllers, the keyboard controller, the PCI
/// functions, the VGA, fw_cfg and the IDE controller (see `DeviceStateTests`).
final class ChipsetStateTests: XCTestCase {
    // MARK: APICs

    func testIOAPICRoundTripKeepsTableAndPinLevels() throws {
        var sent: [UInt8] = [], sent2: [UInt8] = []
        let ioapic = IOAPIC(), ioapic2 = IOAPIC()
        ioapic.deliver = { vector, _, _, _ in sent.append(vector); return true }
        ioapic2.deliver = { vector, _, _, _ in sent2.append(vector); return true }
        func write(_ a: IOAPIC, _ index: UInt32, _ value: UInt32) {
            a.mmioWrite(offset: IOAPICReg.select, size: 4, value: UInt64(index))
            a.mmioWrite(offset: IOAPICReg.window, size: 4, value: UInt64(value))
        }
        func read(_ a: IOAPIC, _ index: UInt32) -> UInt32 {
            a.mmioWrite(offset: IOAPICReg.select, size: 4, value: UInt64(index))
            return UInt32(a.mmioRead(offset: IOAPICReg.window, size: 4))
        }
        write(ioapic, IOAPICReg.id, 0x0300_0000)
        write(ioapic, IOAPICReg.redirectionBase + 20, 0x3A | UInt32(IOAPICRedirection.levelTriggered))
        ioapic.setLevel(pin: 10, true)
        XCTAssertEqual(sent, [0x3A])
        try assertRestores(ioapic, into: ioapic2)
        XCTAssertEqual(read(ioapic2, IOAPICReg.id), 0x0300_0000)
        XCTAssertEqual(read(ioapic2, IOAPICReg.redirectionBase + 20), read(ioapic, IOAPICReg.redirectionBase + 20))
        XCTAssertNotEqual(UInt64(read(ioapic2, IOAPICReg.redirectionBase + 20)) & IOAPICRedirection.remoteIRR, 0)
        XCTAssertEqual(sent2, [], "restoring sends nothing")
        // The pin is still asserted on the saved IOAPIC: the EOI resends, as on the original.
        ioapic2.mmioWrite(offset: IOAPICReg.eoi, size: 4, value: 0x3A)
        XCTAssertEqual(sent2, [0x3A])
    }

    func testIOAPICRefusals() {
        let ioapic = IOAPIC()
        var id = ioapic.state
        id.id = 0x10
        assertRefuses(ioapic, id)
        var entry = ioapic.state
        entry.redirection[3] |= IOAPICRedirection.deliveryStatus
        assertRefuses(ioapic, entry)
        var count = ioapic.state
        count.redirection.append(0)
        assertRefuses(ioapic, count)
    }

    func testLocalAPICRoundTripKeepsVectorsAndTheTimer() throws {
        let time = VirtualTime()
        let apic = LocalAPIC(timers: time.timers), apic2 = LocalAPIC(timers: time.timers)
        func write(_ a: LocalAPIC, _ r: UInt64, _ v: UInt32) { a.mmioWrite(offset: r, size: 4, value: UInt64(v)) }
        func read(_ a: LocalAPIC, _ r: UInt64) -> UInt32 { UInt32(a.mmioRead(offset: r, size: 4)) }
        write(apic, LAPICReg.svr, 0x1FF)
        write(apic, LAPICReg.tpr, 0x20)
        write(apic, LAPICReg.ldr, 0x0100_0000)
        write(apic, LAPICReg.timerDivide, 0x0B)                  // divide by 1
        write(apic, LAPICReg.lvtTimer, LVT.timerPeriodic << LVT.timerModeShift | 0x40)
        write(apic, LAPICReg.timerInitialCount, 1000)           // 1 µs period
        apic.acceptInterrupt(vector: 0x55, levelTriggered: false)
        XCTAssertEqual(apic.acknowledge(), 0x55)                // in service
        apic.acceptInterrupt(vector: 0x61, levelTriggered: true)
        time.advance(by: 300)
        try assertRestores(apic, into: apic2)
        for r in [LAPICReg.svr, LAPICReg.tpr, LAPICReg.ppr, LAPICReg.ldr, LAPICReg.lvtTimer, LAPICReg.timerInitialCount,
                  LAPICReg.timerCurrentCount, LAPICReg.isrBase + 0x20, LAPICReg.irrBase + 0x30, LAPICReg.tmrBase + 0x30] {
            XCTAssertEqual(read(apic2, r), read(apic, r), "register 0x\(String(r, radix: 16))")
        }
        // The periodic timer was re-armed from the saved count start: it fires on time.
        time.advance(by: 800)
        XCTAssertEqual(read(apic2, LAPICReg.irrBase + 0x20) & 1, 1, "vector 0x40 requested by the restored timer")
        XCTAssertEqual(read(apic2, LAPICReg.irrBase + 0x20), read(apic, LAPICReg.irrBase + 0x20))
    }

    func testLocalAPICRefusals() {
        let time = VirtualTime()
        let apic = LocalAPIC(timers: time.timers)
        assertRefuses(apic, LocalAPIC(id: 1, timers: time.timers).state)
        var lvt = apic.state
        lvt.lvt.removeLast()
        assertRefuses(apic, lvt)
        var base = apic.state
        base.baseMSR = LocalAPIC.defaultBase | APICBase.x2APICEnable
        assertRefuses(apic, base)
        var timer = apic.state
        timer.counting = true
        assertRefuses(apic, timer)
    }

    // MARK: i8042

    func testI8042RoundTripKeepsBuffersDevicesAndRepeat() throws {
        let h = KBCHarness(), h2 = KBCHarness()
        var a20: [Bool] = []
        h2.kbc.onA20Change = { a20.append($0) }
        h.writeCommandByte(KBC.cbKeyboardInterrupt | KBC.cbMouseInterrupt | KBC.cbSystemFlag)   // no translation
        h.data(PS2.kbdSetTypematic); h.data(0x00)               // 250 ms, 30 cps
        h.data(PS2.kbdSetLEDs); h.data(0x05)
        for rate: UInt8 in [200, 100, 80] { h.mouseData(PS2.mouseSetSampleRate); h.mouseData(rate) }
        h.mouseData(PS2.mouseEnable)
        _ = h.drain()
        h.command(KBC.cmdDisableA20)
        h.keyboard.hidKey(usage: 0x04, pressed: true)           // 'A' held
        h.mouse.move(dx: 5, dy: -3, dz: 1, buttons: PS2.packetLeft)
        h.command(KBC.cmdWriteKeyboardBuffer); h.data(0x77)
        XCTAssertTrue(h.keyboardIRQ.level)
        try assertRestores(h.kbc, into: h2.kbc)
        XCTAssertEqual(a20, [false], "the A20 output follows the restored output port")
        XCTAssertTrue(h2.keyboardIRQ.level, "IRQ1 follows the restored output buffer")
        XCTAssertEqual(h2.keyboard.leds, 0x05)
        XCTAssertEqual(h2.mouse.deviceID, PS2.mouseIDIntelliMouse)
        let tagged = h.drainTagged(), tagged2 = h2.drainTagged()
        XCTAssertEqual(tagged2.map(\.byte), tagged.map(\.byte))
        XCTAssertEqual(tagged2.map(\.aux), tagged.map(\.aux))
        XCTAssertEqual(tagged2.count, 6, "the key, the 0xD2 byte and a four-byte wheel packet")
        // Typematic repeat was re-armed from the saved deadline.
        h.time.advance(by: 300_000_000)
        h2.time.advance(by: 300_000_000)
        let repeats = h.drain()
        XCTAssertFalse(repeats.isEmpty)
        XCTAssertEqual(h2.drain(), repeats)
        h2.command(KBC.cmdReadOutputPort)
        h.command(KBC.cmdReadOutputPort)
        XCTAssertEqual(h2.read(), h.read())
    }

    func testI8042Refusals() {
        let h = KBCHarness()
        var ram = h.kbc.state
        ram.ram.append(0)
        assertRefuses(h.kbc, ram)
        var command = h.kbc.state
        command.pendingCommand = KBC.cmdSelfTest
        assertRefuses(h.kbc, command)
        var set = h.kbc.state
        set.keyboard.scanCodeSet = 4
        assertRefuses(h.kbc, set)
        var rate = h.kbc.state
        rate.mouse.sampleRate = 33
        assertRefuses(h.kbc, rate)
    }

    // MARK: PCI functions

    func testHostBridgeRoundTripReportsPAM() throws {
        let bridge = I440FXHostBridge(), bridge2 = I440FXHostBridge()
        var pamWrites: [Int] = []
        bridge2.onPAMWrite = { pamWrites.append($0) }
        bridge.configWrite(offset: I440FXHostBridge.pam0, size: 1, value: 0x30)
        bridge.configWrite(offset: I440FXHostBridge.pam0 + 3, size: 1, value: 0x11)
        bridge.configWrite(offset: I440FXHostBridge.smram, size: 1, value: 0x0A)
        bridge.configWrite(offset: PCIConfig.latencyTimer, size: 1, value: 0x40)
        try assertRestores(bridge, into: bridge2)
        XCTAssertEqual(pamWrites, Array(I440FXHostBridge.pam0...I440FXHostBridge.pam6))
        XCTAssertEqual(bridge2.shadowWriteProtectedPages, bridge.shadowWriteProtectedPages)
        XCTAssertEqual(bridge2.configRead(offset: I440FXHostBridge.smram, size: 1), 0x0A)
        XCTAssertEqual(bridge2.configRead(offset: PCIConfig.latencyTimer, size: 1), 0x40)
        var identity = bridge2.state
        identity.configuration[PCIConfig.deviceID] ^= 1
        assertRefuses(bridge2, identity)
        var short = bridge2.state
        short.configuration.removeLast()
        assertRefuses(bridge2, short)
    }

    func testISABridgeRoundTripDrivesTheRoutedIRQ() throws {
        var driven: [(Int, Bool)] = []
        let bridge = PIIX3ISABridge { _, _ in }
        let bridge2 = PIIX3ISABridge { driven.append(($0, $1)) }
        bridge.configWrite(offset: PIIX3ISABridge.pirqRouteControl, size: 1, value: 11)
        bridge.setPIRQ(0, level: true)
        try assertRestores(bridge, into: bridge2)
        XCTAssertEqual(driven.last?.0, 11)
        XCTAssertEqual(driven.last?.1, true, "PIRQA# is asserted and routed to IRQ11")
        XCTAssertEqual(bridge2.route(ofPIRQ: 0), 11)
        bridge2.setPIRQ(0, level: false)
        XCTAssertEqual(driven.last?.1, false, "the restored route carries the next level change")
        assertRefuses(bridge2, .init(configuration: bridge2.state.configuration, pirqLevels: 0x10))
    }

    func testPowerManagementRoundTripMovesTheBlock() throws {
        let control = MachineControl()
        func make(_ bus: PortIOBus) -> PIIX4PowerManagement {
            let events = ACPIPMEventBlock()
            return PIIX4PowerManagement(portBus: bus, events: events, powerControl: ACPIPowerControl(control: control, events: events),
                                        timer: ACPIPMTimer(clock: MachineClock(mode: .virtual)))
        }
        let bus = PortIOBus(), bus2 = PortIOBus()
        let pm = make(bus), pm2 = make(bus2)
        pm.configWrite(offset: PIIX4PowerManagement.pmBase, size: 4, value: 0xB000)
        XCTAssertEqual(pm.decodedBase, 0xB000)
        try assertRestores(pm, into: pm2)
        XCTAssertEqual(pm2.decodedBase, 0xB000, "the block decodes where the restored PMBA puts it")
        bus2.write(port: 0xB004, size: 2, value: 0)
        XCTAssertEqual(bus2.read(port: 0xB004, size: 2), 0, "PM1_CNT answers at the new base")
        XCTAssertEqual(bus2.read(port: 0x604, size: 2), 0xFFFF, "and no longer at the old one")
    }

    func testStdVGAFunctionRoundTripMapsTheBARs() throws {
        let bus = MMIOBus(), bus2 = MMIOBus()
        let vga2 = VGA()
        let fn = StdVGAPCIFunction(vga: VGA(), mmioBus: bus), fn2 = StdVGAPCIFunction(vga: vga2, mmioBus: bus2)
        fn.configWrite(offset: StdVGAPCIFunction.lfbBAR, size: 4, value: 0xE000_0000)
        fn.configWrite(offset: StdVGAPCIFunction.mmioBAR, size: 4, value: 0xE100_0000)
        fn.configWrite(offset: PCIConfig.command, size: 2, value: UInt32(PCIConfig.commandMemorySpace))
        try assertRestores(fn, into: fn2)
        XCTAssertEqual(fn2.framebufferBase, 0xE000_0000)
        XCTAssertEqual(fn2.registersBase, 0xE100_0000)
        XCTAssertEqual(bus2.read(address: 0xE100_0000 + VGAMMIORegisters.dispiOffset, size: 2), UInt64(BochsVBE.id0),
                       "the DISPI ID answers through the restored register BAR")
        var bar = fn2.state
        bar.configuration[StdVGAPCIFunction.lfbBAR] |= 0x01     // the memory BAR's I/O bit is hardwired
        assertRefuses(fn2, bar)
    }

    // MARK: VGA

    func testVGARoundTripKeepsRegistersDACVBEAndLatches() throws {
        let vga = VGA(), vga2 = VGA()
        vga.setSeq(VGASeq.memoryMode, VGASeq.memExtended | VGASeq.memOddEvenDisable)   // planar
        vga.setGC(VGAGC.misc, VGAGC.miscGraphics | 1 << VGAGC.miscMapShift)              // 64 KiB at 0xA0000
        vga.setGC(VGAGC.mode, 0)
        vga.setSeq(VGASeq.mapMask, 0x05)
        vga.setCRTC(VGACRTC.offset, 0x28)
        vga.setAttr(3, 0x2A)
        vga.setDAC(7, 0x11, 0x22, 0x33)
        vga.out(0x3C7, 7)
        _ = vga.inb(0x3C9)                                   // DAC read in progress: green next
        vga.vbe(BochsVBE.indexXRes, 800)
        vga.vbe(BochsVBE.indexBPP, 32)
        vga.poke(0xA0000, [0xC3])                            // planes 0 and 2 get 0xC3
        _ = vga.peek(0xA0000)                                // latches now hold them
        try assertRestores(vga, into: vga2)
        XCTAssertEqual(vga2.inb(0x3C9), 0x22, "the DAC read goes on with green")
        XCTAssertEqual(vga2.vbe(BochsVBE.indexXRes), 800)
        XCTAssertEqual(vga2.vbe(BochsVBE.indexBPP), 32)
        vga2.out(0x3C4, UInt8(VGASeq.mapMask))
        XCTAssertEqual(vga2.inb(0x3C5), 0x05)
        vga2.out(0x3D4, UInt8(VGACRTC.offset))
        XCTAssertEqual(vga2.inb(0x3D5), 0x28)
        // Write mode 1 copies the latches: the restored VGA writes the saved planes back.
        vga.setGC(VGAGC.mode, 1)
        vga2.setGC(VGAGC.mode, 1)
        vga.poke(0xA0010, [0])
        vga2.poke(0xA0010, [0])
        XCTAssertEqual((0..<4).map { vga2.vramByte(0x10 * 4 + $0) }, (0..<4).map { vga.vramByte(0x10 * 4 + $0) })
        XCTAssertEqual(vga2.vramByte(0x10 * 4), 0xC3, "plane 0's latch came back")
    }

    func testVGARefusals() {
        let vga = VGA()
        var dac = vga.state
        dac.dacComponent = 3
        assertRefuses(vga, dac)
        var bank = vga.state
        bank.vbe.bank = UInt16(vga.vramSize / BochsVBE.bankSize)
        assertRefuses(vga, bank)
        var bpp = vga.state
        bpp.vbe.bpp = 12
        assertRefuses(vga, bpp)
        var crtc = vga.state
        crtc.crtc.removeLast()
        assertRefuses(vga, crtc)
    }

    // MARK: fw_cfg

    func testFirmwareConfigRoundTripKeepsTheDataPosition() throws {
        let memory = try GuestMemory(size: 4 << 20)
        let fw = FirmwareConfig(memory: memory), fw2 = FirmwareConfig(memory: memory)
        for d in [fw, fw2] { d.setItem(0x0100, [1, 2, 3, 4, 5, 6]) }
        fw.portWrite(offset: 0, size: 2, value: 0x0100)
        XCTAssertEqual(fw.portRead(offset: 1, size: 2), 0x0201)
        fw.portWrite(offset: 4, size: 4, value: UInt32(0x1234).bigEndian)   // the DMA address's high half
        try assertRestores(fw, into: fw2)
        XCTAssertEqual(fw2.portRead(offset: 1, size: 1), 3, "the data port goes on where the saved one was")
        XCTAssertEqual(fw2.state.dmaAddress, 0x1234 << 32)
        assertRefuses(fw2, .init(selector: 0x0100, position: 7))
        assertRefuses(fw2, .init(selector: 0x0100, position: 0, dmaAddress: 0x10))
    }

    // MARK: IDE

    func testIDERoundTripResumesAPIOReadMidSector() throws {
        let images = try TemporaryImages()
        let path = try images.make("disk.img", size: 64 * 512) { sector, offset in UInt8(truncatingIfNeeded: sector * 7 + offset) }
        let rig = try IDERig(), rig2 = try IDERig()
        try rig.ide.attach(ATADisk(image: DiskImage(path: path, readOnly: true)), channel: 0, position: .master)
        try rig2.ide.attach(ATADisk(image: DiskImage(path: path, readOnly: true)), channel: 0, position: .master)
        rig.outb(IDERig.base + ATA.sectorCount, 0)                          // a multiple count first
        rig.outb(IDERig.base + ATA.sectorCount, 4)
        rig.select(.master)
        rig.outb(IDERig.base + ATA.statusCommand, ATA.cmdSetMultipleMode)
        _ = rig.status()
        rig.outl(IDERig.busMasterBase + BMIDE.prdTable, 0x8000)
        rig.outb(IDERig.busMasterBase + BMIDE.status, BMIDE.statusDrive0DMA)
        rig.command28(ATA.cmdReadSectors, lba: 5, count: 2)
        let head = rig.readData(200)
        XCTAssertTrue(rig.irq14.level)
        try assertRestores(rig.ide, into: rig2.ide)
        XCTAssertTrue(rig2.irq14.level, "IRQ14 follows the restored interrupt request")
        XCTAssertEqual(rig2.busMasterStatus, rig.busMasterStatus, "BMISX as saved, not set again by INTRQ")
        XCTAssertEqual(rig2.inl(IDERig.busMasterBase + BMIDE.prdTable), 0x8000)
        XCTAssertEqual(rig2.status(), rig.status())
        let rest = rig.readData(312 + 512), rest2 = rig2.readData(312 + 512)
        XCTAssertEqual(rest2, rest, "the restored drive sends the rest of sector 5, then sector 6")
        XCTAssertEqual(Array(head + rest), (0..<1024).map { UInt8(truncatingIfNeeded: (5 + $0 / 512) * 7 + $0 % 512) })
        XCTAssertEqual(rig2.status() & (ATA.statusDRQ | ATA.statusBSY), 0)
        // The multiple count came back (IDENTIFY word 59).
        XCTAssertEqual(rig2.identify()[59] & 0xFF, 4)
    }

    func testIDERoundTripResumesAnATAPIReadBetweenBlocks() throws {
        let images = try TemporaryImages()
        let path = try images.make("cd.iso", size: 50 * 2048, sectorSize: 2048) { s, o in UInt8(truncatingIfNeeded: s &* 31 &+ o / 2) }
        let rig = try IDERig(), rig2 = try IDERig()
        for r in [rig, rig2] {
            try r.ide.attach(ATAPICDROM(image: DiskImage(path: path, readOnly: true)), channel: 1, position: .slave)
            r.reset()
        }
        let base: UInt16 = 0x170
        rig.outb(base + ATA.device, ATA.deviceObsolete | ATA.deviceDEV)
        rig.outb(base + ATA.errorFeature, 0)
        rig.outb(base + ATA.lbaMid, 0x00)
        rig.outb(base + ATA.lbaHigh, 0x08)                                 // 2048-byte DRQ blocks
        rig.outb(base + ATA.statusCommand, ATA.cmdPacket)
        rig.writeData([0x28, 0, 0, 0, 0, 4, 0, 0, 40, 0, 0, 0], base: base)  // READ(10) LBA 4, 40 sectors: more than one buffer
        let first = rig.readData(1000, base: base)
        try assertRestores(rig.ide, into: rig2.ide)
        XCTAssertTrue(rig2.irq15.level)
        XCTAssertEqual(rig2.inb(base + ATA.lbaMid), rig.inb(base + ATA.lbaMid), "byte count of the block in progress")
        let rest = rig.readData(1048 + 39 * 2048, base: base), rest2 = rig2.readData(1048 + 39 * 2048, base: base)
        XCTAssertEqual(rest2, rest)
        XCTAssertEqual(first + rest2, (4..<44).flatMap { s in (0..<2048).map { UInt8(truncatingIfNeeded: s &* 31 &+ $0 / 2) } },
                       "the restored drive staged and sent the sectors that were left")
        XCTAssertEqual(rig2.inb(base + ATA.sectorCount) & 3, ATAPI.reasonIO | ATAPI.reasonCoD, "then the status phase")
        var kind = rig2.ide.state
        kind.secondary.slave?.disk = .init(currentHeads: 16, currentSectorsPerTrack: 63, multipleSectors: 0,
                                           writeCacheEnabled: true, selectedMultiwordDMA: nil, selectedUltraDMA: nil, transfer: nil)
        assertRefuses(rig2.ide, kind)
    }

    func testIDERefusals() throws {
        let images = try TemporaryImages()
        let path = try images.make("disk.img", size: 16 * 512)
        let rig = try IDERig()
        try rig.ide.attach(ATADisk(image: DiskImage(path: path, readOnly: true)), channel: 0, position: .master)
        var slave = rig.ide.state
        slave.primary.slave = slave.primary.master
        assertRefuses(rig.ide, slave)
        var missing = rig.ide.state
        missing.primary.master = nil
        assertRefuses(rig.ide, missing)
        var transfer = rig.ide.state
        transfer.primary.master?.disk?.transfer = .init(lba: 15, remaining: 2, blockSectors: 1, isWrite: false)
        assertRefuses(rig.ide, transfer)
        var pio = rig.ide.state
        pio.primary.master?.dataEnd = UInt32(IDEDrive.bufferSize + 2)
        assertRefuses(rig.ide, pio)
        var bm = rig.ide.state
        bm.secondary.busMaster.prdTable = 0x1002
        assertRefuses(rig.ide, bm)
    }
}
