import KVMAccel
import MachineCore

/// The engine for a Xen guest (`--xen`). Under KVM, VMCALL reaches userspace only with
/// KVM_XEN_HVM_CONFIG's hypercall interception (KVM_CAP_XEN_HVM, api.rst §4.126); without it the
/// guest's first hypercall would fault inside KVM, so a Xen guest runs on the interpreter
/// (facts §0.1: Debian 12's kernel is built without CONFIG_KVM_XEN).
extension EngineFactory {
    static func makeForXen(config: MachineConfig, memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus,
                           lock: Lock, control: MachineControl, platform: VCPUPlatform) throws(MachineError) -> EngineChoice {
        switch config.accel {
        case .kvm:
            throw .badConfiguration("--xen --accel kvm: " + kvmXenUnavailableReason() + "; use --accel interp")
        case .auto:
            var choice = makeInterpreter(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus,
                                         lock: lock, control: control, platform: platform)
            choice.reason = "auto chose the interpreter: --xen, and " + kvmXenUnavailableReason()
            choice.notice = choice.reason
            return choice
        case .interp:
            var choice = makeInterpreter(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus,
                                         lock: lock, control: control, platform: platform)
            choice.reason = "--accel interp"
            return choice
        }
    }

    /// Why KVM cannot run this Xen guest, in words for the user.
    static func kvmXenUnavailableReason() -> String {
        let system: KVMSystem
        do { system = try KVMSystem(path: kvmDevicePath) } catch { return "there is no usable KVM (\(error))" }
        guard system.has(.xenHVM) else {
            return "this host's KVM lacks KVM_CAP_XEN_HVM, so Xen hypercalls cannot reach swiftpc under KVM"
        }
        return "swiftpc does not yet serve Xen hypercalls through KVM_XEN_HVM_CONFIG"
    }
}
