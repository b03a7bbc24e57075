import MachineCore

/// Where the machine's ISA interrupt lines end. Chosen by the engine: KVM with an in-kernel
/// irqchip takes lines through KVM_IRQ_LINE and emulates the PIC and PIT itself (so their
/// ports never reach userspace); otherwise the userspace PIC model receives them.
public enum InterruptRouting {
    /// In-kernel PIC/IOAPIC and PIT: `setLine(irq, level)` drives a line.
    case inKernel(setLine: (Int, Bool) -> Void)
    /// Userspace PIC and PIT models on the port bus.
    case userspace
}
