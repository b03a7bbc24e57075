/// A rendered screen: `width` x `height` pixels, row-major, each 0x00RRGGBB (XRGB8888).
public struct VGAFramebuffer: Equatable, Sendable {
    public private(set) var width: Int
    public private(set) var height: Int
    public var pixels: [UInt32]

    public init(width: Int = 0, height: Int = 0) {
        self.width = width
        self.height = height
        pixels = [UInt32](repeating: 0, count: width * height)
    }

    /// Changes the size, keeping the storage when it is already large enough.
    public mutating func resize(width: Int, height: Int) {
        guard width != self.width || height != self.height else { return }
        self.width = width
        self.height = height
        let n = width * height
        if pixels.count != n { pixels = [UInt32](repeating: 0, count: n) }
    }

    public subscript(x: Int, y: Int) -> UInt32 {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }

    /// True when every pixel has the same colour (a blank screen).
    public var isUniform: Bool {
        guard let first = pixels.first else { return true }
        return pixels.allSatisfy { $0 == first }
    }
}
