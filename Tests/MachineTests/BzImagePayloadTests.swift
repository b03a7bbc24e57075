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
        let vmlinux = try XCTUnwrap(BzImagePayload.unpackedKernel(bytes), "xz payload unpacked")
        XCTAssertGreaterThan(vmlinux.count, bytes.count, "the kernel is larger unpacked")
        let image = try KernelImage.detect(bytes: vmlinux, path: path)
        guard case .pvh(_, let entry) = image.format else { return XCTFail("vmlinux without a PVH entry note") }
        XCTAssertNotEqual(entry, 0)
    }

    func testACorruptPayloadIsDeclinedAndTheBzImageBootsAsItIs() throws {
        let path = try GuestImages.kernel()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let setupSectors = bytes[SetupHeader.setupSects] == 0 ? 4 : Int(bytes[SetupHeader.setupSects])
        let offset = (0..<4).reduce(0) { $0 | Int(bytes[BzImagePayload.payloadOffset + $1]) << ($1 * 8) }
        let start = (setupSectors + 1) * 512 + offset
        for i in start + 64..<start + 4096 { bytes[i] ^= 0x5A }
        XCTAssertNil(BzImagePayload.unpackedKernel(bytes))
        XCTAssertNil(BzImagePayload.unpackedKernel(Array(bytes[0..<0x300])), "a truncated image")
    }
}
