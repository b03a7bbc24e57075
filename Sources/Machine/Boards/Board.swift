import Devices
import MachineCore

/// A board: one kind of machine's devices, where they sit, its memory map and the tables its
/// guests read, built on the machine core (docs/ARCHITECTURE.md, "Boards"). The core
/// (`Machine`) owns memory, buses, clock, timers, the vCPU and its engine; a board describes
/// itself to it and never learns which engine runs the vCPU.
///
/// Adding a board is a new type conforming to this protocol plus one entry in
/// `MachineKind.boardType`.
protocol Board: AnyObject {
    /// Refuses options the board cannot honour (a PVH board has no disks or firmware), with
    /// one line the user can act on.
    static func validate(_ config: MachineConfig) throws(MachineError)
    /// The guest-physical map the board decodes; `GuestMemory` lays RAM out by it.
    static var memoryMap: GuestMemoryMap { get }
    /// Firmware a board boots without `--kernel`: installs the image before any engine maps
    /// memory (ROM regions become read-only memory slots under KVM).
    static func installFirmware(_ image: [UInt8], into memory: GuestMemory) throws(MachineError)

    /// Builds the board's devices on the core's buses.
    init(_ context: BoardContext, boot: BootMedia) throws(MachineError)

    /// Every device the board holds, in the order a machine reset puts them back.
    var devices: [BoardDevice] { get }
    /// The interrupt controllers (the Xen interface injects upcalls into the local APIC).
    var interrupts: ISAInterruptControllers { get }
    /// The UART the serial backend is connected to (console input is paced into it).
    var console: Serial16550 { get }
    /// The display adapter, when the board has one.
    var display: VGA? { get }
    /// Keyboard and mouse for a display window, when the board has them.
    var inputDevices: I8042? { get }

    /// Loads `image` with the configured initrd and command line, and whatever tables the
    /// board's guests read; returns the vCPU's entry state.
    func loadKernel(_ image: KernelImage) throws(MachineError) -> CPUState
    /// After the devices were reset (lock released): what the board's firmware or loader
    /// leaves in place before the vCPU starts again.
    func prepareRestart() throws(MachineError)
    /// With `--xen`: the pages the board set aside for Xen's console and xenstore rings
    /// (backed and reserved in the guest's memory map), or nil to leave the choice to the Xen
    /// platform (docs/ARCHITECTURE.md, "Xen").
    var xenSpecialPages: XenSpecialPages? { get }
    /// With `--xen`: the emulated disks the board also offers as Xen virtual block devices.
    var xenEmulatedDisks: [XenEmulatedDisk] { get }
}

/// The devices of a board, in the order it built them. A board adds each device as it builds
/// it, and a machine reset walks this list, so a device is reset because it exists rather
/// than because someone remembered to name it (BoardTests checks that nothing a board holds
/// is missing).
final class BoardDeviceList {
    private(set) var all: [BoardDevice] = []

    @discardableResult
    func add<D: BoardDevice>(_ device: D) -> D {
        all.append(device)
        return device
    }

    /// Last built, first reset: the interrupt controllers, built first, are reset after the
    /// devices whose lines reach them.
    var resetOrder: [BoardDevice] { all.reversed() }
}

/// What the machine core hands a board to build on.
struct BoardContext {
    let config: MachineConfig
    let memory: GuestMemory
    let portBus: PortIOBus
    let mmioBus: MMIOBus
    let timers: TimerQueue
    let control: MachineControl
    /// The machine lock (devices are reached under it; FERR#'s sink takes it).
    let lock: Lock
    /// The vCPU's platform hooks, which the board fills in (interrupt controller, MSRs, FERR#).
    let platform: VCPUPlatform
    /// The vCPU's input pins, whichever engine runs it.
    let vcpu: VCPUPins
    /// Where ISA interrupt lines end: decided by the engine (KVM's in-kernel irqchip or the
    /// board's userspace controllers).
    let interrupts: InterruptRouting
    let serial: SerialBackend
}

/// What the machine boots, read before the engine exists.
struct BootMedia {
    /// The kernel of `--kernel` as it will be booted (a bzImage may already be unpacked).
    var kernel: KernelImage?
    /// The firmware image when there is no kernel (installed by `Board.installFirmware`).
    var firmware: [UInt8]?
}

/// The vCPU as a board's devices reach it (an APIC's IPI to itself, its TSC-deadline timer):
/// the machine forwards to whichever engine runs the vCPU now.
protocol VCPUPins: AnyObject {
    func raiseNMI()
    func interruptInputChanged()
    func readTimeStampCounter() -> UInt64
}

extension MachineKind {
    /// The board type behind each `--machine` name.
    var boardType: Board.Type {
        switch self {
        case .pc: return PCBoard.self
        case .pvh: return PVHBoard.self
        }
    }
}

extension Board {
    var xenSpecialPages: XenSpecialPages? { nil }
    var xenEmulatedDisks: [XenEmulatedDisk] { [] }
}

extension BoardContext {
    /// The direct kernel boot every board does: the board's ACPI tables at their fixed place
    /// (first: a Multiboot2 kernel gets a copy of the RSDP in its boot information), then the
    /// kernel with the configured initrd and command line; returns the entry state. `reserved`
    /// ranges are marked reserved in the kernel's memory map.
    func loadKernel(_ image: KernelImage, tables: ACPITables.Platform, reserved: [E820Entry] = []) throws(MachineError) -> CPUState {
        try ACPITables.install(tables, into: memory)
        var map = E820Map(memory: memory)
        for entry in reserved { map.reserve(base: entry.base, size: entry.size, as: entry.type) }
        return try KernelLoader.load(image, initrd: config.initrd.map(KernelLoader.splitPaths) ?? [],
                                     commandLine: config.commandLine, into: memory, memoryMap: map,
                                     rsdpAddress: ACPITables.base).cpu
    }
}
