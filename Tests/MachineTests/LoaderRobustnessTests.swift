import Foundation
import MachineCore
import XCTest
@testable import Machine

/// Corrupted kernel headers must end in a one-line `MachineError`, never a trap: thousands of
/// deterministic mutations of valid images go through detection and loading. A trap (integer
/// overflow, out-of-range index) would kill the test process and fail the suite.
final class LoaderRobustnessTests: XCTestCase {
    /// SplitMix64: a small deterministic generator so failures reproduce.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Values that tend to break arithmetic on header fields.
    static let extremes: [UInt32] = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_F000, 0x10_0000, 0x1000]

    private func mutate(_ seed: [UInt8], window: Int, rng: inout Generator) -> [UInt8] {
        var b = ImageBuffer(seed)
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = Int.random(in: 0..<min(window, seed.count - 4), using: &rng) & ~3
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: b.put8(at + Int.random(in: 0..<4, using: &rng), UInt8.random(in: 0...255, using: &rng))
            case 1: b.put32(at, Self.extremes.randomElement(using: &rng)!)
            default: b.put32(at, UInt32.random(in: 0...UInt32.max, using: &rng))
            }
        }
        // Sometimes truncate too.
        if Int.random(in: 0..<8, using: &rng) == 0 {
            return Array(b.bytes.prefix(Int.random(in: 1..<b.bytes.count, using: &rng)))
        }
        return b.bytes
    }

    private func run(seed: [UInt8], window: Int, iterations: Int, salt: UInt64) throws -> (loaded: Int, refused: Int) {
        var rng = Generator(state: salt)
        let memory = try GuestMemory(size: 32 << 20)
        var loaded = 0, refused = 0
        for _ in 0..<iterations {
            let bytes = mutate(seed, window: window, rng: &rng)
            do {
                let image = try KernelImage.detect(bytes: bytes, path: "mutant")
                let setup = try KernelLoader.load(image, commandLine: "console=ttyS0", into: memory)
                switch image.format {
                case .bzImage(let h):
                    XCTAssertEqual(setup.cpu.rip, setup.kernel.lowerBound + (h.has64BitEntry ? 0x200 : 0))
                case .pvh, .multiboot, .multiboot2: XCTAssertTrue(setup.kernel.contains(setup.entryPoint))
                }
                XCTAssertTrue(memory.isRAM(setup.kernel.lowerBound, length: Int(setup.kernel.upperBound - setup.kernel.lowerBound)))
                loaded += 1
            } catch {
                // Detection and loading throw only MachineError (typed throws); its text is one line.
                let text = "\(error)"
                XCTAssertFalse(text.isEmpty)
                XCTAssertFalse(text.contains("\n"), text)
                refused += 1
            }
        }
        return (loaded, refused)
    }

    func testMutatedBzImages() throws {
        var b = BzImageBuilder()
        b.initSize = 0x40_0000
        let r = try run(seed: b.build(), window: 0x270, iterations: 3000, salt: 1)
        XCTAssertGreaterThan(r.loaded, 0, "some mutants still load")
        XCTAssertGreaterThan(r.refused, 0, "some mutants are refused")
    }

    func testMutatedELFPVHImages() throws {
        var e = ELFBuilder()
        e.entry = 0x100_0000
        e.segments = [.init(physical: 0x100_0000, virtual: 0xFFFF_FFFF_8100_0000, data: pattern(0x200), memorySize: 0x1000)]
        e.notes = [ELFBuilder.pvhNote(0x100_0010, wide: true)]
        let seed = e.build()
        let r = try run(seed: seed, window: seed.count, iterations: 3000, salt: 2)
        XCTAssertGreaterThan(r.loaded, 0)
        XCTAssertGreaterThan(r.refused, 0)
    }

    func testMutatedELF32PVHImagesWithSectionNotes() throws {
        var e = ELFBuilder()
        e.is64 = false
        e.entry = 0x100_0000
        e.segments = [.init(physical: 0x100_0000, virtual: 0x100_0000, data: pattern(0x100), memorySize: 0x800)]
        e.notes = [ELFBuilder.pvhNote(0x100_0010, wide: false)]
        e.notesInSection = true
        let seed = e.build()
        let r = try run(seed: seed, window: seed.count, iterations: 3000, salt: 3)
        XCTAssertGreaterThan(r.loaded, 0)
        XCTAssertGreaterThan(r.refused, 0)
    }

    func testMutatedMultiboot2Images() throws {
        let kludge = multiboot2KludgeImage(size: 0x1000, extraTags: [(type: 1, flags: 0, body: words(1, 4, 6))])
        var r = try run(seed: kludge, window: 0x80, iterations: 3000, salt: 6)
        XCTAssertGreaterThan(r.loaded, 0)
        XCTAssertGreaterThan(r.refused, 0)

        var e = ELFBuilder()
        e.is64 = false
        e.entry = 0x10_0000
        e.segments = [.init(physical: 0x10_0000, virtual: 0x10_0000,
                            data: multiboot2Header(tags: [(type: 3, flags: 0, body: words(0x10_0010))]) + pattern(64),
                            memorySize: 0x1000)]
        let elf = e.build()
        r = try run(seed: elf, window: elf.count, iterations: 3000, salt: 7)
        XCTAssertGreaterThan(r.loaded, 0)
        XCTAssertGreaterThan(r.refused, 0)
    }

    func testMutatedMultibootImages() throws {
        let kludge = multibootKludgeImage(headerOffset: 0x40, size: 0x1000, bss: 0x1000)
        var r = try run(seed: kludge, window: 0x80, iterations: 3000, salt: 4)
        XCTAssertGreaterThan(r.loaded, 0)
        XCTAssertGreaterThan(r.refused, 0)

        var e = ELFBuilder()
        e.is64 = false
        e.entry = 0xC010_0010
        e.segments = [.init(physical: 0x10_0000, virtual: 0xC010_0000,
                            data: multibootHeader(flags: MultibootHeader.flagMemoryInfo) + pattern(64), memorySize: 0x1000)]
        let elf = e.build()
        r = try run(seed: elf, window: elf.count, iterations: 3000, salt: 5)
        XCTAssertGreaterThan(r.loaded, 0)
        XCTAssertGreaterThan(r.refused, 0)
    }
}
