#if canImport(Glibc)
import Glibc
#endif

/// Why a PNG could not be written.
public enum PNGWriterError: Error, CustomStringConvertible, Equatable {
    case cannotWrite(path: String, reason: String)
    case emptyImage

    public var description: String {
        switch self {
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason)"
        case .emptyImage: return "the screen has no pixels to write"
        }
    }
}

/// Writes a rendered screen as a PNG: 8-bit RGB, no interlace, filter type 0 on every row,
/// the image data in a zlib stream of stored deflate blocks (PNG specification, 2nd edition,
/// §§5-11; zlib RFC 1950; deflate RFC 1951 §3.2.4 "Non-compressed blocks").
public enum PNGWriter {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// IHDR colour type 2: truecolour (RGB).
    public static let colorTypeRGB: UInt8 = 2
    /// The largest payload of one stored deflate block.
    static let storedBlockLimit = 0xFFFF
    /// zlib header: CM 8 (deflate), CINFO 7 (32 KiB window), FLEVEL 0; FCHECK makes it a multiple of 31.
    static let zlibHeader: [UInt8] = [0x78, 0x01]

    /// The PNG file of `fb`.
    public static func encode(_ fb: VGAFramebuffer) -> [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity(fb.height * (1 + fb.width * 3))
        for y in 0..<fb.height {
            raw.append(0)  // filter type 0 (None)
            for x in 0..<fb.width {
                let p = fb.pixels[y * fb.width + x]
                raw.append(UInt8(truncatingIfNeeded: p >> 16))
                raw.append(UInt8(truncatingIfNeeded: p >> 8))
                raw.append(UInt8(truncatingIfNeeded: p))
            }
        }
        var png = signature
        var header = bigEndian(UInt32(fb.width)) + bigEndian(UInt32(fb.height))
        header += [8, colorTypeRGB, 0, 0, 0]  // bit depth, colour type, compression, filter, interlace
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", zlibStored(raw), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// Writes the PNG of `fb` to `path` (created or truncated).
    public static func write(_ fb: VGAFramebuffer, to path: String) throws(PNGWriterError) {
        guard fb.width > 0, fb.height > 0 else { throw .emptyImage }
        let bytes = encode(fb)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
            done += n
        }
    }

    /// A zlib stream holding `data` in stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out = zlibHeader
        out.reserveCapacity(data.count + data.count / storedBlockLimit * 5 + 16)
        var offset = 0
        repeat {
            let n = min(storedBlockLimit, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            // BFINAL in bit 0, BTYPE 00 (stored); then LEN and its ones' complement, little-endian.
            out.append(final)
            out += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        out += bigEndian(Adler32.checksum(data))
        return out
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// Length, type, data, CRC over type and data (PNG §5.3).
    static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png += bigEndian(UInt32(data.count))
        png += typeBytes
        png += data
        png += bigEndian(CRC32.update(CRC32.checksum(typeBytes), data))
    }
}
