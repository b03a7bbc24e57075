import MachineCore

/// Offsets of the Linux real-mode kernel header ("setup header") fields, which sit at the
/// same offsets in the bzImage file and in the zero page (Documentation/arch/x86/boot.rst,
/// "THE REAL-MODE KERNEL HEADER").
public enum SetupHeader {
    /// Size of the setup code in 512-byte sectors (0 means 4).
    public static let setupSects = 0x1F1
    /// Size of the protected-mode code in 16-byte units.
    public static let sysSize = 0x1F4
    /// Video mode control.
    public static let vidMode = 0x1FA
    /// 0xAA55 boot sector signature.
    public static let bootFlag = 0x1FE
    /// The jump instruction; its second byte is the header's length past 0x202.
    public static let jump = 0x200
    /// "HdrS" magic.
    public static let header = 0x202
    /// Boot protocol version, major << 8 | minor.
    public static let version = 0x206
    /// Boot loader identifier.
    public static let typeOfLoader = 0x210
    /// Boot protocol option flags.
    public static let loadFlags = 0x211
    /// 32-bit entry (load address of the protected-mode kernel).
    public static let code32Start = 0x214
    /// Initial ramdisk address and size.
    public static let ramdiskImage = 0x218
    public static let ramdiskSize = 0x21C
    /// Free memory after the setup end, minus 0x200.
    public static let heapEndPtr = 0x224
    /// 32-bit pointer to the kernel command line.
    public static let cmdLinePtr = 0x228
    /// Highest legal initrd address (inclusive).
    public static let initrdAddrMax = 0x22C
    /// Physical alignment required for a relocatable kernel.
    public static let kernelAlignment = 0x230
    /// Whether the kernel is relocatable.
    public static let relocatableKernel = 0x234
    /// Minimum alignment, as a power of two.
    public static let minAlignment = 0x235
    /// Boot protocol option flags (2.12+).
    public static let xloadflags = 0x236
    /// Maximum size of the command line, without the NUL.
    public static let cmdlineSize = 0x238
    /// Preferred loading address (2.10+).
    public static let prefAddress = 0x258
    /// Linear memory required during initialization (2.10+).
    public static let initSize = 0x260

    /// "HdrS".
    public static let headerMagic: UInt32 = 0x5372_6448
    public static let bootFlagMagic: UInt16 = 0xAA55
    /// Oldest protocol accepted: 2.06 added cmdline_size.
    public static let minimumVersion: UInt16 = 0x0206
    /// 2.10 added pref_address and init_size, which the loader places the kernel by.
    public static let initSizeVersion: UInt16 = 0x020A

    // loadflags bits
    /// LOADED_HIGH: the protected-mode code is loaded at 0x100000 (a bzImage, not a zImage).
    public static let loadedHigh: UInt8 = 1 << 0
    /// KEEP_SEGMENTS: the kernel must not reload segment registers (32-bit entry only).
    public static let keepSegments: UInt8 = 1 << 6
    /// CAN_USE_HEAP: heap_end_ptr is valid.
    public static let canUseHeap: UInt8 = 1 << 7

    // xloadflags bits
    /// XLF_KERNEL_64: the kernel has the legacy 64-bit entry point at 0x200.
    public static let xlfKernel64: UInt16 = 1 << 0
    /// XLF_CAN_BE_LOADED_ABOVE_4G: kernel, boot_params, command line and ramdisk may sit above 4 GiB.
    public static let xlfCanBeLoadedAbove4G: UInt16 = 1 << 1
}

/// The fields of a bzImage's setup header the loader uses, validated.
public struct BzImageHeader: Equatable, Sendable {
    /// Setup sectors actually used (a stored 0 means 4).
    public var setupSectors: Int
    /// Boot protocol version, major << 8 | minor.
    public var version: UInt16
    public var loadFlags: UInt8
    public var initrdAddressMax: UInt32
    public var kernelAlignment: UInt32
    public var relocatable: Bool
    public var minimumAlignmentShift: UInt8
    public var xloadflags: UInt16
    /// Longest command line, without the NUL.
    public var commandLineSize: UInt32
    public var preferredAddress: UInt64
    /// Bytes the kernel needs from its run address while it decompresses and starts.
    public var initSize: UInt32
    /// First byte after the setup header (0x202 + the jump's displacement byte).
    public var headerEnd: Int
    /// File offset and length of the protected-mode kernel.
    public var kernelOffset: Int
    public var kernelSize: Int

    /// Whether the kernel has the 64-bit entry point (load address + 0x200); a kernel
    /// without it (an i386 build) is entered through the 32-bit one, at the load address.
    public var has64BitEntry: Bool { xloadflags & SetupHeader.xlfKernel64 != 0 }

    public var versionString: String { "\(version >> 8).\(String(format2: version & 0xFF))" }

    /// Whether the file looks like a Linux kernel with a boot-protocol header.
    static func matches(_ view: ByteView) -> Bool {
        view.u16(SetupHeader.bootFlag) == SetupHeader.bootFlagMagic && view.u32(SetupHeader.header) == SetupHeader.headerMagic
    }

    /// Parses and validates the header of a file for which `matches` is true.
    static func parse(_ view: ByteView, path: String) throws(MachineError) -> BzImageHeader {
        func bad(_ reason: String) -> MachineError { .badImage(path: path, reason: reason) }
        guard let version = view.u16(SetupHeader.version), let jumpLength = view.u8(SetupHeader.jump + 1),
              let stored = view.u8(SetupHeader.setupSects), let loadFlags = view.u8(SetupHeader.loadFlags),
              let sysSize = view.u32(SetupHeader.sysSize) else {
            throw bad("truncated bzImage: the setup header is cut off")
        }
        let headerEnd = 0x202 + Int(jumpLength)
        var h = BzImageHeader(setupSectors: stored == 0 ? 4 : Int(stored), version: version, loadFlags: loadFlags,
                              initrdAddressMax: 0, kernelAlignment: 0, relocatable: false, minimumAlignmentShift: 0,
                              xloadflags: 0, commandLineSize: 0, preferredAddress: 0, initSize: 0,
                              headerEnd: headerEnd, kernelOffset: 0, kernelSize: 0)
        guard version >= SetupHeader.minimumVersion else {
            throw bad("Linux boot protocol \(h.versionString) is older than 2.06; swiftpc needs a newer kernel")
        }
        guard loadFlags & SetupHeader.loadedHigh != 0 else {
            throw bad("kernel is a zImage (not loaded high); only bzImage kernels are supported")
        }
        guard view.count >= headerEnd, let initrdMax = view.u32(SetupHeader.initrdAddrMax),
              let alignment = view.u32(SetupHeader.kernelAlignment),
              let relocatable = view.u8(SetupHeader.relocatableKernel),
              let minAlign = view.u8(SetupHeader.minAlignment),
              let cmdlineSize = view.u32(SetupHeader.cmdlineSize) else {
            throw bad("truncated bzImage: the setup header is cut off")
        }
        h.initrdAddressMax = initrdMax
        h.kernelAlignment = alignment
        h.relocatable = relocatable != 0
        h.minimumAlignmentShift = minAlign
        h.commandLineSize = cmdlineSize
        // xloadflags exists from 2.12, pref_address and init_size from 2.10; an older header
        // has no 64-bit entry point at all. A kernel without XLF_KERNEL_64 (a 32-bit kernel)
        // is booted through the 32-bit protocol, which still needs init_size to place it.
        if version >= 0x020C, headerEnd > SetupHeader.xloadflags + 1 {
            h.xloadflags = view.u16(SetupHeader.xloadflags) ?? 0
        }
        guard version >= SetupHeader.initSizeVersion else {
            throw bad("Linux boot protocol \(h.versionString) is older than 2.10 (no init_size to place the kernel by); swiftpc needs a newer kernel")
        }
        guard let pref = view.u64(SetupHeader.prefAddress), let initSize = view.u32(SetupHeader.initSize) else {
            throw bad("truncated bzImage: the setup header is cut off")
        }
        h.preferredAddress = pref
        h.initSize = initSize

        h.kernelOffset = (h.setupSectors + 1) * 512
        let available = view.count - h.kernelOffset
        // syssize counts 16-byte units, rounded up; a signed image may have bytes after it.
        let declared = Int(sysSize) * 16
        guard available > 0, declared == 0 || available + 15 >= declared else {
            let needed = h.kernelOffset + max(declared - 15, 1)
            throw bad("truncated bzImage: \(view.count) bytes, but the header describes at least \(needed)")
        }
        h.kernelSize = declared == 0 ? available : min(declared, available)
        return h
    }
}

extension String {
    /// Two decimal digits, for minor version numbers ("2.06").
    init(format2 value: UInt16) {
        self = value < 10 ? "0\(value)" : "\(value)"
    }
}
