import Devices
import MachineCore
import Xen

/// The Xen interface on a machine (`--xen`, issue 15): the hypervisor core answers the vCPU's
/// hypercalls, and this file connects it to the board — shutdown requests to the machine's
/// stop channel, the hypervisor console to the serial backend, upcalls to the local APIC or
/// the callback vector, and the hypercall-page MSR beside the APIC's MSRs.
final class XenPlatform {
    let hypervisor: XenHypervisor
    let interrupts: XenInterruptController
    /// hvc0's backend, when the board has a page for it.
    let console: XenConsoleBackend?
    /// Set once the guest wrote through hvc0: host input goes there from then on.
    let consoleInUse = SharedFlag()
    /// xenstore on its ring, when the board has a page for it.
    let store: XenStoreService?
    /// The backends of the `if=xen` disks and of the board's emulated disks (pc: IDE as vbds).
    let blocks: XenBlockService?
    let control: MachineControl
    /// How the domain was shut down, for `--stats` (the tests tell the paths apart by it).
    private let shutdowns = XenShutdownLog()

    /// Guest-physical page of the console ring when the board sets no special pages aside: in
    /// the BIOS area 0xE0000-0xFFFFF, which the boot E820 map keeps reserved (BootLayout) and
    /// which is RAM on the pvh board; Linux maps it with xen_remap, as it does the page Xen's
    /// toolstack provides.
    static let biosAreaConsolePage: UInt64 = 0xFE000

    init(context: BoardContext, board: Board) throws(MachineError) {
        guard let version = context.config.xen else { throw .badConfiguration("internal: Xen platform without --xen") }
        guard let lapic = board.interrupts.lapic, let apic = board.interrupts.apicPlatform else {
            throw .badConfiguration("--xen needs the userspace local APIC (the interpreter)")
        }
        let vendorAMD = context.config.cpuModel.vendor == "AuthenticAMD"
        let hypervisor = XenHypervisor(memory: context.memory, version: version, vcpuCount: context.config.cpuCount,
                                       hypercallInstruction: vendorAMD ? .vmmcall : .vmcall)
        self.hypervisor = hypervisor
        let interrupts = XenInterruptController(inner: apic, lapic: lapic, hypervisor: hypervisor)
        self.interrupts = interrupts

        let control = context.control, serial = context.serial, pins = context.vcpu
        self.control = control
        let shutdowns = self.shutdowns
        hypervisor.onShutdown = { request in
            switch request {
            case .powerOff: shutdowns.record("poweroff by SCHEDOP_shutdown"); control.requestStop(.powerOff)
            case .reboot: shutdowns.record("reboot by SCHEDOP_shutdown"); control.requestStop(.reset)
            case let .crash(how):
                shutdowns.record("\(how) by SCHEDOP_shutdown")
                control.requestStop(.guestCrashed("SCHEDOP_shutdown: " + how))
            }
        }
        let lock = context.lock
        // Both run on the vCPU thread inside a hypercall, without the machine lock; the UART
        // writes to the same backend under it.
        hypervisor.onConsoleWrite = { bytes in lock.withLock { for byte in bytes { serial.write(byte) } } }
        let inUse = consoleInUse
        // The board's special pages (the pc board's, outside RAM, on every boot path), else
        // the BIOS area, which only a direct kernel boot leaves free (firmware lives there
        // otherwise, as shadow RAM on the pc board).
        let directBoot = context.config.bios == nil
        let pages: (console: UInt64, store: UInt64)? = board.xenSpecialPages.map { ($0.console, $0.store) }
            ?? (directBoot ? (Self.biosAreaConsolePage, XenStoreService.biosAreaStorePage) : nil)
        console = pages.flatMap { pages in
            XenConsoleBackend(memory: context.memory, pageAddress: pages.console, events: hypervisor.eventChannels) { bytes in
                inUse.set()
                lock.withLock { for byte in bytes { serial.write(byte) } }
            }
        }
        // Any thread, any lock: the interrupt controller acts on it under the machine lock
        // when the vCPU next looks at INTR.
        hypervisor.onUpcall = { _, route in
            interrupts.post(route)
            pins.interruptInputChanged()
        }
        let mmio = context.mmioBus
        hypervisor.isDeviceAddress = { mmio.lookup($0) != nil }
        context.platform.hypercalls = hypervisor
        context.platform.interruptController = interrupts
        context.platform.msrs = XenPlatformMSRs(inner: context.platform.msrs, hypervisor: hypervisor)
        store = pages.flatMap { XenStoreService(context: context, hypervisor: hypervisor, page: $0.store) }
        let emulatedDisks = board.xenEmulatedDisks
        if !context.config.xenDisks.isEmpty || !emulatedDisks.isEmpty {
            guard let store else { throw .badConfiguration("--disk …,if=xen needs xenstore, which this boot has no page for (use --kernel)") }
            blocks = try XenBlockService(context: context, hypervisor: hypervisor, store: store, emulated: emulatedDisks)
        } else {
            blocks = nil
        }
        connectBackends()
    }

    /// The toolstack's part: the console page and a channel to it, published as HVM params
    /// (none when the board has no RAM there: the guest then finds no Xen console), then the
    /// store, which names the console too.
    private func connectBackends() {
        var published: (gfn: UInt64, port: UInt32)?
        if let console, let port = console.connect() {
            hypervisor.setToolstackParam(XenHVMABI.paramConsolePFN, console.pageAddress >> 12)
            hypervisor.setToolstackParam(XenHVMABI.paramConsoleEvtchn, UInt64(port))
            published = (console.pageAddress >> 12, port)
        }
        store?.connect(console: published)
    }

    /// Host console input: to hvc0 once the guest uses it, else nil (the caller feeds the UART).
    func takeInput(_ bytes: [UInt8]) -> Bool {
        guard let console, consoleInUse.isSet else { return false }
        console.input(bytes)
        return true
    }

    /// The vCPU halted with interrupts off and nothing but an NMI can wake it. Xen takes that
    /// as the vCPU going down, and powers the domain off once every vCPU is down (xen/arch/x86/
    /// hvm/hvm.c `hvm_hlt` → `hvm_vcpu_down` → `domain_shutdown(d, SHUTDOWN_poweroff)`). It is
    /// how a Linux PVH domU powers off: without `\_S5` it halts (ACPITables.Platform.xenPVH).
    /// swiftpc runs one vCPU, so this one going down is the last.
    func vcpuHaltedForever() {
        shutdowns.record("poweroff by halting every vCPU with interrupts off")
        control.requestStop(.powerOff)
    }

    /// A clean shutdown request, as `xl shutdown` makes one: "poweroff" in the guest's
    /// control/shutdown, when its control driver announced control/feature-poweroff. False
    /// when the guest cannot be asked (no store, or no such driver): stop it by force.
    func requestGuestPowerOff() -> Bool {
        store?.requestShutdown(.poweroff) ?? false
    }

    /// `--stats` lines.
    var statisticsLines: [String] {
        hypervisor.statisticsLines + (store.map { [$0.statisticsLine] } ?? []) + (blocks?.statisticsLines ?? []) + shutdowns.lines
    }

    /// Machine reset: a fresh domain, with its console channel built again.
    func reset() {
        blocks?.devices.forEach { $0.detach() }
        hypervisor.resetDomain()
        interrupts.reset()
        connectBackends()
    }
}

/// The domain's shutdowns in order (a reboot without --no-reboot starts it again), for `--stats`.
final class XenShutdownLog: @unchecked Sendable {
    private let lock = Lock()
    private var entries: [String] = []

    func record(_ how: String) { lock.withLock { entries.append(how) } }

    var lines: [String] {
        lock.withLock { entries.isEmpty ? [] : ["xen domain shutdowns: " + entries.joined(separator: ", ")] }
    }
}

/// The board's interrupt controller with Xen's upcalls added (facts §2.4): the HVM callback
/// vector goes in before the local APIC's requests, like an ExtINT (KVM injects it the same
/// way), for as long as the vCPU's evtchn_upcall_pending is set; per-vCPU upcall vectors are
/// accepted into the local APIC as fixed edge interrupts. Called with the machine lock held,
/// except `post`.
final class XenInterruptController: InterruptController, @unchecked Sendable {
    let inner: InterruptController
    let lapic: LocalAPIC
    let hypervisor: XenHypervisor
    private let lock = Lock()
    // Guarded by `lock`: upcalls posted since the vCPU last looked.
    private var lapicVectors: [UInt8] = []
    private var callbackArmed = false

    init(inner: InterruptController, lapic: LocalAPIC, hypervisor: XenHypervisor) {
        self.inner = inner
        self.lapic = lapic
        self.hypervisor = hypervisor
    }

    /// Records a due upcall (any thread, any lock held).
    func post(_ route: XenUpcallRoute) {
        lock.withLock {
            switch route {
            case let .localAPIC(vector):
                // One edge per vector is enough: the APIC's IRR holds one request per vector.
                if !lapicVectors.contains(vector) { lapicVectors.append(vector) }
            case .callbackVector:
                callbackArmed = true
            }
        }
    }

    func reset() { lock.withLock { lapicVectors = []; callbackArmed = false } }

    /// The callback vector when it is armed and still due; disarms it when the guest has
    /// cleared its flag (a later event arms it again).
    private func dueCallback() -> UInt8? {
        guard lock.withLock({ callbackArmed }) else { return nil }
        if let vector = hypervisor.pendingCallbackVector(vcpu: 0) { return vector }
        lock.withLock { callbackArmed = false }
        return nil
    }

    var interruptRequested: Bool {
        let vectors: [UInt8] = lock.withLock { defer { lapicVectors = [] }; return lapicVectors }
        for vector in vectors { lapic.acceptInterrupt(vector: vector, levelTriggered: false) }
        return dueCallback() != nil || inner.interruptRequested
    }

    func acknowledgeInterrupt() -> UInt8 {
        if let vector = dueCallback() { return vector }
        return inner.acknowledgeInterrupt()
    }
}

/// The hypercall-page MSR beside the platform's own MSRs (the local APIC's).
final class XenPlatformMSRs: PlatformMSRs {
    let inner: PlatformMSRs?
    let hypervisor: XenHypervisor

    init(inner: PlatformMSRs?, hypervisor: XenHypervisor) {
        self.inner = inner
        self.hypervisor = hypervisor
    }

    func readMSR(_ index: UInt32) -> UInt64? {
        // The hypercall MSR is write-only: reads raise #GP, as on Xen (`guest_rdmsr_xen`).
        index == XenCPUID.hypercallPageMSR ? nil : inner?.readMSR(index)
    }

    func writeMSR(_ index: UInt32, _ value: UInt64) -> Bool {
        index == XenCPUID.hypercallPageMSR ? hypervisor.writeHypercallPageMSR(value) : inner?.writeMSR(index, value) ?? false
    }

    func ownsMSR(_ index: UInt32) -> Bool {
        index == XenCPUID.hypercallPageMSR || inner?.ownsMSR(index) == true
    }
}
