import Devices
import MachineCore

/// The legacy PC devices every guest gets, at their standard ports and IRQs.
/// With an in-kernel irqchip (KVM), the PIC and PIT live in the kernel: their ports never
/// reach userspace, so the models here are built only for the userspace routing.
public final class LegacyDevices {
    public let serial: Serial16550
    public let rtc: MC146818RTC
    public let i8042: I8042
    public let port92: FastA20Port92
    public let debugExit: DebugExitPort
    public let debugConsole: DebugConsolePort
    public let postCode: POSTCodePort
    public let pciBus: PCIBus
    public let pciConfig: PCIConfigMechanism1
    /// The PIIX3 reset control register at 0xCF9.
    public let resetControl: PIIX3ResetControl
    public let hostBridge: I440FXHostBridge
    /// PIIX3 function 0: PCI interrupt routing to ISA IRQs.
    public let isaBridge: PIIX3ISABridge
    /// PIIX4 function 3: the ACPI PM I/O block (event, control, timer registers).
    public let powerManagement: PIIX4PowerManagement
    public let apm: APMControlPorts
    /// QEMU's fw_cfg interface, through which SeaBIOS learns about the machine.
    public let firmwareConfig: FirmwareConfig
    /// PIIX3 function 1: the IDE controller (legacy ports, IRQ 14 and 15, bus-master DMA).
    public let ide: PIIX3IDE
    public let acpiPower: ACPIPowerControl
    public let acpiEvents: ACPIPMEventBlock
    public let acpiTimer: ACPIPMTimer
    /// FERR# to IRQ13 and its clear port 0xF0 (the interpreter's x87 with CR0.NE clear).
    public let coprocessorError: CoprocessorErrorPort
    /// Userspace interrupt controller and timer (nil with an in-kernel irqchip).
    public let pic: DualPIC8259?
    public let pit: PIT8254?
    public let portB: SystemControlPortB?
    /// Userspace APICs (nil with an in-kernel irqchip, which has its own).
    public let ioapic: IOAPIC?
    public let lapic: LocalAPIC?

    /// ISA IRQ numbers of the devices built here.
    public enum IRQ {
        public static let pit = 0
        public static let keyboard = 1
        public static let com1 = 4
        public static let rtc = 8
        public static let mouse = 12
        public static let idePrimary = 14
        public static let ideSecondary = 15
    }

    /// The IOAPIC input of ISA IRQ `irq`: IRQ0 is wired to pin 2 (the MADT's override).
    public static func ioapicPin(isaIRQ irq: Int) -> Int { irq == 0 ? 2 : irq }

    init(portBus: PortIOBus, mmioBus: MMIOBus, memory: GuestMemory, timers: TimerQueue, control: MachineControl,
         serial backend: SerialBackend, interrupts: InterruptRouting) throws(MachineError) {
        let line: (Int) -> IRQLine
        switch interrupts {
        case let .inKernel(setLine):
            pic = nil; pit = nil; portB = nil; ioapic = nil; lapic = nil
            line = { IRQLine(number: $0, sink: setLine) }
        case .userspace:
            let pic = DualPIC8259()
            let ioapic = IOAPIC()
            let lapic = LocalAPIC(timers: timers)
            self.pic = pic
            self.ioapic = ioapic
            self.lapic = lapic
            // Each ISA line reaches both the 8259 and the IOAPIC, as on a PIIX board.
            line = { irq in
                IRQLine(number: irq) { [unowned pic, unowned ioapic] n, level in
                    pic.setIRQ(n, level: level)
                    ioapic.setLevel(pin: LegacyDevices.ioapicPin(isaIRQ: n), level)
                }
            }
            try ioapic.attach(to: mmioBus)
            try lapic.attach(to: mmioBus)
            let pit = PIT8254(irq: line(IRQ.pit), timers: timers)
            self.pit = pit
            portB = SystemControlPortB(pit: pit)
            try pic.attach(to: portBus)
            try pit.attach(to: portBus)
            try portB!.attach(to: portBus)
        }
        serial = Serial16550(port: .com1, irq: line(IRQ.com1), timers: timers, backend: backend)
        rtc = MC146818RTC(irq: line(IRQ.rtc), timers: timers)
        rtc.setMemorySize(bytes: memory.size, pciHoleStart: GuestMemory.lowMemoryLimit)
        i8042 = I8042(keyboardIRQ: line(IRQ.keyboard), mouseIRQ: line(IRQ.mouse), control: control, timers: timers)
        port92 = FastA20Port92(control: control)
        debugExit = DebugExitPort(control: control)
        debugConsole = DebugConsolePort { byte in backend.write(byte) }
        postCode = POSTCodePort()
        pciBus = PCIBus()
        hostBridge = I440FXHostBridge()
        try pciBus.register(hostBridge, at: PCIAddress(device: 0)!, name: "i440fx")
        pciConfig = PCIConfigMechanism1(bus: pciBus)
        resetControl = PIIX3ResetControl(control: control)
        acpiEvents = ACPIPMEventBlock()
        acpiPower = ACPIPowerControl(control: control, events: acpiEvents)
        acpiTimer = ACPIPMTimer(clock: timers.clock)
        // PCI INTx# reaches the ISA lines through the PIIX3's PIRQ routing; one line object
        // per IRQ keeps the level each route last drove.
        let isaLines = (0..<16).map(line)
        isaBridge = PIIX3ISABridge { irq, level in isaLines[irq].set(level) }
        try pciBus.register(isaBridge, at: PIIX3ISABridge.address, name: "piix3-isa")
        powerManagement = PIIX4PowerManagement(portBus: portBus, events: acpiEvents, powerControl: acpiPower, timer: acpiTimer)
        try pciBus.register(powerManagement, at: PIIX4PowerManagement.address, name: "piix4-pm")
        apm = APMControlPorts()
        ide = PIIX3IDE(portBus: portBus, memory: memory, irq14: line(IRQ.idePrimary), irq15: line(IRQ.ideSecondary))
        try ide.register(on: pciBus)
        firmwareConfig = FirmwareConfig(memory: memory)
        // A long fw_cfg DMA read gives way to a stop request between its steps.
        firmwareConfig.shouldAbandonTransfer = { [unowned control] in control.isStopRequested }
        coprocessorError = CoprocessorErrorPort(irq: line(CoprocessorErrorPort.irqNumber))

        try serial.attach(to: portBus)
        try rtc.attach(to: portBus)
        try i8042.attach(to: portBus)
        try port92.attach(to: portBus)
        try debugExit.attach(to: portBus)
        try debugConsole.attach(to: portBus)
        try postCode.attach(to: portBus)
        try pciConfig.attach(to: portBus)
        try resetControl.attach(to: portBus)
        try apm.attach(to: portBus)
        try firmwareConfig.attach(to: portBus)
        try coprocessorError.attach(to: portBus)
    }

    /// Puts the devices in their power-on state (machine reset). Call with the machine lock held.
    func reset() {
        serial.reset()
        i8042.reset()
        port92.reset()
        resetControl.reset()
        hostBridge.reset()
        isaBridge.reset()
        ide.reset()
        powerManagement.reset()
        apm.reset()
        firmwareConfig.reset()
        pic?.reset()
        pit?.reset()
        ioapic?.reset()
        lapic?.reset()
    }
}
