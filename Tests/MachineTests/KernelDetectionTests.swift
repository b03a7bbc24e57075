import Foundation
import MachineCore
import XCTest
@testable import Machine

/// `KernelImage.detect`: each kind, the priority rules and every bad-input error.
final class KernelDetectionTests: XCTestCase {
    var dir: TemporaryDirectory!
    override func setUpWithError() throws { dir = try TemporaryDirectory() }
    override func tearDown() { dir = nil }

    private func detect(_ name: String, _ bytes: [UInt8]) throws -> KernelImage {
        try KernelImage.detect(path: try dir.file(name, bytes))
    }

    private func isBadImage(_ e: MachineError) -> Bool { if case .badImage = e { return true } else { return false } }
    private func isUnreadable(_ e: MachineError) -> Bool { if case .unreadableFile = e { return true } else { return false } }

    // MARK: kinds

    func testDetectsSyntheticBzImage() throws {
        let image = try detect("bz", BzImageBuilder().build())
        XCTAssertEqual(image.kind, .bzImage)
        guard case .bzImage(let h) = image.format else { return XCTFail("not a bzImage") }
        XCTAssertEqual(h.version, 0x020F)
        XCTAssertEqual(h.setupSectors, 4)
        XCTAssertEqual(h.kernelOffset, 5 * 512)
        XCTAssertEqual(h.kernelSize, 0x2000)
        XCTAssertEqual(h.preferredAddress, 0x100_0000)
        XCTAssertEqual(h.headerEnd, 0x26C)
    }

    func testSetupSectsZeroMeansFour() throws {
        var b = BzImageBuilder()
        b.setupSects = 0
        guard case .bzImage(let h) = try detect("bz0", b.build()).format else { return XCTFail("not a bzImage") }
        XCTAssertEqual(h.setupSectors, 4)
        XCTAssertEqual(h.kernelOffset, 2560)
    }

    func testDetectsELFWithPVHNoteInProgramHeaders() throws {
        var e = ELFBuilder()
        e.entry = 0xFFFF_FFFF_8100_0000
        e.segments = [.init(physical: 0x100_0000, virtual: 0xFFFF_FFFF_8100_0000, data: pattern(64), memorySize: 64)]
        e.notes = [.init(name: "GNU", type: 3, desc: [1, 2, 3, 4]), ELFBuilder.pvhNote(0x100_0010, wide: true)]
        let image = try detect("vmlinux", e.build())
        XCTAssertEqual(image.kind, .pvh)
        guard case .pvh(let elf, let entry) = image.format else { return XCTFail("not PVH") }
        XCTAssertEqual(entry, 0x100_0010)
        XCTAssertTrue(elf.is64Bit)
        XCTAssertEqual(elf.loadSegments.count, 1)
    }

    func testDetectsELF32WithPVHNoteInSectionOnly() throws {
        var e = ELFBuilder()
        e.is64 = false
        e.entry = 0x20_0000
        e.segments = [.init(physical: 0x20_0000, virtual: 0x20_0000, data: pattern(32), memorySize: 32)]
        e.notes = [ELFBuilder.pvhNote(0x20_0004, wide: false)]
        e.notesInSection = true
        let image = try detect("elf32", e.build())
        guard case .pvh(let elf, let entry) = image.format else { return XCTFail("not PVH: \(image.kind)") }
        XCTAssertEqual(entry, 0x20_0004)
        XCTAssertFalse(elf.is64Bit)
    }

    func testDetectsMultibootKludgeImage() throws {
        let image = try detect("mb", multibootKludgeImage(headerOffset: 0x40))
        XCTAssertEqual(image.kind, .multiboot)
        guard case .multiboot(let h, let elf) = image.format else { return XCTFail("not multiboot") }
        XCTAssertEqual(h.offset, 0x40)
        XCTAssertEqual(h.addresses?.loadAddress, 0x10_0000)
        XCTAssertNil(elf)
    }

    func testMultibootHeaderMustBeInTheFirst8KiB() throws {
        var b = ImageBuffer(count: 0x3000)
        b.put(0x2000, multibootHeader(flags: MultibootHeader.flagAddressFields, header: 0x10_2000, load: 0x10_0000,
                                      entry: 0x10_0000))
        XCTAssertMachineError(try detect("late", b.bytes), contains: "not a kernel image", check: isBadImage)
    }

    func testELFWithMultibootHeaderAndNoPVHNoteIsMultibootByELF() throws {
        var e = ELFBuilder()
        e.is64 = false
        e.entry = 0x10_0000
        var data = multibootHeader(flags: MultibootHeader.flagMemoryInfo)
        data += pattern(64)
        e.segments = [.init(physical: 0x10_0000, virtual: 0x10_0000, data: data, memorySize: 0x1000)]
        let image = try detect("mbelf", e.build())
        guard case .multiboot(let h, let elf) = image.format else { return XCTFail("not multiboot: \(image.kind)") }
        XCTAssertNil(h.addresses)
        XCTAssertNotNil(elf)
    }

    func testPVHNoteWinsOverMultibootHeader() throws {
        var e = ELFBuilder()
        e.entry = 0x10_0000
        e.segments = [.init(physical: 0x10_0000, virtual: 0x10_0000,
                            data: multibootHeader(flags: MultibootHeader.flagMemoryInfo) + pattern(16), memorySize: 0x100)]
        e.notes = [ELFBuilder.pvhNote(0x10_0040, wide: true)]
        XCTAssertEqual(try detect("both", e.build()).kind, .pvh)
    }

    func testBzImageWinsOverAnEmbeddedMultibootHeader() throws {
        var b = ImageBuffer(BzImageBuilder().build())
        b.put(0x1000, multibootHeader(flags: MultibootHeader.flagAddressFields, header: 0x10_1000, load: 0x10_0000,
                                      entry: 0x10_1000))
        XCTAssertEqual(try detect("bzmb", b.bytes).kind, .bzImage)
    }

    // MARK: bad files

    func testMissingFile() {
        XCTAssertMachineError(try KernelImage.detect(path: dir.url.path + "/nope"), contains: "nope", "No such file",
                              check: isUnreadable)
    }

    func testDirectory() {
        XCTAssertMachineError(try KernelImage.detect(path: dir.url.path), contains: "is a directory", check: isUnreadable)
    }

    func testEmptyFile() {
        XCTAssertMachineError(try detect("empty", []), contains: "empty file", check: isBadImage)
    }

    func testGarbage() {
        XCTAssertMachineError(try detect("garbage", (0..<20000).map { UInt8($0 % 251) }),
                              contains: "garbage", "not a kernel image (no bzImage, ELF or multiboot header)",
                              check: isBadImage)
    }

    func testTruncatedBzImage() throws {
        let full = BzImageBuilder().build()
        XCTAssertMachineError(try detect("cut", Array(full[0..<1024])), contains: "truncated bzImage", check: isBadImage)
        XCTAssertMachineError(try detect("cut2", Array(full[0..<(full.count - 64)])), contains: "truncated bzImage")
    }

    func testBzImageOlderThan206() {
        var b = BzImageBuilder()
        b.version = 0x0205
        XCTAssertMachineError(try detect("old", b.build()), contains: "2.05", "older than 2.06", check: isBadImage)
    }

    /// A 32-bit kernel (no XLF_KERNEL_64, or a 2.10/2.11 header from before xloadflags) is a
    /// bzImage for the 32-bit protocol; only a header without init_size (before 2.10) is refused.
    func testBzImageWithout64BitEntryIsAThirtyTwoBitKernel() throws {
        var b = BzImageBuilder()
        b.xloadflags = 0
        let image = try detect("no64", b.build())
        XCTAssertEqual(image.kind, .bzImage)
        guard case .bzImage(let h) = image.format else { return XCTFail("not a bzImage") }
        XCTAssertFalse(h.has64BitEntry)
        XCTAssertEqual(h.initSize, b.initSize)

        b = BzImageBuilder()
        b.version = 0x020A  // before xloadflags existed
        guard case .bzImage(let old) = try detect("210", b.build()).format else { return XCTFail("not a bzImage") }
        XCTAssertFalse(old.has64BitEntry, "xloadflags is not read before 2.12")

        b.version = 0x0209
        XCTAssertMachineError(try detect("209", b.build()), contains: "2.09", "older than 2.10", check: isBadImage)
        XCTAssertTrue(try detect("64", BzImageBuilder().build()).kind == .bzImage)
    }

    func testZImage() {
        var b = BzImageBuilder()
        b.loadFlags = 0
        XCTAssertMachineError(try detect("zimage", b.build()), contains: "zImage", check: isBadImage)
    }

    func testMultibootBadChecksum() {
        var b = ImageBuffer(count: 8192)
        b.put(0, multibootHeader(flags: MultibootHeader.flagAddressFields, checksum: 0x1234_5678))
        XCTAssertMachineError(try detect("badmb", b.bytes), contains: "multiboot", "bad checksum", check: isBadImage)
    }

    func testMultibootUnknownRequiredFlag() {
        var b = ImageBuffer(count: 0x1000)
        b.put(0, multibootHeader(flags: MultibootHeader.flagAddressFields | 1 << 3, header: 0x10_0000, load: 0x10_0000,
                                 entry: 0x10_0040))
        XCTAssertMachineError(try detect("mbflag", b.bytes), contains: "flag bits 0x8", check: isBadImage)
    }

    func testMultibootUnknownOptionalFlagIsIgnored() throws {
        var b = ImageBuffer(count: 0x1000)
        b.put(0, multibootHeader(flags: MultibootHeader.flagAddressFields | 1 << 20, header: 0x10_0000, load: 0x10_0000,
                                 entry: 0x10_0040))
        XCTAssertEqual(try detect("mbopt", b.bytes).kind, .multiboot)
    }

    func testMultibootGraphicsModeIsRefusedButTextModeAccepted() throws {
        let flags = MultibootHeader.flagAddressFields | MultibootHeader.flagVideoMode
        var b = ImageBuffer(count: 0x1000)
        b.put(0, multibootHeader(flags: flags, header: 0x10_0000, load: 0x10_0000, entry: 0x10_0040, modeType: 0))
        XCTAssertMachineError(try detect("mbgfx", b.bytes), contains: "graphics video mode")
        b.put(0, multibootHeader(flags: flags, header: 0x10_0000, load: 0x10_0000, entry: 0x10_0040, modeType: 1))
        guard case .multiboot(let h, _) = try detect("mbtext", b.bytes).format else { return XCTFail("not multiboot") }
        XCTAssertEqual(h.videoModeType, 1)
    }

    func testMultibootWithoutAddressFieldsInNonELFImage() {
        var b = ImageBuffer(count: 0x1000)
        b.put(0, multibootHeader(flags: MultibootHeader.flagMemoryInfo))
        XCTAssertMachineError(try detect("mbnoaddr", b.bytes), contains: "no address fields", check: isBadImage)
    }

    func testMultibootAddressFieldErrors() {
        let f = MultibootHeader.flagAddressFields
        var b = ImageBuffer(count: 0x1000)
        b.put(0x100, multibootHeader(flags: f, header: 0x10_0000, load: 0x10_0100, entry: 0x10_0100))
        XCTAssertMachineError(try detect("below", b.bytes), contains: "below load_addr")

        b = ImageBuffer(count: 0x1000)
        b.put(0x100, multibootHeader(flags: f, header: 0x10_0100, load: 0x10_0000, loadEnd: 0x10_4000, entry: 0x10_0100))
        XCTAssertMachineError(try detect("short", b.bytes), contains: "truncated image")

        b = ImageBuffer(count: 0x1000)
        b.put(0x100, multibootHeader(flags: f, header: 0x10_0100, load: 0x10_0000, bssEnd: 0x10_0800, entry: 0x10_0100))
        XCTAssertMachineError(try detect("bss", b.bytes), contains: "bss_end_addr")

        b = ImageBuffer(count: 0x1000)
        b.put(0x100, multibootHeader(flags: f, header: 0x10_0100, load: 0x10_0000, entry: 0x20_0000))
        XCTAssertMachineError(try detect("entry", b.bytes), contains: "entry_addr")

        b = ImageBuffer(count: 0x1000)
        b.put(0x100, multibootHeader(flags: f, header: 0x10_1000, load: 0x10_0000, entry: 0x10_1000))
        XCTAssertMachineError(try detect("before", b.bytes), contains: "before the file")
    }

    func testELFWithoutPVHNote() {
        var e = ELFBuilder()
        e.entry = 0x100_0000
        e.segments = [.init(physical: 0x100_0000, virtual: 0x100_0000, data: pattern(64), memorySize: 64)]
        e.notes = [.init(name: "GNU", type: 3, desc: [1, 2, 3, 4])]
        XCTAssertMachineError(try detect("nopvh", e.build()), contains: "ELF kernel has no PVH entry note", check: isBadImage)
    }

    func testTruncatedELF() {
        var e = ELFBuilder()
        e.segments = [.init(physical: 0x100_0000, virtual: 0x100_0000, data: pattern(4096), memorySize: 4096)]
        e.notes = [ELFBuilder.pvhNote(0x100_0000, wide: true)]
        let bytes = e.build()
        XCTAssertMachineError(try detect("elfcut", Array(bytes[0..<(bytes.count - 100)])), contains: "truncated ELF")
        XCTAssertMachineError(try detect("elfcut2", Array(bytes[0..<40])), contains: "truncated ELF header")
        XCTAssertMachineError(try detect("elfcut3", Array(bytes[0..<80])), contains: "program headers run past")
    }

    func testELFForAnotherMachine() {
        var e = ELFBuilder()
        e.segments = [.init(physical: 0x100_0000, virtual: 0x100_0000, data: pattern(16), memorySize: 16)]
        var b = ImageBuffer(e.build())
        b.put16(18, 183)  // AArch64
        XCTAssertMachineError(try detect("arm", b.bytes), contains: "machine 183")
    }

    func testRealDebianKernelIsABzImage() throws {
        let path = try GuestImages.kernel()
        let image = try KernelImage.detect(path: path)
        guard case .bzImage(let h) = image.format else { return XCTFail("not a bzImage") }
        XCTAssertGreaterThanOrEqual(h.version, 0x020C)
        XCTAssertTrue(h.relocatable)
        XCTAssertNotEqual(h.xloadflags & SetupHeader.xlfKernel64, 0)
        XCTAssertEqual(h.kernelOffset, (Int(image.bytes[SetupHeader.setupSects]) + 1) * 512)
        // A truncated copy of the real kernel is refused.
        XCTAssertMachineError(try detect("cut-vmlinuz", Array(image.bytes[0..<(image.bytes.count / 2)])),
                              contains: "truncated bzImage")
    }
}

/// The images scripts/build-guest-images.sh builds; tests that need them skip with a reason.
enum GuestImages {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func path(_ name: String) throws -> String {
        let p = root.appendingPathComponent("guest-images/\(name)").path
        guard FileManager.default.fileExists(atPath: p) else {
            throw XCTSkip("guest-images/\(name) has not been built; run scripts/build-guest-images.sh")
        }
        return p
    }

    static func kernel() throws -> String { try path("bzImage") }
    static func initramfs() throws -> String { try path("initramfs.cpio.gz") }
    /// Debian's i386 686-pae kernel (no 64-bit entry) and its busybox initramfs.
    static func kernel686() throws -> String { try path("bzImage-686") }
    static func initramfs686() throws -> String { try path("initramfs-686.cpio.gz") }
}
