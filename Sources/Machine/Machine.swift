import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Devices
import MachineCore

/// The machine core every board shares (docs/ARCHITECTURE.md, "Boards"): guest memory laid
/// out by the board's map, the port-I/O and MMIO buses, the clock and timer queue, the machine
/// lock, one vCPU on an engine (and the standby engine of `--migrate-every`), and the run loop
/// with its stop, reset and exit handling. The board — `config.machine` — puts its devices on
/// it. The core knows engines only through `VCPUEngine` and boards only through `Board`.
public final class Machine {
    public let config: MachineConfig
    public let memory: GuestMemory
    public let portBus = PortIOBus()
    public let mmioBus = MMIOBus()
    public let clock: MachineClock
    public let timers: TimerQueue
    public let control = MachineControl()
    /// The big device lock: held for every device access and timer callback.
    public let lock = Lock()
    /// The vCPU's platform hooks, filled in by the board, read by every engine.
    let platform = VCPUPlatform()
    let board: Board
    /// The vCPU's engine.
    public internal(set) var engine: VCPUEngine
    /// Which engine `--accel` led to and why (`--stats`), and a line for stderr when the user
    /// should know at once: auto fell back to the interpreter, or `--accel kvm` is slow here.
    public let engineReason: String
    public let engineNotice: String?
    /// The state the vCPU starts in (firmware reset vector, or a loader's entry state).
    public private(set) var bootState: CPUState
    /// The kernel as booted (a bzImage may have been unpacked to its vmlinux), for resets.
    private let kernelImage: KernelImage?
    let serialBackend: SerialBackend
    /// With `migrationInterval`: the engine the vCPU is not running on, and how many times it moved.
    var standbyEngine: VCPUEngine?
    public internal(set) var engineSwitches = 0
    let migrationDue = SharedFlag()
    /// The Xen interface (`--xen`).
    var xen: XenPlatform?

    /// Builds the machine. `serialBackend` overrides `config.serial` (tests capture output with it).
    public init(config: MachineConfig, serialBackend: SerialBackend? = nil) throws(MachineError) {
        self.config = config
        let boardType = config.machine.boardType
        try boardType.validate(config)
        clock = MachineClock(mode: .host)
        timers = TimerQueue(clock: clock)
        memory = try GuestMemory(size: config.memorySize, map: boardType.memoryMap)
        if let serialBackend {
            self.serialBackend = serialBackend
        } else {
            self.serialBackend = try Machine.makeSerialBackend(config.serial)
        }

        // What to boot. Firmware goes into memory before an engine maps it (KVM memory slots).
        if config.kernel == nil && config.bios == nil {
            throw .badConfiguration("nothing to boot: give --kernel FILE or --bios FILE")
        }
        var boot = BootMedia()
        boot.kernel = try config.kernel.map { path throws(MachineError) in try KernelImage.detect(path: path) }
        if boot.kernel == nil, let bios = config.bios {
            let image = try FirmwareImage.read(path: bios)
            try boardType.installFirmware(image, into: memory)
            boot.firmware = image
        }

        // The engine decides where interrupt lines end, so it comes before the board.
        let choice = try EngineFactory.make(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus,
                                            lock: lock, control: control, platform: platform)
        engine = choice.engine
        engineReason = choice.reason
        engineNotice = choice.notice
        if let image = boot.kernel, engine.platformSupport.contains(.prefersHostUnpackedKernel) {
            boot.kernel = image.unpackedForDirectEntry()
        }
        kernelImage = boot.kernel
        if config.migrationInterval != nil {
            guard case .inKernel = choice.interrupts else {
                throw .badConfiguration("--migrate-every needs --accel kvm (the vCPU alternates between KVM and the interpreter)")
            }
            standbyEngine = EngineFactory.makeStandbyInterpreter(config: config, memory: memory, portBus: portBus,
                                                                 mmioBus: mmioBus, lock: lock, control: control,
                                                                 platform: platform)
        }
        bootState = CPUState()
        let pins = VCPUPinsForwarder()
        let context = BoardContext(config: config, memory: memory, portBus: portBus, mmioBus: mmioBus, timers: timers,
                                   control: control, lock: lock, platform: platform, vcpu: pins,
                                   interrupts: choice.interrupts, serial: self.serialBackend)
        board = try boardType.init(context, boot: boot)
        if config.xen != nil { xen = try XenPlatform(context: context, board: board) }
        pins.machine = self
        if let image = kernelImage { bootState = try board.loadKernel(image) }
        let engines = allEngines
        control.onStopRequested = { for e in engines { e.requestStop() } }
        try engine.setState(bootState)
    }

    /// The engine running the vCPU and the standby one, if any.
    var allEngines: [VCPUEngine] { [engine] + (standbyEngine.map { [$0] } ?? []) }

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

    /// A machine reset: the devices go back to their power-on state and the vCPU to its boot
    /// state. RAM keeps its contents, as on real hardware; a kernel loaded with --kernel is
    /// loaded again so that it restarts cleanly.
    func reset() throws(MachineError) {
        control.clear()
        if let image = kernelImage { bootState = try board.loadKernel(image) }
        lock.withLock { for device in board.devices { device.reset() } }
        xen?.reset()
        try board.prepareRestart()
        try engine.setState(bootState)
    }

    /// Counters for `swiftpc run --stats`.
    public func statisticsReport() -> String {
        var lines = ["machine: \(config.machine.rawValue); engine: \(engine.engineName)"
                     + (standbyEngine == nil ? "" : " (engine switches: \(engineSwitches))")
                     + "; unclaimed port accesses: \(portBus.unclaimedAccesses); unclaimed MMIO accesses: \(mmioBus.unclaimedAccesses)",
                     "engine choice: \(engineReason)"]
        let missing = PlatformSupport(rawValue: ~engine.platformSupport.rawValue).names
        if !missing.isEmpty { lines.append("the \(engine.engineName) engine does not model: " + missing.joined(separator: ", ")) }
        lines += engine.statistics.lines
        lines += xen?.statisticsLines ?? []
        return lines.joined(separator: "\n")
    }
}

/// The vCPU's pins as the board sees them: forwarded to the engine that runs the vCPU now.
/// (The board is built before the machine is complete, so the machine connects itself after.)
final class VCPUPinsForwarder: VCPUPins {
    weak var machine: Machine?
    func raiseNMI() { machine?.engine.raiseNMI() }
    func interruptInputChanged() { machine?.engine.interruptInputChanged() }
    func readTimeStampCounter() -> UInt64 { machine?.engine.readTimeStampCounter() ?? 0 }
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
