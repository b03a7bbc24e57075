import MachineCore

/// Non-maskable interrupts (SDM Vol. 3A §6.7.1, §6.8.3).
///
/// An NMI is vector 2, delivered through the IDT (or the IVT in real mode) whatever IF says,
/// between instructions. From its delivery until the next IRET further NMIs are held pending
/// (one at most, like the NMI latch). MOV SS / POP SS hold an NMI off for one instruction,
/// the STI shadow does not (the SDM lets processors choose; most do not block NMI after STI).
/// HLT ends when an NMI is delivered.
extension X86CPU {
    /// Raises the NMI input. Not thread-safe: engines call it on the vCPU thread (the
    /// interpreter engine's `injectNMI()` may be called from any thread).
    public func injectNMI() { nmiPending = true }

    /// The platform made an interrupt or an NMI pending during the current instruction (an
    /// APIC IPI to itself, on the vCPU thread): the run slice ends after this instruction so
    /// that the engine delivers it at the next boundary, as the processor would.
    public func platformEventDuringInstruction() { sliceEnd = true }

    /// A pending NMI can be taken at this instruction boundary.
    public var nmiDeliverable: Bool {
        nmiPending && !nmiBlocked && !(interruptShadow && !shadowFromSTI)
    }

    /// Delivers the pending NMI when it can be taken now; returns whether it did.
    @discardableResult
    public func deliverPendingNMI() -> Bool {
        guard nmiDeliverable else { return false }
        nmiPending = false
        nmiBlocked = true
        halted = false
        do {
            try deliver(vector: CPUException.Vector.nmi, errorCode: nil, kind: .external)
        } catch {
            deliverException(error)
        }
        return true
    }
}
