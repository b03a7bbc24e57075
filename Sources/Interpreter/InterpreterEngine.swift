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
    /// Instructions per slice: bounds the latency of interrupts and stop requests.
    public var sliceLength = 20_000

    public var engineName: String { "interp" }

    public init(memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus, lock: Lock, control: MachineControl,
                model: CPUModel = .swiftpc) {
        cpu = X86CPU(memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock, model: model)
        self.control = control
    }

    public func setState(_ state: CPUState) throws(MachineError) { cpu.setState(state) }

    public func getState() throws(MachineError) -> CPUState { cpu.getState() }

    public func requestStop() { stopRequest.store(true, ordering: .sequentiallyConsistent) }

    public func run() throws(MachineError) -> VCPUExit {
        while true {
            if stopRequest.exchange(false, ordering: .sequentiallyConsistent) || control.isStopRequested {
                return .stopRequested
            }
            if let reason = cpu.shutdownReason { return .shutdown(reason) }
            if cpu.interruptsEnabled, let source = cpu.interruptSource {
                let vector: UInt8? = cpu.lock.withLock {
                    source.interruptRequested ? source.acknowledgeInterrupt() : nil
                }
                if let vector { cpu.deliverExternalInterrupt(vector) }
            }
            if cpu.halted {
                if !cpu.interruptsEnabled && !cpu.nmiPending { return .haltedForever }
                // Wait for the event thread's timers or input to raise an interrupt.
                let requested = cpu.lock.withLock { cpu.interruptSource?.interruptRequested ?? false }
                if !requested { usleep(100) }
                continue
            }
            cpu.runSlice(sliceLength)
        }
    }
}
