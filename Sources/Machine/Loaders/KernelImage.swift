import MachineCore

/// The kinds of kernel image `--kernel` accepts.
public enum KernelKind: String, Equatable, Sendable {
    /// A Linux bzImage, booted with the 64-bit boot protocol, or the 32-bit one when it has
    /// no 64-bit entry (XLF_KERNEL_64 clear: an i386 kernel).
    case bzImage
    /// An ELF kernel with a Xen PVH entry note (Linux vmlinux built with CONFIG_PVH).
    case pvh
    /// A Multiboot v1 kernel (a.out-kludge or ELF).
    case multiboot
    /// A Multiboot2 kernel (address tags or ELF).
    case multiboot2
}

/// A kernel file whose kind has been recognized from its headers and whose headers have
/// been validated; loading it can then only fail for reasons of memory and layout.
///
/// Detection order, first match wins:
/// 1. a Linux boot sector with a setup header (0xAA55 at 0x1FE and "HdrS" at 0x202): bzImage;
/// 2. an ELF file with a XEN_ELFNOTE_PHYS32_ENTRY note (in PT_NOTE or SHT_NOTE): PVH —
///    a kernel that offers both PVH and multiboot (Xen itself, some hobby kernels) gets the
///    richer PVH protocol;
/// 3. a valid Multiboot2 header in the first 32768 bytes whose requirements can be met:
///    multiboot2 (GRUB's `multiboot2` command would pick it over v1 for such an image too);
/// 4. a valid multiboot v1 header in the first 8192 bytes, ELF or not: multiboot;
/// 5. anything else is refused with the most specific reason found (a Multiboot2 header that
///    cannot be honoured, a multiboot magic with a bad checksum, an ELF without a PVH note,
///    or no known header at all).
public struct KernelImage: Sendable {
    public enum Format: Equatable, Sendable {
        case bzImage(BzImageHeader)
        case pvh(ELFImage, entry: UInt32)
        case multiboot(MultibootHeader, elf: ELFImage?)
        case multiboot2(Multiboot2Header, elf: ELFImage?)
    }

    public let path: String
    public let bytes: [UInt8]
    public let format: Format

    public var kind: KernelKind {
        switch format {
        case .bzImage: return .bzImage
        case .pvh: return .pvh
        case .multiboot: return .multiboot
        case .multiboot2: return .multiboot2
        }
    }

    /// Reads `path` and recognizes its kind.
    public static func detect(path: String) throws(MachineError) -> KernelImage {
        try detect(bytes: try ImageFile.contents(path), path: path)
    }

    /// Recognizes the kind of a kernel held in memory; `path` names it in errors.
    public static func detect(bytes: [UInt8], path: String) throws(MachineError) -> KernelImage {
        let view = ByteView(bytes)
        guard view.count > 0 else { throw .badImage(path: path, reason: "empty file") }

        if BzImageHeader.matches(view) {
            return KernelImage(path: path, bytes: bytes, format: .bzImage(try BzImageHeader.parse(view, path: path)))
        }
        let isELF = ELFImage.hasMagic(view)
        let elf = isELF ? try ELFImage.parse(view, path: path) : nil
        if let elf, let entry = elf.pvhEntry {
            return KernelImage(path: path, bytes: bytes, format: .pvh(elf, entry: entry))
        }
        // Multiboot2 first; a header this loader cannot honour leaves the v1 header, if any.
        var multiboot2Error: MachineError?
        switch Multiboot2Header.search(view) {
        case .found(let offset):
            do {
                let header = try Multiboot2Header.parse(view, offset: offset, isELF: isELF, path: path)
                return KernelImage(path: path, bytes: bytes, format: .multiboot2(header, elf: header.addresses == nil ? elf : nil))
            } catch {
                multiboot2Error = error
            }
        case .badChecksum(let offset):
            multiboot2Error = .badImage(path: path, reason: "multiboot2 header at \(hex(UInt64(offset))) has a bad checksum")
        case .none:
            break
        }
        let v1 = MultibootHeader.search(view)
        if let multiboot2Error, case .none = v1 { throw multiboot2Error }
        switch v1 {
        case .found(let offset):
            let header = try MultibootHeader.parse(view, offset: offset, isELF: isELF, path: path)
            return KernelImage(path: path, bytes: bytes, format: .multiboot(header, elf: header.addresses == nil ? elf : nil))
        case .badChecksum(let offset):
            throw .badImage(path: path, reason: "multiboot header at \(hex(UInt64(offset))) has a bad checksum")
        case .none:
            break
        }
        if isELF {
            throw .badImage(path: path, reason: "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) and no multiboot header")
        }
        throw .badImage(path: path, reason: "not a kernel image (no bzImage, ELF or multiboot header)")
    }
}
