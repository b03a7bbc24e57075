/// ATAPI register meanings and the SCSI multimedia command set a CD-ROM drive answers
/// (ATA/ATAPI-6 §9.10 "PACKET protocol"; SPC-3 for the primary commands; MMC-5 for the
/// multimedia ones; SFF-8020i for the ATAPI transport of MMC).
public enum ATAPI {
    // MARK: Interrupt reason register (the sector count register of a PACKET device, §7.16)

    /// Command or data: set while the device wants the command packet or reports status.
    public static let reasonCoD: UInt8 = 0x01
    /// Direction: set for transfers to the host (data in) and for the status phase.
    public static let reasonIO: UInt8 = 0x02
    /// Release (overlapped commands, not supported).
    public static let reasonREL: UInt8 = 0x04

    /// Feature register bit of PACKET: the data phase uses DMA.
    public static let featureDMA: UInt8 = 0x01

    /// Bytes of a command packet (IDENTIFY PACKET DEVICE word 0 bits 1:0 = 00: 12 bytes).
    public static let packetSize = 12
    /// User data bytes of one CD-ROM (mode 1) sector.
    public static let sectorSize = 2048
    /// Largest byte count per DRQ block: a byte count limit of 0xFFFF is treated as 0xFFFE (§9.10).
    public static let maxByteCountLimit = 0xFFFE
    /// Sectors of an 80-minute CD; a larger image is presented as a DVD-ROM.
    public static let cdMaxSectors: UInt64 = 80 * 60 * 75

    // MARK: SCSI operation codes

    public static let testUnitReady: UInt8 = 0x00
    public static let requestSense: UInt8 = 0x03
    public static let inquiry: UInt8 = 0x12
    public static let modeSelect6: UInt8 = 0x15
    public static let modeSense6: UInt8 = 0x1A
    public static let startStopUnit: UInt8 = 0x1B
    public static let preventAllowMediumRemoval: UInt8 = 0x1E
    public static let readCapacity: UInt8 = 0x25
    public static let read10: UInt8 = 0x28
    public static let seek10: UInt8 = 0x2B
    public static let readTOC: UInt8 = 0x43
    public static let getConfiguration: UInt8 = 0x46
    public static let getEventStatusNotification: UInt8 = 0x4A
    public static let readDiscInformation: UInt8 = 0x51
    public static let modeSelect10: UInt8 = 0x55
    public static let modeSense10: UInt8 = 0x5A
    public static let read12: UInt8 = 0xA8
    public static let setCDSpeed: UInt8 = 0xBB

    // MARK: Sense keys (SPC-3 §4.5.6)

    public static let senseNone: UInt8 = 0x00
    public static let senseNotReady: UInt8 = 0x02
    public static let senseMediumError: UInt8 = 0x03
    public static let senseIllegalRequest: UInt8 = 0x05
    public static let senseUnitAttention: UInt8 = 0x06
    /// The data phase could not complete (a DMA table shorter than the data).
    public static let senseAbortedCommand: UInt8 = 0x0B

    // MARK: Additional sense codes (SPC-3 annex D)

    /// Unrecovered read error (a host read failed).
    public static let ascUnrecoveredReadError: UInt8 = 0x11
    /// Invalid command operation code.
    public static let ascInvalidCommand: UInt8 = 0x20
    /// Logical block address out of range.
    public static let ascLBAOutOfRange: UInt8 = 0x21
    /// Invalid field in CDB.
    public static let ascInvalidField: UInt8 = 0x24
    /// Saving parameters not supported (MODE SELECT with SP).
    public static let ascSavingNotSupported: UInt8 = 0x39
    /// Medium not present.
    public static let ascMediumNotPresent: UInt8 = 0x3A

    // MARK: Response fields

    /// INQUIRY peripheral device type: CD/DVD device (SPC-3 table 83).
    public static let peripheralTypeCDROM: UInt8 = 0x05
    /// INQUIRY byte 1: removable medium.
    public static let inquiryRemovable: UInt8 = 0x80
    /// Fixed-format sense data response code, current error (SPC-3 §4.5.3).
    public static let senseResponseCurrent: UInt8 = 0x70
    /// TOC track descriptor ADR/control: ADR 1 (Q sub-channel position), control 4 (data track).
    public static let tocADRControlData: UInt8 = 0x14
    /// Track number of the lead-out area in a TOC.
    public static let leadOutTrack: UInt8 = 0xAA
    /// MMC profiles (MMC-5 table 92).
    public static let profileCDROM: UInt16 = 0x0008
    public static let profileDVDROM: UInt16 = 0x0010
    /// MMC feature codes (MMC-5 §5.3).
    public static let featureProfileList: UInt16 = 0x0000
    public static let featureCore: UInt16 = 0x0001
    public static let featureRemovableMedium: UInt16 = 0x0003
    /// GET EVENT STATUS NOTIFICATION: the media event class (bit 4 of the request).
    public static let eventClassMedia: UInt8 = 0x10
    /// Event header bit: no event available (no requested class is supported).
    public static let eventNEA: UInt8 = 0x80
    /// Media status byte: a medium is present.
    public static let mediaPresent: UInt8 = 0x02
    /// MODE SENSE pages.
    public static let pageErrorRecovery: UInt8 = 0x01
    public static let pageCapabilities: UInt8 = 0x2A
    public static let pageAll: UInt8 = 0x3F
}
