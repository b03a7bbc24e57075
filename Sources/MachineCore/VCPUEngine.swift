/// Why an engine's `run()` returned to the machine.
public enum VCPUExit: Equatable, Sendable {
    /// The machine asked the vCPU to stop (see `MachineControl`), or `requestStop()` was called.
    case stopRequested
    /// HLT with interrupts disabled and nothing that could wake the vCPU: it will never run again.
    case haltedForever
    /// The CPU shut down (triple fault); the string names the fault chain.
    case shutdown(String)
}

/// What both engines (the interpreter and KVM) provide, so a machine can run a vCPU on
/// either and move it between them (DESIGN.md, "Layers").
public protocol VCPUEngine: AnyObject {
    /// Short name for messages ("kvm", "interp").
    var engineName: String { get }
    /// Loads the complete architectural state.
    func setState(_ state: CPUState) throws(MachineError)
    /// Reads the complete architectural state.
    func getState() throws(MachineError) -> CPUState
    /// Runs guest code on the calling thread until something needs the machine.
    func run() throws(MachineError) -> VCPUExit
    /// Asks a running `run()` on another thread to return soon with `.stopRequested`. Thread-safe.
    func requestStop()
}
