/// The checksums PNG needs: CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320 reflected;
/// PNG specification §5.5) and Adler-32 (RFC 1950 §8).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Continues a running CRC (start from 0) over `bytes`.
    public static func update<C: Collection>(_ crc: UInt32, _ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c = ~crc
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return ~c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 { update(0, bytes) }
}

public enum Adler32 {
    /// The largest modulus below 2^16 (RFC 1950 §8).
    static let modulus: UInt32 = 65521
    /// Bytes that can be summed before the 32-bit sums must be reduced.
    static let chunk = 5552

    /// Continues a running Adler-32 (start from 1) over `bytes`.
    public static func update(_ adler: UInt32, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var a = adler & 0xFFFF, b = adler >> 16
        var i = 0
        while i < bytes.count {
            let end = min(i + chunk, bytes.count)
            while i < end { a &+= UInt32(bytes[i]); b &+= a; i += 1 }
            a %= modulus
            b %= modulus
        }
        return b << 16 | a
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBufferPointer { update(1, $0) } }
}
