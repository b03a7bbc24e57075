import Foundation
import MachineCore
import XCTest
@testable import Machine

/// The multiboot v1 loader and boot information (Multiboot Specification 0.6.96 §3).
final class MultibootLoaderTests: XCTestCase {
    var dir: TemporaryDirectory!
    override func setUpWithError() throws { dir = try TemporaryDirectory() }
    override func tearDown() { dir = nil }

    func testKludgeImageInfoModulesAndCommandLine() throws {
        let image = multibootKludgeImage(headerOffset: 0x20, size: 0x3000, bss: 0x2000)
        let kernel = try dir.file("kernel.mb", image)
        let m1 = try dir.file("one.bin", pattern(5000, seed: 4))
        let m2 = try dir.file("two.txt", Array("payload-from-module".utf8))
        let memory = try GuestMemory(size: 64 << 20)
        try memory.fill(0x10_3000, count: 0x2000, with: 0xCC)  // garbage where the bss goes
        let setup = try KernelLoader.load(kernel: kernel, initrd: "\(m1),\(m2)", commandLine: "quiet exit=21 tail",
                                          into: memory)
        XCTAssertEqual(setup.kind, .multiboot)
        XCTAssertEqual(setup.kernel, 0x10_0000..<0x10_5000)
        XCTAssertEqual(try memory.read(0x10_0000, count: image.count), image)
        XCTAssertEqual(try memory.read(0x10_3000, count: 0x2000), [UInt8](repeating: 0, count: 0x2000))

        // Entry state.
        let cpu = setup.cpu
        XCTAssertEqual(cpu.rax, 0x2BAD_B002)
        XCTAssertEqual(cpu.rip, 0x10_0050)
        XCTAssertEqual(cpu.cr0 & (CR0.pe | CR0.pg), CR0.pe)
        XCTAssertEqual(cpu.rflags & (RFLAGS.if | RFLAGS.vm), 0)
        XCTAssertTrue(cpu.cs.db)
        XCTAssertEqual(cpu.cs.limit, 0xFFFF_FFFF)
        XCTAssertEqual(cpu.ds.limit, 0xFFFF_FFFF)

        // Boot information.
        let mbi = cpu.rbx
        XCTAssertEqual(mbi, setup.bootInfoAddress)
        let flags = try memory.read32(mbi)
        for bit in [0, 2, 3, 6, 9] { XCTAssertNotEqual(flags & (1 << bit), 0, "flag bit \(bit)") }
        XCTAssertEqual(flags & (1 << 12), 0, "no framebuffer info unless asked")
        XCTAssertEqual(try memory.read32(mbi + 4), 639, "mem_lower")
        XCTAssertEqual(try memory.read32(mbi + 8), (64 << 10) - 1024, "mem_upper")
        XCTAssertEqual(try memory.cString(at: UInt64(try memory.read32(mbi + 16))), "quiet exit=21 tail")
        XCTAssertEqual(try memory.cString(at: UInt64(try memory.read32(mbi + 64))), "swiftpc")

        // Modules: page-aligned, in order, after the kernel, strings are the paths.
        XCTAssertEqual(try memory.read32(mbi + 20), 2)
        let mods = UInt64(try memory.read32(mbi + 24))
        var previousEnd = setup.kernel.upperBound
        for (i, (path, bytes)) in [(m1, pattern(5000, seed: 4)), (m2, Array("payload-from-module".utf8))].enumerated() {
            let e = mods + UInt64(i * 16)
            let start = UInt64(try memory.read32(e)), end = UInt64(try memory.read32(e + 4))
            XCTAssertEqual(start % 4096, 0)
            XCTAssertGreaterThanOrEqual(start, previousEnd)
            XCTAssertEqual(end - start, UInt64(bytes.count))
            XCTAssertEqual(try memory.read(start, count: bytes.count), bytes)
            XCTAssertEqual(try memory.cString(at: UInt64(try memory.read32(e + 8))), path)
            XCTAssertEqual(try memory.read32(e + 12), 0)
            previousEnd = end
        }
        XCTAssertEqual(setup.modules.map(\.path), [m1, m2])

        // Memory map: size-prefixed entries equal to the e820 map.
        let map = E820Map(memory: memory)
        let length = Int(try memory.read32(mbi + 44)), mmap = UInt64(try memory.read32(mbi + 48))
        var parsed: [E820Entry] = []
        var at = mmap
        while at < mmap + UInt64(length) {
            let size = try memory.read32(at)
            XCTAssertEqual(size, 20)
            let type = try XCTUnwrap(E820Type(rawValue: try memory.read32(at + 20)))
            parsed.append(E820Entry(base: try memory.read64(at + 4), size: try memory.read64(at + 12), type: type))
            at += UInt64(size) + 4
        }
        XCTAssertEqual(parsed, map.entries)
    }

    func testELFMultibootKernelLoadsByProgramHeaders() throws {
        var e = ELFBuilder()
        e.is64 = false
        e.entry = 0xC010_0010  // a higher-half virtual entry, translated through the segment
        e.segments = [.init(physical: 0x10_0000, virtual: 0xC010_0000,
                            data: multibootHeader(flags: MultibootHeader.flagMemoryInfo) + pattern(100), memorySize: 0x2000)]
        let memory = try GuestMemory(size: 16 << 20)
        let setup = try KernelLoader.load(kernel: try dir.file("elf.mb", e.build()), commandLine: "x", into: memory)
        XCTAssertEqual(setup.kind, .multiboot)
        XCTAssertEqual(setup.cpu.rip, 0x10_0010)
        XCTAssertEqual(setup.kernel, 0x10_0000..<0x10_2000)
        XCTAssertEqual(try memory.read32(0x10_0000), MultibootHeader.magic)
        XCTAssertEqual(try memory.read32(setup.bootInfoAddress + 20), 0, "no modules")
    }

    func testTextModeRequestGetsFramebufferInfo() throws {
        let flags = MultibootHeader.flagAddressFields | MultibootHeader.flagVideoMode
        let memory = try GuestMemory(size: 16 << 20)
        let setup = try KernelLoader.load(kernel: try dir.file("text.mb", multibootKludgeImage(flags: flags)), into: memory)
        let mbi = setup.bootInfoAddress
        XCTAssertNotEqual(try memory.read32(mbi) & (1 << 12), 0)
        XCTAssertEqual(try memory.read64(mbi + 88), 0xB_8000)
        XCTAssertEqual(try memory.read32(mbi + 100), 80)
        XCTAssertEqual(try memory.read32(mbi + 104), 25)
        XCTAssertEqual(try memory.read8(mbi + 109), 2, "EGA text")
    }

    func testLoadAddressErrors() throws {
        let memory = try GuestMemory(size: 16 << 20)
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("low.mb", multibootKludgeImage(load: 0x1000)),
                                                    into: memory),
                              contains: "overlaps the boot structures")
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("high.mb", multibootKludgeImage(load: 0x200_0000)),
                                                    into: memory),
                              contains: "outside guest RAM (16 MiB)")
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("hole.mb", multibootKludgeImage(load: 0xA_0000)),
                                                    into: memory),
                              contains: "outside guest RAM")
    }

    func testModuleTooBig() throws {
        let memory = try GuestMemory(size: 64 << 20)
        let big = try dir.sparseFile("big", size: 96 << 20)
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("k.mb", multibootKludgeImage()), initrd: [big],
                                                    into: memory),
                              contains: "module", "(96 MiB) does not fit", "64 MiB of memory")
    }

    func testSplitPaths() {
        XCTAssertEqual(KernelLoader.splitPaths("a,b,,c"), ["a", "b", "c"])
        XCTAssertEqual(KernelLoader.splitPaths(""), [])
    }
}
