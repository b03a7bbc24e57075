import Interpreter
import MachineCore

/// An engine the assembly suite can run a binary on: a name, what it cannot do (with the
/// reasons), and how to make a vCPU on a given memory and port bus. The KVM engine is built
/// where KVMAccel is imported (the command line, the tests), as this module does not link it.
public struct AssemblySuiteEngine {
    public typealias Factory = (GuestMemory, PortIOBus, MachineControl) throws -> VCPUEngine
    public var name: String
    /// Requirements the engine lacks and why (`AssemblySuiteRequirement.kvmPVMMissing`).
    public var missing: [(AssemblySuiteRequirement, String)]
    public var make: Factory

    public init(name: String, missing: [(AssemblySuiteRequirement, String)] = [], make: @escaping Factory) {
        self.name = name
        self.missing = missing
        self.make = make
    }

    /// The interpreter, optionally with a deliberate defect (the suite's self-test).
    public static func interpreter(defect: InjectedDefect = .none) -> AssemblySuiteEngine {
        AssemblySuiteEngine(name: "interp", missing: AssemblySuiteRequirement.interpreterMissing) { memory, ports, control in
            let engine = InterpreterEngine(memory: memory, portBus: ports, mmioBus: MMIOBus(), lock: Lock(), control: control)
            engine.cpu.injectedDefect = defect
            return engine
        }
    }
}

extension AssemblySuiteEngine {
    /// The interpreter translating the 64-bit code it reaches into host code at once
    /// (JIT/, threshold 0), so that 64-bit test bodies run as translated blocks. `onCPU`
    /// sees each CPU made (to count what ran translated).
    public static func translated(onCPU: ((X86CPU) -> Void)? = nil) -> AssemblySuiteEngine {
        AssemblySuiteEngine(name: "translated", missing: AssemblySuiteRequirement.interpreterMissing) { memory, ports, control in
            let engine = InterpreterEngine(memory: memory, portBus: ports, mmioBus: MMIOBus(), lock: Lock(), control: control)
            engine.cpu.setBlockTranslation(enabled: true, threshold: 0)
            onCPU?(engine.cpu)
            return engine
        }
    }
}

/// The debug-exit port (0xF4): the harness writes it when every test has run.
final class AssemblySuiteExitPort: PortIODevice {
    let control: MachineControl
    init(control: MachineControl) { self.control = control }
    func portRead(offset: UInt16, size: Int) -> UInt32 { 0xFFFF_FFFF }
    func portWrite(offset: UInt16, size: Int, value: UInt32) { control.requestStop(.debugExit(value)) }
}
