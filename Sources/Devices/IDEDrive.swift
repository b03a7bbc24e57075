import MachineCore

/// Which way the data register moves bytes in the current PIO block.
public enum IDEDataPhase: Sendable {
    case idle
    /// Device to host (the host reads the data register).
    case toHost
    /// Host to device (the host writes the data register).
    case fromHost
}

/// What a drive needs from the bus master to run a DMA transfer: a cursor over the guest
/// memory the PRD table describes.
protocol IDEDMATarget: AnyObject {
    /// Copies `count` bytes from `source` to guest memory at the cursor. Returns the bytes
    /// moved: fewer than `count` when the PRD table ended first.
    func copyToMemory(_ source: UnsafeRawPointer, count: Int) -> Int
    /// Copies `count` bytes from guest memory at the cursor to `destination`. Returns the bytes
    /// moved: fewer than `count` when the PRD table ended first.
    func copyFromMemory(_ destination: UnsafeMutableRawPointer, count: Int) -> Int
}

/// A device on an IDE channel (an ATA disk or an ATAPI CD-ROM): the task-file registers it
/// latches, its status and error, its interrupt request and the PIO data buffer.
///
/// Every write to a command block register reaches both devices on a channel, which is why
/// each drive keeps its own copy of the task file (ATA/ATAPI-6 §7.1); reads come from the
/// selected device. Commands complete synchronously, on the command write or on the data
/// register access that ends a block, so BSY is only ever seen during a software reset.
///
/// Subclasses implement `execute(command:)`, `blockTransferred()`, `runDMA(_:)` and the
/// signature; they are the only kinds of drive, so the class is not open.
public class IDEDrive {
    // MARK: Task file as latched by this device (current and previous value for LBA48, §7.1.1)

    var features: UInt8 = 0
    var previousFeatures: UInt8 = 0
    var sectorCount: UInt8 = 0
    var previousSectorCount: UInt8 = 0
    var lbaLow: UInt8 = 0
    var previousLBALow: UInt8 = 0
    var lbaMid: UInt8 = 0
    var previousLBAMid: UInt8 = 0
    var lbaHigh: UInt8 = 0
    var previousLBAHigh: UInt8 = 0
    var deviceRegister: UInt8 = 0
    /// The status register.
    public internal(set) var status: UInt8 = 0
    /// The error register.
    public internal(set) var error: UInt8 = 0
    /// nIEN from the device control register: this device does not drive INTRQ.
    var interruptsDisabled = false
    /// INTRQ request: set when the device signals an event, cleared by a status read or a
    /// command write (ATA/ATAPI-6 §5.2.9).
    public internal(set) var interruptPending = false
    /// A DMA command is waiting for the bus master to be started.
    var wantsDMA = false

    /// The channel this drive sits on (set by `IDEChannel.attach`).
    weak var channel: IDEChannel?

    // MARK: PIO data buffer

    /// Bytes of the data buffer: the largest ATAPI DRQ block (0xFFFE) rounded up, and the unit
    /// in which DMA moves data between the image and guest memory.
    static let bufferSize = 64 * 1024
    /// The device's data buffer. Owned by the drive; only it and the data register touch it.
    let buffer: UnsafeMutableRawPointer
    /// Next byte of the current PIO block, and its end.
    var dataIndex = 0
    var dataEnd = 0
    var dataPhase = IDEDataPhase.idle

    init() {
        buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferSize, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: Self.bufferSize)
    }

    deinit { buffer.deallocate() }

    // MARK: State of the drive kinds (see `IDEDrive.State`; overridden by the kinds)

    /// Adds the kind's own registers to `state`.
    func saveKindState(into state: inout State) {}
    /// Why `state` is not one this kind of drive holds, or nil.
    func invalidKindReason(_ state: State) -> String? { nil }
    /// Puts the kind's registers back from a checked `state`.
    func applyKindState(_ state: State) {}
    /// Bytes at the start of the buffer that an unfinished command still needs.
    var bufferBytesInUse: Int { dataPhase != .idle || wantsDMA ? dataEnd : 0 }

    // MARK: Hooks the drive kinds implement

    /// True for a PACKET (ATAPI) device.
    var isPacketDevice: Bool { false }

    /// Runs an ATA command written to the command register while this device is selected.
    func execute(command: UInt8) { abort() }

    /// Called when the host has read (or written) the last byte of the current PIO block.
    func blockTransferred() { finishCommand(interrupt: false) }

    /// Runs the pending DMA transfer through `dma`. Called by the channel once the bus master
    /// is started; the drive completes its command (and raises its interrupt) before returning.
    func runDMA(_ dma: IDEDMATarget) { wantsDMA = false }

    /// Puts the reset signature in the task file and the post-reset status (§9.12).
    func setSignature() {
        sectorCount = ATA.signatureCountLow
        lbaLow = ATA.signatureCountLow
        lbaMid = 0
        lbaHigh = 0
        deviceRegister &= ATA.deviceDEV
        status = ATA.statusReady
        error = ATA.diagnosticPassed
    }

    /// Forgets any command in progress (resets clear it).
    func cancelCommand() {
        dataPhase = .idle
        dataIndex = 0
        dataEnd = 0
        wantsDMA = false
    }

    // MARK: Resets

    /// Power-on or hardware reset: the task file starts from the signature.
    func hardReset() {
        cancelCommand()
        interruptPending = false
        interruptsDisabled = false
        deviceRegister = 0
        features = 0
        previousFeatures = 0
        previousSectorCount = 0
        previousLBALow = 0
        previousLBAMid = 0
        previousLBAHigh = 0
        setSignature()
    }

    /// SRST went high: the device is busy until it goes low again.
    func softResetAsserted() {
        cancelCommand()
        interruptPending = false
        status = ATA.statusBSY
    }

    /// SRST went low: the reset completes with the signature and no interrupt (§9.2).
    func softResetReleased() {
        setSignature()
    }

    /// EXECUTE DEVICE DIAGNOSTIC on this device: the same register state as a reset (§8.11).
    func runDiagnostic() {
        cancelCommand()
        setSignature()
    }

    // MARK: Register access from the channel

    /// Latches a host write to command block register `register` (1-6).
    func latch(register: UInt16, value: UInt8) {
        switch register {
        case ATA.errorFeature: previousFeatures = features; features = value
        case ATA.sectorCount: previousSectorCount = sectorCount; sectorCount = value
        case ATA.lbaLow: previousLBALow = lbaLow; lbaLow = value
        case ATA.lbaMid: previousLBAMid = lbaMid; lbaMid = value
        case ATA.lbaHigh: previousLBAHigh = lbaHigh; lbaHigh = value
        case ATA.device: deviceRegister = value
        default: break
        }
    }

    /// Reads command block register `register` (1-7, not the data register). `hob` selects
    /// the previously written bytes of the LBA48 registers. Status reads do not clear the
    /// interrupt here: the channel does that, since the alternate status must not.
    func readRegister(_ register: UInt16, hob: Bool) -> UInt8 {
        switch register {
        case ATA.errorFeature: return error
        case ATA.sectorCount: return hob ? previousSectorCount : sectorCount
        case ATA.lbaLow: return hob ? previousLBALow : lbaLow
        case ATA.lbaMid: return hob ? previousLBAMid : lbaMid
        case ATA.lbaHigh: return hob ? previousLBAHigh : lbaHigh
        case ATA.device: return deviceRegister
        default: return status
        }
    }

    /// A read of `size` bytes (1, 2 or 4) from the data register.
    func readData(size: Int) -> UInt32 {
        guard dataPhase == .toHost else { return 0 }
        let n = min(size, dataEnd - dataIndex)
        var value: UInt32 = 0
        for i in 0..<n {
            value |= UInt32(buffer.load(fromByteOffset: dataIndex + i, as: UInt8.self)) << UInt32(8 * i)
        }
        dataIndex += n
        if dataIndex >= dataEnd { endBlock() }
        return value
    }

    /// A write of `size` bytes (1, 2 or 4) to the data register.
    func writeData(size: Int, value: UInt32) {
        guard dataPhase == .fromHost else { return }
        let n = min(size, dataEnd - dataIndex)
        for i in 0..<n {
            buffer.storeBytes(of: UInt8(truncatingIfNeeded: value >> UInt32(8 * i)), toByteOffset: dataIndex + i, as: UInt8.self)
        }
        dataIndex += n
        if dataIndex >= dataEnd { endBlock() }
    }

    private func endBlock() {
        dataPhase = .idle
        status &= ~ATA.statusDRQ
        blockTransferred()
    }

    // MARK: Helpers for the command implementations

    /// Offers `count` bytes of the buffer from `start` to the host through the data register.
    func beginDataIn(at start: Int = 0, count: Int, interrupt: Bool) {
        dataIndex = start
        dataEnd = start + count
        dataPhase = .toHost
        status = ATA.statusReady | ATA.statusDRQ
        if interrupt { requestInterrupt() }
    }

    /// Asks the host for `count` bytes through the data register, into the buffer from 0.
    func beginDataOut(count: Int, interrupt: Bool) {
        dataIndex = 0
        dataEnd = count
        dataPhase = .fromHost
        status = ATA.statusReady | ATA.statusDRQ
        if interrupt { requestInterrupt() }
    }

    /// Waits for the bus master: the command's data moves by DMA once it is started.
    func beginDMA() {
        dataPhase = .idle
        status = ATA.statusReady | ATA.statusDRQ
        wantsDMA = true
        channel?.driveRequestedDMA(self)
    }

    /// Ends the command successfully.
    func finishCommand(interrupt: Bool = true) {
        dataPhase = .idle
        wantsDMA = false
        status = ATA.statusReady
        if interrupt { requestInterrupt() }
    }

    /// Ends the command with ERR set and `reason` in the error register (ABRT by default).
    func abort(_ reason: UInt8 = ATA.errorABRT) {
        dataPhase = .idle
        wantsDMA = false
        error = reason
        status = ATA.statusReady | ATA.statusERR
        requestInterrupt()
    }

    /// Asserts this device's interrupt request; the channel drives INTRQ from it.
    func requestInterrupt() {
        interruptPending = true
        channel?.updateInterrupt()
    }
}

extension IDEDrive {
    /// Stores IDENTIFY data (256 little-endian words) in the buffer, with the integrity word
    /// (word 255: 0xA5 and a checksum making the 512 bytes sum to zero, ATA/ATAPI-6 §8.15.61).
    func storeIdentify(_ words: [UInt16]) {
        var w = words + [UInt16](repeating: 0, count: max(0, 256 - words.count))
        w[255] = 0x00A5
        var sum: UInt8 = 0
        for i in 0..<255 { sum &+= UInt8(truncatingIfNeeded: w[i]) &+ UInt8(truncatingIfNeeded: w[i] >> 8) }
        sum &+= 0xA5
        w[255] |= UInt16(0 &- sum) << 8
        for i in 0..<256 { buffer.storeBytes(of: w[i].littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
    }

    /// Puts an ASCII string in IDENTIFY words, space padded, two characters per word with the
    /// first in the high byte (ATA/ATAPI-6 §8.15.5, "string" fields).
    static func putString(_ text: String, into words: inout [UInt16], at first: Int, count: Int) {
        var bytes = Array(text.utf8.prefix(count * 2))
        bytes += [UInt8](repeating: 0x20, count: count * 2 - bytes.count)
        for i in 0..<count {
            words[first + i] = UInt16(bytes[2 * i]) << 8 | UInt16(bytes[2 * i + 1])
        }
    }
}

extension IDEDrive {
    /// A drive's task file, status, interrupt request and the command in progress: its PIO
    /// position and the part of the data buffer the command still needs (at most 64 KiB),
    /// plus the registers of its kind. The image behind it is not state: it is a host file
    /// the board opens, and a restored drive reads and writes the board's image.
    public struct State: Equatable, Sendable {
        public var features: UInt8 = 0
        public var previousFeatures: UInt8 = 0
        public var sectorCount: UInt8 = 0
        public var previousSectorCount: UInt8 = 0
        public var lbaLow: UInt8 = 0
        public var previousLBALow: UInt8 = 0
        public var lbaMid: UInt8 = 0
        public var previousLBAMid: UInt8 = 0
        public var lbaHigh: UInt8 = 0
        public var previousLBAHigh: UInt8 = 0
        public var deviceRegister: UInt8 = 0
        public var status: UInt8 = 0
        public var error: UInt8 = 0
        public var interruptsDisabled = false
        public var interruptPending = false
        public var wantsDMA = false
        public var dataPhase = IDEDataPhase.idle
        public var dataIndex: UInt32 = 0
        public var dataEnd: UInt32 = 0
        /// The buffer's first bytes, as many as the command in progress still needs.
        public var buffer: [UInt8] = []
        /// An ATA disk's registers (nil for another kind of drive).
        public var disk: ATADisk.Registers?
        /// An ATAPI device's registers (nil for another kind of drive).
        public var packet: ATAPICDROM.Registers?

        public init() {}
    }

    var driveState: State {
        var s = State()
        s.features = features; s.previousFeatures = previousFeatures
        s.sectorCount = sectorCount; s.previousSectorCount = previousSectorCount
        s.lbaLow = lbaLow; s.previousLBALow = previousLBALow
        s.lbaMid = lbaMid; s.previousLBAMid = previousLBAMid
        s.lbaHigh = lbaHigh; s.previousLBAHigh = previousLBAHigh
        s.deviceRegister = deviceRegister; s.status = status; s.error = error
        s.interruptsDisabled = interruptsDisabled; s.interruptPending = interruptPending; s.wantsDMA = wantsDMA
        s.dataPhase = dataPhase
        s.dataIndex = UInt32(dataIndex); s.dataEnd = UInt32(dataEnd)
        let used = min(bufferBytesInUse, Self.bufferSize)
        s.buffer = [UInt8](UnsafeRawBufferPointer(start: buffer, count: used))
        saveKindState(into: &s)
        return s
    }

    /// Why `state` is not one this drive holds, or nil: a PIO position beyond the block or
    /// the buffer, a buffer longer than the drive's, or the kind's own reasons.
    func invalidReason(_ state: State) -> String? {
        if state.dataEnd > UInt32(Self.bufferSize) || state.dataIndex > state.dataEnd {
            return "PIO position \(state.dataIndex) of \(state.dataEnd) in a \(Self.bufferSize)-byte buffer"
        }
        if state.buffer.count > Self.bufferSize { return "\(state.buffer.count) buffered bytes" }
        return invalidKindReason(state)
    }

    /// Puts a checked state back.
    func apply(_ s: State) {
        features = s.features; previousFeatures = s.previousFeatures
        sectorCount = s.sectorCount; previousSectorCount = s.previousSectorCount
        lbaLow = s.lbaLow; previousLBALow = s.previousLBALow
        lbaMid = s.lbaMid; previousLBAMid = s.previousLBAMid
        lbaHigh = s.lbaHigh; previousLBAHigh = s.previousLBAHigh
        deviceRegister = s.deviceRegister; status = s.status; error = s.error
        interruptsDisabled = s.interruptsDisabled; interruptPending = s.interruptPending; wantsDMA = s.wantsDMA
        dataPhase = s.dataPhase
        dataIndex = Int(s.dataIndex); dataEnd = Int(s.dataEnd)
        s.buffer.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        applyKindState(s)
    }
}
