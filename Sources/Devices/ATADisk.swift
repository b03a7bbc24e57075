import MachineCore

/// An ATA hard disk backed by a raw image (ATA/ATAPI-6 command set, with the 48-bit commands).
///
/// Data moves by PIO (one sector per DRQ block, or the READ/WRITE MULTIPLE block) or by
/// bus-master DMA. Writes go to the image as each block arrives. The write cache is reported
/// enabled, so guests send FLUSH CACHE, which completes only after `fsync`; with the cache
/// disabled by SET FEATURES, every write command is made durable before it completes.
public final class ATADisk: IDEDrive {
    public let image: DiskImage
    /// Capacity in 512-byte sectors (a partial last sector of the image is not addressable).
    public let sectors: UInt64
    /// Strings reported by IDENTIFY DEVICE.
    public let model: String
    public let serial: String
    public static let firmwareRevision = "1.0"

    /// The translated geometry reported in IDENTIFY words 1, 3 and 6.
    public let defaultCylinders: Int
    /// The geometry CHS addresses are translated with (INITIALIZE DEVICE PARAMETERS sets it).
    var currentHeads = ATA.defaultHeads
    var currentSectorsPerTrack = ATA.defaultSectorsPerTrack
    /// Sectors per DRQ block of READ/WRITE MULTIPLE (0: multiple mode not enabled).
    var multipleSectors = 0
    /// Volatile write cache enabled (SET FEATURES 02h/82h; reported in IDENTIFY word 85).
    var writeCacheEnabled = true
    /// Selected DMA modes (SET FEATURES 03h), reported in the high bytes of words 63 and 88.
    var selectedMultiwordDMA: Int?
    var selectedUltraDMA: Int?

    /// A read or write command in progress.
    struct SectorTransfer {
        /// Next sector to read from the image (reads) or to write the current block to (writes).
        var lba: UInt64
        /// Sectors not yet moved.
        var remaining: Int
        /// Sectors per DRQ block (PIO).
        var blockSectors: Int
        var isWrite: Bool
    }
    var transfer: SectorTransfer?

    /// A disk on `image`. `serial` should differ between the disks of one machine.
    public init(image: DiskImage, model: String = "SWIFTPC HARDDISK", serial: String = "SWPC0001") throws(MachineError) {
        let sectors = image.size / UInt64(ATA.sectorSize)
        guard sectors > 0 else {
            throw .badImage(path: image.path, reason: "a disk image must hold at least one 512-byte sector")
        }
        self.image = image
        self.sectors = sectors
        self.model = model
        self.serial = serial
        let perCylinder = UInt64(ATA.defaultHeads * ATA.defaultSectorsPerTrack)
        defaultCylinders = Int(max(1, min(UInt64(ATA.maxCylinders), sectors / perCylinder)))
        super.init()
        hardReset()
    }

    override func cancelCommand() {
        super.cancelCommand()
        transfer = nil
    }

    override func saveKindState(into state: inout State) {
        state.disk = Registers(currentHeads: UInt8(currentHeads), currentSectorsPerTrack: UInt8(currentSectorsPerTrack),
                               multipleSectors: UInt8(multipleSectors), writeCacheEnabled: writeCacheEnabled,
                               selectedMultiwordDMA: selectedMultiwordDMA.map(UInt8.init),
                               selectedUltraDMA: selectedUltraDMA.map(UInt8.init),
                               transfer: transfer.map {
                                   Registers.Transfer(lba: $0.lba, remaining: UInt32($0.remaining),
                                                      blockSectors: UInt32($0.blockSectors), isWrite: $0.isWrite)
                               })
    }

    override func invalidKindReason(_ state: State) -> String? {
        guard let disk = state.disk, state.packet == nil else { return "not an ATA disk's state" }
        return disk.invalidReason(sectors: sectors)
    }

    override func applyKindState(_ state: State) {
        guard let disk = state.disk else { return }
        currentHeads = Int(disk.currentHeads)
        currentSectorsPerTrack = Int(disk.currentSectorsPerTrack)
        multipleSectors = Int(disk.multipleSectors)
        writeCacheEnabled = disk.writeCacheEnabled
        selectedMultiwordDMA = disk.selectedMultiwordDMA.map(Int.init)
        selectedUltraDMA = disk.selectedUltraDMA.map(Int.init)
        transfer = disk.transfer.map {
            SectorTransfer(lba: $0.lba, remaining: Int($0.remaining), blockSectors: Int($0.blockSectors), isWrite: $0.isWrite)
        }
    }

    override func hardReset() {
        super.hardReset()
        currentHeads = ATA.defaultHeads
        currentSectorsPerTrack = ATA.defaultSectorsPerTrack
        multipleSectors = 0
        writeCacheEnabled = true
        selectedMultiwordDMA = nil
        selectedUltraDMA = nil
    }

    // MARK: Command dispatch (ATA/ATAPI-6 §8)

    override func execute(command: UInt8) {
        cancelCommand()
        error = 0
        switch command {
        case ATA.cmdReadSectors, ATA.cmdReadSectorsNoRetry:
            startTransfer(write: false, ext: false, blockSectors: 1, dma: false)
        case ATA.cmdReadSectorsExt:
            startTransfer(write: false, ext: true, blockSectors: 1, dma: false)
        case ATA.cmdReadMultiple, ATA.cmdReadMultipleExt:
            guard multipleSectors > 0 else { return abort() }
            startTransfer(write: false, ext: command == ATA.cmdReadMultipleExt, blockSectors: multipleSectors, dma: false)
        case ATA.cmdWriteSectors, ATA.cmdWriteSectorsNoRetry:
            startTransfer(write: true, ext: false, blockSectors: 1, dma: false)
        case ATA.cmdWriteSectorsExt:
            startTransfer(write: true, ext: true, blockSectors: 1, dma: false)
        case ATA.cmdWriteMultiple, ATA.cmdWriteMultipleExt:
            guard multipleSectors > 0 else { return abort() }
            startTransfer(write: true, ext: command == ATA.cmdWriteMultipleExt, blockSectors: multipleSectors, dma: false)
        case ATA.cmdReadDMA, ATA.cmdReadDMANoRetry:
            startTransfer(write: false, ext: false, blockSectors: 1, dma: true)
        case ATA.cmdReadDMAExt:
            startTransfer(write: false, ext: true, blockSectors: 1, dma: true)
        case ATA.cmdWriteDMA, ATA.cmdWriteDMANoRetry:
            startTransfer(write: true, ext: false, blockSectors: 1, dma: true)
        case ATA.cmdWriteDMAExt:
            startTransfer(write: true, ext: true, blockSectors: 1, dma: true)
        case ATA.cmdReadVerify, ATA.cmdReadVerifyNoRetry, ATA.cmdReadVerifyExt:
            // The medium cannot go bad; checking the range is all a verify does here.
            guard checkedAddress(ext: command == ATA.cmdReadVerifyExt) != nil else { return }
            finishCommand()
        case ATA.cmdFlushCache, ATA.cmdFlushCacheExt:
            image.flush() ? finishCommand() : abort()
        case ATA.cmdIdentifyDevice:
            storeIdentify(identifyWords())
            beginDataIn(count: ATA.sectorSize, interrupt: true)
        case ATA.cmdSetFeatures:
            setFeatures()
        case ATA.cmdSetMultipleMode:
            setMultipleMode()
        case ATA.cmdInitializeDeviceParameters:
            // Heads from the device register (minus one), sectors per track from the count.
            guard sectorCount > 0 else { return abort() }
            currentHeads = Int(deviceRegister & ATA.deviceHeadMask) + 1
            currentSectorsPerTrack = Int(sectorCount)
            finishCommand()
        case ATA.cmdExecuteDeviceDiagnostic:
            channel?.executeDeviceDiagnostic()
        case ATA.cmdCheckPowerMode, ATA.cmdCheckPowerModeOld:
            sectorCount = ATA.powerModeActive
            finishCommand()
        case ATA.cmdStandbyImmediate, ATA.cmdIdleImmediate, ATA.cmdStandby, ATA.cmdIdle, ATA.cmdSleep,
             ATA.cmdStandbyImmediateOld, ATA.cmdIdleImmediateOld, ATA.cmdStandbyOld, ATA.cmdIdleOld:
            // No spindle to stop: the power states are accepted and the disk stays active.
            finishCommand()
        case ATA.cmdRecalibrate...(ATA.cmdRecalibrate | 0x0F), ATA.cmdSeek...(ATA.cmdSeek | 0x0F):
            finishCommand()
        default:
            // Includes NOP, DEVICE RESET and the PACKET commands, which a disk aborts (§8.18, §8.21).
            abort()
        }
    }

    // MARK: Addressing

    /// The starting sector and sector count of the command in the task file, or nil (after
    /// aborting with IDNF) when the range does not fit the disk or a CHS address is invalid.
    func checkedAddress(ext: Bool) -> (lba: UInt64, count: Int)? {
        var lba: UInt64
        var count: Int
        if ext {
            lba = UInt64(previousLBAHigh) << 40 | UInt64(previousLBAMid) << 32 | UInt64(previousLBALow) << 24
                | UInt64(lbaHigh) << 16 | UInt64(lbaMid) << 8 | UInt64(lbaLow)
            count = Int(previousSectorCount) << 8 | Int(sectorCount)
            if count == 0 { count = 65536 }
        } else {
            count = sectorCount == 0 ? 256 : Int(sectorCount)
            if deviceRegister & ATA.deviceLBA != 0 {
                lba = UInt64(deviceRegister & ATA.deviceHeadMask) << 24 | UInt64(lbaHigh) << 16
                    | UInt64(lbaMid) << 8 | UInt64(lbaLow)
            } else {
                // CHS: sector numbers start at 1 (§6.2.1, "CHS addressing").
                let cylinder = UInt64(lbaHigh) << 8 | UInt64(lbaMid)
                let head = UInt64(deviceRegister & ATA.deviceHeadMask)
                let sector = UInt64(lbaLow)
                guard sector >= 1, sector <= UInt64(currentSectorsPerTrack), head < UInt64(currentHeads) else {
                    abort(ATA.errorIDNF)
                    return nil
                }
                lba = (cylinder * UInt64(currentHeads) + head) * UInt64(currentSectorsPerTrack) + sector - 1
            }
        }
        guard lba < sectors, UInt64(count) <= sectors - lba else {
            abort(ATA.errorIDNF)
            return nil
        }
        return (lba, count)
    }

    // MARK: Data transfers

    private func startTransfer(write: Bool, ext: Bool, blockSectors: Int, dma: Bool) {
        if write && image.readOnly { return abort() }
        guard let range = checkedAddress(ext: ext) else { return }
        let count = range.count
        transfer = SectorTransfer(lba: range.lba, remaining: count, blockSectors: blockSectors, isWrite: write)
        if dma {
            beginDMA()
        } else if write {
            // The first block of a PIO write is requested without an interrupt (§9.8).
            beginDataOut(count: min(count, blockSectors) * ATA.sectorSize, interrupt: false)
        } else {
            sendNextReadBlock()
        }
    }

    /// Reads the next PIO block from the image and offers it to the host, with an interrupt.
    private func sendNextReadBlock() {
        guard var t = transfer else { return finishCommand(interrupt: false) }
        let n = min(t.remaining, t.blockSectors)
        let bytes = n * ATA.sectorSize
        guard image.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: bytes), at: t.lba * UInt64(ATA.sectorSize)) else {
            transfer = nil
            return abort(ATA.errorUNC)
        }
        t.lba += UInt64(n)
        t.remaining -= n
        transfer = t
        beginDataIn(count: bytes, interrupt: true)
    }

    override func blockTransferred() {
        guard var t = transfer else { return finishCommand(interrupt: false) }
        if !t.isWrite {
            // PIO data-in: the next block comes with an interrupt; the last one ends quietly.
            if t.remaining > 0 { return sendNextReadBlock() }
            transfer = nil
            return finishCommand(interrupt: false)
        }
        let n = dataEnd / ATA.sectorSize
        guard image.write(UnsafeRawBufferPointer(start: buffer, count: n * ATA.sectorSize), at: t.lba * UInt64(ATA.sectorSize)) else {
            transfer = nil
            return abort()
        }
        t.lba += UInt64(n)
        t.remaining -= n
        if t.remaining > 0 {
            transfer = t
            return beginDataOut(count: min(t.remaining, t.blockSectors) * ATA.sectorSize, interrupt: true)
        }
        transfer = nil
        if !writeCacheEnabled && !image.flush() { return abort() }
        finishCommand()
    }

    override func runDMA(_ dma: IDEDMATarget) {
        guard wantsDMA, var t = transfer else { return }
        wantsDMA = false
        transfer = nil
        let chunkSectors = IDEDrive.bufferSize / ATA.sectorSize
        while t.remaining > 0 {
            let n = min(t.remaining, chunkSectors)
            let bytes = n * ATA.sectorSize
            let offset = t.lba * UInt64(ATA.sectorSize)
            if t.isWrite {
                guard dma.copyFromMemory(buffer, count: bytes) == bytes else { return abort() }
                guard image.write(UnsafeRawBufferPointer(start: buffer, count: bytes), at: offset) else { return abort() }
            } else {
                guard image.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: bytes), at: offset) else {
                    return abort(ATA.errorUNC)
                }
                guard dma.copyToMemory(buffer, count: bytes) == bytes else { return abort() }
            }
            t.lba += UInt64(n)
            t.remaining -= n
        }
        if t.isWrite && !writeCacheEnabled && !image.flush() { return abort() }
        finishCommand()
    }

    // MARK: Settings

    private func setFeatures() {
        switch features {
        case ATA.featureSetTransferMode:
            let number = Int(sectorCount & ATA.transferModeNumberMask)
            switch sectorCount & ATA.transferModeTypeMask {
            case ATA.transferModePIODefault, ATA.transferModePIOFlowControl:
                guard number <= 4 else { return abort() }
            case ATA.transferModeMultiwordDMA:
                guard number <= 2 else { return abort() }
                selectedMultiwordDMA = number
                selectedUltraDMA = nil
            case ATA.transferModeUltraDMA:
                guard number <= 5 else { return abort() }
                selectedUltraDMA = number
                selectedMultiwordDMA = nil
            default:
                return abort()
            }
        case ATA.featureEnableWriteCache:
            writeCacheEnabled = true
        case ATA.featureDisableWriteCache:
            // Writes already in the image become durable now, later ones as they complete.
            guard image.flush() else { return abort() }
            writeCacheEnabled = false
        case ATA.featureEnableReadLookAhead, ATA.featureDisableReadLookAhead,
             ATA.featureRevertToDefaults, ATA.featureNoRevertToDefaults:
            break
        default:
            return abort()
        }
        finishCommand()
    }

    private func setMultipleMode() {
        let count = Int(sectorCount)
        // A power of two up to the maximum in IDENTIFY word 47; zero disables multiple mode.
        guard count <= ATA.maxMultipleSectors, count & (count - 1) == 0 || count == 0 else { return abort() }
        multipleSectors = count
        finishCommand()
    }
}

extension ATADisk {
    /// What an ATA disk keeps beyond the task file: the CHS translation, the multiple and
    /// cache settings, the selected DMA modes and the read or write in progress.
    public struct Registers: Equatable, Sendable {
        public struct Transfer: Equatable, Sendable {
            public var lba: UInt64
            public var remaining: UInt32
            public var blockSectors: UInt32
            public var isWrite: Bool
        }
        public var currentHeads: UInt8
        public var currentSectorsPerTrack: UInt8
        public var multipleSectors: UInt8
        public var writeCacheEnabled: Bool
        public var selectedMultiwordDMA: UInt8?
        public var selectedUltraDMA: UInt8?
        public var transfer: Transfer?

        /// Why these are not a disk's of `sectors` sectors (ATA/ATAPI-6 §8.17 INITIALIZE
        /// DEVICE PARAMETERS: 1-16 heads, 1-255 sectors per track; §8.39 SET MULTIPLE MODE: a
        /// power of two up to the maximum; a transfer inside the medium), or nil.
        func invalidReason(sectors: UInt64) -> String? {
            if !(1...16).contains(currentHeads) || currentSectorsPerTrack == 0 {
                return "geometry of \(currentHeads) heads, \(currentSectorsPerTrack) sectors per track"
            }
            let multiple = Int(multipleSectors)
            if multiple > ATA.maxMultipleSectors || multiple & (multiple - 1) != 0 { return "multiple count \(multiple)" }
            if let t = transfer {
                let blockLimit = UInt32(max(1, ATA.maxMultipleSectors))
                if !(1...blockLimit).contains(t.blockSectors) { return "\(t.blockSectors) sectors per block" }
                if t.lba > sectors || UInt64(t.remaining) > sectors - t.lba { return "transfer past the end of the medium" }
            }
            return nil
        }
    }
}
