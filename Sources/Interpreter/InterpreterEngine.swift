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
    /// Whether block translation was asked for (`--jit`), to tell `--stats` when the host
    /// refused it.
    private var translationRequested = false
    /// Instructions per slice: bounds the latency of interrupts and stop requests.
    public var sliceLength = 20_000

    public var engineName: String { "interp" }

    /// The CPU registers itself with `memory` as a `GuestMemoryObserver`, so device writes and
    /// attribute changes reach it whether it runs the vCPU or stands by.
    public init(memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus, lock: Lock, control: MachineControl,
                model: CPUModel = .swiftpc, platform: VCPUPlatform = VCPUPlatform()) {
        cpu = X86CPU(memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock, model: model, platform: platform)
        self.control = control
    }

    /// Turns block translation (the JIT) on or off, as `--jit` asks.
    public func setBlockTranslation(enabled: Bool) {
        translationRequested = enabled
        cpu.setBlockTranslation(enabled: enabled)
    }

    /// The interpreter carries out the whole platform contract.
    public var platformSupport: PlatformSupport {
        [.a20Gate, .lowMemoryWriteProtect, .ferrLine, .hypercallExit, .userspaceInterruptController,
         .prefersHostUnpackedKernel]
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
    public func raiseNMI() { nmiRequest.store(true, ordering: .sequentiallyConsistent) }

    /// Ends the run slice after the current instruction, so that INTR is looked at then.
    public func interruptInputChanged() { cpu.platformEventDuringInstruction() }

    public func readTimeStampCounter() -> UInt64 { cpu.timeStampCounter }

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
            } else if cpu.interruptsEnabled, let source = cpu.platform.interruptController {
                let vector: UInt8? = cpu.lock.withLock {
                    source.interruptRequested ? source.acknowledgeInterrupt() : nil
                }
                if let vector { cpu.deliverExternalInterrupt(vector) }
            }
            if cpu.halted && cpu.blockedInHypercall {
                // A hypercall's block ends with any interrupt request, taken or not.
                let requested = cpu.lock.withLock { cpu.platform.interruptController?.interruptRequested ?? false }
                if requested || nmiRequest.load(ordering: .sequentiallyConsistent) { cpu.wakeFromBlock() } else { usleep(100) }
                continue
            }
            if cpu.halted {
                if !cpu.interruptsEnabled && !cpu.nmiDeliverable
                    && !nmiRequest.load(ordering: .sequentiallyConsistent) { return .haltedForever }
                // Wait for the event thread's timers or input to raise an interrupt.
                let requested = cpu.lock.withLock { cpu.platform.interruptController?.interruptRequested ?? false }
                if !requested { usleep(100) }
                continue
            }
            cpu.runSlice(sliceLength)
        }
    }
}

extension InterpreterEngine {
    /// Counters for `--stats` and `swiftpc bench`.
    public var statistics: EngineStatistics {
        var lines = ["instructions retired: \(cpu.instructionsRetired); page walks: \(cpu.pageWalks); TLB flushes: \(cpu.tlbFlushes)"]
        if cpu.blockTranslationEnabled {
            lines.append("translated blocks: \(cpu.translatedBlocks); instructions run as translated code: \(cpu.translatedInstructions)")
        } else if translationRequested {
            lines.append("block translation unavailable: the host refused writable executable memory; everything was interpreted")
        }
        let list = cpu.unimplemented.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append("unimplemented instructions (#UD raised): \(cpu.unimplementedCount)" + (list.isEmpty ? "" : " — " + list))
        let msrs = cpu.unknownMSRs.sorted { $0.value > $1.value }
            .map { "0x\(String($0.key, radix: 16, uppercase: true)) \($0.value)" }.joined(separator: ", ")
        lines.append("unknown MSRs (#GP raised): \(cpu.unknownMSRCount)" + (msrs.isEmpty ? "" : " — " + msrs))
        return EngineStatistics(instructionsRetired: cpu.instructionsRetired, lines: lines)
    }
}
