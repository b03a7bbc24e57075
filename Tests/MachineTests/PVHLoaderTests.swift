import Foundation
import MachineCore
import XCTest
@testable import Machine

/// The ELF/PVH loader and hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h).
final class PVHLoaderTests: XCTestCase {
    var dir: TemporaryDirectory!
    override func setUpWithError() throws { dir = try TemporaryDirectory() }
    override func tearDown() { dir = nil }

    /// A vmlinux-like image: text at 16 MiB linked high, data with a bss, the PVH note.
    private func vmlinux() -> ELFBuilder {
        var e = ELFBuilder()
        e.entry = 0xFFFF_FFFF_8100_0000
        e.segments = [
            .init(physical: 0x100_0000, virtual: 0xFFFF_FFFF_8100_0000, data: pattern(0x1800, seed: 1), memorySize: 0x1800),
            .init(physical: 0x100_2000, virtual: 0xFFFF_FFFF_8100_2000, data: pattern(0x100, seed: 2), memorySize: 0x3000),
        ]
        e.notes = [ELFBuilder.pvhNote(0x100_0040, wide: true)]
        return e
    }

    func testStartInfoModuleMemmapAndEntryState() throws {
        let kernel = try dir.file("vmlinux", vmlinux().build())
        let initrd = try dir.file("initrd", pattern(10_000, seed: 3))
        let memory = try GuestMemory(size: 64 << 20)
        // Garbage where the bss goes, to see it zeroed.
        try memory.fill(0x100_2000, count: 0x3000, with: 0xCC)
        let setup = try KernelLoader.load(kernel: kernel, initrd: [initrd], commandLine: "console=hvc0 pvh", into: memory)
        XCTAssertEqual(setup.kind, .pvh)
        XCTAssertEqual(setup.kernel, 0x100_0000..<0x100_5000)

        // Segments at p_paddr, bss zeroed.
        XCTAssertEqual(try memory.read(0x100_0000, count: 0x1800), pattern(0x1800, seed: 1))
        XCTAssertEqual(try memory.read(0x100_2000, count: 0x100), pattern(0x100, seed: 2))
        XCTAssertEqual(try memory.read(0x100_2100, count: 0x2F00), [UInt8](repeating: 0, count: 0x2F00))

        // hvm_start_info.
        let si = setup.cpu.rbx
        XCTAssertEqual(si, BootLayout.bootInfo)
        XCTAssertEqual(try memory.read32(si), 0x336E_C578, "magic")
        XCTAssertEqual(try memory.read32(si + 4), 1, "version")
        XCTAssertEqual(try memory.read32(si + 8), 0, "flags")
        XCTAssertEqual(try memory.read32(si + 12), 1, "nr_modules")
        XCTAssertEqual(try memory.cString(at: try memory.read64(si + 24)), "console=hvc0 pvh")
        XCTAssertEqual(try memory.read64(si + 32), 0, "rsdp_paddr")
        XCTAssertEqual(try memory.read32(si + 52), 0, "reserved")

        // Module list: the initrd, high in RAM, above the kernel.
        let mod = try memory.read64(si + 16)
        let paddr = try memory.read64(mod), size = try memory.read64(mod + 8)
        XCTAssertEqual(size, 10_000)
        XCTAssertEqual(paddr % 4096, 0)
        XCTAssertGreaterThanOrEqual(paddr, setup.kernel.upperBound)
        XCTAssertEqual(paddr, ((64 << 20) - 10_000) & ~0xFFF)
        XCTAssertEqual(try memory.read64(mod + 16), 0, "module cmdline")
        XCTAssertEqual(try memory.read(paddr, count: 10_000), pattern(10_000, seed: 3))

        // Memory map: version-1 entries equal to the e820 map.
        let map = E820Map(memory: memory)
        let mm = try memory.read64(si + 40)
        XCTAssertEqual(Int(try memory.read32(si + 48)), map.entries.count)
        for (i, e) in map.entries.enumerated() {
            let a = mm + UInt64(i * 24)
            XCTAssertEqual(try memory.read64(a), e.base)
            XCTAssertEqual(try memory.read64(a + 8), e.size)
            XCTAssertEqual(try memory.read32(a + 16), e.type.rawValue)
            XCTAssertEqual(try memory.read32(a + 20), 0)
        }

        // 32-bit flat protected mode, paging off, at the note's entry.
        let cpu = setup.cpu
        XCTAssertEqual(cpu.rip, 0x100_0040)
        XCTAssertEqual(setup.entryPoint, 0x100_0040)
        XCTAssertEqual(cpu.cr0 & CR0.pe, CR0.pe)
        XCTAssertEqual(cpu.cr0 & CR0.pg, 0)
        XCTAssertEqual(cpu.cr4, 0)
        XCTAssertEqual(cpu.msr.efer, 0)
        XCTAssertEqual(cpu.rflags & RFLAGS.if, 0)
        XCTAssertTrue(cpu.cs.db)
        XCTAssertFalse(cpu.cs.l)
        XCTAssertEqual(cpu.cs.limit, 0xFFFF_FFFF)
        XCTAssertEqual(cpu.cs.selector, 0x10)
        XCTAssertEqual(cpu.ss.selector, 0x18)
        XCTAssertEqual(cpu.tr.limit, 0x67)
        XCTAssertFalse(cpu.tr.s)
        // The GDT's code descriptor is 32-bit (D set, L clear).
        let code = try memory.read64(BootLayout.gdt + 0x10)
        XCTAssertEqual((code >> 53) & 3, 2, "D=1, L=0")
    }

    func testNoInitrdAndRSDP() throws {
        var e = vmlinux()
        e.is64 = false
        e.entry = 0x100_0000
        for i in e.segments.indices { e.segments[i].virtual = e.segments[i].physical }
        e.notes = [ELFBuilder.pvhNote(0x100_0000, wide: false)]
        e.notesInSection = true
        let memory = try GuestMemory(size: 32 << 20)
        let setup = try KernelLoader.load(kernel: try dir.file("elf32", e.build()), into: memory, rsdpAddress: 0xE_0000)
        XCTAssertEqual(try memory.read32(setup.bootInfoAddress + 12), 0, "nr_modules")
        XCTAssertEqual(try memory.read64(setup.bootInfoAddress + 16), 0, "modlist_paddr")
        XCTAssertEqual(try memory.read64(setup.bootInfoAddress + 32), 0xE_0000, "rsdp_paddr")
        XCTAssertEqual(setup.cpu.rip, 0x100_0000)
    }

    func testSegmentOutsideRAM() throws {
        var e = vmlinux()
        e.segments[1].physical = 0x800_0000  // 128 MiB in a 64 MiB machine
        let memory = try GuestMemory(size: 64 << 20)
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("far", e.build()), into: memory),
                              contains: "ELF segment 1", "outside guest RAM (64 MiB)")
    }

    func testSegmentOverBootStructures() throws {
        var e = vmlinux()
        e.segments[0].physical = 0x1000
        let memory = try GuestMemory(size: 64 << 20)
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("low", e.build()), into: memory),
                              contains: "overlaps the boot structures")
    }

    func testEntryOutsideSegments() throws {
        var e = vmlinux()
        e.notes = [ELFBuilder.pvhNote(0x200_0000, wide: true)]
        let memory = try GuestMemory(size: 64 << 20)
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("entry", e.build()), into: memory),
                              contains: "PVH entry point 0x2000000 is outside")
    }

    func testInitrdTooBig() throws {
        let memory = try GuestMemory(size: 32 << 20)
        let big = try dir.sparseFile("big", size: 20 << 20)
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("vmlinux", vmlinux().build()), initrd: [big],
                                                    into: memory),
                              contains: "initrd (20 MiB) does not fit", "32 MiB of memory")
    }
}
