import Devices
import MachineCore

/// The `pvh` board: the least a directly booted kernel needs, in the shape of Firecracker and
/// QEMU's `microvm` — RAM, the 16550 UART on COM1, the MC146818 RTC (as microvm keeps it:
/// Linux reads the wall clock from it), the PIT, the 8259s and the APICs, the ACPI PM
/// registers at fixed ports for poweroff and the PM timer, and the debug-exit port. No PCI, no
/// VGA, no IDE, no firmware: `--kernel` only (a bzImage, a PVH ELF, or a multiboot image), and
/// the ACPI tables describe no PCI root bridge, so Linux finds no PCI bus. Issue 15's Xen PVH
/// guests run on this board.
final class PVHBoard: Board {
    /// RAM up to 3 GiB and from 4 GiB; nothing decodes the legacy VGA window, so it is RAM.
    static let memoryMap = GuestMemoryMap(lowRAMLimit: 0xC000_0000)

    static func validate(_ config: MachineConfig) throws(MachineError) {
        func refuse(_ what: String) throws(MachineError) {
            throw .badConfiguration("--machine pvh has no \(what); use --machine pc")
        }
        if config.kernel == nil {
            throw .badConfiguration("--machine pvh boots --kernel FILE only (firmware boots need --machine pc)")
        }
        if config.bios != nil { try refuse("firmware for --bios") }
        if !config.disks.isEmpty { try refuse("IDE controller for --disk") }
        if config.cdrom != nil { try refuse("IDE controller for --cdrom") }
        if config.firmwareLog != nil { try refuse("firmware for --firmware-log") }
        if config.vgaBIOS != nil { try refuse("VGA for --vga-bios") }
    }

    static func installFirmware(_ image: [UInt8], into memory: GuestMemory) throws(MachineError) {
        throw .badConfiguration("--machine pvh boots --kernel only")
    }

    let context: BoardContext
    /// Every device, added as it is built: what a machine reset walks.
    let deviceList: BoardDeviceList
    let interrupts: ISAInterruptControllers
    let serial: Serial16550
    let rtc: MC146818RTC
    let debugExit: DebugExitPort
    let debugConsole: DebugConsolePort
    let acpiEvents: ACPIPMEventBlock
    let acpiPower: ACPIPowerControl
    let acpiTimer: ACPIPMTimer

    init(_ context: BoardContext, boot: BootMedia) throws(MachineError) {
        self.context = context
        let portBus = context.portBus, timers = context.timers
        let list = BoardDeviceList()
        deviceList = list
        interrupts = try ISAInterruptControllers(context, devices: list)
        typealias IRQ = ISAInterruptControllers.IRQ
        serial = list.add(Serial16550(port: .com1, irq: interrupts.line(IRQ.com1), timers: timers, backend: context.serial))
        rtc = list.add(MC146818RTC(irq: interrupts.line(IRQ.rtc), timers: timers))
        rtc.setMemorySize(bytes: context.memory.size, pciHoleStart: context.memory.map.lowRAMLimit)
        debugExit = list.add(DebugExitPort(control: context.control))
        debugConsole = list.add(DebugConsolePort { [backend = context.serial] byte in backend.write(byte) })
        // The PM1a blocks at the ports the FADT names (a PC maps them through the PIIX4's
        // PCI function; here nothing moves them).
        acpiEvents = list.add(ACPIPMEventBlock())
        acpiPower = list.add(ACPIPowerControl(control: context.control, events: acpiEvents))
        acpiTimer = list.add(ACPIPMTimer(clock: timers.clock))
        try serial.attach(to: portBus)
        try rtc.attach(to: portBus)
        try debugExit.attach(to: portBus)
        try debugConsole.attach(to: portBus)
        try acpiEvents.attach(to: portBus)
        try acpiPower.attach(to: portBus)
        try acpiTimer.attach(to: portBus)
    }

    var devices: [BoardDevice] { deviceList.resetOrder }
    var console: Serial16550 { serial }
    var display: VGA? { nil }
    var inputDevices: I8042? { nil }

    func loadKernel(_ image: KernelImage) throws(MachineError) -> CPUState {
        try context.loadKernel(image, tables: context.config.xen == nil ? .noPCI : .xenPVH)
    }

    func prepareRestart() throws(MachineError) {}
}
