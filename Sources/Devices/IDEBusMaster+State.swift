import MachineCore

extension IDEBusMaster {
    /// The bus-master registers of one channel and the engine's place in its PRD table.
    public struct State: Equatable, Sendable {
        public var command: UInt8 = 0
        public var status: UInt8 = 0
        public var prdTable: UInt32 = 0
        /// The next descriptor's address, how many were read, and the current region.
        public var nextDescriptor: UInt32 = 0
        public var descriptorsRead: UInt32 = 0
        public var regionAddress: UInt64 = 0
        public var regionLeft: UInt32 = 0
        public var lastRegionLoaded = false
        public var tableExhausted = false

        public init() {}
    }

    var registers: State {
        var s = State()
        s.command = command; s.status = status; s.prdTable = prdTable
        s.nextDescriptor = nextDescriptor; s.descriptorsRead = UInt32(descriptorsRead)
        s.regionAddress = regionAddress; s.regionLeft = UInt32(regionLeft)
        s.lastRegionLoaded = lastRegionLoaded; s.tableExhausted = tableExhausted
        return s
    }

    /// Why `state` is not one the engine holds, or nil (PIIX datasheet, "Bus Master IDE I/O
    /// Registers": BMICX bits 0 and 3 only, BMISX's simplex bit 0, a dword-aligned PRD
    /// pointer; a region is at most 64 KiB and a table at most 8192 descriptors).
    static func invalidReason(_ state: State) -> String? {
        if state.command & ~BMIDE.commandWritable != 0 { return "BMICX 0x\(String(state.command, radix: 16))" }
        if state.status & BMIDE.statusSimplex != 0 || state.status & 0x18 != 0 { return "BMISX 0x\(String(state.status, radix: 16))" }
        if state.prdTable & ~BMIDE.prdTableMask != 0 { return "unaligned PRD table pointer" }
        if state.regionLeft > 0x10000 || state.descriptorsRead > UInt32(BMIDE.maxDescriptors) { return "PRD cursor out of range" }
        return nil
    }

    func apply(_ s: State) {
        command = s.command; status = s.status; prdTable = s.prdTable
        nextDescriptor = s.nextDescriptor; descriptorsRead = Int(s.descriptorsRead)
        regionAddress = s.regionAddress; regionLeft = Int(s.regionLeft)
        lastRegionLoaded = s.lastRegionLoaded; tableExhausted = s.tableExhausted
    }
}
