import MachineCore

/// The Multiboot2 header of an OS image (Multiboot2 Specification 2.0 §3.1): magic,
/// architecture, header length and checksum, then 8-byte aligned tags up to an end tag.
public struct Multiboot2Header: Equatable, Sendable {
    /// Header magic.
    public static let magic: UInt32 = 0xE852_50D6
    /// architecture 0: 32-bit (protected mode) i386.
    public static let architectureI386: UInt32 = 0
    /// The header must lie, 8-byte aligned, within the first 32768 bytes (§3.1.1).
    public static let searchLimit = 32768
    static let fixedPartSize = 16

    // Header tag types (§3.1.3-§3.1.13).
    static let tagEnd: UInt16 = 0, tagInformationRequest: UInt16 = 1, tagAddress: UInt16 = 2
    static let tagEntryAddress: UInt16 = 3, tagConsoleFlags: UInt16 = 4, tagFramebuffer: UInt16 = 5
    static let tagModuleAlign: UInt16 = 6, tagEFIBootServices: UInt16 = 7, tagEntryAddressEFI32: UInt16 = 8
    static let tagEntryAddressEFI64: UInt16 = 9, tagRelocatable: UInt16 = 10
    /// Tag flags bit 0: the boot loader may ignore the tag.
    static let flagOptional: UInt16 = 1
    /// load_addr -1: the file is loaded from its start (§3.1.5).
    static let loadFromFileStart: UInt32 = 0xFFFF_FFFF

    /// File offset of the header.
    public var offset: Int
    /// From the address tag (with the entry tag's address), when present; validated.
    public var addresses: MultibootHeader.AddressFields?
    /// The entry address tag's value (a physical address), when present.
    public var entryAddress: UInt32?
    /// Boot information tags the kernel requires (a non-optional information request).
    public var requiredInformation: [UInt32]

    enum Search: Equatable {
        case none
        case found(offset: Int)
        /// The magic appears but no occurrence adds up to zero with its checksum.
        case badChecksum(offset: Int)
    }

    /// Looks at every 8-byte aligned offset of the first 32768 bytes; the first occurrence
    /// whose magic, architecture, length and checksum add up to zero wins.
    static func search(_ view: ByteView) -> Search {
        var firstBad: Int?
        var o = 0
        while o + fixedPartSize <= min(view.count, searchLimit) {
            if view.u32(o) == magic, let arch = view.u32(o + 4), let length = view.u32(o + 8), let sum = view.u32(o + 12) {
                if magic &+ arch &+ length &+ sum == 0 { return .found(offset: o) }
                firstBad = firstBad ?? o
            }
            o += 8
        }
        return firstBad.map { .badChecksum(offset: $0) } ?? .none
    }

    /// Validates the header found at `offset` and its tags. `isELF` tells whether the image
    /// can be loaded by its program headers when there is no address tag.
    static func parse(_ view: ByteView, offset: Int, isELF: Bool, path: String) throws(MachineError) -> Multiboot2Header {
        func bad(_ reason: String) -> MachineError { .badImage(path: path, reason: "multiboot2 header at \(hex(UInt64(offset))): \(reason)") }
        guard let arch = view.u32(offset + 4), let length = view.u32(offset + 8) else { throw bad("truncated") }
        guard arch == architectureI386 else {
            throw bad("is for architecture \(arch), not i386 (0)")
        }
        guard length >= UInt32(fixedPartSize + 8), UInt64(offset) + UInt64(length) <= UInt64(view.count) else {
            throw bad("header_length \(length) does not fit the file")
        }
        var header = Multiboot2Header(offset: offset, addresses: nil, entryAddress: nil, requiredInformation: [])
        var address: (header: UInt32, load: UInt32, loadEnd: UInt32, bssEnd: UInt32)?
        let end = offset + Int(length)
        var at = offset + fixedPartSize
        var sawEnd = false
        while at + 8 <= end {
            guard let type = view.u16(at), let flags = view.u16(at + 2), let size = view.u32(at + 4) else { break }
            guard size >= 8, UInt64(at) + UInt64(size) <= UInt64(end) else {
                throw bad("tag \(type) at \(hex(UInt64(at))) has size \(size), past header_length")
            }
            let optional = flags & flagOptional != 0
            switch type {
            case tagEnd:
                sawEnd = true
            case tagInformationRequest:
                if !optional {
                    let requests = (0..<Int((size - 8) / 4)).compactMap { view.u32(at + 8 + $0 * 4) }
                    if let missing = requests.first(where: { !Multiboot2Info.provided.contains($0) }) {
                        throw bad("requires boot information tag \(missing), which swiftpc does not provide")
                    }
                    header.requiredInformation = requests
                }
            case tagAddress:
                guard size >= 24, let h = view.u32(at + 8), let l = view.u32(at + 12), let le = view.u32(at + 16),
                      let b = view.u32(at + 20) else { throw bad("address tag is truncated") }
                address = (h, l, le, b)
            case tagEntryAddress:
                guard size >= 12, let e = view.u32(at + 8) else { throw bad("entry address tag is truncated") }
                header.entryAddress = e
            case tagFramebuffer where !optional:
                // A BIOS loader without a video BIOS cannot set a graphics mode; the spec says
                // to refuse a required tag that cannot be met.
                throw bad("requires a graphics framebuffer (tag 5), which swiftpc does not provide")
            case tagFramebuffer, tagConsoleFlags, tagModuleAlign, tagRelocatable:
                // Text console and serial are there; modules are always page-aligned; the
                // image is loaded at its link address, which a relocatable image also accepts.
                break
            case tagEFIBootServices, tagEntryAddressEFI32, tagEntryAddressEFI64:
                // Only meaningful when booted from EFI firmware; a BIOS loader ignores them.
                break
            default:
                if !optional { throw bad("requires header tag \(type), which swiftpc does not know") }
            }
            if sawEnd { break }
            at += Int(alignUp(UInt64(size), 8))
        }
        guard sawEnd else { throw bad("has no end tag within header_length \(length)") }

        if let a = address {
            guard let entry = header.entryAddress else {
                throw bad("has an address tag but no entry address tag")
            }
            var load = a.load
            if load == loadFromFileStart {
                guard UInt64(a.header) >= UInt64(offset) else {
                    throw bad("header_addr \(hex(UInt64(a.header))) is below the header's file offset")
                }
                load = a.header - UInt32(offset)
            }
            let fields = MultibootHeader.AddressFields(headerAddress: a.header, loadAddress: load, loadEndAddress: a.loadEnd,
                                                       bssEndAddress: a.bssEnd, entryAddress: entry)
            try MultibootHeader.validate(fields, view: view, offset: offset, bad: bad)
            header.addresses = fields
        } else if !isELF {
            throw bad("has no address tag and the image is not ELF, so there is nothing to load it by")
        }
        return header
    }
}
