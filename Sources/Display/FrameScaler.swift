import CPixman
import Devices

/// Scales a rendered guest screen into a host pixel buffer with pixman: nearest-neighbour
/// when both factors are whole numbers (crisp text), bilinear otherwise.
public enum FrameScaler {
    /// Destination pixel layouts the scaler writes directly.
    public enum Format: Sendable {
        /// 32 bits, 0x00RRGGBB (SDL_PIXELFORMAT_RGB888 / XRGB8888).
        case xrgb8888
        /// 32 bits, 0xAARRGGBB; alpha written as opaque.
        case argb8888
        /// 32 bits, 0x00BBGGRR.
        case xbgr8888
        /// 16 bits, RGB565.
        case rgb565

        var pixman: pixman_format_code_t {
            switch self {
            case .xrgb8888: return PIXMAN_x8r8g8b8
            case .argb8888: return PIXMAN_a8r8g8b8
            case .xbgr8888: return PIXMAN_x8b8g8r8
            case .rgb565: return PIXMAN_r5g6b5
            }
        }
    }

    /// 16.16 fixed point, pixman's coordinate type.
    static func fixed(_ v: Double) -> pixman_fixed_t { pixman_fixed_t((v * 65536).rounded()) }

    /// Scales `frame` to fill `width` x `height` pixels at `destination` (rows `stride` bytes apart).
    /// Returns false when pixman refuses the buffers (a zero size, a bad stride).
    @discardableResult
    public static func scale(_ frame: inout VGAFramebuffer, into destination: UnsafeMutableRawPointer,
                             width: Int, height: Int, stride: Int, format: Format) -> Bool {
        guard frame.width > 0, frame.height > 0, width > 0, height > 0, stride % 4 == 0 else { return false }
        let sw = frame.width, sh = frame.height
        // An opaque source: the x8r8g8b8 pixels are copied as they are, alpha set where needed.
        guard let dst = pixman_image_create_bits(format.pixman, Int32(width), Int32(height),
                                                 destination.assumingMemoryBound(to: UInt32.self), Int32(stride)) else { return false }
        defer { pixman_image_unref(dst) }
        return frame.pixels.withUnsafeMutableBufferPointer { pixels -> Bool in
            guard let base = pixels.baseAddress,
                  let src = pixman_image_create_bits(PIXMAN_x8r8g8b8, Int32(sw), Int32(sh), base, Int32(sw * 4)) else { return false }
            defer { pixman_image_unref(src) }
            if sw != width || sh != height {
                var transform = pixman_transform()
                pixman_transform_init_scale(&transform, fixed(Double(sw) / Double(width)), fixed(Double(sh) / Double(height)))
                pixman_image_set_transform(src, &transform)
                let whole = width % sw == 0 && height % sh == 0
                pixman_image_set_filter(src, whole ? PIXMAN_FILTER_NEAREST : PIXMAN_FILTER_BILINEAR, nil, 0)
                // Samples past the edge repeat the edge instead of fading to transparent black.
                pixman_image_set_repeat(src, PIXMAN_REPEAT_PAD)
            }
            pixman_image_composite32(PIXMAN_OP_SRC, src, nil, dst, 0, 0, 0, 0, 0, 0, Int32(width), Int32(height))
            return true
        }
    }

    /// The window size for a guest screen: small modes are enlarged by whole factors so that
    /// 320x200 becomes 640x400, 640x200 becomes 640x400 and 360x400 becomes 720x400.
    public static func windowSize(forFrameWidth width: Int, height: Int) -> (width: Int, height: Int) {
        guard width > 0, height > 0 else { return (640, 480) }
        let sx = max(1, Int((640.0 / Double(width)).rounded()))
        let sy = max(1, Int((400.0 / Double(height)).rounded()))
        return (width * sx, height * sy)
    }
}
