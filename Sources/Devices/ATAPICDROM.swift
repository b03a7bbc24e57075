import MachineCore

/// An ATAPI CD-ROM drive reading a raw ISO 9660 (or any 2048-byte-sector) image.
///
/// ATA commands reach it through the PACKET protocol (ATA/ATAPI-6 §9.10): PACKET asks for a
/// 12-byte SCSI command through the data register, then data flows to the host in DRQ blocks no
/// larger than the byte count limit the host put in LBA mid/high (or by bus-master DMA when
/// the PACKET feature register asked for it), then a status phase ends the command with an
/// interrupt. Errors set CHECK CONDITION (ERR, sense key in the error register) and keep fixed
/// sense data for REQUEST SENSE. The medium is always present when an image is given.
public final class ATAPICDROM: IDEDrive {
    public let image: DiskImage?
    /// Capacity in 2048-byte sectors (a partial last sector reads zero-padded).
    public let sectors: UInt64
    public let model: String
    public let serial: String
    public static let vendor = "SWIFTPC"
    public static let firmwareRevision = "1.0"

    /// Where a PACKET command is in its protocol.
    public enum PacketState: Sendable {
        case none
        /// The host is writing the 12-byte command packet.
        case awaitingPacket
        /// Data blocks are going to the host.
        case dataIn
    }
    var packetState = PacketState.none
    /// The command packet being executed.
    var packet = [UInt8](repeating: 0, count: ATAPI.packetSize)
    /// The data phase of this command uses DMA (PACKET feature bit 0).
    var packetUsesDMA = false
    /// Largest DRQ block the host accepts, from LBA mid/high at PACKET time.
    var byteCountLimit = ATAPI.maxByteCountLimit

    /// The part of the buffer not yet sent to the host.
    var stagePosition = 0
    var stageEnd = 0
    /// Sectors of a READ not yet staged in the buffer.
    var readLBA: UInt64 = 0
    var readSectorsLeft: UInt64 = 0
    /// True while the data phase carries medium sectors (DRQ blocks are kept sector-aligned).
    var sendingSectors = false

    /// Fixed-format sense data of the last error (SPC-3 §4.5.3).
    var senseKey: UInt8 = ATAPI.senseNone
    var senseCode: UInt8 = 0
    var senseQualifier: UInt8 = 0

    /// A drive with `image` inserted, or an empty drive.
    public init(image: DiskImage?, model: String = "SWIFTPC CD-ROM", serial: String = "SWPC0002") {
        self.image = image
        let size = image?.size ?? 0
        sectors = (size + UInt64(ATAPI.sectorSize) - 1) / UInt64(ATAPI.sectorSize)
        self.model = model
        self.serial = serial
        super.init()
        hardReset()
    }

    override var isPacketDevice: Bool { true }

    /// The PACKET signature; DRDY stays clear until the host issues a command (§9.12).
    override func setSignature() {
        super.setSignature()
        lbaMid = ATA.signatureATAPIMid
        lbaHigh = ATA.signatureATAPIHigh
        status = 0
    }

    override func cancelCommand() {
        super.cancelCommand()
        packetState = .none
        stagePosition = 0
        stageEnd = 0
        readSectorsLeft = 0
        sendingSectors = false
    }

    override var bufferBytesInUse: Int {
        packetState == .none ? super.bufferBytesInUse : max(super.bufferBytesInUse, dataEnd, stageEnd)
    }

    override func saveKindState(into state: inout State) {
        state.packet = Registers(packetState: packetState, packet: packet, packetUsesDMA: packetUsesDMA,
                                 byteCountLimit: UInt16(byteCountLimit), stagePosition: UInt32(stagePosition),
                                 stageEnd: UInt32(stageEnd), readLBA: readLBA, readSectorsLeft: readSectorsLeft,
                                 sendingSectors: sendingSectors, senseKey: senseKey, senseCode: senseCode,
                                 senseQualifier: senseQualifier)
    }

    override func invalidKindReason(_ state: State) -> String? {
        guard let p = state.packet, state.disk == nil else { return "not an ATAPI device's state" }
        if p.packet.count != ATAPI.packetSize { return "a \(p.packet.count)-byte command packet" }
        if p.byteCountLimit == 0 || Int(p.byteCountLimit) > ATAPI.maxByteCountLimit { return "byte count limit \(p.byteCountLimit)" }
        if p.stagePosition > p.stageEnd || Int(p.stageEnd) > Self.bufferSize { return "staged data \(p.stagePosition) of \(p.stageEnd)" }
        if p.readLBA > sectors || p.readSectorsLeft > sectors - p.readLBA { return "read past the end of the medium" }
        return nil
    }

    override func applyKindState(_ state: State) {
        guard let p = state.packet else { return }
        packetState = p.packetState
        packet = p.packet
        packetUsesDMA = p.packetUsesDMA
        byteCountLimit = Int(p.byteCountLimit)
        stagePosition = Int(p.stagePosition)
        stageEnd = Int(p.stageEnd)
        readLBA = p.readLBA
        readSectorsLeft = p.readSectorsLeft
        sendingSectors = p.sendingSectors
        senseKey = p.senseKey
        senseCode = p.senseCode
        senseQualifier = p.senseQualifier
    }

    override func hardReset() {
        super.hardReset()
        senseKey = ATAPI.senseNone
        senseCode = 0
        senseQualifier = 0
    }

    // MARK: ATA commands a PACKET device accepts (§8, "PACKET command feature set")

    override func execute(command: UInt8) {
        // DEVICE RESET is accepted in any state; everything else starts afresh too.
        cancelCommand()
        error = 0
        switch command {
        case ATA.cmdPacket:
            packetUsesDMA = features & ATAPI.featureDMA != 0
            var limit = Int(lbaHigh) << 8 | Int(lbaMid)
            if limit == 0 || limit > ATAPI.maxByteCountLimit { limit = ATAPI.maxByteCountLimit }
            byteCountLimit = limit
            packetState = .awaitingPacket
            sectorCount = ATAPI.reasonCoD
            // DRQ without an interrupt: IDENTIFY PACKET word 0 reports "accelerated DRQ".
            beginDataOut(count: ATAPI.packetSize, interrupt: false)
        case ATA.cmdIdentifyPacketDevice:
            storeIdentify(identifyWords())
            beginDataIn(count: ATA.sectorSize, interrupt: true)
        case ATA.cmdDeviceReset:
            // Completes without an interrupt, leaving the signature (§8.10).
            setSignature()
        case ATA.cmdExecuteDeviceDiagnostic:
            channel?.executeDeviceDiagnostic()
        case ATA.cmdCheckPowerMode, ATA.cmdCheckPowerModeOld:
            sectorCount = ATA.powerModeActive
            finishCommand()
        case ATA.cmdIdleImmediate, ATA.cmdStandbyImmediate, ATA.cmdSleep, ATA.cmdFlushCache:
            finishCommand()
        case ATA.cmdSetFeatures:
            // Transfer modes and the rest are accepted: nothing in the model depends on them.
            finishCommand()
        case ATA.cmdIdentifyDevice, ATA.cmdReadSectors, ATA.cmdReadSectorsNoRetry:
            // A PACKET device aborts these with its signature in place, which is how hosts
            // tell it from a disk (§8.15, §8.27).
            setSignature()
            abort()
        default:
            abort()
        }
    }

    override func blockTransferred() {
        switch packetState {
        case .awaitingPacket:
            packetState = .none
            for i in 0..<ATAPI.packetSize { packet[i] = buffer.load(fromByteOffset: i, as: UInt8.self) }
            runPacket()
        case .dataIn:
            sendNextBlock()
        case .none:
            // The IDENTIFY PACKET DEVICE block: done, without a second interrupt.
            finishCommand(interrupt: false)
        }
    }

    // MARK: Data and status phases

    /// Sends `bytes` (cut to `allocationLength`) to the host, then the status phase.
    func reply(_ bytes: [UInt8], allocationLength: Int) {
        let n = min(bytes.count, allocationLength, IDEDrive.bufferSize)
        for i in 0..<n { buffer.storeBytes(of: bytes[i], toByteOffset: i, as: UInt8.self) }
        stagePosition = 0
        stageEnd = n
        readSectorsLeft = 0
        sendingSectors = false
        startDataPhase()
    }

    /// Sends `count` medium sectors from `lba` to the host, then the status phase.
    func replySectors(lba: UInt64, count: UInt64) {
        stagePosition = 0
        stageEnd = 0
        readLBA = lba
        readSectorsLeft = count
        sendingSectors = true
        startDataPhase()
    }

    private func startDataPhase() {
        guard stageEnd > stagePosition || readSectorsLeft > 0 else { return completePacket() }
        packetState = .dataIn
        if packetUsesDMA {
            beginDMA()
        } else {
            sendNextBlock()
        }
    }

    /// Stages the next sectors of a READ in the buffer. False (after failing the command)
    /// when the host read failed.
    private func stageSectors() -> Bool {
        let n = min(readSectorsLeft, UInt64(IDEDrive.bufferSize / ATAPI.sectorSize))
        let bytes = Int(n) * ATAPI.sectorSize
        guard let image, image.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: bytes),
                                    at: readLBA * UInt64(ATAPI.sectorSize)) else {
            fail(ATAPI.senseMediumError, ATAPI.ascUnrecoveredReadError)
            return false
        }
        readLBA += n
        readSectorsLeft -= n
        stagePosition = 0
        stageEnd = bytes
        return true
    }

    /// Offers the next DRQ block, or ends the command when everything was sent.
    private func sendNextBlock() {
        if stagePosition >= stageEnd {
            guard readSectorsLeft > 0 else { return completePacket() }
            guard stageSectors() else { return }
        }
        let available = stageEnd - stagePosition
        var length = min(available, byteCountLimit & ~1)
        if length < available && sendingSectors && length > ATAPI.sectorSize {
            // Whole sectors per block, as drives do and as BIOS callers assume.
            length -= length % ATAPI.sectorSize
        }
        if length == 0 { length = min(available, 2) }
        lbaMid = UInt8(truncatingIfNeeded: length)
        lbaHigh = UInt8(truncatingIfNeeded: length >> 8)
        sectorCount = ATAPI.reasonIO
        beginDataIn(at: stagePosition, count: length, interrupt: true)
        stagePosition += length
    }

    override func runDMA(_ dma: IDEDMATarget) {
        guard wantsDMA else { return }
        wantsDMA = false
        while true {
            if stagePosition < stageEnd {
                let n = stageEnd - stagePosition
                let moved = dma.copyToMemory(buffer + stagePosition, count: n)
                stagePosition = stageEnd
                if moved < n { return fail(ATAPI.senseAbortedCommand, 0) }
            } else if readSectorsLeft > 0 {
                guard stageSectors() else { return }
            } else {
                break
            }
        }
        completePacket()
    }

    /// The status phase of a successful command: I/O and C/D set, an interrupt.
    func completePacket() {
        packetState = .none
        sectorCount = ATAPI.reasonIO | ATAPI.reasonCoD
        error = 0
        finishCommand()
    }

    /// CHECK CONDITION: records the sense data and ends the command with ERR and the sense key
    /// in the error register's upper nibble (ATA/ATAPI-6 §9.10).
    func fail(_ key: UInt8, _ code: UInt8, _ qualifier: UInt8 = 0) {
        senseKey = key
        senseCode = code
        senseQualifier = qualifier
        cancelCommand()
        sectorCount = ATAPI.reasonIO | ATAPI.reasonCoD
        abort(key << 4 | ATA.errorABRT)
    }
}

extension ATAPICDROM {
    /// What an ATAPI device keeps beyond the task file: the PACKET protocol's phase, the
    /// command packet, the staged data and the READ in progress, and the sense data.
    public struct Registers: Equatable, Sendable {
        public var packetState: PacketState
        public var packet: [UInt8]
        public var packetUsesDMA: Bool
        public var byteCountLimit: UInt16
        public var stagePosition: UInt32
        public var stageEnd: UInt32
        public var readLBA: UInt64
        public var readSectorsLeft: UInt64
        public var sendingSectors: Bool
        public var senseKey: UInt8
        public var senseCode: UInt8
        public var senseQualifier: UInt8
    }
}
