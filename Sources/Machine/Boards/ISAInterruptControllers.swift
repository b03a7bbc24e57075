import Devices
import MachineCore

/// What every PC-compatible board shares for interrupts and timing: the dual 8259, the 8254
/// PIT with port 61h, the IOAPIC and the local APIC, and the ISA lines that reach them. They
/// are built in userspace unless the engine has an in-kernel irqchip and PIT (KVM), whose
/// ports and MMIO then never reach userspace; the lines go to KVM_IRQ_LINE then.
final class ISAInterruptControllers {
    let pic: DualPIC8259?
    let pit: PIT8254?
    let portB: SystemControlPortB?
    let ioapic: IOAPIC?
    let lapic: LocalAPIC?
    /// The userspace controllers as the vCPU's interrupt controller and MSRs (nil in-kernel).
    let apicPlatform: APICPlatform?
    private let makeLine: (Int) -> IRQLine

    /// ISA IRQ numbers of the standard devices.
    enum IRQ {
        static let pit = 0
        static let keyboard = 1
        static let com1 = 4
        static let rtc = 8
        static let mouse = 12
        static let idePrimary = 14
        static let ideSecondary = 15
    }

    /// The IOAPIC input of ISA IRQ `irq`: IRQ0 is wired to pin 2 (the MADT's override).
    static func ioapicPin(isaIRQ irq: Int) -> Int { irq == 0 ? 2 : irq }

    /// Builds the controllers the engine leaves to userspace and adds them to `devices`.
    init(_ context: BoardContext, devices: BoardDeviceList) throws(MachineError) {
        switch context.interrupts {
        case let .inKernel(setLine):
            pic = nil; pit = nil; portB = nil; ioapic = nil; lapic = nil; apicPlatform = nil
            makeLine = { IRQLine(number: $0, sink: setLine) }
        case .userspace:
            let pic = devices.add(DualPIC8259())
            let ioapic = devices.add(IOAPIC())
            let lapic = devices.add(LocalAPIC(timers: context.timers))
            self.pic = pic
            self.ioapic = ioapic
            self.lapic = lapic
            // Each ISA line reaches both the 8259 and the IOAPIC, as on a PIIX board.
            makeLine = { irq in
                IRQLine(number: irq) { [unowned pic, unowned ioapic] n, level in
                    pic.setIRQ(n, level: level)
                    ioapic.setLevel(pin: ISAInterruptControllers.ioapicPin(isaIRQ: n), level)
                }
            }
            try ioapic.attach(to: context.mmioBus)
            try lapic.attach(to: context.mmioBus)
            let pit = devices.add(PIT8254(irq: makeLine(IRQ.pit), timers: context.timers))
            let portB = devices.add(SystemControlPortB(pit: pit))
            self.pit = pit
            self.portB = portB
            try pic.attach(to: context.portBus)
            try pit.attach(to: context.portBus)
            try portB.attach(to: context.portBus)
            let platform = APICPlatform(lapic: lapic, ioapic: ioapic, pic: pic, lock: context.lock,
                                        tscKHz: context.config.cpuModel.tscKHz, vcpu: context.vcpu)
            apicPlatform = platform
            context.platform.interruptController = platform
            context.platform.msrs = platform
        }
    }

    /// A new line object for ISA IRQ `irq`.
    func line(_ irq: Int) -> IRQLine { makeLine(irq) }
}
