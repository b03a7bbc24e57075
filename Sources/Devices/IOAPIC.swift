import MachineCore

/// IOAPIC register indexes and bits (Intel 82093AA datasheet §3.2; the EOI register of
/// version 0x20 parts).
public enum IOAPICReg {
    /// MMIO: the index register and the data window.
    public static let select: UInt64 = 0x00
    public static let window: UInt64 = 0x10
    /// MMIO: directed EOI (writes the vector whose remote IRR to clear).
    public static let eoi: UInt64 = 0x40
    /// Indirect registers.
    public static let id: UInt32 = 0x00
    public static let version: UInt32 = 0x01
    public static let arbitration: UInt32 = 0x02
    /// Redirection entry n: low half at 0x10 + 2n, high half at 0x11 + 2n.
    public static let redirectionBase: UInt32 = 0x10
}

/// Bits of a redirection table entry (82093AA §3.2.4).
public enum IOAPICRedirection {
    public static let vectorMask: UInt64 = 0xFF
    public static let deliveryModeShift: UInt64 = 8
    /// Destination mode: 1 = logical.
    public static let logical: UInt64 = 1 << 11
    public static let deliveryStatus: UInt64 = 1 << 12
    /// Input pin polarity: 1 = active low.
    public static let activeLow: UInt64 = 1 << 13
    /// Remote IRR (level-triggered): the local APIC accepted the interrupt, no EOI yet.
    public static let remoteIRR: UInt64 = 1 << 14
    /// Trigger mode: 1 = level.
    public static let levelTriggered: UInt64 = 1 << 15
    public static let masked: UInt64 = 1 << 16
    /// Destination, bits 63:56.
    public static let destinationShift: UInt64 = 56
    /// What software may write (the rest is read-only or reserved).
    public static let writable: UInt64 = 0xFF00_0000_0001_AFFF
}

/// The I/O APIC: 24 input pins routed to the local APIC by the redirection table, for
/// engines without an in-kernel irqchip. The ISA IRQs reach it beside the 8259 (IRQ0 on
/// pin 2, the rest on their own number; see the MADT's interrupt source override).
public final class IOAPIC: MMIODevice {
    public static let defaultBase: UInt64 = 0xFEC0_0000
    public static let mmioSize: UInt64 = 0x1000
    public static let pinCount = 24
    /// Version 0x20 with the maximum redirection entry (23) in bits 23:16.
    public static let versionValue: UInt32 = 0x0017_0020

    private var id: UInt32 = 0
    private var select: UInt32 = 0
    private var table: [UInt64]
    private var levels: [Bool]
    /// Delivers a message: vector, level-triggered, destination, logical destination mode.
    /// Returns whether a local APIC took it.
    public var deliver: (_ vector: UInt8, _ levelTriggered: Bool, _ destination: UInt32, _ logical: Bool) -> Bool = { _, _, _, _ in false }

    public init() {
        table = [UInt64](repeating: IOAPICRedirection.masked, count: IOAPIC.pinCount)
        levels = [Bool](repeating: false, count: IOAPIC.pinCount)
    }

    public func attach(to bus: MMIOBus, name: String = "ioapic") throws(MachineError) {
        _ = try bus.claim(base: IOAPIC.defaultBase, size: IOAPIC.mmioSize, device: self, name: name)
    }

    public func reset() {
        id = 0
        select = 0
        for i in 0..<IOAPIC.pinCount { table[i] = IOAPICRedirection.masked }
    }

    /// The redirection entry of `pin` (tests, state dumps).
    public func redirection(_ pin: Int) -> UInt64 { table[pin] }

    /// Drives input `pin`. Edge-triggered entries send on the asserting edge, level-triggered
    /// ones while asserted and no EOI is outstanding.
    public func setLevel(pin: Int, _ level: Bool) {
        guard pin >= 0, pin < IOAPIC.pinCount else { return }
        let entry = table[pin]
        let asserted = level != (entry & IOAPICRedirection.activeLow != 0)
        let wasAsserted = levels[pin] != (entry & IOAPICRedirection.activeLow != 0)
        levels[pin] = level
        if entry & IOAPICRedirection.levelTriggered != 0 {
            if asserted { send(pin) }
        } else if asserted && !wasAsserted {
            send(pin)
        }
    }

    /// The local APIC's EOI of a level-triggered `vector`: clear remote IRR and resend while
    /// the line is still asserted.
    public func endOfInterrupt(vector: UInt8) {
        for pin in 0..<IOAPIC.pinCount where table[pin] & IOAPICRedirection.vectorMask == UInt64(vector)
            && table[pin] & IOAPICRedirection.remoteIRR != 0 {
            table[pin] &= ~IOAPICRedirection.remoteIRR
            if isAsserted(pin) { send(pin) }
        }
    }

    private func isAsserted(_ pin: Int) -> Bool {
        levels[pin] != (table[pin] & IOAPICRedirection.activeLow != 0)
    }

    private func send(_ pin: Int) {
        let entry = table[pin]
        guard entry & IOAPICRedirection.masked == 0 else { return }
        let level = entry & IOAPICRedirection.levelTriggered != 0
        if level && entry & IOAPICRedirection.remoteIRR != 0 { return }
        let mode = UInt32((entry >> IOAPICRedirection.deliveryModeShift) & 7)
        // Fixed and lowest-priority go to the one local APIC; the others are not wired here.
        guard mode == APICDeliveryMode.fixed || mode == APICDeliveryMode.lowestPriority else { return }
        let accepted = deliver(UInt8(entry & IOAPICRedirection.vectorMask), level,
                               UInt32(entry >> IOAPICRedirection.destinationShift),
                               entry & IOAPICRedirection.logical != 0)
        if accepted && level { table[pin] |= IOAPICRedirection.remoteIRR }
    }

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        switch offset {
        case IOAPICReg.select: return UInt64(select)
        case IOAPICReg.window: return UInt64(readRegister(select)) & allOnes(size: size)
        default: return 0
        }
    }

    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        switch offset {
        case IOAPICReg.select: select = UInt32(value & 0xFF)
        case IOAPICReg.window: writeRegister(select, UInt32(truncatingIfNeeded: value))
        case IOAPICReg.eoi: endOfInterrupt(vector: UInt8(truncatingIfNeeded: value))
        default: break
        }
    }

    private func readRegister(_ index: UInt32) -> UInt32 {
        switch index {
        case IOAPICReg.id: return id << 24
        case IOAPICReg.version: return IOAPIC.versionValue
        case IOAPICReg.arbitration: return id << 24
        default:
            guard let (pin, high) = redirectionIndex(index) else { return 0 }
            return UInt32(truncatingIfNeeded: high ? table[pin] >> 32 : table[pin])
        }
    }

    private func writeRegister(_ index: UInt32, _ value: UInt32) {
        if index == IOAPICReg.id { id = (value >> 24) & 0xF; return }
        guard let (pin, high) = redirectionIndex(index) else { return }
        let old = table[pin]
        let written = high ? (old & 0xFFFF_FFFF) | (UInt64(value) << 32) : (old & 0xFFFF_FFFF_0000_0000) | UInt64(value)
        table[pin] = (old & ~IOAPICRedirection.writable) | (written & IOAPICRedirection.writable)
        // Unmasking a level-triggered entry whose line is asserted delivers it now.
        if table[pin] & IOAPICRedirection.levelTriggered != 0 && isAsserted(pin) { send(pin) }
    }

    private func redirectionIndex(_ index: UInt32) -> (Int, Bool)? {
        guard index >= IOAPICReg.redirectionBase else { return nil }
        let n = Int(index - IOAPICReg.redirectionBase)
        guard n / 2 < IOAPIC.pinCount else { return nil }
        return (n / 2, n & 1 == 1)
    }
}

extension IOAPIC: StatefulDevice {
    public struct State: Equatable, Sendable {
        /// IOAPICID bits 27:24, as a 4-bit number.
        public var id: UInt8 = 0
        /// IOREGSEL.
        public var select: UInt8 = 0
        /// The 24 redirection entries, remote IRR included.
        public var redirection = [UInt64](repeating: IOAPICRedirection.masked, count: IOAPIC.pinCount)
        /// The level last seen on each input pin, bit n for pin n (the edge detectors' memory).
        public var pinLevels: UInt32 = 0

        public init() {}
    }

    public var state: State {
        var s = State()
        s.id = UInt8(id)
        s.select = UInt8(select)
        s.redirection = table
        s.pinLevels = levels.enumerated().reduce(0) { $0 | ($1.element ? 1 << UInt32($1.offset) : 0) }
        return s
    }

    /// Refuses a table that is not 24 entries, an ID wider than 4 bits, a pin level above
    /// pin 23, and entries with reserved or delivery-status bits set (82093AA §3.2.4). No
    /// message is sent: what the saved IOAPIC delivered is already in the saved local APIC.
    public func restore(_ state: State) throws(MachineError) {
        func refuse(_ reason: String) -> MachineError { .invalidDeviceState(device: "IOAPIC", reason: reason) }
        guard state.redirection.count == IOAPIC.pinCount else { throw refuse("\(state.redirection.count) redirection entries") }
        guard state.id <= 0xF else { throw refuse("ID \(state.id) wider than 4 bits") }
        guard state.pinLevels >> UInt32(IOAPIC.pinCount) == 0 else { throw refuse("levels on pins past \(IOAPIC.pinCount - 1)") }
        let allowed = IOAPICRedirection.writable | IOAPICRedirection.remoteIRR
        if let pin = state.redirection.firstIndex(where: { $0 & ~allowed != 0 }) {
            throw refuse("reserved bits in redirection entry \(pin)")
        }
        id = UInt32(state.id)
        select = UInt32(state.select)
        table = state.redirection
        for pin in 0..<IOAPIC.pinCount { levels[pin] = state.pinLevels & (1 << UInt32(pin)) != 0 }
    }
}
