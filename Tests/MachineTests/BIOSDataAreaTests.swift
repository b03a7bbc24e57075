import Foundation
import MachineCore
import XCTest
@testable import Machine

/// Direct boots leave the BIOS Data Area as a PC BIOS would (IBM PC/AT Technical Reference,
/// "BIOS Data Area"): kernels size conventional memory from the EBDA segment and base memory.
final class BIOSDataAreaTests: XCTestCase {
    var dir: TemporaryDirectory!
    override func setUpWithError() throws { dir = try TemporaryDirectory() }
    override func tearDown() { dir = nil }

    private func checkBDA(_ memory: GuestMemory, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try memory.read16(0x40E), 0x9FC0, "EBDA segment: the top KiB of conventional memory", file: file, line: line)
        XCTAssertEqual(try memory.read16(0x413), 639, "base memory in KiB, as the e820 map says", file: file, line: line)
        XCTAssertEqual(try memory.read8(0x9_FC00), 1, "EBDA size in KiB", file: file, line: line)
        XCTAssertEqual(try memory.read16(0x400), 0x3F8, "COM1", file: file, line: line)
        XCTAssertEqual(try memory.read16(0x402), 0, "no COM2", file: file, line: line)
        let equipment = try memory.read16(0x410)
        XCTAssertEqual((equipment >> 9) & 7, 1, "one serial port", file: file, line: line)
        XCTAssertEqual((equipment >> 4) & 3, 2, "80x25 colour", file: file, line: line)
        XCTAssertEqual(try memory.read8(0x449), 3, "text mode 3", file: file, line: line)
        XCTAssertEqual(try memory.read16(0x44A), 80, file: file, line: line)
        XCTAssertEqual(try memory.read16(0x463), 0x3D4, "colour CRTC", file: file, line: line)
    }

    func testEveryKernelKindGetsTheBDA() throws {
        var e = ELFBuilder()
        e.entry = 0x100_0000
        e.segments = [.init(physical: 0x100_0000, virtual: 0x100_0000, data: pattern(0x100), memorySize: 0x1000)]
        e.notes = [ELFBuilder.pvhNote(0x100_0010, wide: true)]
        let kernels = [("bz", BzImageBuilder().build()), ("mb", multibootKludgeImage()), ("pvh", e.build())]
        for (name, bytes) in kernels {
            let memory = try GuestMemory(size: 64 << 20)
            try memory.fill(0x400, count: 0x100, with: 0xEE)  // whatever was there before
            _ = try KernelLoader.load(kernel: try dir.file(name, bytes), into: memory)
            try checkBDA(memory)
        }
    }

    func testBaseMemoryFollowsTheMap() throws {
        let memory = try GuestMemory(size: 16 << 20)
        var map = E820Map(memory: memory)
        map.reserve(base: 0x9_0000, size: 0x1_0000)  // a board that keeps 64 KiB for itself
        try BIOSDataArea.write(into: memory, map: map)
        XCTAssertEqual(try memory.read16(0x413), 576)
        XCTAssertEqual(try memory.read16(0x40E), 0x9000)
    }
}
