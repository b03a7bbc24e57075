/// The SCSI (MMC) commands of `ATAPICDROM`, and its IDENTIFY PACKET DEVICE data.
extension ATAPICDROM {
    /// Runs the command in `packet`.
    func runPacket() {
        let op = packet[0]
        // Sense data describes the last command only; REQUEST SENSE is how it is read.
        if op != ATAPI.requestSense {
            senseKey = ATAPI.senseNone
            senseCode = 0
            senseQualifier = 0
        }
        switch op {
        case ATAPI.testUnitReady:
            guard mediumPresent() else { return }
            completePacket()
        case ATAPI.requestSense:
            requestSense()
        case ATAPI.inquiry:
            inquiry()
        case ATAPI.readCapacity:
            guard mediumPresent() else { return }
            let last = UInt32(truncatingIfNeeded: min(sectors - 1, UInt64(UInt32.max)))
            reply(bigEndian32(last) + bigEndian32(UInt32(ATAPI.sectorSize)), allocationLength: 8)
        case ATAPI.read10:
            read(lba: UInt64(be32(2)), count: UInt64(be16(7)))
        case ATAPI.read12:
            read(lba: UInt64(be32(2)), count: UInt64(be32(6)))
        case ATAPI.seek10:
            guard mediumPresent() else { return }
            guard UInt64(be32(2)) < sectors else { return fail(ATAPI.senseIllegalRequest, ATAPI.ascLBAOutOfRange) }
            completePacket()
        case ATAPI.readTOC:
            readTOC()
        case ATAPI.modeSense10:
            modeSense()
        case ATAPI.getConfiguration:
            getConfiguration()
        case ATAPI.getEventStatusNotification:
            getEventStatus()
        case ATAPI.readDiscInformation:
            readDiscInformation()
        case ATAPI.startStopUnit, ATAPI.preventAllowMediumRemoval, ATAPI.setCDSpeed:
            // No motor, tray or lock to drive: accepted as done.
            completePacket()
        default:
            fail(ATAPI.senseIllegalRequest, ATAPI.ascInvalidCommand)
        }
    }

    // MARK: Packet fields (big-endian, SPC-3 §4.3)

    func be16(_ offset: Int) -> UInt16 { UInt16(packet[offset]) << 8 | UInt16(packet[offset + 1]) }

    func be32(_ offset: Int) -> UInt32 {
        UInt32(packet[offset]) << 24 | UInt32(packet[offset + 1]) << 16 | UInt32(packet[offset + 2]) << 8 | UInt32(packet[offset + 3])
    }

    func bigEndian16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)] }

    func bigEndian32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// Fails the command with NOT READY / MEDIUM NOT PRESENT when the drive is empty.
    func mediumPresent() -> Bool {
        guard image != nil, sectors > 0 else {
            fail(ATAPI.senseNotReady, ATAPI.ascMediumNotPresent)
            return false
        }
        return true
    }

    // MARK: Commands

    private func requestSense() {
        var data = [UInt8](repeating: 0, count: 18)
        data[0] = ATAPI.senseResponseCurrent
        data[2] = senseKey
        data[7] = 10  // additional sense length: bytes 8-17
        data[12] = senseCode
        data[13] = senseQualifier
        senseKey = ATAPI.senseNone
        senseCode = 0
        senseQualifier = 0
        reply(data, allocationLength: Int(packet[4]))
    }

    private func inquiry() {
        // Vital product data pages (EVPD) are not provided.
        guard packet[1] & 0x01 == 0 else { return fail(ATAPI.senseIllegalRequest, ATAPI.ascInvalidField) }
        var data = [UInt8](repeating: 0x20, count: 36)
        data[0] = ATAPI.peripheralTypeCDROM
        data[1] = ATAPI.inquiryRemovable
        data[2] = 0x00  // version: no claim to a SCSI standard, as ATAPI drives report
        data[3] = 0x21  // ATAPI transport version 2, response data format 1
        data[4] = 31  // additional length: bytes 5-35
        data[5] = 0; data[6] = 0; data[7] = 0
        put(ATAPICDROM.vendor, into: &data, at: 8, length: 8)
        put(model, into: &data, at: 16, length: 16)
        put(ATAPICDROM.firmwareRevision, into: &data, at: 32, length: 4)
        reply(data, allocationLength: Int(be16(3)))
    }

    private func put(_ text: String, into data: inout [UInt8], at offset: Int, length: Int) {
        for (i, b) in text.utf8.prefix(length).enumerated() { data[offset + i] = b }
    }

    private func read(lba: UInt64, count: UInt64) {
        guard mediumPresent() else { return }
        guard lba <= sectors, count <= sectors - lba else { return fail(ATAPI.senseIllegalRequest, ATAPI.ascLBAOutOfRange) }
        replySectors(lba: lba, count: count)
    }

    /// A TOC address: an LBA, or minutes/seconds/frames counted from the start of the
    /// 2-second pregap (MMC-5 §6.33 and table 469).
    private func tocAddress(_ lba: UInt64, msf: Bool) -> [UInt8] {
        guard msf else { return bigEndian32(UInt32(truncatingIfNeeded: lba)) }
        let frames = lba + 150
        let minutes = min(frames / (75 * 60), 0xFF)
        return [0, UInt8(minutes), UInt8(frames / 75 % 60), UInt8(frames % 75)]
    }

    private func readTOC() {
        guard mediumPresent() else { return }
        let msf = packet[1] & 0x02 != 0
        var format = packet[2] & 0x0F
        // Older hosts put the format in bits 7:6 of the control byte (SFF-8020i).
        if format == 0 { format = packet[9] >> 6 }
        let track = packet[6]
        var data: [UInt8]
        switch format {
        case 0:
            // One data track (1) and the lead-out.
            guard track <= 1 || track == ATAPI.leadOutTrack else {
                return fail(ATAPI.senseIllegalRequest, ATAPI.ascInvalidField)
            }
            data = [0, 0, 1, 1]
            if track <= 1 { data += [0, ATAPI.tocADRControlData, 1, 0] + tocAddress(0, msf: msf) }
            data += [0, ATAPI.tocADRControlData, ATAPI.leadOutTrack, 0] + tocAddress(sectors, msf: msf)
        case 1:
            // Session information: one session whose first track starts at 0.
            data = [0, 0, 1, 1, 0, ATAPI.tocADRControlData, 1, 0] + tocAddress(0, msf: msf)
        default:
            return fail(ATAPI.senseIllegalRequest, ATAPI.ascInvalidField)
        }
        let length = UInt16(data.count - 2)
        data[0] = UInt8(length >> 8)
        data[1] = UInt8(truncatingIfNeeded: length)
        reply(data, allocationLength: Int(be16(7)))
    }

    private func modeSense() {
        let control = packet[2] >> 6
        let page = packet[2] & 0x3F
        // Page control 3 asks for saved values, which a CD-ROM drive does not keep.
        guard control != 3 else { return fail(ATAPI.senseIllegalRequest, ATAPI.ascSavingNotSupported) }
        let changeable = control == 1
        var pages: [UInt8] = []
        if page == ATAPI.pageErrorRecovery || page == ATAPI.pageAll {
            // Read error recovery parameters: default retry behaviour, nothing changeable.
            pages += [ATAPI.pageErrorRecovery, 6] + [UInt8](repeating: 0, count: 6)
        }
        if page == ATAPI.pageCapabilities || page == ATAPI.pageAll {
            // CD capabilities and mechanical status (MMC-2 §5.5.10).
            var caps = [UInt8](repeating: 0, count: 20)
            caps[0] = ATAPI.pageCapabilities
            caps[1] = 18
            if !changeable {
                caps[4] = 0x40  // multi-session
                caps[6] = 0x29  // tray loader, eject supported, lock supported
                caps[8] = 0x02; caps[9] = 0xC2  // max read speed 706 kB/s (4x)
                caps[10] = 0x00; caps[11] = 0x02  // two volume levels
                caps[12] = 0x02; caps[13] = 0x00  // 512 KiB buffer
                caps[14] = 0x02; caps[15] = 0xC2  // current read speed
            }
            pages += caps
        }
        guard !pages.isEmpty else { return fail(ATAPI.senseIllegalRequest, ATAPI.ascInvalidField) }
        // Mode parameter header (10): mode data length, medium type, no block descriptors.
        var data = [UInt8](repeating: 0, count: 8) + pages
        let length = UInt16(data.count - 2)
        data[0] = UInt8(length >> 8)
        data[1] = UInt8(truncatingIfNeeded: length)
        data[2] = image == nil ? 0x70 : 0x01  // 0x70: no disc; 0x01: 120 mm CD-ROM data disc
        reply(data, allocationLength: Int(be16(7)))
    }

    /// The current MMC profile: none without a medium, a DVD-ROM for an image larger than
    /// any CD, otherwise a CD-ROM.
    var currentProfile: UInt16 {
        if image == nil || sectors == 0 { return 0 }
        return sectors > ATAPI.cdMaxSectors ? ATAPI.profileDVDROM : ATAPI.profileCDROM
    }

    private func getConfiguration() {
        let requestType = packet[1] & 0x03
        let start = be16(2)
        let profile = currentProfile
        // Feature descriptors: code, version/persistent/current byte, additional length, data.
        var features: [(code: UInt16, current: Bool, bytes: [UInt8])] = []
        var profiles: [UInt8] = []
        for p in [ATAPI.profileDVDROM, ATAPI.profileCDROM] {
            // Profile number, "current" flag, reserved.
            profiles += bigEndian16(p) + [p == profile ? 0x01 : 0x00, 0]
        }
        features.append((ATAPI.featureProfileList, true, profiles))
        // Core: ATAPI physical interface (2), no DBE.
        features.append((ATAPI.featureCore, true, bigEndian32(2) + [0, 0, 0, 0]))
        // Removable medium: tray loader, eject, lock.
        features.append((ATAPI.featureRemovableMedium, true, [0x29, 0, 0, 0]))
        var body: [UInt8] = []
        for f in features {
            switch requestType {
            case 0: guard f.code >= start else { continue }
            case 1: guard f.code >= start, f.current else { continue }
            case 2: guard f.code == start else { continue }
            default: return fail(ATAPI.senseIllegalRequest, ATAPI.ascInvalidField)
            }
            // Version 0 for the profile list, 1 for the others; persistent and current set.
            let version: UInt8 = f.code == ATAPI.featureProfileList ? 0 : 1
            body += bigEndian16(f.code) + [version << 2 | 0x02 | (f.current ? 1 : 0), UInt8(f.bytes.count)] + f.bytes
        }
        // Header: data length (bytes after this field), reserved, current profile.
        let header = bigEndian32(UInt32(4 + body.count)) + [0, 0] + bigEndian16(profile)
        reply(header + body, allocationLength: Int(be16(7)))
    }

    private func getEventStatus() {
        // Only polled operation exists (the "Polled" bit must be set, MMC-5 §6.6).
        guard packet[1] & 0x01 != 0 else { return fail(ATAPI.senseIllegalRequest, ATAPI.ascInvalidField) }
        let requested = packet[4]
        var data: [UInt8]
        if requested & ATAPI.eventClassMedia != 0 {
            // Media class: no change since last time, medium present or not.
            data = [0, 6, 0x04, ATAPI.eventClassMedia, 0, image == nil ? 0 : ATAPI.mediaPresent, 0, 0]
        } else {
            data = [0, 2, ATAPI.eventNEA, ATAPI.eventClassMedia]
        }
        reply(data, allocationLength: Int(be16(7)))
    }

    private func readDiscInformation() {
        guard mediumPresent() else { return }
        // Standard disc information: complete disc, complete last session, one track.
        var data = [UInt8](repeating: 0, count: 34)
        data[1] = 32  // length of the rest
        data[2] = 0x0E  // last session complete, disc complete
        data[3] = 1  // first track
        data[4] = 1  // sessions
        data[5] = 1  // first track in last session
        data[6] = 1  // last track in last session
        reply(data, allocationLength: Int(be16(7)))
    }

    // MARK: IDENTIFY PACKET DEVICE (ATA/ATAPI-6 §8.16)

    func identifyWords() -> [UInt16] {
        var w = [UInt16](repeating: 0, count: 256)
        // Word 0: ATAPI (10b in 15:14), CD-ROM (05h in 12:8), removable (bit 7), accelerated
        // DRQ (10b in 6:5: DRQ within 50 µs, no interrupt), 12-byte packets (00b in 1:0).
        w[0] = 0x8000 | 0x0500 | 0x0080 | 0x0040
        IDEDrive.putString(serial, into: &w, at: 10, count: 10)
        IDEDrive.putString(ATAPICDROM.firmwareRevision, into: &w, at: 23, count: 4)
        IDEDrive.putString(model, into: &w, at: 27, count: 20)
        // Word 49: IORDY, LBA and DMA supported.
        w[49] = 0x0800 | 0x0200 | 0x0100
        w[50] = 0x4000
        // Word 53: words 64-70 and 88 valid.
        w[53] = 0x0006
        // Word 63: multiword DMA modes 0-2; 64: PIO 3-4; 65-68: cycle times (ns).
        w[63] = 0x0007
        w[64] = 0x0003
        for i in 65...68 { w[i] = 120 }
        // Word 80: ATA/ATAPI-4 to -7; 83/84/87: valid words with no features.
        w[80] = 0x00F0
        w[82] = 0x0000
        w[83] = 0x4000
        w[84] = 0x4000
        w[87] = 0x4000
        // Word 88: Ultra DMA modes 0-5 supported.
        w[88] = 0x003F
        w[93] = 0x6001
        return w
    }
}
