import MachineCore

/// The PC/AT numeric-coprocessor error logic: the FPU's FERR# output latched onto IRQ13, and
/// port 0xF0, whose write clears the latch (and asserts IGNNE#) so the DOS-era handler can
/// return (PC/AT technical reference; the PIIX4 "Coprocessor Error" register at F0h).
public final class CoprocessorErrorPort: PortIODevice {
    public static let port: UInt16 = 0xF0
    public static let irqNumber = 13

    private let irq: IRQLine

    public init(irq: IRQLine) { self.irq = irq }

    public func attach(to bus: PortIOBus, name: String = "fpu-error") throws(MachineError) {
        _ = try bus.claim(base: Self.port, count: 1, device: self, name: name)
    }

    /// FERR# from the CPU: asserting latches IRQ13; the CPU deasserting it (FNCLEX, FNINIT)
    /// releases the line too.
    public func setFERR(_ asserted: Bool) { irq.set(asserted) }

    public func portRead(offset: UInt16, size: Int) -> UInt32 { UInt32(truncatingIfNeeded: allOnes(size: size)) }

    /// Any write clears the latched error (IRQ13 falls).
    public func portWrite(offset: UInt16, size: Int, value: UInt32) { irq.lower() }
}

extension CoprocessorErrorPort: StatefulDevice {
    /// The error latch. It is the IRQ13 level itself: FERR# sets it and a port 0xF0 write or
    /// the CPU's own FERR# release clears it.
    public struct State: Equatable, Sendable {
        public var errorLatched: Bool
        public init(errorLatched: Bool = false) { self.errorLatched = errorLatched }
    }

    public var state: State { State(errorLatched: irq.level) }

    /// Every value is one the latch can hold; IRQ13 is driven to match it.
    public func restore(_ state: State) throws(MachineError) {
        irq.set(state.errorLatched)
    }

    /// RESET clears the error latch (PC/AT technical reference, "Math Coprocessor": the
    /// latch is reset by a write to 0xF0 or by the system reset), so IRQ13 falls.
    public func reset() {
        irq.lower()
    }
}
