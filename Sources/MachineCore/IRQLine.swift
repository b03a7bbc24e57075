/// One interrupt request line from a device to the machine's interrupt controller.
///
/// A device is handed its line at construction and never knows where it ends: the machine
/// connects it to the userspace PIC/IOAPIC (interpreter) or to KVM's in-kernel irqchip.
/// ISA devices use edge semantics (`pulse`) or level (`raise`/`lower`), as real hardware does.
public final class IRQLine: @unchecked Sendable {
    /// The ISA/GSI number the line is wired to.
    public let number: Int
    /// Called with the new level whenever it changes (and for every pulse edge).
    private let sink: (_ line: Int, _ level: Bool) -> Void
    public private(set) var level = false

    public init(number: Int, sink: @escaping (_ line: Int, _ level: Bool) -> Void) {
        self.number = number
        self.sink = sink
    }

    /// A line that goes nowhere (unit tests of a device that ignore its interrupts).
    public static func unconnected(_ number: Int = 0) -> IRQLine { IRQLine(number: number) { _, _ in } }

    public func set(_ newLevel: Bool) {
        guard newLevel != level else { return }
        level = newLevel
        sink(number, newLevel)
    }

    public func raise() { set(true) }
    public func lower() { set(false) }

    /// A rising then falling edge: how an edge-triggered ISA device signals one event.
    public func pulse() {
        if level { lower() }
        raise()
        lower()
    }
}

/// Records the levels a device drives, for unit tests of devices.
public final class IRQRecorder: @unchecked Sendable {
    public private(set) var edges: [Bool] = []
    public private(set) var level = false
    public private(set) var risingEdges = 0
    public init() {}
    public func line(_ number: Int = 0) -> IRQLine {
        IRQLine(number: number) { [unowned self] _, level in
            self.edges.append(level)
            if level && !self.level { self.risingEdges += 1 }
            self.level = level
        }
    }
}
