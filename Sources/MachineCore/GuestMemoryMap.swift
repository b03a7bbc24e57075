/// The guest-physical map a board decodes: where RAM lies and which holes inside it belong to
/// devices. A board describes it and `GuestMemory` lays its RAM out by it, so MachineCore
/// knows no particular board (docs/ARCHITECTURE.md, "Platform contract").
public struct GuestMemoryMap: Equatable, Sendable {
    /// RAM below 4 GiB stops here; the rest of the RAM is mapped from `highRAMBase` up. The
    /// space between is the board's (the PCI hole, the IOAPIC, the local APIC, the BIOS flash).
    public var lowRAMLimit: UInt64
    /// A window inside low RAM that a device decodes instead of RAM (a PC's legacy VGA
    /// window at 0xA0000-0xBFFFF), or nil.
    public var legacyHole: Range<UInt64>?

    /// Where RAM above the low limit continues: 4 GiB, as on every x86 board.
    public static let highRAMBase: UInt64 = 0x1_0000_0000

    public init(lowRAMLimit: UInt64, legacyHole: Range<UInt64>? = nil) {
        self.lowRAMLimit = lowRAMLimit
        self.legacyHole = legacyHole
    }

    /// A bare CPU's map (unit tests, the conformance runners): RAM to 3 GiB and from 4 GiB,
    /// no hole.
    public static let bare = GuestMemoryMap(lowRAMLimit: 0xC000_0000)
}
