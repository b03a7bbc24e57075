import XCTest
import Devices
@testable import Display

final class FrameScalerTests: XCTestCase {
    private func frame(_ w: Int, _ h: Int, _ colors: [UInt32]) -> VGAFramebuffer {
        var fb = VGAFramebuffer(width: w, height: h)
        fb.pixels = colors
        return fb
    }

    func testWholeFactorScalingRepeatsPixels() {
        var fb = frame(2, 2, [0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF])
        var out = [UInt32](repeating: 0xDEAD, count: 4 * 6)
        let ok = out.withUnsafeMutableBytes {
            FrameScaler.scale(&fb, into: $0.baseAddress!, width: 4, height: 6, stride: 16, format: .xrgb8888)
        }
        XCTAssertTrue(ok)
        let rows = stride(from: 0, to: 24, by: 4).map { Array(out[$0..<($0 + 4)]).map { $0 & 0xFFFFFF } }
        XCTAssertEqual(rows[0], [0xFF0000, 0xFF0000, 0x00FF00, 0x00FF00])
        XCTAssertEqual(rows[2], rows[0])
        XCTAssertEqual(rows[3], [0x0000FF, 0x0000FF, 0xFFFFFF, 0xFFFFFF])
        XCTAssertEqual(rows[5], rows[3])
    }

    func testSameSizeCopiesAndOtherFormatsConvert() {
        var fb = frame(2, 1, [0x123456, 0xFF0000])
        var out = [UInt32](repeating: 0, count: 2)
        out.withUnsafeMutableBytes { _ = FrameScaler.scale(&fb, into: $0.baseAddress!, width: 2, height: 1, stride: 8, format: .xbgr8888) }
        XCTAssertEqual(out.map { $0 & 0xFFFFFF }, [0x563412, 0x0000FF])
        var out16 = [UInt16](repeating: 0, count: 2)
        out16.withUnsafeMutableBytes { _ = FrameScaler.scale(&fb, into: $0.baseAddress!, width: 2, height: 1, stride: 4, format: .rgb565) }
        XCTAssertEqual(out16[1], 0xF800)
        var argb = [UInt32](repeating: 0, count: 2)
        argb.withUnsafeMutableBytes { _ = FrameScaler.scale(&fb, into: $0.baseAddress!, width: 2, height: 1, stride: 8, format: .argb8888) }
        XCTAssertEqual(argb[0], 0xFF12_3456, "opaque alpha")
    }

    func testFractionalScalingKeepsUniformAreasAndRejectsBadBuffers() {
        var fb = VGAFramebuffer(width: 3, height: 3)
        for i in fb.pixels.indices { fb.pixels[i] = 0x336699 }
        var out = [UInt32](repeating: 0, count: 7 * 5)
        out.withUnsafeMutableBytes { _ = FrameScaler.scale(&fb, into: $0.baseAddress!, width: 7, height: 5, stride: 28, format: .xrgb8888) }
        XCTAssertTrue(out.allSatisfy { $0 & 0xFFFFFF == 0x336699 }, "bilinear filtering of a flat area stays flat, edges padded")
        var empty = VGAFramebuffer()
        XCTAssertFalse(out.withUnsafeMutableBytes { FrameScaler.scale(&empty, into: $0.baseAddress!, width: 7, height: 5, stride: 28, format: .xrgb8888) })
    }

    func testWindowSizesEnlargeSmallModes() {
        XCTAssertTrue(FrameScaler.windowSize(forFrameWidth: 320, height: 200) == (640, 400))
        XCTAssertTrue(FrameScaler.windowSize(forFrameWidth: 720, height: 400) == (720, 400))
        XCTAssertTrue(FrameScaler.windowSize(forFrameWidth: 640, height: 200) == (640, 400))
        XCTAssertTrue(FrameScaler.windowSize(forFrameWidth: 360, height: 400) == (720, 400))
        XCTAssertTrue(FrameScaler.windowSize(forFrameWidth: 1024, height: 768) == (1024, 768))
    }

    func testInputTranslation() {
        XCTAssertEqual(SDLInputTranslation.usage(scancode: 4), 0x04, "A")
        XCTAssertEqual(SDLInputTranslation.usage(scancode: 0xE0), 0xE0, "left control")
        XCTAssertNil(SDLInputTranslation.usage(scancode: 0))
        XCTAssertNil(SDLInputTranslation.usage(scancode: 258), "SDL-only media key")
        XCTAssertEqual(SDLInputTranslation.ps2Buttons(sdlState: 1), 1, "left")
        XCTAssertEqual(SDLInputTranslation.ps2Buttons(sdlState: 4), 2, "right")
        XCTAssertEqual(SDLInputTranslation.ps2Buttons(sdlState: 2), 4, "middle")
    }
}
