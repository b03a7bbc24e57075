/// A small encoder for the ACPI Machine Language the DSDT is written in (ACPI spec 6.5,
/// ch. 20 "ACPI Machine Language (AML) Specification"): named objects, scopes, devices,
/// packages, integers and resource templates (ch. 6.4). Only what our DSDT uses.
enum AML {
    // Opcodes (§20.3).
    static let zeroOp: UInt8 = 0x00
    static let oneOp: UInt8 = 0x01
    static let nameOp: UInt8 = 0x08
    static let bytePrefix: UInt8 = 0x0A
    static let wordPrefix: UInt8 = 0x0B
    static let dwordPrefix: UInt8 = 0x0C
    static let stringPrefix: UInt8 = 0x0D
    static let scopeOp: UInt8 = 0x10
    static let bufferOp: UInt8 = 0x11
    static let packageOp: UInt8 = 0x12
    static let extOpPrefix: UInt8 = 0x5B
    static let deviceOp: UInt8 = 0x82
    static let rootChar: UInt8 = 0x5C
    static let dualNamePrefix: UInt8 = 0x2E

    /// A name path: `\_SB_`, `PCI0`, `\_SB_.PCI0`. Segments shorter than four characters are
    /// padded with '_' (§20.2.2).
    static func nameString(_ path: String) -> [UInt8] {
        var text = Substring(path)
        var out: [UInt8] = []
        if text.hasPrefix("\\") { out.append(rootChar); text = text.dropFirst() }
        let segments = text.split(separator: ".").map { segment -> [UInt8] in
            let bytes = Array(segment.utf8.prefix(4))
            return bytes + [UInt8](repeating: UInt8(ascii: "_"), count: 4 - bytes.count)
        }
        if segments.count == 2 { out.append(dualNamePrefix) }
        precondition(segments.count <= 2, "AML: only one- and two-segment names are used")
        return out + segments.flatMap { $0 }
    }

    /// PkgLength (§20.2.4): the length of what follows including the encoding itself.
    static func packageLength(_ contentLength: Int) -> [UInt8] {
        if contentLength + 1 < 0x40 { return [UInt8(contentLength + 1)] }
        for extra in 1...3 {
            let total = contentLength + 1 + extra
            if total < 1 << (4 + 8 * extra) {
                var out = [UInt8(extra << 6) | UInt8(total & 0x0F)]
                for k in 0..<extra { out.append(UInt8(truncatingIfNeeded: total >> (4 + 8 * k))) }
                return out
            }
        }
        preconditionFailure("AML: package too long")
    }

    static func integer(_ value: UInt64) -> [UInt8] {
        switch value {
        case 0: return [zeroOp]
        case 1: return [oneOp]
        case ...0xFF: return [bytePrefix, UInt8(value)]
        case ...0xFFFF: return [wordPrefix] + le(value, 2)
        case ...0xFFFF_FFFF: return [dwordPrefix] + le(value, 4)
        default: preconditionFailure("AML: QWord integers are not used")
        }
    }

    static func string(_ text: String) -> [UInt8] { [stringPrefix] + Array(text.utf8) + [0] }

    /// A compressed EISA ID such as "PNP0A03" as the DWord it encodes (§6.1.5).
    static func eisaID(_ id: String) -> [UInt8] {
        let c = Array(id.utf8)
        precondition(c.count == 7, "AML: an EISA ID has 7 characters")
        let letter = { (k: Int) in UInt32(c[k] - 0x40) & 0x1F }
        let hex = { (k: Int) in UInt32(Int(String(UnicodeScalar(c[k])), radix: 16) ?? 0) }
        let vendor = letter(0) << 10 | letter(1) << 5 | letter(2)
        let product = hex(3) << 12 | hex(4) << 8 | hex(5) << 4 | hex(6)
        // Stored big-endian byte-wise: vendor high, vendor low, product high, product low.
        let value = UInt32(vendor >> 8) | UInt32(vendor & 0xFF) << 8 | (product >> 8) << 16 | (product & 0xFF) << 24
        return integer(UInt64(value))
    }

    static func name(_ path: String, _ value: [UInt8]) -> [UInt8] { [nameOp] + nameString(path) + value }

    static func scope(_ path: String, _ body: [UInt8]...) -> [UInt8] {
        let content = nameString(path) + body.flatMap { $0 }
        return [scopeOp] + packageLength(content.count) + content
    }

    static func device(_ path: String, _ body: [UInt8]...) -> [UInt8] {
        let content = nameString(path) + body.flatMap { $0 }
        return [extOpPrefix, deviceOp] + packageLength(content.count) + content
    }

    static func package(_ elements: [[UInt8]]) -> [UInt8] {
        let content = [UInt8(elements.count)] + elements.flatMap { $0 }
        return [packageOp] + packageLength(content.count) + content
    }

    static func buffer(_ bytes: [UInt8]) -> [UInt8] {
        let content = integer(UInt64(bytes.count)) + bytes
        return [bufferOp] + packageLength(content.count) + content
    }

    /// A ResourceTemplate: the descriptors and the end tag (§6.4.2.9), as a Buffer.
    static func resourceTemplate(_ descriptors: [UInt8]...) -> [UInt8] {
        buffer(descriptors.flatMap { $0 } + [0x79, 0x00])
    }

    // MARK: resource descriptors (§6.4)

    /// I/O port descriptor, 16-bit decode, fixed base (§6.4.2.5).
    static func io(_ base: UInt16, length: UInt8) -> [UInt8] {
        [0x47, 0x01] + le(UInt64(base), 2) + le(UInt64(base), 2) + [1, length]
    }

    /// IRQ descriptor without flags: edge-triggered, active high (§6.4.2.1).
    static func irqNoFlags(_ irq: Int) -> [UInt8] { [0x22] + le(UInt64(1) << UInt64(irq), 2) }

    /// Producer flags for a bridge's window: min and max fixed, positive decode.
    static let windowFlags: UInt8 = 0x0C

    /// Word bus-number space (§6.4.3.5.3, resource type 2).
    static func wordBusNumber(_ first: UInt16, _ last: UInt16) -> [UInt8] {
        [0x88, 0x0D, 0x00, 2, windowFlags, 0] + le(0, 2) + le(UInt64(first), 2) + le(UInt64(last), 2) + le(0, 2)
            + le(UInt64(last - first) + 1, 2)
    }

    /// Word I/O window (resource type 1, ISA and non-ISA ranges).
    static func wordIO(_ first: UInt16, _ last: UInt16) -> [UInt8] {
        [0x88, 0x0D, 0x00, 1, windowFlags, 0x03] + le(0, 2) + le(UInt64(first), 2) + le(UInt64(last), 2) + le(0, 2)
            + le(UInt64(last - first) + 1, 2)
    }

    /// DWord memory window (§6.4.3.5.2, resource type 0), read-write, cacheable.
    static func dwordMemory(_ first: UInt32, _ last: UInt32) -> [UInt8] {
        [0x87, 0x17, 0x00, 0, windowFlags, 0x03] + le(0, 4) + le(UInt64(first), 4) + le(UInt64(last), 4) + le(0, 4)
            + le(UInt64(last - first) + 1, 4)
    }

    static func le(_ value: UInt64, _ bytes: Int) -> [UInt8] { littleEndian(value, count: bytes) }
}
