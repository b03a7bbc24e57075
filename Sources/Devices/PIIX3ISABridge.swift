import MachineCore

/// The PIIX3 PCI-to-ISA bridge, function 0 of the south bridge at 00:01.0 (82371SB datasheet,
/// §2.2 "PCI to ISA Bridge Configuration Registers").
///
/// Its job here is interrupt routing: the four PCI interrupt lines PIRQA#-PIRQD# are steered
/// to ISA IRQs by PIRQRC[A:D] (0x60-0x63). The firmware programs the routing (SeaBIOS gives
/// 10, 10, 11, 11) and marks those IRQs level-triggered in the 8259's ELCR (0x4D0/0x4D1,
/// part of `DualPIC8259`). PCI devices call `setPIRQ(_:level:)` with their INTx# level; a
/// line routed to an IRQ drives it, a disabled route drives nothing.
public final class PIIX3ISABridge: PCIDevice {
    public static let vendorID: UInt16 = 0x8086
    public static let deviceID: UInt16 = 0x7000
    /// Class 06 (bridge), subclass 01 (ISA bridge).
    public static let classCode: UInt8 = 0x06
    public static let subclass: UInt8 = 0x01
    /// The 00:01.0 address the bridge lives at.
    public static let address = PCIAddress(bus: 0, device: 1, function: 0)!

    /// PCICMD at reset: I/O, memory and bus master enabled (hardwired, §2.2.3).
    public static let commandDefault: UInt16 = PCIConfig.commandIOSpace | PCIConfig.commandMemorySpace | PCIConfig.commandBusMaster
    /// PCISTS at reset: medium DEVSEL timing.
    public static let statusDefault: UInt16 = PCIConfig.statusDevselMedium

    /// ISA I/O recovery timer register.
    public static let isaRecoveryTimer = 0x4C
    /// X-bus chip select register (BIOS decode, keyboard controller).
    public static let xBusChipSelect = 0x4E
    public static let xBusChipSelectDefault: UInt16 = 0x0003
    /// PIRQRC[A:D]: bit 7 disables the route, bits 3:0 are the ISA IRQ.
    public static let pirqRouteControl = 0x60
    public static let pirqCount = 4
    public static let pirqDisable: UInt8 = 0x80
    public static let pirqIRQMask: UInt8 = 0x0F
    /// Reserved IRQ numbers a route may not use (0-2, 8, 13): the route then drives nothing.
    static let pirqReservedIRQs: Set<Int> = [0, 1, 2, 8, 13]
    /// Top of memory register (ISA/DMA forwarding).
    public static let topOfMemory = 0x69
    public static let topOfMemoryDefault: UInt8 = 0x02
    /// Miscellaneous status register.
    public static let miscStatus = 0x6A
    /// Motherboard device IRQ routes MBIRQ0/1 (disabled at reset).
    public static let motherboardIRQRoute0 = 0x70
    public static let motherboardIRQRoute1 = 0x71
    /// APIC base address relocation.
    public static let apicBaseRelocation = 0x80
    /// Deterministic latency control.
    public static let deterministicLatency = 0x82
    /// SMI control, enable and request registers.
    public static let smiControl = 0xA0
    public static let smiEnable = 0xA2
    public static let systemEventEnable = 0xA4
    public static let smiRequest = 0xAA

    public var config: PCIConfigSpace
    /// Asserts or releases an ISA IRQ (the machine's ISA line fan-out to the PIC and IOAPIC).
    private let isaIRQ: (Int, Bool) -> Void
    /// The level each PIRQ line is driven at by its PCI devices.
    private var pirqLevels = [Bool](repeating: false, count: PIIX3ISABridge.pirqCount)
    /// The ISA IRQ each PIRQ currently drives (nil: disabled or reserved).
    private var routedIRQ = [Int?](repeating: nil, count: PIIX3ISABridge.pirqCount)

    public init(isaIRQ: @escaping (Int, Bool) -> Void) {
        self.isaIRQ = isaIRQ
        config = PIIX3ISABridge.resetConfig()
    }

    static func resetConfig() -> PCIConfigSpace {
        var c = PCIConfigSpace(vendorID: vendorID, deviceID: deviceID, revision: 0, classCode: classCode,
                               subclass: subclass, progIF: 0, headerType: PCIConfig.headerTypeMultiFunction)
        c.set16(PCIConfig.command, commandDefault)
        c.set16(PCIConfig.status, statusDefault)
        c.setClearMask(PCIConfig.status, width: 2, UInt32(PCIConfig.statusErrorBits))
        c.setWriteMask(isaRecoveryTimer, width: 1, 0xFF)
        c.set16(xBusChipSelect, xBusChipSelectDefault)
        c.setWriteMask(xBusChipSelect, width: 2, 0xFFFF)
        for k in 0..<pirqCount {
            c.set8(pirqRouteControl + k, pirqDisable)
            c.setWriteMask(pirqRouteControl + k, width: 1, UInt32(pirqDisable | pirqIRQMask))
        }
        c.set8(topOfMemory, topOfMemoryDefault)
        c.setWriteMask(topOfMemory, width: 1, 0xFF)
        c.setWriteMask(miscStatus, width: 2, 0xFFFF)
        for offset in [motherboardIRQRoute0, motherboardIRQRoute1] {
            c.set8(offset, pirqDisable)
            c.setWriteMask(offset, width: 1, 0xFF)
        }
        c.setWriteMask(apicBaseRelocation, width: 1, 0x7F)
        c.setWriteMask(deterministicLatency, width: 1, 0x0F)
        c.setWriteMask(smiControl, width: 1, 0x1F)
        c.setWriteMask(smiEnable, width: 2, 0x01FF)
        c.setWriteMask(systemEventEnable, width: 4, 0xFFFF_FFFF)
        c.setWriteMask(smiRequest, width: 2, 0x01FF)
        return c
    }

    public func configWrite(offset: Int, size: Int, value: UInt32) {
        config.write(offset: offset, size: size, value: value)
        if offset < Self.pirqRouteControl + Self.pirqCount, offset + size > Self.pirqRouteControl {
            for k in 0..<Self.pirqCount { reroute(k) }
        }
    }

    /// The ISA IRQ PIRQ `index` (0 = A) is routed to, or nil when the route is disabled.
    public func route(ofPIRQ index: Int) -> Int? {
        let value = config.read8(Self.pirqRouteControl + index)
        let irq = Int(value & Self.pirqIRQMask)
        guard value & Self.pirqDisable == 0, !Self.pirqReservedIRQs.contains(irq) else { return nil }
        return irq
    }

    /// A PCI device drives PIRQ `index` (0-3) to `level`.
    public func setPIRQ(_ index: Int, level: Bool) {
        guard (0..<Self.pirqCount).contains(index), pirqLevels[index] != level else { return }
        pirqLevels[index] = level
        if let irq = routedIRQ[index] { isaIRQ(irq, anyPIRQAsserted(on: irq)) }
    }

    /// Power-on state: every route disabled (releasing the IRQs they drove).
    public func reset() {
        config = Self.resetConfig()
        for k in 0..<Self.pirqCount { reroute(k) }
    }

    private func reroute(_ index: Int) {
        let new = route(ofPIRQ: index)
        let old = routedIRQ[index]
        guard new != old else { return }
        routedIRQ[index] = new
        if let old { isaIRQ(old, anyPIRQAsserted(on: old)) }
        if let new { isaIRQ(new, anyPIRQAsserted(on: new)) }
    }

    /// Several PIRQs may share one IRQ: it is asserted while any of them is.
    private func anyPIRQAsserted(on irq: Int) -> Bool {
        (0..<Self.pirqCount).contains { routedIRQ[$0] == irq && pirqLevels[$0] }
    }
}

extension PIIX3ISABridge: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// The 256 configuration bytes (PIRQRC[A:D] among them).
        public var configuration: [UInt8]
        /// The level each PCI device drives on PIRQA#-PIRQD#, bit n for PIRQ n.
        public var pirqLevels: UInt8
        public init(configuration: [UInt8], pirqLevels: UInt8 = 0) {
            self.configuration = configuration
            self.pirqLevels = pirqLevels
        }
    }

    public var state: State {
        State(configuration: config.bytes,
              pirqLevels: (0..<Self.pirqCount).reduce(0) { $0 | (pirqLevels[$1] ? 1 << UInt8($1) : 0) })
    }

    /// Refuses bytes that change a read-only field and levels on PIRQs that do not exist.
    /// The routes are then rebuilt from PIRQRC, driving each routed ISA IRQ at the level its
    /// PIRQs carry, as a guest write of the routing registers does.
    public func restore(_ state: State) throws(MachineError) {
        guard state.pirqLevels >> UInt8(Self.pirqCount) == 0 else {
            throw .invalidDeviceState(device: "PIIX3 ISA bridge", reason: "levels on PIRQs past PIRQD#")
        }
        try config.restore(state.configuration, device: "PIIX3 ISA bridge")
        let routes = (0..<Self.pirqCount).map { route(ofPIRQ: $0) }
        // Routes that move let go of their old IRQ first; then every routed IRQ is driven
        // from the restored levels. A route that stays drives its IRQ without a glitch.
        for k in 0..<Self.pirqCount where routedIRQ[k] != routes[k] {
            guard let old = routedIRQ[k] else { continue }
            routedIRQ[k] = nil
            isaIRQ(old, anyPIRQAsserted(on: old))
        }
        for k in 0..<Self.pirqCount {
            pirqLevels[k] = state.pirqLevels & (1 << UInt8(k)) != 0
            routedIRQ[k] = routes[k]
        }
        for irq in Set(routes.compactMap { $0 }) { isaIRQ(irq, anyPIRQAsserted(on: irq)) }
    }
}
