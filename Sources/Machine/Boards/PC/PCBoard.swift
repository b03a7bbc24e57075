import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Devices
import MachineCore

/// The `pc` board: an i440FX host bridge and a PIIX3/PIIX4 southbridge, as QEMU's `pc`
/// machine and a 1990s PC have them. The legacy devices at their standard ports and IRQs, the
/// standard VGA and the IDE controller on PCI, fw_cfg for SeaBIOS, and the ACPI tables a
/// directly booted kernel reads. With an in-kernel irqchip (KVM) the PIC, PIT and APICs live
/// in the kernel and are not built here.
final class PCBoard: Board {
    /// The PC map: RAM below the PCI hole at 3 GiB, the legacy VGA window carved out.
    static let memoryMap = GuestMemoryMap(lowRAMLimit: 0xC000_0000, legacyHole: 0xA_0000..<0xC_0000)
    /// QEMU's default debugcon port for firmware output.
    static let firmwareLogPort: UInt16 = 0x402

    static func validate(_ config: MachineConfig) throws(MachineError) {}

    static func installFirmware(_ image: [UInt8], into memory: GuestMemory) throws(MachineError) {
        try FirmwareImage.install(image, into: memory)
    }

    let context: BoardContext
    /// Every device, added as it is built: what a machine reset walks.
    let deviceList: BoardDeviceList
    let interrupts: ISAInterruptControllers
    let serial: Serial16550
    let rtc: MC146818RTC
    let i8042: I8042
    let port92: FastA20Port92
    let debugExit: DebugExitPort
    let debugConsole: DebugConsolePort
    let postCode: POSTCodePort
    let pciBus: PCIBus
    let pciConfig: PCIConfigMechanism1
    /// The PIIX3 reset control register at 0xCF9.
    let resetControl: PIIX3ResetControl
    let hostBridge: I440FXHostBridge
    /// PIIX3 function 0: PCI interrupt routing to ISA IRQs.
    let isaBridge: PIIX3ISABridge
    /// PIIX4 function 3: the ACPI PM I/O block (event, control, timer registers).
    let powerManagement: PIIX4PowerManagement
    let apm: APMControlPorts
    /// QEMU's fw_cfg interface, through which SeaBIOS learns about the machine.
    let firmwareConfig: FirmwareConfig
    /// PIIX3 function 1: the IDE controller (legacy ports, IRQ 14 and 15, bus-master DMA).
    let ide: PIIX3IDE
    let acpiPower: ACPIPowerControl
    let acpiEvents: ACPIPMEventBlock
    let acpiTimer: ACPIPMTimer
    /// FERR# to IRQ13 and its clear port 0xF0 (an x87 with CR0.NE clear).
    let coprocessorError: CoprocessorErrorPort
    /// The standard VGA (PCI 00:02.0), PCBoard+Display.swift.
    let vgaFunction: StdVGAPCIFunction
    /// With `--xen`: Xen's platform PCI device (00:03.0) and the console and store pages
    /// (PCBoard+Xen.swift).
    let xenPlatform: XenPlatformPCIDevice?
    let xenSpecialPages: XenSpecialPages?
    /// The kernel of `--kernel`, or the BIOS image, for restarts.
    private let kernel: KernelImage?
    private let firmware: [UInt8]?

    init(_ context: BoardContext, boot: BootMedia) throws(MachineError) {
        self.context = context
        kernel = boot.kernel
        firmware = boot.firmware
        let config = context.config, portBus = context.portBus, memory = context.memory
        let timers = context.timers, control = context.control
        let list = BoardDeviceList()
        deviceList = list
        @discardableResult func add<D: BoardDevice>(_ device: D) -> D { list.add(device) }
        interrupts = try ISAInterruptControllers(context, devices: list)
        let line = interrupts.line
        typealias IRQ = ISAInterruptControllers.IRQ
        serial = add(Serial16550(port: .com1, irq: line(IRQ.com1), timers: timers, backend: context.serial))
        rtc = add(MC146818RTC(irq: line(IRQ.rtc), timers: timers))
        rtc.setMemorySize(bytes: memory.size, pciHoleStart: memory.map.lowRAMLimit)
        i8042 = add(I8042(keyboardIRQ: line(IRQ.keyboard), mouseIRQ: line(IRQ.mouse), control: control, timers: timers))
        port92 = add(FastA20Port92(control: control))
        debugExit = add(DebugExitPort(control: control))
        debugConsole = add(DebugConsolePort { [backend = context.serial] byte in backend.write(byte) })
        postCode = add(POSTCodePort())
        pciBus = PCIBus()
        hostBridge = add(I440FXHostBridge())
        try pciBus.register(hostBridge, at: PCIAddress(device: 0)!, name: "i440fx")
        pciConfig = add(PCIConfigMechanism1(bus: pciBus))
        resetControl = add(PIIX3ResetControl(control: control))
        acpiEvents = add(ACPIPMEventBlock())
        acpiPower = add(ACPIPowerControl(control: control, events: acpiEvents))
        acpiTimer = add(ACPIPMTimer(clock: timers.clock))
        // PCI INTx# reaches the ISA lines through the PIIX3's PIRQ routing; one line object
        // per IRQ keeps the level each route last drove.
        let isaLines = (0..<16).map(line)
        isaBridge = add(PIIX3ISABridge { irq, level in isaLines[irq].set(level) })
        try pciBus.register(isaBridge, at: PIIX3ISABridge.address, name: "piix3-isa")
        powerManagement = add(PIIX4PowerManagement(portBus: portBus, events: acpiEvents, powerControl: acpiPower, timer: acpiTimer))
        try pciBus.register(powerManagement, at: PIIX4PowerManagement.address, name: "piix4-pm")
        apm = add(APMControlPorts())
        ide = add(PIIX3IDE(portBus: portBus, memory: memory, irq14: line(IRQ.idePrimary), irq15: line(IRQ.ideSecondary)))
        try ide.register(on: pciBus)
        xenPlatform = config.xen == nil ? nil : add(try PCBoard.makeXenPlatform(pciBus: pciBus, portBus: portBus, ide: ide))
        xenSpecialPages = config.xen == nil ? nil : try XenSpecialPages.backSpecialArea(in: memory)
        firmwareConfig = add(FirmwareConfig(memory: memory))
        // A long fw_cfg DMA read gives way to a stop request between its steps.
        firmwareConfig.shouldAbandonTransfer = { [unowned control] in control.isStopRequested }
        coprocessorError = add(CoprocessorErrorPort(irq: line(CoprocessorErrorPort.irqNumber)))
        try serial.attach(to: portBus)
        try rtc.attach(to: portBus)
        try i8042.attach(to: portBus)
        try port92.attach(to: portBus)
        try debugExit.attach(to: portBus)
        try debugConsole.attach(to: portBus)
        try postCode.attach(to: portBus)
        try pciConfig.attach(to: portBus)
        try resetControl.attach(to: portBus)
        try apm.attach(to: portBus)
        try firmwareConfig.attach(to: portBus)
        try coprocessorError.attach(to: portBus)
        vgaFunction = add(try PCBoard.makeVGA(config: config, pciBus: pciBus, portBus: portBus, mmioBus: context.mmioBus))
        add(vgaFunction.vga)
        connectChipsetToPlatform()
        if let path = config.firmwareLog {
            guard let log = fopen(path, "w") else {
                throw .badConfiguration("--firmware-log \(path): cannot open the file for writing")
            }
            // SeaBIOS writes its debug log to port 0x402 once a read there returns 0xE9.
            let port = add(DebugConsolePort(base: PCBoard.firmwareLogPort) { byte in fputc(Int32(byte), log); fflush(log) })
            try port.attach(to: portBus, name: "firmware-log")
        }
        try PCBoard.attachDrives(config: config, to: ide)
        try FirmwareConfigContent.install(into: firmwareConfig, memory: memory, cpuCount: config.cpuCount,
                                          bootOrder: FirmwareConfigContent.bootOrder(config: config), reserved: reservedRanges)
        if let kernel {
            try FirmwareConfigContent.installKernel(into: firmwareConfig, image: kernel,
                                                    initrd: config.initrd.map(KernelLoader.splitPaths) ?? [],
                                                    commandLine: config.commandLine)
        }
        try prepareRestart()
    }

    /// Every device the board built (`deviceList`), in reset order.
    var devices: [BoardDevice] { deviceList.resetOrder }

    var console: Serial16550 { serial }
    var display: VGA? { vgaFunction.vga }
    var inputDevices: I8042? { i8042 }

    /// The chipset's side of the platform contract: the A20 gate and the PAM write enables
    /// become memory state, FERR# becomes IRQ13 — whatever engine runs the vCPU.
    private func connectChipsetToPlatform() {
        let memory = context.memory
        // A20M#: address bit 20 is masked while both port 92h and the keyboard controller's
        // output port hold the gate closed.
        let gate = { [unowned self] in memory.setA20(enabled: self.port92.a20Enabled || self.i8042.a20Enabled) }
        port92.onA20Change = { _ in gate() }
        i8042.onA20Change = { _ in gate() }
        gate()
        // PAM: pages of the BIOS area whose CPU writes the host bridge sends to ROM (dropped).
        hostBridge.onPAMWrite = { [unowned self] _ in memory.setWriteProtectedLowPages(self.shadowWriteProtectedPages) }
        memory.setWriteProtectedLowPages(shadowWriteProtectedPages)
        // FERR# (driven by the vCPU without the machine lock) reaches IRQ13 under it.
        context.platform.ferr = IRQLine(number: CoprocessorErrorPort.irqNumber) { [lock = context.lock, unowned self] _, asserted in
            lock.withLock { self.coprocessorError.setFERR(asserted) }
        }
    }

    /// The host bridge's write-protected pages of 0xC0000-0xFFFFF as a mask of the first MiB.
    private var shadowWriteProtectedPages: LowMemoryPageMask {
        var mask = LowMemoryPageMask()
        let pages = hostBridge.shadowWriteProtectedPages
        for i in 0..<64 where pages >> UInt64(i) & 1 != 0 { mask.set(page: 0xC0 + UInt64(i), true) }
        return mask
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

    /// The kernel, with the ACPI tables a BIOS would have left.
    func loadKernel(_ image: KernelImage) throws(MachineError) -> CPUState {
        try context.loadKernel(image, tables: .pc(pciHoleStart: context.memory.map.lowRAMLimit), reserved: reservedRanges)
    }

    /// A directly booted kernel finds the IDE controller and the shadow RAM as a BIOS would
    /// have left them; a firmware boot finds the BIOS shadow below 1 MiB restored to the ROM's
    /// copy (it is RAM the firmware wrote to).
    func prepareRestart() throws(MachineError) {
        if kernel != nil {
            context.lock.withLock {
                ide.setUpAsFirmware()
                hostBridge.enableShadowRAM()
            }
        } else if let firmware {
            try FirmwareImage.install(firmware, into: context.memory, mapROM: false)
        }
    }
}
