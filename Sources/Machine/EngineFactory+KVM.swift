import Foundation
import KVMAccel
import MachineCore

extension EngineFactory {
    /// The KVM device node; `SWIFTPC_KVM_DEVICE` overrides it (tests use it to simulate a
    /// host without KVM).
    static var kvmDevicePath: String {
        ProcessInfo.processInfo.environment["SWIFTPC_KVM_DEVICE"] ?? "/dev/kvm"
    }

    /// KVM with an in-kernel irqchip and PIT, as QEMU uses by default: IRQ lines become
    /// KVM_IRQ_LINE calls and the kernel emulates the PIC, IOAPIC, LAPIC and PIT.
    static func makeKVM(config: MachineConfig, memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus,
                        lock: Lock, control: MachineControl) throws(MachineError) -> EngineChoice {
        let system = try KVMSystem(path: kvmDevicePath)
        let vm = try KVMVirtualMachine(system: system, memory: memory)
        guard try vm.createInKernelIRQChip(withPIT: true) else {
            throw .engineUnavailable("KVM at \(kvmDevicePath) has no in-kernel irqchip, which swiftpc needs with --accel kvm")
        }
        let vcpu = try KVMVirtualCPU(vm: vm, id: 0, model: config.cpuModel, logicalCount: config.cpuCount,
                                     portIO: portBus, mmio: mmioBus, lock: lock, control: control)
        let routing = InterruptRouting.inKernel { irq, level in
            do { try vm.setIRQLine(irq, level: level) } catch {
                control.requestStop(.engineFailure("KVM_IRQ_LINE \(irq) failed: \(error)"))
            }
        }
        return EngineChoice(engine: vcpu, interrupts: routing)
    }
}
