import Foundation
import MachineCore

/// How fast this host's KVM runs guest kernel-mode code, measured. Some KVMs run it in
/// software: kvm_pvm (a KVM for hosts without hardware virtualization) executes the guest's
/// ring 0 in its instruction emulator, about a million instructions a second, where a
/// hardware KVM runs the same loop at the host CPU's speed. The interpreter is far faster
/// than the former and far slower than the latter, so one short measurement tells them apart.
public enum KVMSpeedProbe {
    /// The measured guest: real mode (CPL 0, as a kernel runs) at 0000:1000, `inc eax` then
    /// `jmp short` back to it, forever: two instructions per iteration, counted in EAX, no exits.
    static let loopCode: [UInt8] = [
        0x66, 0x40,  // inc eax
        0xEB, 0xFC,  // jmp short 0x1000
    ]
    static let loopAddress: UInt64 = 0x1000
    static let instructionsPerIteration = 2

    public struct Result: Sendable {
        /// Guest instructions retired per second while the loop ran.
        public var instructionsPerSecond: Double
        /// Wall time of the whole probe (VM creation included), in milliseconds.
        public var milliseconds: Double
        /// Whether the kvm_pvm module is loaded (the identity of a software KVM).
        public var softwareKVMModuleLoaded: Bool

        /// Millions of guest instructions per second.
        public var mips: Double { instructionsPerSecond / 1e6 }
    }

    /// Where the kvm_pvm module shows itself when loaded.
    public static let softwareKVMModulePath = "/sys/module/kvm_pvm"

    /// Runs the loop on a fresh VM of `system` for about `runMilliseconds` and returns the rate.
    /// A separate VM, so that the machine's own VM starts clean.
    public static func measure(system: KVMSystem, runMilliseconds: Int = 10) throws(MachineError) -> Result {
        let start = MachineClock.monotonicNanoseconds()
        let memory = try GuestMemory(size: GuestMemory.minimumSize)
        try memory.write(loopCode, at: loopAddress)
        let vm = try KVMVirtualMachine(system: system, memory: memory)
        let cpu = try KVMVirtualCPU(vm: vm, id: 0, portIO: PortIOBus(), mmio: MMIOBus(), lock: Lock(),
                                    control: MachineControl())
        var state = CPUState()
        state.cs = .realMode(0, code: true)
        state.rip = loopAddress
        try cpu.setState(state)

        // The stop request arrives from another thread after the run time; the loop never exits
        // by itself. requestStop() before run() is entered is kept, so the order cannot lose it.
        let runNanoseconds = UInt64(max(1, runMilliseconds)) * 1_000_000
        let stopper = Thread { [cpu] in
            usleep(UInt32(runNanoseconds / 1000))
            cpu.requestStop()
        }
        let runStart = MachineClock.monotonicNanoseconds()
        stopper.start()
        let exit = try cpu.run()
        let runEnd = MachineClock.monotonicNanoseconds()
        guard exit == .stopRequested else {
            throw .engineFailure("the KVM speed probe's loop stopped by itself (\(exit))")
        }
        let iterations = try cpu.getState()[.rax] & 0xFFFF_FFFF
        let seconds = Double(max(runEnd - runStart, 1)) / 1e9
        return Result(instructionsPerSecond: Double(iterations) * Double(instructionsPerIteration) / seconds,
                      milliseconds: Double(MachineClock.monotonicNanoseconds() - start) / 1e6,
                      softwareKVMModuleLoaded: FileManager.default.fileExists(atPath: softwareKVMModulePath))
    }
}
