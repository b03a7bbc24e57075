import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Devices
import Interpreter
import MachineCore

/// A PC: guest memory, the I/O buses, the legacy devices and one vCPU on an engine.
/// Built from a `MachineConfig`; `run()` runs it until the guest stops.
public final class PCMachine {
    public let config: MachineConfig
    public let memory: GuestMemory
    public let portBus = PortIOBus()
    public let mmioBus = MMIOBus()
    public let clock: MachineClock
    public let timers: TimerQueue
    public let control = MachineControl()
    /// The big device lock: held for every device access and timer callback.
    public let lock = Lock()
    public let devices: LegacyDevices
    /// The standard VGA (PCI 00:02.0) — display integration, see PCMachine+Display.swift.
    public let vgaFunction: StdVGAPCIFunction
    /// The vCPU's engine.
    public private(set) var engine: VCPUEngine
    /// Which engine `--accel` led to and why (`--stats`), and a line for stderr when the user
    /// should know at once: auto fell back to the interpreter, or `--accel kvm` is slow here.
    public let engineReason: String
    public let engineNotice: String?
    /// The state the vCPU starts in (firmware reset vector, or a loader's entry state).
    public private(set) var bootState: CPUState
    /// The kernel as booted (a bzImage may have been unpacked to its vmlinux), for resets.
    private var kernelImage: KernelImage?
    /// The BIOS image when the machine boots through firmware, for resets.
    private var firmware: [UInt8]?
    private let serialBackend: SerialBackend
    /// Keeps the interrupt adapter alive (the CPU holds it weakly).
    private var interruptSource: InterruptSource?
    private var apicPlatform: APICPlatform?
    /// With `migrationInterval`: the engine the vCPU is not running on, and how many times it moved.
    private var standbyEngine: VCPUEngine?
    public private(set) var engineSwitches = 0
    private let migrationDue = SharedFlag()

    /// Builds the machine. `serialBackend` overrides `config.serial` (tests capture output with it).
    public init(config: MachineConfig, serialBackend: SerialBackend? = nil) throws(MachineError) {
        self.config = config
        clock = MachineClock(mode: .host)
        timers = TimerQueue(clock: clock)
        memory = try GuestMemory(size: config.memorySize, vgaHole: true)
        if let serialBackend {
            self.serialBackend = serialBackend
        } else {
            self.serialBackend = try PCMachine.makeSerialBackend(config.serial)
        }

        // What to boot.
        if config.kernel == nil && config.bios == nil {
            throw .badConfiguration("nothing to boot: give --kernel FILE or --bios FILE")
        }
        let kernelImage = try config.kernel.map { path throws(MachineError) in try KernelImage.detect(path: path) }
        if kernelImage == nil, let bios = config.bios {
            // ROM regions must exist before an engine maps guest memory (KVM memory slots).
            let image = try FirmwareImage.read(path: bios)
            try FirmwareImage.install(image, into: memory)
            firmware = image
        }

        // The engine decides where interrupt lines end, so it comes before the devices.
        let choice = try EngineFactory.make(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus,
                                            lock: lock, control: control)
        engine = choice.engine
        engineReason = choice.reason
        engineNotice = choice.notice
        if var image = kernelImage {
            // On the interpreter, a bzImage's xz payload is unpacked on the host and booted
            // through its PVH entry: the kernel's own decompressor would take ~30 s there.
            if engine is InterpreterEngine, case .bzImage(let header) = image.format,
               let vmlinux = BzImagePayload.unpackedKernel(image.bytes, header: header),
               let unpacked = try? KernelImage.detect(bytes: vmlinux, path: image.path), case .pvh = unpacked.format {
                image = unpacked
            }
            self.kernelImage = image
            bootState = try PCMachine.loadKernel(image, config: config, memory: memory)
        } else {
            bootState = CPUState()
        }
        devices = try LegacyDevices(portBus: portBus, mmioBus: mmioBus, memory: memory, timers: timers,
                                    control: control, serial: self.serialBackend, interrupts: choice.interrupts)
        // Display integration (PCMachine+Display.swift): the VGA and its PCI function.
        vgaFunction = try PCMachine.makeVGA(config: config, devices: devices, portBus: portBus, mmioBus: mmioBus)
        if let path = config.firmwareLog {
            guard let log = fopen(path, "w") else {
                throw .badConfiguration("--firmware-log \(path): cannot open the file for writing")
            }
            // SeaBIOS writes its debug log to port 0x402 once a read there returns 0xE9.
            let port = DebugConsolePort(base: PCMachine.firmwareLogPort) { byte in fputc(Int32(byte), log); fflush(log) }
            try port.attach(to: portBus, name: "firmware-log")
        }
        try PCMachine.attachDrives(config: config, to: devices.ide)
        try FirmwareConfigContent.install(into: devices.firmwareConfig, memory: memory, cpuCount: config.cpuCount,
                                          bootOrder: FirmwareConfigContent.bootOrder(config: config))
        if let kernelImage {
            // A directly booted kernel finds the IDE controller and the BIOS area as a BIOS
            // would have left them, and fw_cfg as QEMU's -kernel leaves it.
            devices.ide.setUpAsFirmware()
            devices.hostBridge.enableShadowRAM()
            try FirmwareConfigContent.installKernel(into: devices.firmwareConfig, image: kernelImage,
                                                    initrd: config.initrd.map(KernelLoader.splitPaths) ?? [],
                                                    commandLine: config.commandLine)
        }
        if let interpreter = engine as? InterpreterEngine, let pic = devices.pic {
            if let lapic = devices.lapic, let ioapic = devices.ioapic {
                let cpu = interpreter.cpu
                let platform = APICPlatform(lapic: lapic, ioapic: ioapic, pic: pic, lock: lock,
                                            tscKHz: config.cpuModel.tscKHz) { [unowned cpu] in cpu.timeStampCounter }
                platform.connect(cpu)
                apicPlatform = platform
                interruptSource = platform
                cpu.platformMSRs = platform
            } else {
                interruptSource = PICInterruptSource(pic: pic)
            }
            interpreter.cpu.interruptSource = interruptSource
            // A20M#: address bit 20 is masked while both port 92h and the keyboard
            // controller's output port hold the gate closed. (KVM has no A20 gate; there
            // the line stays open, as QEMU leaves it under KVM.)
            let gate = { [unowned cpu = interpreter.cpu, unowned devices] in
                cpu.setA20(enabled: devices.port92.a20Enabled || devices.i8042.a20Enabled)
            }
            devices.port92.onA20Change = { _ in gate() }
            devices.i8042.onA20Change = { _ in gate() }
            gate()
            // DMA writes guest RAM behind the CPU's back: the interpreter must forget code it
            // decoded there (Linux reads code into page-cache pages by DMA).
            let dma = { [unowned cpu = interpreter.cpu] (address: UInt64, length: Int) in
                cpu.deviceWrote(physical: address, length: length)
            }
            devices.ide.onDMAWrite = dma
            devices.firmwareConfig.onDMAWrite = dma
            // PAM: pages of the BIOS area whose writes the host bridge sends to ROM (dropped).
            // (Under KVM the area stays plain RAM, as it would need read-only memory slots.)
            let bridge = devices.hostBridge
            bridge.onPAMWrite = { [unowned cpu = interpreter.cpu, unowned bridge] _ in
                cpu.setShadowWriteProtect(bridge.shadowWriteProtectedPages)
            }
            interpreter.cpu.setShadowWriteProtect(bridge.shadowWriteProtectedPages)
            // The x87's FERR# (unmasked exceptions with CR0.NE clear) reaches IRQ13.
            interpreter.cpu.onFERR = { [lock, devices] asserted in
                lock.withLock { devices.coprocessorError.setFERR(asserted) }
            }
        }
        if config.migrationInterval != nil {
            guard case .inKernel = choice.interrupts else {
                throw .badConfiguration("--migrate-every needs --accel kvm (the vCPU alternates between KVM and the interpreter)")
            }
            let standby = InterpreterEngine(memory: memory, portBus: portBus, mmioBus: mmioBus, lock: lock,
                                            control: control, model: config.cpuModel)
            standbyEngine = standby
            // The standby interpreter must also forget code that DMA overwrites.
            let dma = { [unowned cpu = standby.cpu] (address: UInt64, length: Int) in
                cpu.deviceWrote(physical: address, length: length)
            }
            devices.ide.onDMAWrite = dma
            devices.firmwareConfig.onDMAWrite = dma
        }
        let engines = [engine] + (standbyEngine.map { [$0] } ?? [])
        control.onStopRequested = { for e in engines { e.requestStop() } }
        try engine.setState(bootState)
    }

    /// The disks on the primary channel (master, then slave) and the CD-ROM as secondary
    /// master, as QEMU's `-hda`, `-hdb` and `-cdrom` place them. An image another swiftpc
    /// has open for writing is refused here (DiskImage takes the lock).
    static func attachDrives(config: MachineConfig, to ide: PIIX3IDE) throws(MachineError) {
        for (index, disk) in config.disks.enumerated() {
            let image = try DiskImage(path: disk.path, readOnly: disk.readOnly)
            try ide.attach(try ATADisk(image: image), channel: 0, position: index == 0 ? .master : .slave)
        }
        if let cdrom = config.cdrom {
            let image = try DiskImage(path: cdrom, readOnly: true)
            try ide.attach(ATAPICDROM(image: image), channel: 1, position: .master)
        }
    }

    /// QEMU's default debugcon port for firmware output.
    static let firmwareLogPort: UInt16 = 0x402

    /// Loads a kernel with its initrd and command line, and the ACPI tables a BIOS would
    /// have left; returns the entry state.
    static func loadKernel(_ image: KernelImage, config: MachineConfig, memory: GuestMemory) throws(MachineError) -> CPUState {
        // The tables first: a Multiboot2 kernel gets a copy of the RSDP in its boot information.
        try ACPITables.install(into: memory)
        let setup = try KernelLoader.load(image, initrd: config.initrd.map(KernelLoader.splitPaths) ?? [],
                                          commandLine: config.commandLine, into: memory, rsdpAddress: ACPITables.base)
        return setup.cpu
    }

    /// Moves the vCPU to the standby engine: its whole architectural state goes across.
    private func switchEngines() throws(MachineError) {
        guard let standby = standbyEngine else { return }
        let state = try engine.getState()
        try standby.setState(state)
        standbyEngine = engine
        engine = standby
        engineSwitches += 1
    }

    /// Asks for an engine switch every `interval` seconds until `done` is set.
    private func startMigrationTicker(_ interval: Double, done: SharedFlag) {
        let engines = [engine] + (standbyEngine.map { [$0] } ?? [])
        let due = migrationDue
        let t = Thread {
            while !done.isSet {
                usleep(UInt32(max(interval, 0.001) * 1_000_000))
                due.set()
                for e in engines { e.requestStop() }
            }
        }
        t.start()
    }

    static func makeSerialBackend(_ target: SerialTarget) throws(MachineError) -> SerialBackend {
        switch target {
        case .stdio: return StdioSerialBackend()
        case .none: return NullSerialBackend()
        case let .file(path):
            do { return try FileSerialBackend(path: path) } catch {
                throw .badConfiguration("--serial file:\(path): cannot open the file for writing")
            }
        }
    }

    /// Runs until the guest powers off, exits through the debug port, resets (with
    /// --no-reboot), shuts down, or a termination signal arrives.
    public func run() -> MachineOutcome {
        HostEventLoop.blockTerminationSignals()
        let backend = serialBackend
        let pacer = SerialInputPacer(serial: devices.serial, timers: timers)
        let events = HostEventLoop(lock: lock, timers: timers, control: control, inputFD: backend.inputFD) {
            let bytes = backend.readAvailableInput()
            if !bytes.isEmpty { pacer.enqueue(bytes) }
            return backend.inputFD != nil
        }
        let stdio = backend as? StdioSerialBackend
        stdio?.onQuitRequest = { [control] in control.requestStop(.external) }
        stdio?.enterRawMode()
        events.start()
        let tickerDone = SharedFlag()
        if let interval = config.migrationInterval { startMigrationTicker(interval, done: tickerDone) }
        defer {
            tickerDone.set()
            events.stop()
            stdio?.restore()
        }
        while true {
            let exit: VCPUExit
            do { exit = try engine.run() } catch { return .engineFailure(error.description) }
            switch exit {
            case .stopRequested, .haltedForever:
                if exit == .haltedForever, !control.isStopRequested {
                    // Nothing can wake a CPU halted with interrupts off; wait for a signal as hardware would.
                    while !control.isStopRequested { usleep(20_000) }
                }
                guard let reason = control.stopReason else {
                    if migrationDue.take() {
                        do { try switchEngines() } catch { return .engineFailure(error.description) }
                    }
                    continue
                }
                switch reason {
                case .powerOff: return .poweredOff
                case let .debugExit(value): return .debugExit(value)
                case .reset:
                    if config.noReboot { return .resetRequested }
                    do { try reset() } catch { return .engineFailure(error.description) }
                case let .shutdown(why): return .tripleFault(why, dump: try? engine.getState().dump)
                case let .engineFailure(why): return .engineFailure(why)
                case .external:
                    // A signal, or the user's Ctrl-A x on the console (a normal quit).
                    return events.receivedSignal.map(MachineOutcome.signal) ?? .poweredOff
                }
            case let .shutdown(why):
                return .tripleFault(why, dump: try? engine.getState().dump)
            }
        }
    }

    /// A machine reset: the CPU goes back to its boot state. RAM keeps its contents, as on
    /// real hardware; a kernel loaded with --kernel is loaded again so that it restarts cleanly.
    private func reset() throws(MachineError) {
        control.clear()
        if let image = kernelImage {
            bootState = try PCMachine.loadKernel(image, config: config, memory: memory)
        }
        lock.withLock {
            devices.reset()
            vgaFunction.vga.reset()  // display integration
        }
        if kernelImage != nil {
            devices.ide.setUpAsFirmware()
            devices.hostBridge.enableShadowRAM()
        } else if let firmware {
            // The BIOS shadow below 1 MiB is RAM the firmware wrote to: restore the ROM's copy.
            try FirmwareImage.install(firmware, into: memory, mapROM: false)
        }
        try engine.setState(bootState)
    }

    /// Counters for `swiftpc run --stats`.
    public func statisticsReport() -> String {
        var lines = ["engine: \(engine.engineName)" + (standbyEngine == nil ? "" : " (engine switches: \(engineSwitches))")
                     + "; unclaimed port accesses: \(portBus.unclaimedAccesses); unclaimed MMIO accesses: \(mmioBus.unclaimedAccesses)",
                     "engine choice: \(engineReason)"]
        if let interpreter = engine as? InterpreterEngine {
            let cpu = interpreter.cpu
            lines.append("instructions retired: \(cpu.instructionsRetired); page walks: \(cpu.pageWalks); TLB flushes: \(cpu.tlbFlushes)")
            let list = cpu.unimplemented.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            if cpu.blockTranslationEnabled {
                lines.append("translated blocks: \(cpu.translatedBlocks); instructions run as translated code: \(cpu.translatedInstructions)")
            } else if config.blockTranslation {
                lines.append("block translation unavailable: the host refused writable executable memory; everything was interpreted")
            }
            lines.append("unimplemented instructions (#UD raised): \(cpu.unimplementedCount)" + (list.isEmpty ? "" : " — " + list))
            let msrs = cpu.unknownMSRs.sorted { $0.value > $1.value }.map { String(format: "0x%X %d", $0.key, $0.value) }.joined(separator: ", ")
            lines.append("unknown MSRs (#GP raised): \(cpu.unknownMSRCount)" + (msrs.isEmpty ? "" : " — " + msrs))
        }
        return lines.joined(separator: "\n")
    }
}

/// A flag set on one thread and read or taken on another.
final class SharedFlag: @unchecked Sendable {
    private let lock = Lock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
    /// Returns whether the flag was set, and clears it.
    func take() -> Bool { lock.withLock { defer { value = false }; return value } }
}
