import Foundation
import MachineCore
import XCTest
@testable import Machine

/// The bzImage loader and Linux boot configurator (boot.rst, "64-bit BOOT PROTOCOL").
final class BzImageLoaderTests: XCTestCase {
    var dir: TemporaryDirectory!
    override func setUpWithError() throws { dir = try TemporaryDirectory() }
    override func tearDown() { dir = nil }

    /// Checks the entry state and boot structures every 64-bit Linux boot shares.
    private func checkLongModeEntry(_ setup: BootSetup, memory: GuestMemory, loadAddress: UInt64,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let cpu = setup.cpu
        XCTAssertEqual(cpu.rip, loadAddress + 0x200, file: file, line: line)
        XCTAssertEqual(cpu.rsi, BootLayout.bootInfo, file: file, line: line)
        XCTAssertEqual(cpu.rflags & RFLAGS.if, 0, "interrupts must be off", file: file, line: line)
        XCTAssertEqual(cpu.cr0 & (CR0.pe | CR0.pg), CR0.pe | CR0.pg, file: file, line: line)
        XCTAssertNotEqual(cpu.cr4 & CR4.pae, 0, file: file, line: line)
        XCTAssertEqual(cpu.msr.efer & (EFER.lme | EFER.lma), EFER.lme | EFER.lma, file: file, line: line)
        XCTAssertEqual(cpu.cs.selector, 0x10, file: file, line: line)
        XCTAssertTrue(cpu.cs.l, file: file, line: line)
        XCTAssertFalse(cpu.cs.db, file: file, line: line)
        for s in [cpu.ds, cpu.es, cpu.ss] {
            XCTAssertEqual(s.selector, 0x18, file: file, line: line)
            XCTAssertEqual(s.base, 0, file: file, line: line)
            XCTAssertEqual(s.limit, 0xFFFF_FFFF, file: file, line: line)
        }
        XCTAssertGreaterThan(cpu.rsp, BootLayout.bootInfo + 0x1000, "stack above the zero page", file: file, line: line)
        XCTAssertLessThan(cpu.rsp, BootLayout.pml4, "stack below the page tables", file: file, line: line)

        // The GDT in memory agrees with the cached descriptors: 0x10 is a 64-bit code segment,
        // 0x18 a writable data segment.
        XCTAssertEqual(cpu.gdtr.base, BootLayout.gdt, file: file, line: line)
        XCTAssertGreaterThanOrEqual(Int(cpu.gdtr.limit), 0x1F, file: file, line: line)
        let code = try memory.read64(BootLayout.gdt + 0x10), data = try memory.read64(BootLayout.gdt + 0x18)
        XCTAssertEqual((code >> 40) & 0xFF, 0x9B, "present ring-0 execute/read code", file: file, line: line)
        XCTAssertEqual((code >> 53) & 1, 1, "L bit", file: file, line: line)
        XCTAssertEqual((code >> 54) & 1, 0, "D bit must be clear with L", file: file, line: line)
        XCTAssertEqual((data >> 40) & 0xFF, 0x93, "present ring-0 read/write data", file: file, line: line)

        // Walk the page tables: the first 4 GiB are identity-mapped.
        for a: UInt64 in [0, 0x7000, 0x20000, loadAddress + 0x200, 0x1234_5678, 0xBFFF_F000, 0xFFFF_FFFF] {
            let physical = try memory.translate(a, cr3: cpu.cr3)
            XCTAssertEqual(physical, a, "identity map of \(String(a, radix: 16))", file: file, line: line)
        }
        for m in setup.modules {
            let last = m.address + m.size - 1
            let physical = try memory.translate(last, cr3: cpu.cr3)
            XCTAssertEqual(physical, last, file: file, line: line)
        }
        let above = try memory.translate(0x1_0000_0000, cr3: cpu.cr3)
        XCTAssertNil(above, "nothing above 4 GiB", file: file, line: line)
    }

    private func checkE820(_ memory: GuestMemory, expected: E820Map, file: StaticString = #filePath, line: UInt = #line) throws {
        let zp = BootLayout.bootInfo
        XCTAssertEqual(Int(try memory.read8(zp + 0x1E8)), expected.entries.count, file: file, line: line)
        for (i, e) in expected.entries.enumerated() {
            let a = zp + 0x2D0 + UInt64(i * 20)
            XCTAssertEqual(try memory.read64(a), e.base, file: file, line: line)
            XCTAssertEqual(try memory.read64(a + 8), e.size, file: file, line: line)
            XCTAssertEqual(try memory.read32(a + 16), e.type.rawValue, file: file, line: line)
        }
    }

    func testRealDebianKernel() throws {
        let kernel = try GuestImages.kernel()
        var initrd = try dir.file("initrd", pattern(100_000))
        if let built = try? GuestImages.initramfs() { initrd = built }
        let initrdBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: initrd)))
        let fileBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: kernel)))
        let memory = try GuestMemory(size: 256 << 20)
        let line = "console=ttyS0 earlyprintk=serial panic=-1 swiftpc.test=1"
        let setup = try KernelLoader.load(kernel: kernel, initrd: [initrd], commandLine: line, into: memory)
        XCTAssertEqual(setup.kind, .bzImage)

        let zp = BootLayout.bootInfo
        let pref = try XCTUnwrap(ByteView(fileBytes).u64(SetupHeader.prefAddress))
        let initrdMax = try XCTUnwrap(ByteView(fileBytes).u32(SetupHeader.initrdAddrMax))
        let initSize = try XCTUnwrap(ByteView(fileBytes).u32(SetupHeader.initSize))
        // 256 MiB has room at the preferred address.
        let load = setup.kernel.lowerBound
        XCTAssertEqual(load, pref)
        XCTAssertEqual(setup.kernel.upperBound, pref + UInt64(initSize))

        // The protected-mode kernel is at the load address.
        let offset = (Int(fileBytes[SetupHeader.setupSects]) + 1) * 512
        XCTAssertEqual(try memory.read(load, count: 4096), Array(fileBytes[offset..<(offset + 4096)]))

        // Zero page: the header copied, then the loader's fields.
        XCTAssertEqual(try memory.read16(zp + 0x1FE), 0xAA55)
        XCTAssertEqual(try memory.read32(zp + 0x202), 0x5372_6448)
        XCTAssertEqual(try memory.read16(zp + 0x206), ByteView(fileBytes).u16(0x206))
        XCTAssertEqual(try memory.read32(zp + 0x22C), initrdMax)
        XCTAssertEqual(try memory.read8(zp + 0x210), 0xFF, "type_of_loader")
        let loadflags = try memory.read8(zp + 0x211)
        XCTAssertNotEqual(loadflags & SetupHeader.canUseHeap, 0)
        XCTAssertNotEqual(loadflags & SetupHeader.loadedHigh, 0)
        XCTAssertEqual(loadflags & SetupHeader.keepSegments, 0)
        XCTAssertEqual(try memory.read16(zp + 0x224), 0xFE00, "heap_end_ptr")
        XCTAssertEqual(try memory.read16(zp + 0x1FA), 0xFFFF, "vid_mode")
        XCTAssertEqual(try memory.read32(zp + 0x214), UInt32(load), "code32_start")

        let cmdPtr = UInt64(try memory.read32(zp + 0x228)) | UInt64(try memory.read32(zp + 0xC8)) << 32
        XCTAssertEqual(cmdPtr, BootLayout.commandLine)
        XCTAssertEqual(try memory.cString(at: cmdPtr), line)

        // The initrd: page-aligned, under initrd_addr_max and the end of RAM, above the kernel.
        let rdImage = UInt64(try memory.read32(zp + 0x218)) | UInt64(try memory.read32(zp + 0xC0)) << 32
        let rdSize = UInt64(try memory.read32(zp + 0x21C)) | UInt64(try memory.read32(zp + 0xC4)) << 32
        XCTAssertEqual(rdSize, (UInt64(initrdBytes.count) + 3) & ~3)
        XCTAssertEqual(rdImage % 4096, 0)
        XCTAssertLessThanOrEqual(rdImage + rdSize - 1, UInt64(initrdMax))
        XCTAssertLessThanOrEqual(rdImage + rdSize, 256 << 20)
        XCTAssertGreaterThanOrEqual(rdImage, setup.kernel.upperBound)
        XCTAssertGreaterThan(rdImage + rdSize + 4096, 256 << 20, "as high as possible")
        XCTAssertEqual(try memory.read(rdImage, count: initrdBytes.count), initrdBytes)
        XCTAssertEqual(setup.modules, [LoadedModule(path: initrd, address: rdImage, size: rdSize)])

        try checkE820(memory, expected: E820Map(memory: memory))
        XCTAssertEqual(try memory.read8(zp + 0x1E8), 4)
        try checkLongModeEntry(setup, memory: memory, loadAddress: load)
    }

    func testDebianKernelDoesNotFitIn64MiB() throws {
        let kernel = try GuestImages.kernel()
        let memory = try GuestMemory(size: 64 << 20)
        XCTAssertMachineError(try KernelLoader.load(kernel: kernel, into: memory), contains: "kernel needs RAM up to",
                              "64 MiB")
    }

    func testSyntheticKernelLayoutAndHighMemoryMap() throws {
        let builder = BzImageBuilder()
        let kernel = try dir.file("bz", builder.build())
        let initrd = try dir.file("rd", pattern(5000, seed: 9))
        let memory = try GuestMemory(size: 5 << 30)
        let setup = try KernelLoader.load(kernel: kernel, initrd: [initrd], commandLine: "root=/dev/ram0", into: memory)
        XCTAssertEqual(setup.kernel, 0x100_0000..<0x180_0000)
        XCTAssertEqual(try memory.read(0x100_0000, count: builder.kernelSize), builder.kernelBytes)
        // initrd_addr_max 0x7FFFFFFF caps it below 2 GiB even with 3 GiB of low RAM.
        let rd = try XCTUnwrap(setup.modules.first)
        XCTAssertEqual(rd.address, 0x8000_0000 - 0x2000)
        XCTAssertEqual(rd.size, 5000)
        XCTAssertEqual(try memory.read(rd.address, count: 5000), pattern(5000, seed: 9))
        // The e820 table names the RAM above 4 GiB.
        try checkE820(memory, expected: E820Map(memory: memory))
        XCTAssertEqual(try memory.read8(BootLayout.bootInfo + 0x1E8), 5)
        XCTAssertEqual(try memory.read64(BootLayout.bootInfo + 0x2D0 + 4 * 20), 0x1_0000_0000)
        XCTAssertEqual(try memory.read64(BootLayout.bootInfo + 0x2D0 + 4 * 20 + 8), 2 << 30)
        try checkLongModeEntry(setup, memory: memory, loadAddress: 0x100_0000)
    }

    func testSeveralInitrdFilesAreConcatenatedAndTheBoardMapIsUsed() throws {
        let kernel = try dir.file("bz", BzImageBuilder().build())
        let a = try dir.file("a", pattern(4097, seed: 1)), b = try dir.file("b", pattern(100, seed: 2))
        let memory = try GuestMemory(size: 128 << 20)
        var map = E820Map(memory: memory)
        map.reserve(base: (128 << 20) - 0x10_0000, size: 0x10_0000, as: .acpi)  // board tables at the top
        let setup = try KernelLoader.load(kernel: kernel, initrd: "\(a),\(b)", commandLine: "", into: memory,
                                          memoryMap: map, rsdpAddress: 0xF_0000)
        let rd = try XCTUnwrap(setup.modules.first)
        XCTAssertEqual(rd.size, 4100 + 100)
        XCTAssertLessThanOrEqual(rd.address + rd.size, (128 << 20) - 0x10_0000, "initrd stays out of the ACPI range")
        XCTAssertEqual(try memory.read(rd.address, count: 4097), pattern(4097, seed: 1))
        XCTAssertEqual(try memory.read(rd.address + 4097, count: 3), [0, 0, 0], "padding to 4 bytes")
        XCTAssertEqual(try memory.read(rd.address + 4100, count: 100), pattern(100, seed: 2))
        try checkE820(memory, expected: map)
        XCTAssertEqual(try memory.read64(BootLayout.bootInfo + UInt64(ZeroPage.acpiRsdpAddr)), 0xF_0000)
        XCTAssertEqual(try memory.cString(at: BootLayout.commandLine), "")
    }

    func testInitrdTooBig() throws {
        let kernel = try dir.file("bz", BzImageBuilder().build())
        let initrd = try dir.sparseFile("big", size: 48 << 20)
        let memory = try GuestMemory(size: 64 << 20)
        XCTAssertMachineError(try KernelLoader.load(kernel: kernel, initrd: [initrd], into: memory),
                              contains: "initrd (48 MiB) does not fit below", "in 64 MiB of memory") {
            if case .memory = $0 { return true } else { return false }
        }
        // 40 MiB fits between the kernel's end (24 MiB) and 64 MiB.
        let fits = try dir.sparseFile("fits", size: 40 << 20)
        let setup = try KernelLoader.load(kernel: kernel, initrd: [fits], into: memory)
        XCTAssertEqual(setup.modules.first?.address, 24 << 20)
    }

    func testInitrdHonoursInitrdAddrMax() throws {
        var b = BzImageBuilder()
        b.initrdAddrMax = 0x37FF_FFFF  // an old kernel's limit: below 896 MiB
        let kernel = try dir.file("bz", b.build())
        let initrd = try dir.file("rd", pattern(0x3000))
        let memory = try GuestMemory(size: 2 << 30)
        let setup = try KernelLoader.load(kernel: kernel, initrd: [initrd], into: memory)
        XCTAssertEqual(setup.modules.first?.address, 0x3800_0000 - 0x3000)
    }

    func testCommandLineLongerThanCmdlineSize() throws {
        var b = BzImageBuilder()
        b.cmdlineSize = 16
        let kernel = try dir.file("bz", b.build())
        let memory = try GuestMemory(size: 64 << 20)
        XCTAssertNoThrow(try KernelLoader.load(kernel: kernel, commandLine: String(repeating: "x", count: 16), into: memory))
        XCTAssertMachineError(try KernelLoader.load(kernel: kernel, commandLine: String(repeating: "x", count: 17), into: memory),
                              contains: "17 bytes", "at most 16")
    }

    func testFallsBackToLowAlignedAddressWhenPreferredAddressIsUnusable() throws {
        var b = BzImageBuilder()
        b.prefAddress = 0x1_0000  // inside the loader's boot structures
        b.initSize = 0x40_0000
        let memory = try GuestMemory(size: 64 << 20)
        let setup = try KernelLoader.load(kernel: try dir.file("bz", b.build()), into: memory)
        XCTAssertEqual(setup.kernel.lowerBound, 0x20_0000, "1 MiB rounded up to kernel_alignment")
        XCTAssertEqual(setup.cpu.rip, 0x20_0200)

        b.relocatable = 0
        XCTAssertMachineError(try KernelLoader.load(kernel: try dir.file("bz2", b.build()), into: memory),
                              contains: "kernel needs RAM")
    }

    /// Checks the entry state of the 32-bit boot protocol (boot.rst, "32-bit BOOT PROTOCOL").
    private func checkProtectedModeEntry(_ setup: BootSetup, memory: GuestMemory, loadAddress: UInt64,
                                         file: StaticString = #filePath, line: UInt = #line) throws {
        let cpu = setup.cpu
        XCTAssertEqual(cpu.rip, loadAddress, "code32_start", file: file, line: line)
        XCTAssertEqual(setup.entryPoint, loadAddress, file: file, line: line)
        XCTAssertEqual(cpu.rsi, BootLayout.bootInfo, "ESI: the zero page", file: file, line: line)
        XCTAssertEqual([cpu.rbx, cpu.rbp, cpu.rdi], [0, 0, 0], "EBX, EBP and EDI must be zero", file: file, line: line)
        XCTAssertEqual(cpu.rflags & RFLAGS.if, 0, "interrupts must be off", file: file, line: line)
        XCTAssertEqual(cpu.cr0 & (CR0.pe | CR0.pg), CR0.pe, "protected mode, paging off", file: file, line: line)
        XCTAssertEqual(cpu.msr.efer & (EFER.lme | EFER.lma), 0, file: file, line: line)
        XCTAssertEqual(cpu.cs.selector, 0x10, "__BOOT_CS", file: file, line: line)
        XCTAssertTrue(cpu.cs.db, file: file, line: line)
        XCTAssertFalse(cpu.cs.l, file: file, line: line)
        for s in [cpu.cs, cpu.ds, cpu.es, cpu.ss] {
            XCTAssertEqual(s.base, 0, file: file, line: line)
            XCTAssertEqual(s.limit, 0xFFFF_FFFF, file: file, line: line)
        }
        for s in [cpu.ds, cpu.es, cpu.ss] { XCTAssertEqual(s.selector, 0x18, "__BOOT_DS", file: file, line: line) }
        // The GDT in memory: 0x10 a flat 32-bit execute/read segment, 0x18 flat read/write.
        XCTAssertEqual(cpu.gdtr.base, BootLayout.gdt, file: file, line: line)
        XCTAssertEqual(try memory.read64(BootLayout.gdt + 0x10), 0x00CF_9B00_0000_FFFF, file: file, line: line)
        XCTAssertEqual(try memory.read64(BootLayout.gdt + 0x18), 0x00CF_9300_0000_FFFF, file: file, line: line)
        XCTAssertEqual(try memory.read32(BootLayout.bootInfo + UInt64(SetupHeader.code32Start)), UInt32(loadAddress),
                       file: file, line: line)
    }

    func testThirtyTwoBitKernelIsEnteredInProtectedModeAtCode32Start() throws {
        var b = BzImageBuilder()
        b.xloadflags = 0
        let kernel = try dir.file("bz32", b.build())
        let initrd = try dir.file("rd", pattern(3000, seed: 3))
        let memory = try GuestMemory(size: 64 << 20)
        let setup = try KernelLoader.load(kernel: kernel, initrd: [initrd], commandLine: "console=ttyS0", into: memory)
        XCTAssertEqual(setup.kind, .bzImage)
        XCTAssertEqual(setup.kernel, 0x100_0000..<0x180_0000)
        XCTAssertEqual(try memory.read(0x100_0000, count: b.kernelSize), b.kernelBytes)
        try checkProtectedModeEntry(setup, memory: memory, loadAddress: 0x100_0000)
        XCTAssertEqual(try memory.cString(at: UInt64(try memory.read32(BootLayout.bootInfo + 0x228))), "console=ttyS0")
        XCTAssertEqual(UInt64(try memory.read32(BootLayout.bootInfo + 0x218)), setup.modules.first?.address)
        try checkE820(memory, expected: E820Map(memory: memory))
    }

    func testRealDebian686Kernel() throws {
        let kernel = try GuestImages.kernel686()
        let fileBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: kernel)))
        XCTAssertEqual(try XCTUnwrap(ByteView(fileBytes).u16(SetupHeader.xloadflags)) & SetupHeader.xlfKernel64, 0,
                       "the 686-pae kernel has no 64-bit entry")
        let memory = try GuestMemory(size: 128 << 20)
        let setup = try KernelLoader.load(kernel: kernel, initrd: [try GuestImages.initramfs686()],
                                          commandLine: "console=ttyS0", into: memory)
        let pref = try XCTUnwrap(ByteView(fileBytes).u64(SetupHeader.prefAddress))
        XCTAssertEqual(setup.kernel.lowerBound, pref)
        let offset = (Int(fileBytes[SetupHeader.setupSects]) + 1) * 512
        XCTAssertEqual(try memory.read(pref, count: 4096), Array(fileBytes[offset..<(offset + 4096)]))
        try checkProtectedModeEntry(setup, memory: memory, loadAddress: pref)
    }

    func testMissingInitrdFile() throws {
        let kernel = try dir.file("bz", BzImageBuilder().build())
        let memory = try GuestMemory(size: 64 << 20)
        XCTAssertMachineError(try KernelLoader.load(kernel: kernel, initrd: ["/nonexistent/initrd"], into: memory),
                              contains: "/nonexistent/initrd") {
            if case .unreadableFile = $0 { return true } else { return false }
        }
    }
}
