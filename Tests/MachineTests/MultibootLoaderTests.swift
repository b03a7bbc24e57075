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
        // The kernel's path comes first, as GRUB and QEMU pass it (programs take it as argv[0]).
        XCTAssertEqual(try memory.cString(at: UInt64(try memory.read32(mbi + 16))), "\(kernel) quiet exit=21 tail")
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

    func testCommandLineWithoutArgumentsIsThePath() throws {
        let kernel = try dir.file("bare.mb", multibootKludgeImage())
        let memory = try GuestMemory(size: 16 << 20)
        let setup = try KernelLoader.load(kernel: kernel, into: memory)
        XCTAssertEqual(try memory.cString(at: UInt64(try memory.read32(setup.bootInfoAddress + 16))), kernel)
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
        // Only the interrupt vector table and BIOS data area below 0x500 are fixed.
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("low.mb", multibootKludgeImage(load: 0x100)),
                                                    into: memory),
                              contains: "at 0x100-0x5100", "overlaps the interrupt vector table and BIOS data area at 0x0-0x500")
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("high.mb", multibootKludgeImage(load: 0x200_0000)),
                                                    into: memory),
                              contains: "outside guest RAM (16 MiB)")
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("hole.mb", multibootKludgeImage(load: 0xA_0000)),
                                                    into: memory),
                              contains: "outside guest RAM")
    }

    /// Checks that nothing the loader wrote for a multiboot kernel overlaps `kernel`.
    private func checkStructuresOutside(_ kernel: [Range<UInt64>], setup: BootSetup, memory: GuestMemory,
                                        file: StaticString = #filePath, line: UInt = #line) throws {
        let mbi = setup.bootInfoAddress
        var written: [(String, Range<UInt64>)] = [
            ("info", mbi..<(mbi + UInt64(MultibootInfo.size))),
            ("cmdline", setup.commandLineAddress..<(setup.commandLineAddress + UInt64(try memory.cString(at: setup.commandLineAddress).utf8.count + 1))),
            ("GDT", setup.cpu.gdtr.base..<(setup.cpu.gdtr.base + UInt64(setup.cpu.gdtr.limit) + 1)),
            ("stack top", (setup.cpu.rsp - 16)..<setup.cpu.rsp),
        ]
        let mmap = UInt64(try memory.read32(mbi + 48)), mmapLength = UInt64(try memory.read32(mbi + 44))
        written.append(("mmap", mmap..<(mmap + mmapLength)))
        let count = UInt64(try memory.read32(mbi + 20)), mods = UInt64(try memory.read32(mbi + 24))
        if count > 0 { written.append(("module list", mods..<(mods + count * 16))) }
        let name = UInt64(try memory.read32(mbi + 64))
        written.append(("loader name", name..<(name + 8)))
        for m in setup.modules { written.append(("module \(m.path)", m.range)) }
        for (what, range) in written {
            for k in kernel {
                XCTAssertFalse(range.overlaps(k), "\(what) at \(range) overlaps the kernel at \(k)", file: file, line: line)
            }
            XCTAssertGreaterThanOrEqual(range.lowerBound, 0x500, "\(what) clobbers the BIOS data area", file: file, line: line)
        }
        for (i, a) in written.enumerated() {
            for b in written[(i + 1)...] where a.1.overlaps(b.1) { XCTFail("\(a.0) overlaps \(b.0)", file: file, line: line) }
        }
    }

    /// An ELF kernel linked at 0x8000, right where fixed boot structures used to be: the loader
    /// puts the information, command line, GDT, stack and modules around it.
    func testELFKernelLinkedLowGetsItsStructuresElsewhere() throws {
        var e = ELFBuilder()
        e.is64 = false
        e.entry = 0x8010
        e.segments = [.init(physical: 0x8000, virtual: 0x8000,
                            data: multibootHeader(flags: MultibootHeader.flagMemoryInfo) + pattern(0x100), memorySize: 0x2_0000)]
        let kernel = try dir.file("low.elf", e.build())
        let module = try dir.file("mod", pattern(0x3000, seed: 8))
        let memory = try GuestMemory(size: 16 << 20)
        let setup = try KernelLoader.load(kernel: kernel, initrd: [module], commandLine: "x=1", into: memory)
        XCTAssertEqual(setup.cpu.rip, 0x8010)
        XCTAssertEqual(setup.kernel, 0x8000..<0x2_8000)
        XCTAssertEqual(try memory.read32(0x8000), MultibootHeader.magic, "the image is intact")
        XCTAssertEqual(try memory.read(0x8000 + 48, count: 0x100), pattern(0x100))
        XCTAssertEqual(try memory.cString(at: setup.commandLineAddress), "\(kernel) x=1")
        XCTAssertEqual(try memory.read(setup.modules[0].address, count: 0x3000), pattern(0x3000, seed: 8))
        try checkStructuresOutside([0x8000..<0x2_8000], setup: setup, memory: memory)
    }

    /// A kernel that fills conventional memory leaves room only above 1 MiB; two segments with a
    /// gap between them: the gap is free.
    func testStructuresGoAboveAKernelThatFillsLowMemory() throws {
        var e = ELFBuilder()
        e.is64 = false
        e.entry = 0x600
        e.segments = [.init(physical: 0x500, virtual: 0x500,
                            data: multibootHeader(flags: MultibootHeader.flagMemoryInfo) + pattern(0x40), memorySize: 0x9_F700),
                      .init(physical: 0x20_0000, virtual: 0x20_0000, data: pattern(0x10), memorySize: 0x1000)]
        let memory = try GuestMemory(size: 16 << 20)
        let setup = try KernelLoader.load(kernel: try dir.file("fill.elf", e.build()), commandLine: "a b", into: memory)
        let kernel: [Range<UInt64>] = [0x500..<0x9_FC00, 0x20_0000..<0x20_1000]
        try checkStructuresOutside(kernel, setup: setup, memory: memory)
        XCTAssertGreaterThanOrEqual(setup.bootInfoAddress, 0x10_0000)
        XCTAssertLessThan(setup.bootInfoAddress, 0x20_0000, "the lowest free RAM: between the segments")
    }

    func testDefaultKernelKeepsStructuresOutsideTheImage() throws {
        let kernel = try dir.file("k.mb", multibootKludgeImage())
        let module = try dir.file("m", pattern(100))
        let memory = try GuestMemory(size: 16 << 20)
        let setup = try KernelLoader.load(kernel: kernel, initrd: [module], commandLine: "c", into: memory)
        try checkStructuresOutside([setup.kernel], setup: setup, memory: memory)
    }

    func testModuleTooBig() throws {
        let memory = try GuestMemory(size: 64 << 20)
        let big = try dir.sparseFile("big", size: 96 << 20)
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("k.mb", multibootKludgeImage()), initrd: [big],
                                                    into: memory),
                              contains: "module", "(96 MiB) does not fit", "64 MiB of memory", "0x100000-0x105000")
    }

    func testSplitPaths() {
        XCTAssertEqual(KernelLoader.splitPaths("a,b,,c"), ["a", "b", "c"])
        XCTAssertEqual(KernelLoader.splitPaths(""), [])
    }
}
