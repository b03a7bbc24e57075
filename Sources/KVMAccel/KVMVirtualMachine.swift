// The VM level of the KVM fd tree (api.rst §4, "vm ioctls"): memory slots, the in-kernel
// interrupt controllers and PIT, IRQ lines.
import CKVM
import MachineCore
#if canImport(Glibc)
import Glibc
#endif

/// One KVM virtual machine: guest RAM registered as memory slots, optional in-kernel
/// PIC/IOAPIC/LAPIC and PIT. vCPUs are created from it with `KVMVirtualCPU.init(vm:...)`.
public final class KVMVirtualMachine: @unchecked Sendable {
    /// Default guest-physical address of the three-page TSS that Intel hosts need to run real
    /// mode through vm86 (KVM_SET_TSS_ADDR): QEMU's historical address and Firecracker's, just
    /// below a 256 KiB BIOS at the top of 4 GiB. (QEMU now uses 0xFEFFD000 to leave room for
    /// firmware up to 16 MiB; pass that to `init` for a bigger flash image.)
    public static let defaultTSSAddress: UInt64 = 0xFFFB_D000

    /// Guest-physical address of the TSS (three pages).
    public let tssAddress: UInt64
    /// Guest-physical address of the one-page EPT identity map table
    /// (KVM_SET_IDENTITY_MAP_ADDR): the page right below the TSS.
    public var identityMapAddress: UInt64 { tssAddress - 4096 }
    /// The four pages KVM uses for the two above: no RAM slot or MMIO claim may cover them,
    /// and the e820 map must mark them reserved.
    public var reservedRange: Range<UInt64> { identityMapAddress..<(tssAddress + 3 * 4096) }

    public let system: KVMSystem
    public let memory: GuestMemory
    let fd: Int32

    /// KVM_CREATE_IRQCHIP succeeded: PIC, IOAPIC and local APICs live in the kernel, and
    /// KVM_EXIT_HLT does not occur (HLT waits in the kernel).
    public private(set) var hasIRQChip = false
    /// KVM_CREATE_PIT2 succeeded: ports 0x40-0x43 (and 0x61 bit 0/1 reads for the speaker
    /// gate) are handled in the kernel; the machine must not put its own PIT on the bus.
    public private(set) var hasPIT = false

    struct Slot {
        let guestBase: UInt64
        let size: UInt64
        let host: UnsafeMutableRawPointer
        let readOnly: Bool
        /// KVM_MEM_LOG_DIRTY_PAGES is set (KVMVirtualMachine+WriteTracking.swift).
        var logsWrites = false
    }
    var slots: [UInt32: Slot] = [:]
    /// RAM slots log the vCPUs' writes for the other engines (KVMVirtualMachine+WriteTracking).
    public internal(set) var tracksCPUWrites = false
    /// Whether the VM carries out `GuestMemory.setWriteProtectedLowPages`. It needs read-only
    /// slots (api.rst, KVM_SET_USER_MEMORY_REGION: "The KVM_CAP_READONLY_MEM capability
    /// indicates the availability of the KVM_MEM_READONLY flag"), asked of the VM fd: some VM
    /// types lack them. Without them the pages stay writable and the engine says so in
    /// `platformSupport`.
    public let supportsLowMemoryWriteProtect: Bool
    /// Shadow-RAM write protection (KVMVirtualMachine+MemoryAttributes.swift): the RAM of the
    /// first MiB, mapped as runs of pages of equal protection, and the pages now read-only.
    /// Changed and read under the machine lock, outside KVM_RUN.
    var lowRAMPieces: [MemoryRegion] = []
    var lowRuns: [(run: LowRAMRun, slot: Int)] = []
    var readOnlyLowPages = LowMemoryPageMask()
    /// Called when re-making the low slots failed (the vCPU stops the machine with it).
    public var onMemoryAttributeFailure: ((MachineError) -> Void)?
    private let maxSlots: Int
    let vcpuLock = Lock()
    var vcpuIDs: Set<Int> = []
    /// Slots of the pages `GuestMemory` backed at run time, by guest-physical address.
    var runtimeSlots: [UInt64: Int] = [:]

    /// Creates the VM, places the TSS and identity-map pages, and registers every region of
    /// `memory` as a memory slot; RAM in the first MiB gets slots of its own that follow the
    /// memory's write-protected pages, and the VM observes the memory for changes of them.
    public init(system: KVMSystem, memory: GuestMemory, tssAddress: UInt64 = KVMVirtualMachine.defaultTSSAddress) throws(MachineError) {
        guard tssAddress % 4096 == 0, tssAddress >= 4096, tssAddress + 3 * 4096 <= 1 << 32 else {
            throw .badConfiguration("KVM TSS address 0x\(String(tssAddress, radix: 16)) must be page-aligned and below 4 GiB")
        }
        self.system = system
        self.memory = memory
        self.tssAddress = tssAddress
        let vm = ckvm_ioctl_int(system.fd, CKVM_CREATE_VM, 0)
        guard vm >= 0 else { throw .engineFailure("KVM_CREATE_VM failed: \(errnoText(-vm))") }
        fd = vm
        supportsLowMemoryWriteProtect = system.has(.readOnlyMemory)
            && ckvm_ioctl_int(vm, CKVM_CHECK_EXTENSION, UInt(KVMCapability.readOnlyMemory.rawValue)) != 0
        let reported = system.checkExtension(.memorySlots)
        maxSlots = reported > 0 ? reported : 32
        // Both addresses must be set before the first vCPU exists (api.rst,
        // KVM_SET_IDENTITY_MAP_ADDR). They are harmless on AMD hosts.
        if system.has(.setIdentityMapAddress) {
            var address = identityMapAddress
            try KVMIoctl.call(fd, CKVM_SET_IDENTITY_MAP_ADDR, &address, "KVM_SET_IDENTITY_MAP_ADDR")
        }
        if system.has(.setTSSAddress) {
            try KVMIoctl.call(fd, CKVM_SET_TSS_ADDR, int: UInt(tssAddress), "KVM_SET_TSS_ADDR")
        }
        for region in memory.regions {
            let lowEnd = min(region.guestEnd, KVMVirtualMachine.lowMemoryLimit)
            if supportsLowMemoryWriteProtect && !region.readOnly && region.guestBase < lowEnd {
                lowRAMPieces.append(MemoryRegion(guestBase: region.guestBase, size: lowEnd - region.guestBase, host: region.host))
                if region.guestEnd > lowEnd {
                    try mapSlot(guestBase: lowEnd, size: region.guestEnd - lowEnd, host: region.host + Int(lowEnd - region.guestBase))
                }
                continue
            }
            try mapSlot(guestBase: region.guestBase, size: region.size, host: region.host,
                        readOnly: region.readOnly)
        }
        try mapLowRAM(protecting: memory.writeProtectedLowPages)
        memory.addObserver(self)
    }

    deinit { close(fd) }

    /// KVM_CHECK_EXTENSION on the VM fd, which answers for this VM (api.rst §4.4, with
    /// KVM_CAP_CHECK_EXTENSION_VM); kernels without that ask /dev/kvm instead.
    public func checkExtension(_ capability: KVMCapability) -> Int {
        let r = ckvm_ioctl_int(fd, CKVM_CHECK_EXTENSION, UInt(capability.rawValue))
        return r < 0 ? system.checkExtension(capability) : Int(r)
    }

    // MARK: memory slots

    /// Registers host memory as guest-physical memory. Returns the slot number. A read-only
    /// slot (ROM, BIOS flash) needs KVM_CAP_READONLY_MEM; guest writes to it exit as MMIO
    /// writes, which reach the MMIOBus (and are dropped if nothing claims the address).
    @discardableResult
    public func mapSlot(guestBase: UInt64, size: UInt64, host: UnsafeMutableRawPointer, readOnly: Bool = false) throws(MachineError) -> Int {
        guard size > 0, size % 4096 == 0, guestBase % 4096 == 0, guestBase &+ size > guestBase,
              Int(bitPattern: host) % 4096 == 0 else {
            throw .badConfiguration("KVM memory slot at 0x\(String(guestBase, radix: 16)) (+0x\(String(size, radix: 16))) is not page-aligned")
        }
        if readOnly && !system.has(.readOnlyMemory) {
            throw .engineUnavailable("\(system.path): the kernel lacks KVM_CAP_READONLY_MEM (read-only memory slots)")
        }
        let reserved = reservedRange
        if guestBase < reserved.upperBound && reserved.lowerBound < guestBase + size {
            throw .badConfiguration("KVM memory slot at 0x\(String(guestBase, radix: 16)) overlaps the TSS/identity-map pages at 0x\(String(reserved.lowerBound, radix: 16))")
        }
        for (_, other) in slots where other.guestBase < guestBase + size && guestBase < other.guestBase + other.size {
            throw .badConfiguration("KVM memory slot at 0x\(String(guestBase, radix: 16)) overlaps the slot at 0x\(String(other.guestBase, radix: 16))")
        }
        guard let number = (0..<UInt32(maxSlots)).first(where: { slots[$0] == nil }) else {
            throw .badConfiguration("more than \(maxSlots) KVM memory slots")
        }
        var region = kvm_userspace_memory_region()
        region.slot = number
        let logsWrites = tracksCPUWrites && !readOnly
        region.flags = readOnly ? UInt32(KVM_MEM_READONLY) : logsWrites ? UInt32(KVM_MEM_LOG_DIRTY_PAGES) : 0
        region.guest_phys_addr = guestBase
        region.memory_size = size
        region.userspace_addr = UInt64(UInt(bitPattern: host))
        try KVMIoctl.call(fd, CKVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION")
        slots[number] = Slot(guestBase: guestBase, size: size, host: host, readOnly: readOnly, logsWrites: logsWrites)
        return Int(number)
    }

    /// Removes a slot (memory_size 0, api.rst KVM_SET_USER_MEMORY_REGION).
    public func unmapSlot(_ slot: Int) throws(MachineError) {
        guard slot >= 0, let existing = slots[UInt32(slot)] else { return }
        // Writes logged since the last collection would be lost with the slot.
        if existing.logsWrites { reportWrites(slot: UInt32(slot), existing) }
        var region = kvm_userspace_memory_region()
        region.slot = UInt32(slot)
        region.guest_phys_addr = existing.guestBase
        region.memory_size = 0
        try KVMIoctl.call(fd, CKVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION")
        slots[UInt32(slot)] = nil
    }

    // MARK: in-kernel interrupt controllers and PIT

    /// Creates the in-kernel PIC pair, IOAPIC and local APICs (KVM_CREATE_IRQCHIP) and, when
    /// `withPIT`, the in-kernel i8254 (KVM_CREATE_PIT2 with a dummy speaker port). Must run
    /// before the first vCPU is created. Returns false, changing nothing, when the kernel
    /// lacks KVM_CAP_IRQCHIP; the PIT is skipped when KVM_CAP_PIT2 is missing.
    ///
    /// With the irqchip, ports 0x20-0x21, 0xA0-0xA1, 0x4D0-0x4D1 and the IOAPIC/LAPIC pages
    /// (0xFEC00000, 0xFEE00000) are handled by the kernel; the default GSI routing sends
    /// GSI 0-15 to both the PIC and the IOAPIC pin of the same number, GSI 16-23 to the IOAPIC.
    @discardableResult
    public func createInKernelIRQChip(withPIT: Bool = true) throws(MachineError) -> Bool {
        let haveVCPUs = vcpuLock.withLock { !vcpuIDs.isEmpty }
        if haveVCPUs { throw .badConfiguration("the in-kernel irqchip must be created before the vCPUs") }
        guard !hasIRQChip else { return true }
        guard checkExtension(.irqchip) > 0 else { return false }
        try KVMIoctl.call(fd, CKVM_CREATE_IRQCHIP, int: 0, "KVM_CREATE_IRQCHIP")
        hasIRQChip = true
        if withPIT && checkExtension(.pit2) > 0 {
            var config = kvm_pit_config()
            config.flags = UInt32(KVM_PIT_SPEAKER_DUMMY)
            try KVMIoctl.call(fd, CKVM_CREATE_PIT2, &config, "KVM_CREATE_PIT2")
            hasPIT = true
        }
        return true
    }

    /// Drives GSI `irq` of the in-kernel irqchip to `level` (KVM_IRQ_LINE). Edge-triggered
    /// sources pulse: true then false.
    public func setIRQLine(_ irq: Int, level: Bool) throws(MachineError) {
        guard hasIRQChip else { throw .badConfiguration("IRQ \(irq): the VM has no in-kernel irqchip") }
        guard irq >= 0, irq <= Int(UInt32.max) else { throw .badConfiguration("IRQ \(irq) out of range") }
        var line = kvm_irq_level()
        line.irq = UInt32(irq)
        line.level = level ? 1 : 0
        try KVMIoctl.call(fd, CKVM_IRQ_LINE, &line, "KVM_IRQ_LINE")
    }

    /// An IRQLine whose changes go to `setIRQLine`. A failing KVM_IRQ_LINE (which only a
    /// GSI beyond the routing table can cause) is dropped, as a wire to nowhere would be.
    public func irqLine(_ number: Int) -> IRQLine {
        IRQLine(number: number) { [weak self] line, level in
            try? self?.setIRQLine(line, level: level)
        }
    }
}
