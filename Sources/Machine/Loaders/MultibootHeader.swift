import MachineCore

/// The Multiboot (version 1) header of an OS image (Multiboot Specification 0.6.96 §3.1).
public struct MultibootHeader: Equatable, Sendable {
    /// Header magic.
    public static let magic: UInt32 = 0x1BAD_B002
    /// The header must lie, 4-byte aligned, within the first 8192 bytes (§3.1.1).
    public static let searchLimit = 8192
    /// Field offsets inside the header (§3.1.2).
    static let flagsOffset = 4, checksumOffset = 8, headerAddrOffset = 12, loadAddrOffset = 16
    static let loadEndAddrOffset = 20, bssEndAddrOffset = 24, entryAddrOffset = 28
    static let modeTypeOffset = 32, widthOffset = 36, heightOffset = 40, depthOffset = 44

    // flags (§3.1.2). Bits 0-15 are requirements a loader must refuse if it cannot meet them.
    /// Align modules on 4 KiB page boundaries.
    public static let flagPageAlignModules: UInt32 = 1 << 0
    /// Pass memory information (mem_* and mmap_*).
    public static let flagMemoryInfo: UInt32 = 1 << 1
    /// Pass video mode information; the mode_type..depth fields are valid.
    public static let flagVideoMode: UInt32 = 1 << 2
    /// The address fields (header_addr ... entry_addr) are valid: the "a.out kludge".
    public static let flagAddressFields: UInt32 = 1 << 16
    /// Requirement bits swiftpc knows.
    static let knownRequirements: UInt32 = flagPageAlignModules | flagMemoryInfo | flagVideoMode
    static let requirementMask: UInt32 = 0xFFFF

    /// mode_type values.
    static let modeLinearGraphics: UInt32 = 0, modeEGAText: UInt32 = 1

    /// Address fields of the a.out kludge (flag bit 16).
    public struct AddressFields: Equatable, Sendable {
        public var headerAddress: UInt32
        public var loadAddress: UInt32
        /// End of the loaded part (0: the rest of the file).
        public var loadEndAddress: UInt32
        /// End of the bss (0: none).
        public var bssEndAddress: UInt32
        public var entryAddress: UInt32
    }

    /// File offset of the header.
    public var offset: Int
    public var flags: UInt32
    /// Present when flag bit 16 is set; validated against the file.
    public var addresses: AddressFields?
    /// The requested video mode type when flag bit 2 is set (only EGA text is honoured).
    public var videoModeType: UInt32?

    public var wantsPageAlignedModules: Bool { flags & MultibootHeader.flagPageAlignModules != 0 }

    enum Search: Equatable {
        case none
        case found(offset: Int)
        /// The magic appears but no occurrence has a valid checksum.
        case badChecksum(offset: Int)
    }

    /// Looks for the header at every 4-byte aligned offset of the first 8192 bytes; the first
    /// occurrence whose magic, flags and checksum add up to zero wins.
    static func search(_ view: ByteView) -> Search {
        var firstBad: Int?
        var o = 0
        while o + 12 <= min(view.count, searchLimit) {
            if view.u32(o) == magic, let flags = view.u32(o + flagsOffset), let sum = view.u32(o + checksumOffset) {
                if magic &+ flags &+ sum == 0 { return .found(offset: o) }
                firstBad = firstBad ?? o
            }
            o += 4
        }
        return firstBad.map { .badChecksum(offset: $0) } ?? .none
    }

    /// Validates the header found at `offset`. `isELF` tells whether the image can be loaded
    /// from its ELF program headers when the address fields are absent.
    static func parse(_ view: ByteView, offset: Int, isELF: Bool, path: String) throws(MachineError) -> MultibootHeader {
        func bad(_ reason: String) -> MachineError { .badImage(path: path, reason: "multiboot header at \(hex(UInt64(offset))): \(reason)") }
        guard let flags = view.u32(offset + flagsOffset) else { throw bad("truncated") }
        var header = MultibootHeader(offset: offset, flags: flags, addresses: nil, videoModeType: nil)

        let unknown = flags & requirementMask & ~knownRequirements
        guard unknown == 0 else {
            throw bad("requires features swiftpc does not provide (flag bits \(hex(UInt64(unknown))))")
        }
        if flags & flagVideoMode != 0 {
            guard offset + modeTypeOffset + 16 <= searchLimit, let mode = view.u32(offset + modeTypeOffset) else {
                throw bad("video mode fields (flag bit 2) are cut off")
            }
            // Text mode is what the machine starts in, so that request can be met; a linear
            // graphics mode cannot without a video BIOS, and the spec says to refuse.
            guard mode == modeEGAText else {
                throw bad("requests a graphics video mode (flag bit 2, mode_type \(mode)), which swiftpc does not provide")
            }
            header.videoModeType = mode
        }

        if flags & flagAddressFields != 0 {
            guard offset + entryAddrOffset + 4 <= searchLimit,
                  let headerAddr = view.u32(offset + headerAddrOffset), let loadAddr = view.u32(offset + loadAddrOffset),
                  let loadEnd = view.u32(offset + loadEndAddrOffset), let bssEnd = view.u32(offset + bssEndAddrOffset),
                  let entry = view.u32(offset + entryAddrOffset) else {
                throw bad("truncated address fields (flag bit 16)")
            }
            let fields = AddressFields(headerAddress: headerAddr, loadAddress: loadAddr, loadEndAddress: loadEnd,
                                       bssEndAddress: bssEnd, entryAddress: entry)
            try validate(fields, view: view, offset: offset, bad: bad)
            header.addresses = fields
        } else if !isELF {
            throw bad("has no address fields (flag bit 16 clear) and the image is not ELF, so there is nothing to load it by")
        }
        return header
    }

    /// Checks the a.out-kludge addresses against each other and the file (§3.1.3).
    static func validate(_ f: AddressFields, view: ByteView, offset: Int,
                                 bad: (String) -> MachineError) throws(MachineError) {
        guard f.headerAddress >= f.loadAddress else {
            throw bad("header_addr \(hex(UInt64(f.headerAddress))) is below load_addr \(hex(UInt64(f.loadAddress)))")
        }
        let distance = Int(f.headerAddress - f.loadAddress)
        guard distance <= offset else {
            throw bad("load_addr \(hex(UInt64(f.loadAddress))) would start \(distance - offset) bytes before the file")
        }
        let fileStart = offset - distance
        if f.loadEndAddress != 0 {
            guard f.loadEndAddress > f.loadAddress else {
                throw bad("load_end_addr \(hex(UInt64(f.loadEndAddress))) is not above load_addr \(hex(UInt64(f.loadAddress)))")
            }
            let length = Int(f.loadEndAddress - f.loadAddress)
            guard fileStart + length <= view.count else {
                throw bad("truncated image: load_end_addr needs \(fileStart + length) bytes, the file has \(view.count)")
            }
        }
        let loadEnd = f.loadEndAddress != 0
            ? UInt64(f.loadEndAddress) : UInt64(f.loadAddress) + UInt64(view.count - fileStart)
        if f.bssEndAddress != 0 {
            guard UInt64(f.bssEndAddress) >= loadEnd else {
                throw bad("bss_end_addr \(hex(UInt64(f.bssEndAddress))) is below the end of the loaded image \(hex(loadEnd))")
            }
        }
        let end = max(loadEnd, UInt64(f.bssEndAddress))
        guard UInt64(f.entryAddress) >= UInt64(f.loadAddress), UInt64(f.entryAddress) < end else {
            throw bad("entry_addr \(hex(UInt64(f.entryAddress))) is outside the loaded image \(hex(UInt64(f.loadAddress)))-\(hex(end))")
        }
    }

    /// The file range an a.out-kludge image is copied from and the memory it occupies.
    struct KludgeLayout {
        var fileRange: Range<Int>
        var loadAddress: UInt64
        var loadEnd: UInt64
        var bssEnd: UInt64
    }

    /// Where an a.out-kludge image goes: the file range to copy and the memory it occupies.
    func kludgeLayout(fileSize: Int) -> KludgeLayout? {
        guard let f = addresses else { return nil }
        return MultibootHeader.kludgeLayout(f, headerOffset: offset, fileSize: fileSize)
    }

    /// The layout for address fields validated against a file whose header is at `headerOffset`.
    static func kludgeLayout(_ f: AddressFields, headerOffset offset: Int, fileSize: Int) -> KludgeLayout {
        let fileStart = offset - Int(f.headerAddress - f.loadAddress)
        let length = f.loadEndAddress != 0 ? Int(f.loadEndAddress - f.loadAddress) : fileSize - fileStart
        let loadEnd = UInt64(f.loadAddress) + UInt64(length)
        let bssEnd = f.bssEndAddress != 0 ? UInt64(f.bssEndAddress) : loadEnd
        return KludgeLayout(fileRange: fileStart..<(fileStart + length), loadAddress: UInt64(f.loadAddress),
                            loadEnd: loadEnd, bssEnd: max(bssEnd, loadEnd))
    }
}
