import Interpreter
import MachineCore

/// An engine plus the interrupt routing it needs.
struct EngineChoice {
    let engine: VCPUEngine
    let interrupts: InterruptRouting
    /// Which engine and why, for `--stats`.
    var reason = ""
    /// A line for stderr when the user should know at once (auto fell back, or KVM is slow).
    var notice: String?
}

/// Picks the engine for `--accel` (docs/ARCHITECTURE.md, "KVM": auto uses KVM when /dev/kvm works and is faster
/// than the interpreter; see `makeAuto`).
enum EngineFactory {
    static func make(config: MachineConfig, memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus,
                     lock: Lock, control: MachineControl, platform: VCPUPlatform) throws(MachineError) -> EngineChoice {
        if config.xen != nil {
            return try makeForXen(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock, control: control, platform: platform)
        }
        switch config.accel {
        case .kvm:
            return try makeKVM(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock, control: control, platform: platform)
        case .interp:
            var choice = makeInterpreter(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock, control: control, platform: platform)
            choice.reason = "--accel interp"
            return choice
        case .auto:
            return makeAuto(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock, control: control, platform: platform)
        }
    }

    /// The interpreter with the userspace PIC and PIT.
    static func makeInterpreter(config: MachineConfig, memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus,
                                lock: Lock, control: MachineControl, platform: VCPUPlatform) -> EngineChoice {
        let engine = InterpreterEngine(memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock,
                                       control: control, model: config.cpuModel, platform: platform)
        engine.setBlockTranslation(enabled: config.blockTranslation)
        return EngineChoice(engine: engine, interrupts: .userspace)
    }

    /// The interpreter that stands by while KVM runs the vCPU (`--migrate-every`). It shares
    /// the platform; interrupts come from KVM's irqchip, whose state travels in `CPUState`.
    static func makeStandbyInterpreter(config: MachineConfig, memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus,
                                       lock: Lock, control: MachineControl, platform: VCPUPlatform) -> VCPUEngine {
        InterpreterEngine(memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock, control: control,
                          model: config.cpuModel, platform: platform)
    }
}
