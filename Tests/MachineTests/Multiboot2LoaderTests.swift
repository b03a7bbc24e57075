import Foundation
import MachineCore
import XCTest
@testable import Machine

/// A Multiboot2 header (Multiboot2 Specification 2.0 §3.1): the fixed part, then the tags
/// (each 8-byte aligned), then the end tag.
func multiboot2Header(tags: [(type: UInt16, flags: UInt16, body: [UInt8])], checksumDelta: UInt32 = 0,
                      architecture: UInt32 = 0) -> [UInt8] {
    var b = ImageBuffer(count: 16)
    for t in tags + [(type: 0, flags: 0, body: [])] {
        let at = b.bytes.count
        b.put16(at, t.type); b.put16(at + 2, t.flags); b.put32(at + 4, UInt32(8 + t.body.count))
        b.put(at + 8, t.body)
        b.ensure((b.bytes.count + 7) / 8 * 8)
    }
    let length = UInt32(b.bytes.count)
    b.put32(0, Multiboot2Header.magic); b.put32(4, architecture); b.put32(8, length)
    b.put32(12, (0 &- Multiboot2Header.magic &- architecture &- length) &+ checksumDelta)
    return b.bytes
}

func words(_ values: UInt32...) -> [UInt8] {
    var b = ImageBuffer(count: 0)
    for (i, v) in values.enumerated() { b.put32(i * 4, v) }
    return b.bytes
}

/// An a.out-style Multiboot2 image loaded at `load`: the header first, address and entry tags.
func multiboot2KludgeImage(load: UInt32 = 0x10_0000, size: Int = 0x3000, bss: UInt32 = 0x1000,
                           extraTags: [(type: UInt16, flags: UInt16, body: [UInt8])] = []) -> [UInt8] {
    var b = ImageBuffer(pattern(size, seed: 0x44))
    let tags = extraTags + [(type: 2, flags: 0, body: words(load, load, 0, load + UInt32(size) + bss)),
                            (type: 3, flags: 0, body: words(load + 0x100))]
    b.put(0, multiboot2Header(tags: tags))
    return b.bytes
}

final class Multiboot2LoaderTests: XCTestCase {
    var dir: TemporaryDirectory!
    override func setUpWithError() throws { dir = try TemporaryDirectory() }
    override func tearDown() { dir = nil }

    /// The information's tags as (type, body) after checking the framing.
    private func tags(at address: UInt64, in memory: GuestMemory, file: StaticString = #filePath,
                      line: UInt = #line) throws -> [(type: UInt32, body: [UInt8])] {
        XCTAssertEqual(address % 8, 0, "the information is 8-byte aligned", file: file, line: line)
        let total = UInt64(try memory.read32(address))
        var out: [(UInt32, [UInt8])] = []
        var at = address + 8
        while at < address + total {
            XCTAssertEqual(at % 8, 0, file: file, line: line)
            let type = try memory.read32(at), size = UInt64(try memory.read32(at + 4))
            out.append((type, try memory.read(at + 8, count: Int(size) - 8)))
            if type == 0 {
                XCTAssertEqual(size, 8, file: file, line: line)
                XCTAssertEqual(at + 8, address + total, "total_size ends with the end tag", file: file, line: line)
                return out
            }
            at += (size + 7) & ~7
        }
        XCTFail("no end tag", file: file, line: line)
        return out
    }

    func testKludgeImageGetsEveryInformationTag() throws {
        let image = multiboot2KludgeImage(extraTags: [(type: 1, flags: 0, body: words(1, 2, 3, 4, 6, 14))])
        let kernel = try dir.file("k.mb2", image)
        let m1 = try dir.file("one", pattern(5000, seed: 4)), m2 = try dir.file("two", Array("second".utf8))
        let memory = try GuestMemory(size: 64 << 20)
        let rsdp = Array("RSD PTR ".utf8) + [0x12] + Array("SWIFPC".utf8) + [0] + [0x40, 0, 0x0E, 0]
        try memory.write(rsdp, at: 0xE_0000)
        let setup = try KernelLoader.load(kernel: kernel, initrd: "\(m1),\(m2)", commandLine: "a=1 b", into: memory,
                                          rsdpAddress: 0xE_0000)
        XCTAssertEqual(setup.kind, .multiboot2)
        XCTAssertEqual(setup.cpu.rax, 0x36D7_6289)
        XCTAssertEqual(setup.cpu.rip, 0x10_0100)
        XCTAssertEqual(setup.cpu.cr0 & (CR0.pe | CR0.pg), CR0.pe)
        XCTAssertTrue(setup.cpu.cs.db)
        XCTAssertEqual(setup.kernel, 0x10_0000..<0x10_4000)
        XCTAssertEqual(try memory.read(0x10_0000 + 0x100, count: 0x100), Array(image[0x100..<0x200]))
        XCTAssertEqual(try memory.read(0x10_3000, count: 0x1000), [UInt8](repeating: 0, count: 0x1000), "bss")

        let info = setup.cpu.rbx
        XCTAssertEqual(info, setup.bootInfoAddress)
        XCTAssertFalse((0x10_0000..<0x10_4000).contains(info))
        let t = try tags(at: info, in: memory)
        func body(_ type: UInt32) -> [[UInt8]] { t.filter { $0.type == type }.map(\.body) }
        func string(_ b: [UInt8]) -> String { String(decoding: b.prefix { $0 != 0 }, as: UTF8.self) }
        XCTAssertEqual(body(1).map(string), ["\(kernel) a=1 b"])
        XCTAssertEqual(try memory.cString(at: setup.commandLineAddress), "\(kernel) a=1 b")
        XCTAssertEqual(body(2).map(string), ["swiftpc"])
        let mods = body(3)
        XCTAssertEqual(mods.count, 2)
        for (m, (path, bytes)) in zip(mods, [(m1, pattern(5000, seed: 4)), (m2, Array("second".utf8))]) {
            let v = ByteView(m)
            let start = UInt64(try XCTUnwrap(v.u32(0))), end = UInt64(try XCTUnwrap(v.u32(4)))
            XCTAssertEqual(start % 4096, 0)
            XCTAssertEqual(end - start, UInt64(bytes.count))
            XCTAssertEqual(try memory.read(start, count: bytes.count), bytes)
            XCTAssertEqual(string(Array(m[8...])), path)
        }
        XCTAssertEqual(body(4).first.map { ByteView($0).u32(0) }, 639)
        XCTAssertEqual(body(4).first.map { ByteView($0).u32(4) }, (64 << 10) - 1024)
        let mmap = try XCTUnwrap(body(6).first)
        let v = ByteView(mmap)
        XCTAssertEqual(v.u32(0), 24, "entry_size")
        XCTAssertEqual(v.u32(4), 0, "entry_version")
        var parsed: [E820Entry] = []
        for i in 0..<((mmap.count - 8) / 24) {
            let e = 8 + i * 24
            parsed.append(E820Entry(base: v.u64(e)!, size: v.u64(e + 8)!, type: try XCTUnwrap(E820Type(rawValue: v.u32(e + 16)!))))
        }
        XCTAssertEqual(parsed, E820Map(memory: memory).entries)
        XCTAssertEqual(body(14), [rsdp], "a revision-0 RSDP is copied whole into the old-ACPI tag")
        XCTAssertTrue(body(15).isEmpty)
        XCTAssertTrue(body(8).isEmpty, "no framebuffer")
    }

    func testNoRSDPNoACPITagAndARevision2RSDPGoesInTheNewTag() throws {
        let kernel = try dir.file("k.mb2", multiboot2KludgeImage())
        var memory = try GuestMemory(size: 16 << 20)
        var setup = try KernelLoader.load(kernel: kernel, into: memory)
        var t = try tags(at: setup.bootInfoAddress, in: memory)
        XCTAssertFalse(t.contains { $0.type == 14 || $0.type == 15 })

        memory = try GuestMemory(size: 16 << 20)
        var rsdp = ImageBuffer(count: 36)
        rsdp.put(0, Array("RSD PTR ".utf8)); rsdp.put8(15, 2); rsdp.put32(20, 36); rsdp.put64(24, 0xE_1000)
        try memory.write(rsdp.bytes, at: 0xF_0000)
        setup = try KernelLoader.load(kernel: kernel, into: memory, rsdpAddress: 0xF_0000)
        t = try tags(at: setup.bootInfoAddress, in: memory)
        XCTAssertEqual(t.filter { $0.type == 15 }.map(\.body), [rsdp.bytes])
    }

    func testELFImageEnteredAtTheEntryTag() throws {
        var e = ELFBuilder()
        e.is64 = false
        e.entry = 0xC010_0010
        e.segments = [.init(physical: 0x20_0000, virtual: 0xC010_0000,
                            data: multiboot2Header(tags: [(type: 3, flags: 0, body: words(0x20_0040))]) + pattern(0x100),
                            memorySize: 0x2000)]
        let memory = try GuestMemory(size: 16 << 20)
        let setup = try KernelLoader.load(kernel: try dir.file("k.elf", e.build()), into: memory)
        XCTAssertEqual(setup.kind, .multiboot2)
        XCTAssertEqual(setup.cpu.rip, 0x20_0040)
        XCTAssertEqual(setup.kernel, 0x20_0000..<0x20_2000)

        // Without the entry tag: e_entry, translated through the segment.
        e.segments[0].data = multiboot2Header(tags: []) + pattern(0x100)
        let plain = try KernelLoader.load(kernel: try dir.file("k2.elf", e.build()), into: memory)
        XCTAssertEqual(plain.cpu.rip, 0x20_0010)
    }

    func testLowELFImageGetsItsInformationElsewhere() throws {
        var e = ELFBuilder()
        e.is64 = false
        e.entry = 0x8000
        e.segments = [.init(physical: 0x8000, virtual: 0x8000, data: multiboot2Header(tags: []) + pattern(0x40),
                            memorySize: 0x9_0000)]
        let memory = try GuestMemory(size: 16 << 20)
        let setup = try KernelLoader.load(kernel: try dir.file("low.elf", e.build()), commandLine: "x", into: memory)
        let total = UInt64(try memory.read32(setup.bootInfoAddress))
        XCTAssertFalse((setup.bootInfoAddress..<(setup.bootInfoAddress + total)).overlaps(0x8000..<0x9_8000))
        XCTAssertFalse((setup.cpu.gdtr.base..<(setup.cpu.gdtr.base + 48)).overlaps(0x8000..<0x9_8000))
        XCTAssertGreaterThanOrEqual(setup.cpu.gdtr.base, 0x500)
    }

    func testHeaderErrors() throws {
        func detect(_ name: String, _ bytes: [UInt8]) throws -> KernelImage {
            try KernelImage.detect(bytes: bytes, path: name)
        }
        XCTAssertMachineError(try detect("sum", multiboot2Header(tags: [], checksumDelta: 1) + pattern(64)),
                              contains: "multiboot2 header at 0x0 has a bad checksum")
        XCTAssertMachineError(try detect("arch", multiboot2Header(tags: [], architecture: 4) + pattern(64)),
                              contains: "architecture 4")
        XCTAssertMachineError(try detect("noaddr", multiboot2Header(tags: []) + pattern(64)),
                              contains: "no address tag", "not ELF")
        XCTAssertMachineError(try detect("noentry", multiboot2Header(tags: [(type: 2, flags: 0, body: words(0x10_0000, 0x10_0000, 0, 0))])),
                              contains: "no entry address tag")
        XCTAssertMachineError(try detect("fb", multiboot2KludgeImage(extraTags: [(type: 5, flags: 0, body: words(0, 0, 0))])),
                              contains: "framebuffer")
        XCTAssertMachineError(try detect("req", multiboot2KludgeImage(extraTags: [(type: 1, flags: 0, body: words(4, 8))])),
                              contains: "requires boot information tag 8")
        XCTAssertMachineError(try detect("unknown", multiboot2KludgeImage(extraTags: [(type: 99, flags: 0, body: [])])),
                              contains: "header tag 99")
        // The same requests, optional, are fine; so are the EFI-only tags.
        for tags in [[(type: UInt16(5), flags: UInt16(1), body: words(0, 0, 0))],
                     [(type: 1, flags: 1, body: words(4, 8))], [(type: 99, flags: 1, body: [])],
                     [(type: 7, flags: 0, body: []), (type: 9, flags: 0, body: words(0x10_0000))]] {
            XCTAssertEqual(try detect("ok", multiboot2KludgeImage(extraTags: tags)).kind, .multiboot2)
        }
        // A header tag whose size runs past header_length.
        var b = ImageBuffer(multiboot2KludgeImage())
        b.put32(16 + 4, 0x1000)
        XCTAssertMachineError(try detect("size", b.bytes), contains: "past header_length")
    }

    func testMultiboot2IsPreferredAndV1IsTheFallback() throws {
        // Both headers: multiboot2 wins.
        var b = ImageBuffer(multiboot2KludgeImage(size: 0x3000))
        b.put(0x100, multibootHeader(flags: MultibootHeader.flagAddressFields, header: 0x10_0100, load: 0x10_0000,
                                     entry: 0x10_0200))
        XCTAssertEqual(try KernelImage.detect(bytes: b.bytes, path: "both").kind, .multiboot2)
        // A multiboot2 header this loader cannot honour, beside a valid v1 one: v1.
        var c = ImageBuffer(multiboot2KludgeImage(size: 0x3000, extraTags: [(type: 5, flags: 0, body: words(0, 0, 0))]))
        c.put(0x100, multibootHeader(flags: MultibootHeader.flagAddressFields, header: 0x10_0100, load: 0x10_0000,
                                     entry: 0x10_0200))
        XCTAssertEqual(try KernelImage.detect(bytes: c.bytes, path: "fallback").kind, .multiboot)
    }
}
