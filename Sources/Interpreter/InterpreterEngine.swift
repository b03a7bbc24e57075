import MachineCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The interpreter as a machine engine (`--accel interp`): runs the CPU in slices, takes
/// external interrupts from the machine's interrupt source between slices, and waits in HLT
/// until an interrupt arrives or the machine stops.
public final class InterpreterEngine: VCPUEngine, @unchecked Sendable {
    public let cpu: X86CPU
    private let control: MachineControl
    private let stopRequest = Atomic<Bool>(false)
    /// NMI requests from other threads, taken by the run loop.
    private let nmiRequest = Atomic<Bool>(false)
    /// Instructions per slice: bounds the latency of interrupts and stop requests.
    public var sliceLength = 20_000

    public var engineName: String { "interp" }

    public init(memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus, lock: Lock, control: MachineControl,
                model: CPUModel = .swiftpc) {
        cpu = X86CPU(memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock, model: model)
        self.control = control
    }

    /// Loads the complete architectural state; an NMI requested earlier is dropped (getState
    /// reported it as `nmiPending`, which the loaded state now decides).
    public func setState(_ state: CPUState) throws(MachineError) {
        nmiRequest.store(false, ordering: .sequentiallyConsistent)
        cpu.setState(state)
    }

    public func getState() throws(MachineError) -> CPUState {
        var s = cpu.getState()
        // An NMI raised from another thread and not yet seen by the run loop is pending too.
        if nmiRequest.load(ordering: .sequentiallyConsistent) { s.nmiPending = true }
        return s
    }

    public func requestStop() { stopRequest.store(true, ordering: .sequentiallyConsistent) }

    /// Raises the vCPU's NMI input. Thread-safe; the NMI is delivered at the next boundary
    /// between run slices where it is not blocked (X86CPU+NMI.swift), and wakes a HLT.
    public func injectNMI() { nmiRequest.store(true, ordering: .sequentiallyConsistent) }

    public func run() throws(MachineError) -> VCPUExit {
        while true {
            if stopRequest.exchange(false, ordering: .sequentiallyConsistent) || control.isStopRequested {
                return .stopRequested
            }
            if let reason = cpu.shutdownReason { return .shutdown(reason) }
            if nmiRequest.exchange(false, ordering: .sequentiallyConsistent) { cpu.injectNMI() }
            // NMI before INTR (SDM Vol. 3A §6.9, Table 6-2).
            if cpu.deliverPendingNMI() {
                // Taken; INTR is looked at on the next pass.
            } else if cpu.interruptsEnabled, let source = cpu.interruptSource {
                let vector: UInt8? = cpu.lock.withLock {
                    source.interruptRequested ? source.acknowledgeInterrupt() : nil
                }
                if let vector { cpu.deliverExternalInterrupt(vector) }
            }
            if cpu.halted {
                if !cpu.interruptsEnabled && !cpu.nmiDeliverable
                    && !nmiRequest.load(ordering: .sequentiallyConsistent) { return .haltedForever }
                // Wait for the event thread's timers or input to raise an interrupt.
                let requested = cpu.lock.withLock { cpu.interruptSource?.interruptRequested ?? false }
                if !requested { usleep(100) }
                continue
            }
            cpu.runSlice(sliceLength)
        }
    }
}
