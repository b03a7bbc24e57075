import Foundation
import XCTest
@testable import Devices

final class PNGWriterTests: XCTestCase {
    func testChecksumsMatchTheirStandardCheckValues() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(Adler32.checksum(Array("Wikipedia".utf8)), 0x11E6_0398)
        // Long input crosses the Adler-32 reduction chunk.
        let long = [UInt8](repeating: 0xFF, count: 100_000)
        var a: UInt32 = 1, b: UInt32 = 0
        for x in long { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        XCTAssertEqual(Adler32.checksum(long), b << 16 | a)
    }

    private func sample(width: Int, height: Int) -> VGAFramebuffer {
        var fb = VGAFramebuffer(width: width, height: height)
        for y in 0..<height { for x in 0..<width { fb[x, y] = UInt32(x * 7 & 0xFF) << 16 | UInt32(y * 3 & 0xFF) << 8 | UInt32((x ^ y) & 0xFF) } }
        return fb
    }

    func testStructureSignatureHeaderAndChunkCRCs() {
        let fb = sample(width: 5, height: 3)
        let png = PNGWriter.encode(fb)
        XCTAssertEqual(Array(png[0..<8]), PNGWriter.signature)
        var offset = 8
        var types: [String] = []
        while offset < png.count {
            let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
            let type = String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let body = Array(png[(offset + 8)..<(offset + 8 + length)])
            let crcBytes = png[(offset + 8 + length)..<(offset + 12 + length)]
            let crc = crcBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            XCTAssertEqual(crc, CRC32.checksum(Array(png[(offset + 4)..<(offset + 8)]) + body), "CRC of \(type)")
            if type == "IHDR" {
                XCTAssertEqual(body, [0, 0, 0, 5, 0, 0, 0, 3, 8, 2, 0, 0, 0])
            }
            types.append(type)
            offset += 12 + length
        }
        XCTAssertEqual(types, ["IHDR", "IDAT", "IEND"])
        XCTAssertEqual(offset, png.count)
    }

    /// Decodes the file with Python's zlib (an independent inflate and CRC) and compares pixels.
    func testPythonDecodesTheSamePixels() throws {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("python3 is not installed: cannot cross-check the PNG with an independent decoder")
        }
        // Large enough for several stored deflate blocks.
        let fb = sample(width: 300, height: 97)
        let path = NSTemporaryDirectory() + "swiftpc-png-\(getpid()).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PNGWriter.write(fb, to: path)
        let script = """
            import sys, zlib, struct
            d = open(sys.argv[1], 'rb').read()
            assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
            i, idat, w, h = 8, b'', 0, 0
            while i < len(d):
                n, = struct.unpack('>I', d[i:i+4]); t = d[i+4:i+8]; body = d[i+8:i+8+n]
                assert struct.unpack('>I', d[i+8+n:i+12+n])[0] == zlib.crc32(t + body) & 0xffffffff
                if t == b'IHDR': w, h = struct.unpack('>II', body[:8])
                if t == b'IDAT': idat += body
                i += 12 + n
            raw = zlib.decompress(idat)
            assert len(raw) == h * (1 + 3 * w)
            for y in range(h):
                row = raw[y * (1 + 3 * w):(y + 1) * (1 + 3 * w)]
                assert row[0] == 0
                print(' '.join('%06x' % (row[1+3*x] << 16 | row[2+3*x] << 8 | row[3+3*x]) for x in range(w)))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let rows = String(decoding: output, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(rows.count, fb.height)
        for (y, row) in rows.enumerated() {
            let expected = (0..<fb.width).map { String(format: "%06x", fb[$0, y]) }.joined(separator: " ")
            XCTAssertEqual(String(row), expected, "row \(y)")
        }
    }

    func testUnwritablePathIsATypedError() {
        XCTAssertThrowsError(try PNGWriter.write(VGAFramebuffer(width: 2, height: 2), to: "/nonexistent-dir/x.png")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot write /nonexistent-dir/x.png"))
        }
        XCTAssertThrowsError(try PNGWriter.write(VGAFramebuffer(), to: "/tmp/x.png"))
    }
}
