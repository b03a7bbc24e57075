import Foundation
import MachineCore
import XCTest
@testable import Machine

/// Little-endian byte buffer for building test images.
struct ImageBuffer {
    var bytes: [UInt8]
    init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func ensure(_ end: Int) { if bytes.count < end { bytes += [UInt8](repeating: 0, count: end - bytes.count) } }
    mutating func put8(_ o: Int, _ v: UInt8) { ensure(o + 1); bytes[o] = v }
    mutating func put16(_ o: Int, _ v: UInt16) { for i in 0..<2 { put8(o + i, UInt8(truncatingIfNeeded: v >> (8 * UInt16(i)))) } }
    mutating func put32(_ o: Int, _ v: UInt32) { for i in 0..<4 { put8(o + i, UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func put64(_ o: Int, _ v: UInt64) { for i in 0..<8 { put8(o + i, UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func put(_ o: Int, _ data: [UInt8]) { ensure(o + data.count); bytes.replaceSubrange(o..<(o + data.count), with: data) }
}

/// A pattern that differs at every offset a test looks at.
func pattern(_ count: Int, seed: UInt8 = 0x5A) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed) &+ ($0 >> 8)) }
}

/// Temporary files for one test case, removed afterwards.
final class TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-machinetests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let u = url.appendingPathComponent(name)
        try Data(bytes).write(to: u)
        return u.path
    }

    /// A sparse file of `size` bytes (cheap even when large).
    func sparseFile(_ name: String, size: UInt64) throws -> String {
        let u = url.appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: u.path, contents: nil)
        let h = try FileHandle(forWritingTo: u)
        try h.truncate(atOffset: size)
        try h.close()
        return u.path
    }
}

/// A minimal bzImage: a setup header as Linux's header.S lays it out, then a protected-mode
/// "kernel" of `kernelSize` patterned bytes.
struct BzImageBuilder {
    var setupSects: UInt8 = 4
    var version: UInt16 = 0x020F
    var loadFlags: UInt8 = SetupHeader.loadedHigh
    var initrdAddrMax: UInt32 = 0x7FFF_FFFF
    var kernelAlignment: UInt32 = 0x20_0000
    var relocatable: UInt8 = 1
    var minAlignment: UInt8 = 21
    var xloadflags: UInt16 = SetupHeader.xlfKernel64 | SetupHeader.xlfCanBeLoadedAbove4G
    var cmdlineSize: UInt32 = 0x7FF
    var prefAddress: UInt64 = 0x100_0000
    var initSize: UInt32 = 0x80_0000
    var kernelSize = 0x2000

    var kernelBytes: [UInt8] { pattern(kernelSize, seed: 0x11) }
    var kernelOffset: Int { (Int(setupSects == 0 ? 4 : setupSects) + 1) * 512 }

    func build() -> [UInt8] {
        var b = ImageBuffer(count: kernelOffset)
        b.put8(SetupHeader.setupSects, setupSects)
        b.put32(SetupHeader.sysSize, UInt32((kernelSize + 15) / 16))
        b.put16(SetupHeader.vidMode, 0xFFFD)
        b.put16(SetupHeader.bootFlag, SetupHeader.bootFlagMagic)
        b.put8(SetupHeader.jump, 0xEB)
        b.put8(SetupHeader.jump + 1, 0x6A)  // header ends at 0x26C
        b.put32(SetupHeader.header, SetupHeader.headerMagic)
        b.put16(SetupHeader.version, version)
        b.put8(SetupHeader.loadFlags, loadFlags)
        b.put32(SetupHeader.code32Start, 0x10_0000)
        b.put32(SetupHeader.initrdAddrMax, initrdAddrMax)
        b.put32(SetupHeader.kernelAlignment, kernelAlignment)
        b.put8(SetupHeader.relocatableKernel, relocatable)
        b.put8(SetupHeader.minAlignment, minAlignment)
        b.put16(SetupHeader.xloadflags, xloadflags)
        b.put32(SetupHeader.cmdlineSize, cmdlineSize)
        b.put64(SetupHeader.prefAddress, prefAddress)
        b.put32(SetupHeader.initSize, initSize)
        b.put(kernelOffset, kernelBytes)
        return b.bytes
    }
}

/// A minimal little-endian x86 ELF executable with PT_LOAD segments and notes.
struct ELFBuilder {
    struct Segment { var physical: UInt64; var virtual: UInt64; var data: [UInt8]; var memorySize: UInt64 }
    struct Note { var name: String; var type: UInt32; var desc: [UInt8] }

    var is64 = true
    var entry: UInt64 = 0
    var segments: [Segment] = []
    var notes: [Note] = []
    /// Put the notes in an SHT_NOTE section instead of a PT_NOTE segment.
    var notesInSection = false

    static func pvhNote(_ entry: UInt64, wide: Bool) -> Note {
        var d = ImageBuffer(count: 0)
        if wide { d.put64(0, entry) } else { d.put32(0, UInt32(entry)) }
        return Note(name: "Xen", type: 18, desc: d.bytes)
    }

    func build() -> [UInt8] {
        let ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32, shentsize = is64 ? 64 : 40
        let hasNoteSegment = !notes.isEmpty && !notesInSection
        let phnum = segments.count + (hasNoteSegment ? 1 : 0)
        var b = ImageBuffer(count: ehsize + phnum * phentsize)

        // Notes blob.
        var blob = ImageBuffer(count: 0)
        for n in notes {
            let o = blob.bytes.count
            let name = Array(n.name.utf8) + [0]
            blob.put32(o, UInt32(name.count)); blob.put32(o + 4, UInt32(n.desc.count)); blob.put32(o + 8, n.type)
            blob.put(o + 12, name)
            let descAt = o + 12 + (name.count + 3) / 4 * 4
            blob.put(descAt, n.desc)
            blob.ensure(descAt + (n.desc.count + 3) / 4 * 4)
        }
        let notesOffset = b.bytes.count
        b.put(notesOffset, blob.bytes)

        // Section headers: a null section and the note section.
        var shoff = 0, shnum = 0
        if notesInSection && !notes.isEmpty {
            shoff = (b.bytes.count + 7) / 8 * 8
            shnum = 2
            b.ensure(shoff + 2 * shentsize)
            let s = shoff + shentsize
            b.put32(s + 4, 7)  // SHT_NOTE
            if is64 { b.put64(s + 24, UInt64(notesOffset)); b.put64(s + 32, UInt64(blob.bytes.count)); b.put64(s + 48, 4) }
            else { b.put32(s + 16, UInt32(notesOffset)); b.put32(s + 20, UInt32(blob.bytes.count)); b.put32(s + 32, 4) }
        }

        // Segment data.
        var offsets: [Int] = []
        for seg in segments {
            let o = (b.bytes.count + 15) / 16 * 16
            offsets.append(o)
            b.put(o, seg.data)
        }

        // ELF header.
        b.put(0, [0x7F, 0x45, 0x4C, 0x46, is64 ? 2 : 1, 1, 1])
        b.put16(16, 2)  // ET_EXEC
        b.put16(18, is64 ? 62 : 3)
        b.put32(20, 1)
        if is64 {
            b.put64(24, entry); b.put64(32, UInt64(ehsize)); b.put64(40, UInt64(shoff))
            b.put16(52, UInt16(ehsize)); b.put16(54, UInt16(phentsize)); b.put16(56, UInt16(phnum))
            b.put16(58, UInt16(shentsize)); b.put16(60, UInt16(shnum))
        } else {
            b.put32(24, UInt32(entry)); b.put32(28, UInt32(ehsize)); b.put32(32, UInt32(shoff))
            b.put16(40, UInt16(ehsize)); b.put16(42, UInt16(phentsize)); b.put16(44, UInt16(phnum))
            b.put16(46, UInt16(shentsize)); b.put16(48, UInt16(shnum))
        }
        // Program headers.
        func phdr(_ i: Int, type: UInt32, offset: Int, vaddr: UInt64, paddr: UInt64, filesz: Int, memsz: UInt64, align: UInt64) {
            let p = ehsize + i * phentsize
            b.put32(p, type)
            if is64 {
                b.put32(p + 4, 7); b.put64(p + 8, UInt64(offset)); b.put64(p + 16, vaddr); b.put64(p + 24, paddr)
                b.put64(p + 32, UInt64(filesz)); b.put64(p + 40, memsz); b.put64(p + 48, align)
            } else {
                b.put32(p + 4, UInt32(offset)); b.put32(p + 8, UInt32(vaddr)); b.put32(p + 12, UInt32(paddr))
                b.put32(p + 16, UInt32(filesz)); b.put32(p + 20, UInt32(memsz)); b.put32(p + 24, 7); b.put32(p + 28, UInt32(align))
            }
        }
        for (i, seg) in segments.enumerated() {
            phdr(i, type: 1, offset: offsets[i], vaddr: seg.virtual, paddr: seg.physical, filesz: seg.data.count,
                 memsz: seg.memorySize, align: 16)
        }
        if hasNoteSegment {
            phdr(segments.count, type: 4, offset: notesOffset, vaddr: 0, paddr: 0, filesz: blob.bytes.count,
                 memsz: UInt64(blob.bytes.count), align: 4)
        }
        return b.bytes
    }
}

/// A multiboot v1 header (Multiboot Specification §3.1.2).
func multibootHeader(flags: UInt32, checksum: UInt32? = nil, header: UInt32 = 0, load: UInt32 = 0, loadEnd: UInt32 = 0,
                     bssEnd: UInt32 = 0, entry: UInt32 = 0, modeType: UInt32 = 1) -> [UInt8] {
    var b = ImageBuffer(count: 48)
    b.put32(0, MultibootHeader.magic)
    b.put32(4, flags)
    b.put32(8, checksum ?? (0 &- MultibootHeader.magic &- flags))
    b.put32(12, header); b.put32(16, load); b.put32(20, loadEnd); b.put32(24, bssEnd); b.put32(28, entry)
    b.put32(32, modeType); b.put32(36, 80); b.put32(40, 25); b.put32(44, 0)
    return b.bytes
}

/// An a.out-kludge multiboot image whose header sits at `headerOffset`, loaded at `load`.
func multibootKludgeImage(headerOffset: Int = 0, load: UInt32 = 0x10_0000, size: Int = 0x3000, bss: UInt32 = 0x2000,
                          flags: UInt32 = MultibootHeader.flagAddressFields | MultibootHeader.flagMemoryInfo
                              | MultibootHeader.flagPageAlignModules) -> [UInt8] {
    var b = ImageBuffer(pattern(size, seed: 0x33))
    let headerAddr = load + UInt32(headerOffset)
    b.put(headerOffset, multibootHeader(flags: flags, header: headerAddr, load: load, loadEnd: 0,
                                        bssEnd: load + UInt32(size) + bss, entry: load + UInt32(headerOffset) + 0x30))
    return b.bytes
}

extension GuestMemory {
    /// The NUL-terminated string at `address`.
    func cString(at address: UInt64, limit: Int = 0x10000) throws -> String {
        var bytes: [UInt8] = []
        var a = address
        while bytes.count < limit {
            let c = try read8(a)
            if c == 0 { break }
            bytes.append(c); a += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Walks 4-level page tables from `cr3` (SDM Vol. 3A §4.5) and returns the physical address
    /// of `linear`, or nil when a level is not present.
    func translate(_ linear: UInt64, cr3: UInt64) throws -> UInt64? {
        let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
        var table = cr3 & addressMask
        for (level, shift) in [(4, 39), (3, 30), (2, 21), (1, 12)] as [(Int, UInt64)] {
            let entry = try read64(table + ((linear >> shift) & 0x1FF) * 8)
            if entry & 1 == 0 { return nil }
            if (level == 3 || level == 2) && entry & (1 << 7) != 0 {
                let pageMask = (UInt64(1) << shift) - 1
                return (entry & addressMask & ~pageMask) | (linear & pageMask)
            }
            table = entry & addressMask
        }
        return table | (linear & 0xFFF)
    }
}

/// Asserts that `body` throws a MachineError whose description contains every needle.
func XCTAssertMachineError<T>(_ body: @autoclosure () throws -> T, contains needles: String...,
                              file: StaticString = #filePath, line: UInt = #line,
                              check: (MachineError) -> Bool = { _ in true }) {
    do {
        _ = try body()
        XCTFail("expected an error containing \(needles)", file: file, line: line)
    } catch let error as MachineError {
        for n in needles {
            XCTAssertTrue(error.description.contains(n), "'\(n)' not in: \(error.description)", file: file, line: line)
        }
        XCTAssertFalse(error.description.contains("\n"), "error is not one line: \(error.description)", file: file, line: line)
        XCTAssertTrue(check(error), "unexpected error case: \(error)", file: file, line: line)
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
}
