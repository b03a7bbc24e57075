/// The Bochs VBE ("DISPI") interface: an index/data port pair through which a guest sets a
/// linear-framebuffer mode directly (Bochs' vbe.h, as documented for the Bochs VGA BIOS and
/// used by SeaBIOS's bochsvga.c and Linux's drivers/gpu/drm/tiny/bochs.c).
public enum BochsVBE {
    public static let indexPort: UInt16 = 0x1CE
    /// The data port is 0x1CF; both take 16-bit accesses.
    public static let portCount = 2

    public static let indexID = 0x0
    public static let indexXRes = 0x1
    public static let indexYRes = 0x2
    public static let indexBPP = 0x3
    public static let indexEnable = 0x4
    public static let indexBank = 0x5
    public static let indexVirtWidth = 0x6
    public static let indexVirtHeight = 0x7
    public static let indexXOffset = 0x8
    public static let indexYOffset = 0x9
    /// Read-only: video memory size in 64 KiB units.
    public static let indexVideoMemory64K = 0xA
    public static let registerCount = 0xB

    /// Interface versions: a guest writes one to the ID register and reads it back.
    public static let id0: UInt16 = 0xB0C0
    public static let id5: UInt16 = 0xB0C5

    /// ENABLE bits.
    public static let enabled: UInt16 = 0x01
    /// While set, XRES/YRES/BPP read as the maxima.
    public static let getCaps: UInt16 = 0x02
    /// The DAC takes 8-bit components.
    public static let eightBitDAC: UInt16 = 0x20
    /// The linear framebuffer is in use (informational here: it always decodes).
    public static let lfbEnabled: UInt16 = 0x40
    /// Do not clear video memory on enable.
    public static let noClearMemory: UInt16 = 0x80

    public static let maxXRes: UInt16 = 2560
    public static let maxYRes: UInt16 = 1600
    public static let maxBPP: UInt16 = 32
    public static let supportedBPP: Set<UInt16> = [8, 15, 16, 24, 32]

    /// Bank granularity of the 0xA0000 window in VBE modes.
    public static let bankSize = 64 << 10
}

/// The DISPI registers and what follows from them.
public struct BochsVBEState: Equatable, Sendable {
    public var index: UInt16 = 0
    public var id: UInt16 = BochsVBE.id0
    public var xres: UInt16 = 640
    public var yres: UInt16 = 480
    public var bpp: UInt16 = 8
    public var enable: UInt16 = 0
    public var bank: UInt16 = 0
    public var virtWidth: UInt16 = 640
    public var virtHeight: UInt16 = 480
    public var xOffset: UInt16 = 0
    public var yOffset: UInt16 = 0

    public init() {}

    public var isEnabled: Bool { enable & BochsVBE.enabled != 0 }
    public var eightBitDAC: Bool { enable & BochsVBE.eightBitDAC != 0 }
    /// Bytes per pixel (15-bit modes take two).
    public var bytesPerPixel: Int { (Int(bpp) + 7) / 8 }
    /// Bytes between two lines of the virtual screen.
    public var lineOffset: Int { Int(virtWidth) * bytesPerPixel }
    /// Byte offset in VRAM of the first displayed pixel.
    public var displayStart: Int { Int(yOffset) * lineOffset + Int(xOffset) * bytesPerPixel }
}
