import MachineCore

/// Registers of a PIIX bus-master IDE channel (82371SB/AB datasheets, "Bus Master IDE I/O
/// Registers"; SFF-8038i "Bus Master Programming Interface for IDE ATA Controllers").
public enum BMIDE {
    /// Offsets within one channel's 8-byte block (the secondary channel's block follows at +8).
    public static let command: UInt16 = 0
    public static let status: UInt16 = 2
    public static let prdTable: UInt16 = 4
    public static let channelBlockSize: UInt16 = 8

    // Command register (BMICX).
    /// Start/stop bus master: 1 starts the transfer, 0 stops it (and resets the engine).
    public static let commandStart: UInt8 = 0x01
    /// Read/write control: 1 = the engine writes to memory (a device read), 0 = reads memory.
    public static let commandWriteToMemory: UInt8 = 0x08
    public static let commandWritable: UInt8 = commandStart | commandWriteToMemory

    // Status register (BMISX).
    /// Bus master active: set by start, cleared when the last PRD region (EOT) has been
    /// transferred or on stop.
    public static let statusActive: UInt8 = 0x01
    /// Error: a PCI master or target abort (write 1 to clear). Not produced here.
    public static let statusError: UInt8 = 0x02
    /// Interrupt: set by the rising edge of the channel's IDE interrupt (write 1 to clear).
    public static let statusInterrupt: UInt8 = 0x04
    /// Drive 0 / drive 1 DMA capable: plain bits the BIOS sets for the driver.
    public static let statusDrive0DMA: UInt8 = 0x20
    public static let statusDrive1DMA: UInt8 = 0x40
    /// Simplex only: 0 on PIIX (both channels may run DMA at once).
    public static let statusSimplex: UInt8 = 0x80
    public static let statusWriteOneToClear: UInt8 = statusError | statusInterrupt
    public static let statusReadWrite: UInt8 = statusDrive0DMA | statusDrive1DMA

    /// PRD table pointer: dword aligned (bits 1:0 read as zero).
    public static let prdTableMask: UInt32 = 0xFFFF_FFFC

    // Physical region descriptor (8 bytes).
    /// Byte 0-3: memory region base (bit 0 is zero: word aligned).
    public static let prdBaseMask: UInt32 = 0xFFFF_FFFE
    /// Bytes 4-5: byte count (bit 0 is zero); 0 means 64 KiB.
    public static let prdCountMask: UInt32 = 0x0000_FFFE
    /// Byte 7 bit 7: end of table.
    public static let prdEndOfTable: UInt32 = 0x8000_0000
    public static let prdSize: UInt32 = 8
    /// A table may not cross a 64 KiB boundary, so it holds at most this many descriptors.
    public static let maxDescriptors = 8192
}

/// The bus-master DMA engine of one IDE channel: the command/status registers, the PRD table
/// pointer, and a cursor that moves a drive's data to or from the guest memory the table
/// describes.
public final class IDEBusMaster: IDEDMATarget {
    let memory: GuestMemory
    weak var channel: IDEChannel?

    public internal(set) var command: UInt8 = 0
    public internal(set) var status: UInt8 = 0
    public internal(set) var prdTable: UInt32 = 0
    /// PCI command register bus master enable: without it the engine never moves data.
    var masterEnabled = true

    // PRD cursor.
    var nextDescriptor: UInt32 = 0
    var descriptorsRead = 0
    var regionAddress: UInt64 = 0
    var regionLeft = 0
    var lastRegionLoaded = false
    /// The table's last region has been used up (or the table could not be read).
    var tableExhausted = false

    init(memory: GuestMemory) {
        self.memory = memory
    }

    func reset() {
        command = 0
        status = 0
        prdTable = 0
        resetCursor()
    }

    private func resetCursor() {
        nextDescriptor = prdTable
        descriptorsRead = 0
        regionAddress = 0
        regionLeft = 0
        lastRegionLoaded = false
        tableExhausted = false
    }

    // MARK: Registers (offsets within the channel's 8 bytes, byte at a time)

    func readByte(offset: UInt16) -> UInt8 {
        switch offset {
        case BMIDE.command: return command
        case BMIDE.status: return status
        case BMIDE.prdTable...(BMIDE.prdTable + 3):
            return UInt8(truncatingIfNeeded: prdTable >> UInt32(8 * (offset - BMIDE.prdTable)))
        default: return 0
        }
    }

    func writeByte(offset: UInt16, value: UInt8) {
        switch offset {
        case BMIDE.command:
            writeCommand(value)
        case BMIDE.status:
            status &= ~(value & BMIDE.statusWriteOneToClear)
            status = status & ~BMIDE.statusReadWrite | value & BMIDE.statusReadWrite
        case BMIDE.prdTable...(BMIDE.prdTable + 3):
            let shift = UInt32(8 * (offset - BMIDE.prdTable))
            prdTable = (prdTable & ~(0xFF << shift) | UInt32(value) << shift) & BMIDE.prdTableMask
        default:
            break
        }
    }

    private func writeCommand(_ value: UInt8) {
        let wasStarted = command & BMIDE.commandStart != 0
        let start = value & BMIDE.commandStart != 0
        if wasStarted && start {
            // The direction cannot change while the engine runs.
            return
        }
        command = value & BMIDE.commandWritable
        if start && !wasStarted {
            resetCursor()
            status |= BMIDE.statusActive
            channel?.runPendingDMA()
        } else if !start {
            // Stop: the engine halts; data not yet moved is lost.
            status &= ~BMIDE.statusActive
        }
    }

    // MARK: Transfers

    /// True when a drive's DMA can run now.
    var canTransfer: Bool { masterEnabled && status & BMIDE.statusActive != 0 }

    /// After a drive's transfer: the engine goes idle if the table was used up; if the drive
    /// needed less than the table described, Active stays set (SFF-8038i §2.1.2).
    func endTransfer() {
        if tableExhausted || lastRegionLoaded && regionLeft == 0 {
            status &= ~BMIDE.statusActive
        }
    }

    /// The channel's INTRQ rose.
    func interruptRaised() {
        status |= BMIDE.statusInterrupt
    }

    /// Makes the next region current. False when the table has ended.
    private func loadRegion() -> Bool {
        guard !lastRegionLoaded, !tableExhausted, descriptorsRead < BMIDE.maxDescriptors,
              let base = try? memory.read32(UInt64(nextDescriptor)),
              let control = try? memory.read32(UInt64(nextDescriptor &+ 4)) else {
            tableExhausted = true
            return false
        }
        nextDescriptor &+= BMIDE.prdSize
        descriptorsRead += 1
        regionAddress = UInt64(base & BMIDE.prdBaseMask)
        let count = Int(control & BMIDE.prdCountMask)
        regionLeft = count == 0 ? 0x10000 : count
        lastRegionLoaded = control & BMIDE.prdEndOfTable != 0
        return true
    }

    /// Moves up to `count` bytes between `host` and the regions, in either direction.
    private func copy(_ host: UnsafeMutableRawPointer, count: Int, toMemory: Bool) -> Int {
        var done = 0
        while done < count {
            if regionLeft == 0 {
                guard loadRegion() else { break }
            }
            let n = min(count - done, regionLeft)
            // Regions outside RAM (or in ROM, for writes) take or give nothing, like a master
            // abort the driver would not see.
            if toMemory {
                if let p = memory.ramPointer(regionAddress, length: n) {
                    p.copyMemory(from: host + done, byteCount: n)
                    // Engines forget code they decoded there (GuestMemoryObserver).
                    memory.noteDeviceWrite(physical: regionAddress, length: n)
                }
            } else if let p = memory.pointer(regionAddress, length: n) {
                (host + done).copyMemory(from: p, byteCount: n)
            } else {
                (host + done).initializeMemory(as: UInt8.self, repeating: 0xFF, count: n)
            }
            regionAddress &+= UInt64(n)
            regionLeft -= n
            done += n
            if regionLeft == 0 && lastRegionLoaded { tableExhausted = true }
        }
        return done
    }

    func copyToMemory(_ source: UnsafeRawPointer, count: Int) -> Int {
        copy(UnsafeMutableRawPointer(mutating: source), count: count, toMemory: true)
    }

    func copyFromMemory(_ destination: UnsafeMutableRawPointer, count: Int) -> Int {
        copy(destination, count: count, toMemory: false)
    }
}
