import Foundation
import XCTest
import MachineCore
@testable import Devices

final class IDEDiskImageTests: XCTestCase {
    func testSecondWritableOpenIsRefusedWithOneClearMessage() throws {
        let files = try TemporaryImages()
        let path = try files.make("disk.img", size: 4096)
        let first = try DiskImage(path: path, readOnly: false)
        XCTAssertThrowsError(try DiskImage(path: path, readOnly: false)) { error in
            XCTAssertEqual((error as? MachineError)?.description, "\(path): in use by another process (locked)")
        }
        // A reader is refused too while a writer holds the image.
        XCTAssertThrowsError(try DiskImage(path: path, readOnly: true))
        withExtendedLifetime(first) {}
    }

    func testLockIsReleasedWhenTheImageCloses() throws {
        let files = try TemporaryImages()
        let path = try files.make("disk.img", size: 4096)
        do { _ = try DiskImage(path: path, readOnly: false) }
        XCTAssertNoThrow(try DiskImage(path: path, readOnly: false))
    }

    func testReadOnlyImagesShareTheImageButKeepWritersOut() throws {
        let files = try TemporaryImages()
        let path = try files.make("cd.iso", size: 8192)
        let a = try DiskImage(path: path, readOnly: true)
        let b = try DiskImage(path: path, readOnly: true)
        XCTAssertThrowsError(try DiskImage(path: path, readOnly: false)) { error in
            XCTAssertEqual((error as? MachineError)?.description, "\(path): in use by another process (locked)")
        }
        withExtendedLifetime((a, b)) {}
    }

    func testBadFilesGiveClearErrors() throws {
        let files = try TemporaryImages()
        let missing = files.directory.appendingPathComponent("nope.img").path
        XCTAssertThrowsError(try DiskImage(path: missing, readOnly: true)) { error in
            XCTAssertEqual((error as? MachineError)?.description, "cannot read \(missing): no such file")
        }
        let empty = try files.make("empty.img", size: 0)
        XCTAssertThrowsError(try DiskImage(path: empty, readOnly: false)) { error in
            XCTAssertEqual((error as? MachineError)?.description, "\(empty): image is empty (0 bytes)")
        }
        XCTAssertThrowsError(try DiskImage(path: files.directory.path, readOnly: true)) { error in
            XCTAssertEqual((error as? MachineError)?.description, "cannot read \(files.directory.path): is a directory")
        }
        XCTAssertThrowsError(try DiskImage(path: files.directory.path, readOnly: false)) { error in
            XCTAssertEqual((error as? MachineError)?.description, "cannot read \(files.directory.path): is a directory")
        }
        // A disk needs at least one whole sector.
        let tiny = try files.make("tiny.img", size: 100)
        XCTAssertThrowsError(try ATADisk(image: DiskImage(path: tiny, readOnly: false)))
    }

    func testReadsPastTheEndAreZeroAndWritesNeverExtendTheFile() throws {
        let files = try TemporaryImages()
        let path = try files.make("disk.img", size: 1000) { _, offset in UInt8(truncatingIfNeeded: offset | 1) }
        let image = try DiskImage(path: path, readOnly: false)
        var buffer = [UInt8](repeating: 0xEE, count: 512)
        XCTAssertTrue(buffer.withUnsafeMutableBytes { image.read(into: $0, at: 512) })
        XCTAssertEqual(Array(buffer[0..<488]), (512..<1000).map { UInt8(truncatingIfNeeded: ($0 % 512) | 1) })
        XCTAssertEqual(Array(buffer[488...]), [UInt8](repeating: 0, count: 24))
        let block = [UInt8](repeating: 0x55, count: 512)
        XCTAssertFalse(block.withUnsafeBytes { image.write($0, at: 600) }, "a write past the end fails")
        XCTAssertTrue(block.withUnsafeBytes { image.write($0, at: 0) })
        XCTAssertTrue(image.flush())
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64, 1000)
        XCTAssertEqual(try files.contents(path, offset: 0, count: 512), block)
    }

    func testReadOnlyImageRefusesWrites() throws {
        let files = try TemporaryImages()
        let path = try files.make("disk.img", size: 4096)
        let image = try DiskImage(path: path, readOnly: true)
        let block = [UInt8](repeating: 1, count: 512)
        XCTAssertFalse(block.withUnsafeBytes { image.write($0, at: 0) })
        XCTAssertEqual(try files.contents(path, offset: 0, count: 512), [UInt8](repeating: 0, count: 512))
    }
}
