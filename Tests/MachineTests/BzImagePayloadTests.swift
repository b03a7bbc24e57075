import Foundation
import MachineCore
import XCTest
@testable import Machine

/// The host-side unpacking of a bzImage's xz payload (the interpreter boots the vmlinux
/// inside through its PVH entry).
final class BzImagePayloadTests: XCTestCase {
    func testDebiansPayloadUnpacksToAVmlinuxWithAPVHEntry() throws {
        let path = try GuestImages.kernel()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let vmlinux = try XCTUnwrap(BzImagePayload.unpackedKernel(bytes, header: try Self.header(bytes, path)),
                                    "xz payload unpacked")
        XCTAssertGreaterThan(vmlinux.count, bytes.count, "the kernel is larger unpacked")
        let image = try KernelImage.detect(bytes: vmlinux, path: path)
        guard case .pvh(_, let entry) = image.format else { return XCTFail("vmlinux without a PVH entry note") }
        XCTAssertNotEqual(entry, 0)
    }

    func testACorruptPayloadIsDeclinedAndTheBzImageBootsAsItIs() throws {
        let path = try GuestImages.kernel()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let header = try Self.header(bytes, path)
        let offset = Int(try XCTUnwrap(ByteView(bytes).u32(BzImagePayload.payloadOffset)))
        let start = header.kernelOffset + offset
        for i in start + 64..<start + 4096 { bytes[i] ^= 0x5A }
        XCTAssertNil(BzImagePayload.unpackedKernel(bytes, header: header))
        XCTAssertNil(BzImagePayload.unpackedKernel(Array(bytes[0..<start + 1024]), header: header), "a truncated image")
    }

    static func header(_ bytes: [UInt8], _ path: String) throws -> BzImageHeader {
        guard case .bzImage(let header) = try KernelImage.detect(bytes: bytes, path: path).format else {
            throw XCTSkip("\(path) is not a bzImage")
        }
        return header
    }
}
