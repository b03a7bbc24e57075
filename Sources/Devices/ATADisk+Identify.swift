/// IDENTIFY DEVICE word numbers and bits used by `ATADisk` (ATA/ATAPI-6 §8.15, table 16).
enum ATAIdentify {
    /// Word 0: general configuration. 0x0040: fixed (non-removable) ATA device.
    static let configurationFixedDisk: UInt16 = 0x0040
    /// Words 1, 3, 6: default cylinders, heads, sectors per track.
    static let defaultCylinders = 1, defaultHeads = 3, defaultSectorsPerTrack = 6
    /// Words 10-19 serial number (20 characters), 23-26 firmware (8), 27-46 model (40).
    static let serial = 10, serialWords = 10
    static let firmware = 23, firmwareWords = 4
    static let model = 27, modelWords = 20
    /// Word 47: bits 15:8 are 0x80, bits 7:0 the largest READ/WRITE MULTIPLE block.
    static let maxMultiple = 47, maxMultipleTag: UInt16 = 0x8000
    /// Word 49: capabilities. Bit 11 IORDY supported, bit 9 LBA supported, bit 8 DMA supported.
    static let capabilities = 49
    static let capIORDY: UInt16 = 0x0800, capLBA: UInt16 = 0x0200, capDMA: UInt16 = 0x0100
    /// Word 50: bit 14 must be one.
    static let capabilities2 = 50, capabilities2Valid: UInt16 = 0x4000
    /// Word 51: PIO data transfer cycle timing mode (obsolete; mode 2 in bits 15:8).
    static let pioTimingMode = 51
    /// Word 53: bit 2 word 88 valid, bit 1 words 64-70 valid, bit 0 words 54-58 valid.
    static let fieldValidity = 53, validity: UInt16 = 0x0007
    /// Words 54-56: current cylinders, heads, sectors per track; 57-58 current CHS capacity.
    static let currentCylinders = 54, currentHeads = 55, currentSectorsPerTrack = 56, currentCapacity = 57
    /// Word 59: bit 8 multiple setting valid, bits 7:0 current multiple setting.
    static let multipleSetting = 59, multipleValid: UInt16 = 0x0100
    /// Words 60-61: sectors addressable with LBA28.
    static let lba28Sectors = 60
    /// Word 63: multiword DMA modes supported (bits 2:0) and selected (bits 10:8).
    static let multiwordDMA = 63, multiwordDMASupported: UInt16 = 0x0007
    /// Word 64: advanced PIO modes supported (bit 0 mode 3, bit 1 mode 4).
    static let advancedPIO = 64, advancedPIOSupported: UInt16 = 0x0003
    /// Words 65-68: minimum cycle times in ns (MWDMA, recommended MWDMA, PIO, PIO with IORDY).
    static let cycleTimes = 65, minimumCycleNanoseconds: UInt16 = 120
    /// Word 80: major version: bits 4-7, ATA/ATAPI-4 to -7.
    static let majorVersion = 80, majorVersionATA4to7: UInt16 = 0x00F0
    /// Words 82-84: command sets supported; 85-87: enabled.
    static let commandSet1 = 82, commandSet2 = 83, commandSetExtension = 84
    static let commandSet1Enabled = 85, commandSet2Enabled = 86, commandSetDefault = 87
    /// Word 82/85 bit 5: volatile write cache.
    static let writeCache: UInt16 = 0x0020
    /// Word 83/86: bit 13 FLUSH CACHE EXT, bit 12 FLUSH CACHE, bit 10 48-bit address feature set.
    static let flushCacheExt: UInt16 = 0x2000, flushCache: UInt16 = 0x1000, lba48: UInt16 = 0x0400
    /// Words 83, 84, 87: bit 14 one and bit 15 zero mark the word valid.
    static let wordValid: UInt16 = 0x4000
    /// Word 88: Ultra DMA modes supported (bits 5:0) and selected (bits 13:8).
    static let ultraDMA = 88, ultraDMASupported: UInt16 = 0x003F
    /// Word 93: hardware reset result. Bit 14 one (valid), bit 13 CBLID- above V_IH (an
    /// 80-conductor cable), bit 0 one (device 0 reported).
    static let resetResult = 93, resetResultValue: UInt16 = 0x6001
    /// Words 100-103: sectors addressable with LBA48.
    static let lba48Sectors = 100
}

extension ATADisk {
    /// The 256 IDENTIFY DEVICE words for this disk's current settings.
    func identifyWords() -> [UInt16] {
        var w = [UInt16](repeating: 0, count: 256)
        w[0] = ATAIdentify.configurationFixedDisk
        w[ATAIdentify.defaultCylinders] = UInt16(defaultCylinders)
        w[ATAIdentify.defaultHeads] = UInt16(ATA.defaultHeads)
        w[ATAIdentify.defaultSectorsPerTrack] = UInt16(ATA.defaultSectorsPerTrack)
        IDEDrive.putString(serial, into: &w, at: ATAIdentify.serial, count: ATAIdentify.serialWords)
        IDEDrive.putString(ATADisk.firmwareRevision, into: &w, at: ATAIdentify.firmware, count: ATAIdentify.firmwareWords)
        IDEDrive.putString(model, into: &w, at: ATAIdentify.model, count: ATAIdentify.modelWords)
        w[ATAIdentify.maxMultiple] = ATAIdentify.maxMultipleTag | UInt16(ATA.maxMultipleSectors)
        w[ATAIdentify.capabilities] = ATAIdentify.capIORDY | ATAIdentify.capLBA | ATAIdentify.capDMA
        w[ATAIdentify.capabilities2] = ATAIdentify.capabilities2Valid
        w[ATAIdentify.pioTimingMode] = 0x0200
        w[ATAIdentify.fieldValidity] = ATAIdentify.validity

        let perCylinder = UInt64(currentHeads * currentSectorsPerTrack)
        let cylinders = min(UInt64(0xFFFF), sectors / perCylinder)
        let chsCapacity = UInt32(truncatingIfNeeded: min(UInt64(UInt32.max), cylinders * perCylinder))
        w[ATAIdentify.currentCylinders] = UInt16(cylinders)
        w[ATAIdentify.currentHeads] = UInt16(currentHeads)
        w[ATAIdentify.currentSectorsPerTrack] = UInt16(currentSectorsPerTrack)
        w[ATAIdentify.currentCapacity] = UInt16(truncatingIfNeeded: chsCapacity)
        w[ATAIdentify.currentCapacity + 1] = UInt16(truncatingIfNeeded: chsCapacity >> 16)
        if multipleSectors > 0 { w[ATAIdentify.multipleSetting] = ATAIdentify.multipleValid | UInt16(multipleSectors) }

        let lba28 = UInt32(min(sectors, ATA.lba28Limit))
        w[ATAIdentify.lba28Sectors] = UInt16(truncatingIfNeeded: lba28)
        w[ATAIdentify.lba28Sectors + 1] = UInt16(truncatingIfNeeded: lba28 >> 16)

        w[ATAIdentify.multiwordDMA] = ATAIdentify.multiwordDMASupported
        if let mode = selectedMultiwordDMA { w[ATAIdentify.multiwordDMA] |= UInt16(1) << UInt16(8 + mode) }
        w[ATAIdentify.advancedPIO] = ATAIdentify.advancedPIOSupported
        for i in 0..<4 { w[ATAIdentify.cycleTimes + i] = ATAIdentify.minimumCycleNanoseconds }
        w[ATAIdentify.majorVersion] = ATAIdentify.majorVersionATA4to7

        let sets2 = ATAIdentify.wordValid | ATAIdentify.flushCacheExt | ATAIdentify.flushCache | ATAIdentify.lba48
        w[ATAIdentify.commandSet1] = ATAIdentify.writeCache
        w[ATAIdentify.commandSet2] = sets2
        w[ATAIdentify.commandSetExtension] = ATAIdentify.wordValid
        w[ATAIdentify.commandSet1Enabled] = writeCacheEnabled ? ATAIdentify.writeCache : 0
        // Word 86 has no validity bits; bit 14 there is reserved.
        w[ATAIdentify.commandSet2Enabled] = sets2 & ~ATAIdentify.wordValid
        w[ATAIdentify.commandSetDefault] = ATAIdentify.wordValid

        w[ATAIdentify.ultraDMA] = ATAIdentify.ultraDMASupported
        if let mode = selectedUltraDMA { w[ATAIdentify.ultraDMA] |= UInt16(1) << UInt16(8 + mode) }
        w[ATAIdentify.resetResult] = ATAIdentify.resetResultValue
        for i in 0..<4 { w[ATAIdentify.lba48Sectors + i] = UInt16(truncatingIfNeeded: sectors >> UInt64(16 * i)) }
        return w
    }
}
