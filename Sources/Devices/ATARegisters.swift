/// Registers, bits and command codes of the ATA interface (ATA/ATAPI-6, T13/1410D, §7
/// "Register description" and §8 "Command descriptions"; ATA8-ACS for the 48-bit commands).
public enum ATA {
    // MARK: Command block register offsets (from 0x1F0 / 0x170)

    /// Data register: 16-bit PIO data (32-bit accesses move two words).
    public static let data: UInt16 = 0
    /// Error register (read) / Features register (write).
    public static let errorFeature: UInt16 = 1
    /// Sector count register.
    public static let sectorCount: UInt16 = 2
    /// LBA low (sector number in CHS mode).
    public static let lbaLow: UInt16 = 3
    /// LBA mid (cylinder low in CHS mode; ATAPI byte count low).
    public static let lbaMid: UInt16 = 4
    /// LBA high (cylinder high in CHS mode; ATAPI byte count high).
    public static let lbaHigh: UInt16 = 5
    /// Device register (drive/head): DEV bit, LBA bit, LBA bits 27:24 or the CHS head.
    public static let device: UInt16 = 6
    /// Status register (read; reading it clears the pending interrupt) / Command register (write).
    public static let statusCommand: UInt16 = 7
    /// Ports of the command block.
    public static let commandBlockSize = 8

    /// Offset of the control block port (0x3F6 / 0x376) from the command block base, as the
    /// channel sees it through its port window.
    public static let controlOffset: UInt16 = 0x206

    // MARK: Status register bits (§7.15)

    /// Busy: the device owns the registers.
    public static let statusBSY: UInt8 = 0x80
    /// Device ready: accepts commands.
    public static let statusDRDY: UInt8 = 0x40
    /// Device fault.
    public static let statusDF: UInt8 = 0x20
    /// Device seek complete (ATA-1..3; still expected by old BIOSes) / service (ATAPI).
    public static let statusDSC: UInt8 = 0x10
    /// Data request: the data register is ready for a PIO transfer.
    public static let statusDRQ: UInt8 = 0x08
    /// Corrected data (obsolete).
    public static let statusCORR: UInt8 = 0x04
    /// Error: the error register holds the reason.
    public static let statusERR: UInt8 = 0x01

    /// What a ready ATA disk reports between commands.
    public static let statusReady: UInt8 = statusDRDY | statusDSC

    // MARK: Error register bits (§7.9)

    /// Uncorrectable data error (a host read failed).
    public static let errorUNC: UInt8 = 0x40
    /// ID not found: the address is outside the medium.
    public static let errorIDNF: UInt8 = 0x10
    /// Command aborted: unknown command, bad parameter, or not allowed (read-only medium).
    public static let errorABRT: UInt8 = 0x04
    /// Diagnostic code after reset or EXECUTE DEVICE DIAGNOSTIC: device 0 passed (§9.x, table 26).
    public static let diagnosticPassed: UInt8 = 0x01

    // MARK: Device register bits (§7.10)

    /// Bits 7 and 5: obsolete, set by convention (old "512-byte sectors, ECC" bits).
    public static let deviceObsolete: UInt8 = 0xA0
    /// LBA addressing (clear: CHS).
    public static let deviceLBA: UInt8 = 0x40
    /// Device select: 0 = device 0 (master), 1 = device 1 (slave).
    public static let deviceDEV: UInt8 = 0x10
    /// LBA bits 27:24 or the CHS head number.
    public static let deviceHeadMask: UInt8 = 0x0F

    // MARK: Device control register bits (§7.8; write-only at 0x3F6)

    /// High order byte: reads of the LBA48 registers return the previously written value.
    public static let controlHOB: UInt8 = 0x80
    /// Software reset of both devices while set.
    public static let controlSRST: UInt8 = 0x04
    /// Interrupt disable: the device does not drive INTRQ.
    public static let controlNIEN: UInt8 = 0x02

    // MARK: Signatures (§9.12: register contents after reset)

    /// Sector count and LBA low after any reset.
    public static let signatureCountLow: UInt8 = 0x01
    /// LBA mid/high of a PACKET (ATAPI) device.
    public static let signatureATAPIMid: UInt8 = 0x14
    public static let signatureATAPIHigh: UInt8 = 0xEB

    // MARK: Command codes (§8)

    public static let cmdNOP: UInt8 = 0x00
    /// DEVICE RESET (PACKET devices only).
    public static let cmdDeviceReset: UInt8 = 0x08
    /// RECALIBRATE (obsolete; 0x10-0x1F). Old BIOSes still issue it.
    public static let cmdRecalibrate: UInt8 = 0x10
    public static let cmdReadSectors: UInt8 = 0x20
    /// READ SECTORS without retry (obsolete alias).
    public static let cmdReadSectorsNoRetry: UInt8 = 0x21
    public static let cmdReadSectorsExt: UInt8 = 0x24
    public static let cmdReadDMAExt: UInt8 = 0x25
    public static let cmdReadMultipleExt: UInt8 = 0x29
    public static let cmdWriteSectors: UInt8 = 0x30
    public static let cmdWriteSectorsNoRetry: UInt8 = 0x31
    public static let cmdWriteSectorsExt: UInt8 = 0x34
    public static let cmdWriteDMAExt: UInt8 = 0x35
    public static let cmdWriteMultipleExt: UInt8 = 0x39
    public static let cmdReadVerify: UInt8 = 0x40
    public static let cmdReadVerifyNoRetry: UInt8 = 0x41
    public static let cmdReadVerifyExt: UInt8 = 0x42
    /// SEEK (obsolete; 0x70-0x7F).
    public static let cmdSeek: UInt8 = 0x70
    public static let cmdExecuteDeviceDiagnostic: UInt8 = 0x90
    public static let cmdInitializeDeviceParameters: UInt8 = 0x91
    public static let cmdPacket: UInt8 = 0xA0
    public static let cmdIdentifyPacketDevice: UInt8 = 0xA1
    public static let cmdReadMultiple: UInt8 = 0xC4
    public static let cmdWriteMultiple: UInt8 = 0xC5
    public static let cmdSetMultipleMode: UInt8 = 0xC6
    public static let cmdReadDMA: UInt8 = 0xC8
    public static let cmdReadDMANoRetry: UInt8 = 0xC9
    public static let cmdWriteDMA: UInt8 = 0xCA
    public static let cmdWriteDMANoRetry: UInt8 = 0xCB
    public static let cmdStandbyImmediate: UInt8 = 0xE0
    public static let cmdIdleImmediate: UInt8 = 0xE1
    public static let cmdStandby: UInt8 = 0xE2
    public static let cmdIdle: UInt8 = 0xE3
    public static let cmdCheckPowerMode: UInt8 = 0xE5
    public static let cmdSleep: UInt8 = 0xE6
    public static let cmdFlushCache: UInt8 = 0xE7
    public static let cmdFlushCacheExt: UInt8 = 0xEA
    public static let cmdIdentifyDevice: UInt8 = 0xEC
    public static let cmdSetFeatures: UInt8 = 0xEF
    /// Pre-ATA-4 power commands (0x94-0x99) that some BIOSes still send.
    public static let cmdStandbyImmediateOld: UInt8 = 0x94
    public static let cmdIdleImmediateOld: UInt8 = 0x95
    public static let cmdStandbyOld: UInt8 = 0x96
    public static let cmdIdleOld: UInt8 = 0x97
    public static let cmdCheckPowerModeOld: UInt8 = 0x98

    /// CHECK POWER MODE result in the sector count register: active or idle (§8.6).
    public static let powerModeActive: UInt8 = 0xFF

    // MARK: SET FEATURES subcommands (feature register, §8.37)

    /// Enable the volatile write cache.
    public static let featureEnableWriteCache: UInt8 = 0x02
    /// Set the transfer mode from the sector count register.
    public static let featureSetTransferMode: UInt8 = 0x03
    /// Disable the volatile write cache.
    public static let featureDisableWriteCache: UInt8 = 0x82
    /// Enable / disable read look-ahead.
    public static let featureEnableReadLookAhead: UInt8 = 0xAA
    public static let featureDisableReadLookAhead: UInt8 = 0x55
    /// Revert to power-on defaults enabled / disabled.
    public static let featureRevertToDefaults: UInt8 = 0xCC
    public static let featureNoRevertToDefaults: UInt8 = 0x66

    // Transfer mode values for featureSetTransferMode (sector count register, table 46).
    /// Bits 7:3 of the mode value: 00000 PIO default, 00001 PIO flow control,
    /// 00100 multiword DMA, 01000 Ultra DMA; bits 2:0 are the mode number.
    public static let transferModeTypeMask: UInt8 = 0xF8
    public static let transferModeNumberMask: UInt8 = 0x07
    public static let transferModePIODefault: UInt8 = 0x00
    public static let transferModePIOFlowControl: UInt8 = 0x08
    public static let transferModeMultiwordDMA: UInt8 = 0x20
    public static let transferModeUltraDMA: UInt8 = 0x40

    // MARK: Geometry and sizes

    public static let sectorSize = 512
    /// Largest LBA28 address + 1 reported in IDENTIFY words 60-61.
    public static let lba28Limit: UInt64 = 0x0FFF_FFFF
    /// Translated CHS geometry for BIOS callers, as QEMU and Bochs default to.
    public static let defaultHeads = 16
    public static let defaultSectorsPerTrack = 63
    /// Largest cylinder count in IDENTIFY word 1 (ATA-6 §8.15.4: 16383 for large disks).
    public static let maxCylinders = 16383
    /// Largest READ/WRITE MULTIPLE block, reported in IDENTIFY word 47.
    public static let maxMultipleSectors = 16
}
