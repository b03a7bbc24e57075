import MachineCore

/// The differential runner's side for any `VCPUEngine` whose memory is not cached behind its
/// back (in practice KVM, the reference: on kvm_pvm the CPL 3 stream runs natively on the host
/// CPU; the interpreter side is `DifferentialInterpreterEngine`, which writes code through its
/// CPU so the decoded-code cache sees it). The engine comes from a factory, as this module
/// does not link KVMAccel.
public final class DifferentialVCPUEngine: DifferentialEngine {
    public let name: String
    let memory: GuestMemory
    let vcpu: VCPUEngine
    let control = MachineControl()
    var previousCodeLength = 0

    public init(name: String, make: AssemblySuiteEngine.Factory) throws {
        self.name = name
        memory = try GuestMemory(size: GuestMemory.minimumSize)
        try DifferentialGuest.writeTables(memory)
        let ports = PortIOBus()
        try ports.claim(base: UInt16(DifferentialGuest.endPort), count: 1, device: AssemblySuiteExitPort(control: control),
                        name: "differential-end")
        vcpu = try make(memory, ports, control)
        let vcpu = self.vcpu
        control.onStopRequested = { vcpu.requestStop() }
    }

    public func run(_ c: DifferentialCase) throws -> DifferentialOutcome {
        let code = c.code
        try DifferentialMemory.loadCode(memory, code, clearing: previousCodeLength)
        previousCodeLength = code.count
        try DifferentialMemory.load(memory, data: c.dataPage, stack: c.stackPage)
        control.clear()
        try vcpu.setState(c.initialState)
        let exit = try vcpu.run()
        let end: DifferentialOutcome.End
        switch exit {
        case .stopRequested where control.stopReason != nil: end = .reachedEnd
        case .shutdown(let why): end = .stopped("shutdown: \(why)")
        default: end = .stopped("\(exit)")
        }
        let s = try vcpu.getState()
        let (data, stack) = try DifferentialMemory.save(memory)
        return DifferentialOutcome(end: end, gpr: s.gpr, rip: s.rip, rflags: s.rflags, dataPage: data, stackPage: stack,
                                   xmm: s.fpu.xmm, mxcsr: s.fpu.mxcsr, fpu: s.fpu)
    }
}
