import Foundation
import KVMAccel
import MachineCore

extension EngineFactory {
    /// The KVM device node; `SWIFTPC_KVM_DEVICE` overrides it (tests use it to simulate a
    /// host without KVM).
    static var kvmDevicePath: String {
        ProcessInfo.processInfo.environment["SWIFTPC_KVM_DEVICE"] ?? "/dev/kvm"
    }

    /// Below this rate of guest kernel-mode code KVM is slower than the interpreter, which
    /// runs simple code at some hundreds of MIPS (`swiftpc bench`). Hardware KVM runs the
    /// probe's loop at thousands of MIPS, kvm_pvm at about 1: the line sits far from both.
    static let slowKVMThresholdMIPS = 100.0

    /// `--accel auto`: KVM when /dev/kvm works and runs kernel-mode code faster than the
    /// interpreter would (measured by `KVMSpeedProbe`, about 10 ms), the interpreter otherwise.
    static func makeAuto(config: MachineConfig, memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus,
                         lock: Lock, control: MachineControl, platform: VCPUPlatform) -> EngineChoice {
        func interpreter(_ why: String) -> EngineChoice {
            var choice = makeInterpreter(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus,
                                         lock: lock, control: control, platform: platform)
            choice.reason = "auto chose the interpreter: \(why)"
            choice.notice = choice.reason
            return choice
        }
        let system: KVMSystem
        do { system = try KVMSystem(path: kvmDevicePath) } catch { return interpreter("no usable KVM (\(error))") }
        let probe: KVMSpeedProbe.Result
        do { probe = try KVMSpeedProbe.measure(system: system) } catch {
            return interpreter("KVM could not run the speed probe (\(error))")
        }
        if probe.mips < slowKVMThresholdMIPS { return interpreter(slowKVMDescription(probe)) }
        do {
            var choice = try makeKVM(system: system, config: config, memory: memory, portBus: portBus, mmioBus: mmioBus,
                                     lock: lock, control: control, platform: platform)
            choice.reason = "auto chose KVM: " + probeDescription(probe)
            return choice
        } catch {
            return interpreter("KVM failed to set up (\(error))")
        }
    }

    /// `--accel kvm`: KVM whatever its speed, with a warning when the probe finds it slower
    /// than the interpreter.
    static func makeKVM(config: MachineConfig, memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus,
                        lock: Lock, control: MachineControl, platform: VCPUPlatform) throws(MachineError) -> EngineChoice {
        let system = try KVMSystem(path: kvmDevicePath)
        let probe = try? KVMSpeedProbe.measure(system: system)
        var choice = try makeKVM(system: system, config: config, memory: memory, portBus: portBus, mmioBus: mmioBus,
                                 lock: lock, control: control, platform: platform)
        choice.reason = "--accel kvm" + (probe.map { ": " + probeDescription($0) } ?? "")
        if let probe, probe.mips < slowKVMThresholdMIPS {
            choice.notice = "warning: " + slowKVMDescription(probe) + "; --accel interp would be faster"
        }
        return choice
    }

    static func probeDescription(_ probe: KVMSpeedProbe.Result) -> String {
        "KVM ran kernel-mode code at \(String(format: "%.1f", probe.mips)) MIPS (measured in \(String(format: "%.0f", probe.milliseconds)) ms"
            + (probe.softwareKVMModuleLoaded ? "; kvm_pvm is loaded" : "") + ")"
    }

    static func slowKVMDescription(_ probe: KVMSpeedProbe.Result) -> String {
        probeDescription(probe) + ", below the \(Int(slowKVMThresholdMIPS)) MIPS where the interpreter is faster"
            + (probe.softwareKVMModuleLoaded ? ": this host's KVM runs guest kernel code in software" : "")
    }

    /// KVM with an in-kernel irqchip and PIT, as QEMU uses by default: IRQ lines become
    /// KVM_IRQ_LINE calls and the kernel emulates the PIC, IOAPIC, LAPIC and PIT.
    static func makeKVM(system: KVMSystem, config: MachineConfig, memory: GuestMemory, portBus: PortIOBus, mmioBus: MMIOBus,
                        lock: Lock, control: MachineControl, platform: VCPUPlatform) throws(MachineError) -> EngineChoice {
        let vm = try KVMVirtualMachine(system: system, memory: memory)
        guard try vm.createInKernelIRQChip(withPIT: true) else {
            throw .engineUnavailable("KVM at \(kvmDevicePath) has no in-kernel irqchip, which swiftpc needs with --accel kvm")
        }
        let vcpu = try KVMVirtualCPU(vm: vm, id: 0, model: config.cpuModel, logicalCount: config.cpuCount,
                                     portIO: portBus, mmio: mmioBus, lock: lock, control: control, platform: platform)
        let routing = InterruptRouting.inKernel { irq, level in
            do { try vm.setIRQLine(irq, level: level) } catch {
                control.requestStop(.engineFailure("KVM_IRQ_LINE \(irq) failed: \(error)"))
            }
        }
        return EngineChoice(engine: vcpu, interrupts: routing)
    }
}
