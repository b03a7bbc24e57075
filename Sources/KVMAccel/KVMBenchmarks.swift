import MachineCore

/// Measurements of the KVM engine's own overhead (not tests: they print figures, never fail
/// on a time). scripts/bench/pio-exit.sh compares them with a minimal C program.
public enum KVMBenchmarks {
    /// Real-mode guest loaded at 0000:1000: `mov dx, 0x10` then `out dx, al; jmp short -3`
    /// forever. scripts/bench/pio_exit.c runs the same bytes.
    public static let portIOLoopCode: [UInt8] = [
        0xBA, 0x10, 0x00,  // mov dx, 0x0010
        0xEE,              // out dx, al
        0xEB, 0xFD,        // jmp short back to the OUT
    ]
    public static let portIOLoopAddress: UInt64 = 0x1000
    public static let portIOLoopPort: UInt16 = 0x10

    /// Counts writes and asks the machine to stop after the wanted number.
    final class CountingPort: PortIODevice {
        let control: MachineControl
        let target: Int
        var writes = 0
        init(control: MachineControl, target: Int) { self.control = control; self.target = target }
        func portRead(offset: UInt16, size: Int) -> UInt32 { UInt32(truncatingIfNeeded: allOnes(size: size)) }
        func portWrite(offset: UInt16, size: Int, value: UInt32) {
            writes += 1
            if writes == target { control.requestStop(.external) }
        }
    }

    /// Nanoseconds per port-I/O exit through swiftpc's own path: the KVMVirtualCPU run loop,
    /// the machine lock and a PortIOBus dispatch to a trivial device, with the guest loop above.
    public static func portIORoundTrip(exits: Int) throws(MachineError) -> Double {
        guard exits > 0 else { throw .badConfiguration("--pio-exits must be positive") }
        let system = try KVMSystem()
        let memory = try GuestMemory(size: GuestMemory.minimumSize)
        try memory.write(portIOLoopCode, at: portIOLoopAddress)
        let vm = try KVMVirtualMachine(system: system, memory: memory)
        let control = MachineControl()
        let bus = PortIOBus()
        let device = CountingPort(control: control, target: exits)
        try bus.claim(base: portIOLoopPort, count: 1, device: device, name: "bench")
        let cpu = try KVMVirtualCPU(vm: vm, id: 0, portIO: bus, mmio: MMIOBus(), lock: Lock(), control: control)
        var state = CPUState()
        state.cs = .realMode(0, code: true)
        state.rip = portIOLoopAddress
        try cpu.setState(state)

        let start = MachineClock.monotonicNanoseconds()
        let exit = try cpu.run()
        let elapsed = MachineClock.monotonicNanoseconds() - start
        guard exit == .stopRequested, device.writes >= exits else {
            throw .engineFailure("benchmark guest stopped early (\(exit)) after \(device.writes) of \(exits) exits")
        }
        return Double(elapsed) / Double(device.writes)
    }
}
