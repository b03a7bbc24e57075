import MachineCore

/// Where the interpreter takes external interrupts from: the machine's userspace PIC
/// (adapted by the machine, since the interpreter knows no devices). Called with the
/// machine lock held.
public protocol InterruptSource: AnyObject {
    /// The INTR line is asserted.
    var interruptRequested: Bool { get }
    /// The INTA cycle: the vector of the highest-priority pending request.
    func acknowledgeInterrupt() -> UInt8
}
