import MachineCore

/// An engine plus the interrupt routing it needs.
struct EngineChoice {
    let engine: VCPUEngine
    let interrupts: InterruptRouting
}

/// Picks the engine for `--accel` (DESIGN.md: auto uses KVM when /dev/kvm works).
enum EngineFactory {
    static func make(config: MachineConfig, memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus,
                     lock: Lock, control: MachineControl) throws(MachineError) -> EngineChoice {
        switch config.accel {
        case .kvm:
            return try makeKVM(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock, control: control)
        case .interp:
            throw .engineUnavailable("--accel interp: the interpreter engine is not built yet")
        case .auto:
            do {
                return try makeKVM(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock, control: control)
            } catch {
                throw .engineUnavailable("KVM is not usable (\(error)) and the interpreter engine is not built yet")
            }
        }
    }
}
