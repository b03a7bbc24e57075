// GSI routing of the in-kernel irqchip (api.rst, KVM_SET_GSI_ROUTING).
import CKVM
import MachineCore

/// An input pin of one of the in-kernel interrupt controllers.
public enum KVMIRQChipPin: Equatable, Sendable {
    /// Master 8259A input 0...7.
    case picMaster(Int)
    /// Slave 8259A input 0...7 (ISA IRQ 8...15).
    case picSlave(Int)
    /// IOAPIC input 0...23.
    case ioapic(Int)
}

/// One routing entry: raising `gsi` with KVM_IRQ_LINE drives `pin`. A GSI may have one entry
/// per controller (the ISA IRQs reach both the PIC and the IOAPIC).
public struct KVMGSIRoute: Equatable, Sendable {
    public var gsi: Int
    public var pin: KVMIRQChipPin
    public init(gsi: Int, pin: KVMIRQChipPin) { self.gsi = gsi; self.pin = pin }
}

extension KVMVirtualMachine {
    /// The routing of a PC whose MADT carries the usual interrupt source override "ISA IRQ 0
    /// is GSI 2" (as QEMU's and real boards' do): GSI 0 (the PIT, also the in-kernel one)
    /// reaches PIC input 0 and IOAPIC input 2; GSI 1 and 3...15 reach the PIC input of the
    /// same ISA number and the IOAPIC input of the same number; GSI 16...23 the IOAPIC only.
    /// GSI 2 is the PIC cascade and is not routed.
    public static let isaOverrideRouting: [KVMGSIRoute] = {
        var routes: [KVMGSIRoute] = []
        for irq in 0..<16 where irq != 2 {
            routes.append(KVMGSIRoute(gsi: irq, pin: irq < 8 ? .picMaster(irq) : .picSlave(irq - 8)))
            routes.append(KVMGSIRoute(gsi: irq, pin: .ioapic(irq == 0 ? 2 : irq)))
        }
        for gsi in 16..<24 { routes.append(KVMGSIRoute(gsi: gsi, pin: .ioapic(gsi))) }
        return routes
    }()

    /// Replaces the whole GSI routing table (KVM_SET_GSI_ROUTING). Without a call, KVM's
    /// default applies: GSI n reaches PIC input n (n < 16) and IOAPIC input n.
    public func setGSIRouting(_ routes: [KVMGSIRoute]) throws(MachineError) {
        guard hasIRQChip else { throw .badConfiguration("GSI routing needs the in-kernel irqchip") }
        guard checkExtension(.irqRouting) > 0 else {
            throw .engineUnavailable("\(system.path): the kernel lacks KVM_CAP_IRQ_ROUTING")
        }
        guard let table = ckvm_irq_routing_alloc(UInt32(routes.count)) else { throw .engineFailure("out of memory for the GSI routing table") }
        defer { ckvm_free(table) }
        for (i, route) in routes.enumerated() {
            let chip: Int32, pin: Int, pins: Int
            switch route.pin {
            case let .picMaster(p): chip = KVM_IRQCHIP_PIC_MASTER; pin = p; pins = 8
            case let .picSlave(p): chip = KVM_IRQCHIP_PIC_SLAVE; pin = p; pins = 8
            case let .ioapic(p): chip = KVM_IRQCHIP_IOAPIC; pin = p; pins = 24
            }
            guard route.gsi >= 0, route.gsi < 1024, pin >= 0, pin < pins else {
                throw .badConfiguration("GSI route \(route.gsi) -> \(route.pin) is out of range")
            }
            ckvm_irq_routing_set_irqchip(table, UInt32(i), UInt32(route.gsi), UInt32(chip), UInt32(pin))
        }
        try KVMIoctl.call(fd, CKVM_SET_GSI_ROUTING, raw: table, "KVM_SET_GSI_ROUTING")
    }
}
