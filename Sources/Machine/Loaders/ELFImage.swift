import MachineCore

/// A little-endian x86 ELF executable, as far as loading needs it (System V ABI, "ELF
/// Header", "Program Header", "Note Section"; the ELF-64 Object File Format). Both ELF32 and
/// ELF64 are read: Linux's vmlinux is ELF64, many multiboot kernels are ELF32.
public struct ELFImage: Equatable, Sendable {
    /// ELF identification: "\x7fELF" at offset 0.
    static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
    /// e_ident[EI_CLASS] values.
    static let class32: UInt8 = 1, class64: UInt8 = 2
    /// e_ident[EI_DATA] value for two's-complement little-endian.
    static let dataLittleEndian: UInt8 = 1
    /// e_machine values: Intel 80386 and AMD x86-64.
    static let machine386: UInt16 = 3, machineX86_64: UInt16 = 62
    /// p_type values.
    static let ptLoad: UInt32 = 1, ptNote: UInt32 = 4
    /// sh_type of a note section.
    static let shtNote: UInt32 = 7
    /// Xen's note owner name and the PVH entry note type (xen/include/public/elfnote.h,
    /// XEN_ELFNOTE_PHYS32_ENTRY): the 32-bit physical entry point of a PVH kernel.
    static let xenNoteName = "Xen"
    static let xenElfNotePhys32Entry: UInt32 = 18

    /// One PT_LOAD segment.
    public struct Segment: Equatable, Sendable {
        /// Offset of the segment's bytes in the file.
        public var fileOffset: UInt64
        public var fileSize: UInt64
        /// Physical load address (p_paddr): where PVH and multiboot loaders put it.
        public var physicalAddress: UInt64
        public var virtualAddress: UInt64
        /// Size in memory; the part beyond `fileSize` is zero-filled (bss).
        public var memorySize: UInt64
    }

    public var is64Bit: Bool
    public var machine: UInt16
    /// e_entry (a virtual address for Linux; equal to the physical one for most multiboot kernels).
    public var entry: UInt64
    public var loadSegments: [Segment]
    /// The XEN_ELFNOTE_PHYS32_ENTRY value, when the image has one.
    public var pvhEntry: UInt32?

    /// Lowest physical address any segment occupies, and the first address above them all.
    public var physicalExtent: Range<UInt64> {
        let lo = loadSegments.map(\.physicalAddress).min() ?? 0
        let hi = loadSegments.map { $0.physicalAddress + $0.memorySize }.max() ?? 0
        return lo..<max(lo, hi)
    }

    static func hasMagic(_ view: ByteView) -> Bool {
        view.count >= 4 && Array(view.bytes[0..<4]) == magic
    }

    /// Parses the headers of an image that starts with the ELF magic.
    static func parse(_ view: ByteView, path: String) throws(MachineError) -> ELFImage {
        func bad(_ reason: String) -> MachineError { .badImage(path: path, reason: reason) }
        guard let cls = view.u8(4), let data = view.u8(5), let machine = view.u16(18) else {
            throw bad("truncated ELF header")
        }
        guard cls == class32 || cls == class64 else { throw bad("ELF class \(cls) is neither ELF32 nor ELF64") }
        guard data == dataLittleEndian else { throw bad("ELF image is not little-endian") }
        guard machine == machine386 || machine == machineX86_64 else {
            throw bad("ELF image is for machine \(machine), not x86 (3) or x86-64 (62)")
        }
        let is64 = cls == class64
        // Field offsets of the ELF header differ between the classes past e_version.
        let header: (entry: UInt64?, phoff: UInt64?, shoff: UInt64?, phentsize: UInt16?, phnum: UInt16?,
                     shentsize: UInt16?, shnum: UInt16?)
        if is64 {
            header = (view.u64(24), view.u64(32), view.u64(40), view.u16(54), view.u16(56), view.u16(58), view.u16(60))
        } else {
            header = (view.u32(24).map(UInt64.init), view.u32(28).map(UInt64.init), view.u32(32).map(UInt64.init),
                      view.u16(42), view.u16(44), view.u16(46), view.u16(48))
        }
        guard let entry = header.entry, let phoff = header.phoff, let shoff = header.shoff,
              let phentsize = header.phentsize, let phnum = header.phnum,
              let shentsize = header.shentsize, let shnum = header.shnum else {
            throw bad("truncated ELF header")
        }
        let minimumPhentsize: UInt16 = is64 ? 56 : 32
        guard phnum > 0 else { throw bad("ELF image has no program headers") }
        guard phentsize >= minimumPhentsize else { throw bad("ELF program header size \(phentsize) is too small") }
        guard view.contains(phoff, UInt64(phentsize) * UInt64(phnum)) else {
            throw bad("truncated ELF: program headers run past the end of the file")
        }

        var image = ELFImage(is64Bit: is64, machine: machine, entry: entry, loadSegments: [], pvhEntry: nil)
        var noteRanges: [(offset: UInt64, size: UInt64, align: UInt64)] = []
        for i in 0..<Int(phnum) {
            let at = Int(phoff) + i * Int(phentsize)
            // Program header fields (p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align).
            let type = view.u32(at) ?? 0
            let f: [UInt64] = is64
                ? [8, 16, 24, 32, 40, 48].map { view.u64(at + $0) ?? 0 }
                : [4, 8, 12, 16, 20, 28].map { UInt64(view.u32(at + $0) ?? 0) }
            let (offset, vaddr, paddr, filesz, memsz, align) = (f[0], f[1], f[2], f[3], f[4], f[5])
            switch type {
            case ptLoad:
                guard view.contains(offset, filesz) else {
                    throw bad("truncated ELF: segment \(i) (\(filesz) bytes at file offset \(hex(offset))) runs past the end of the file")
                }
                guard memsz >= filesz else { throw bad("ELF segment \(i) has p_memsz smaller than p_filesz") }
                guard paddr.addingReportingOverflow(memsz).overflow == false else {
                    throw bad("ELF segment \(i) wraps around the address space")
                }
                if memsz > 0 {
                    image.loadSegments.append(Segment(fileOffset: offset, fileSize: filesz, physicalAddress: paddr,
                                                      virtualAddress: vaddr, memorySize: memsz))
                }
            case ptNote:
                guard view.contains(offset, filesz) else {
                    throw bad("truncated ELF: note segment \(i) runs past the end of the file")
                }
                noteRanges.append((offset, filesz, align))
            default:
                break
            }
        }
        guard !image.loadSegments.isEmpty else { throw bad("ELF image has no loadable segments") }

        image.pvhEntry = try pvhNote(view, ranges: noteRanges, path: path)
        // Some images carry their notes only in sections (no PT_NOTE); look there too.
        if image.pvhEntry == nil, shoff != 0, shnum > 0, shentsize >= (is64 ? 64 : 40),
           view.contains(shoff, UInt64(shentsize) * UInt64(shnum)) {
            var sectionNotes: [(offset: UInt64, size: UInt64, align: UInt64)] = []
            for i in 0..<Int(shnum) {
                let at = Int(shoff) + i * Int(shentsize)
                guard view.u32(at + 4) == shtNote else { continue }
                let (offset, size, align) = is64
                    ? (view.u64(at + 24) ?? 0, view.u64(at + 32) ?? 0, view.u64(at + 48) ?? 0)
                    : (UInt64(view.u32(at + 16) ?? 0), UInt64(view.u32(at + 20) ?? 0), UInt64(view.u32(at + 32) ?? 0))
                if view.contains(offset, size) { sectionNotes.append((offset, size, align)) }
            }
            image.pvhEntry = try pvhNote(view, ranges: sectionNotes, path: path)
        }
        return image
    }

    /// Walks the notes in `ranges` (each an array of Elf_Nhdr + name + desc, padded to 4, or
    /// 8 when the container is 8-aligned) for Xen's PHYS32_ENTRY note.
    private static func pvhNote(_ view: ByteView, ranges: [(offset: UInt64, size: UInt64, align: UInt64)],
                                path: String) throws(MachineError) -> UInt32? {
        for range in ranges {
            let pad: UInt64 = range.align == 8 ? 8 : 4
            var at = range.offset
            let end = range.offset + range.size
            while at + 12 <= end {
                guard let namesz = view.u32(Int(at)), let descsz = view.u32(Int(at) + 4),
                      let type = view.u32(Int(at) + 8) else { break }
                let nameAt = at + 12
                let descAt = nameAt + alignUp(UInt64(namesz), pad)
                let next = descAt + alignUp(UInt64(descsz), pad)
                guard next <= end else { break }  // a malformed note ends the walk
                let name = view.bytes[Int(nameAt)..<Int(nameAt + UInt64(namesz))].prefix { $0 != 0 }
                if type == xenElfNotePhys32Entry, String(decoding: name, as: UTF8.self) == xenNoteName {
                    let value: UInt64?
                    switch descsz {
                    case 4: value = view.u32(Int(descAt)).map(UInt64.init)
                    case 8: value = view.u64(Int(descAt))
                    default: value = nil
                    }
                    guard let value else {
                        throw .badImage(path: path, reason: "PVH entry note has a \(descsz)-byte value (expected 4 or 8)")
                    }
                    guard value <= UInt64(UInt32.max) else {
                        throw .badImage(path: path, reason: "PVH entry point \(hex(value)) is above 4 GiB")
                    }
                    return UInt32(value)
                }
                at = next
            }
        }
        return nil
    }
}
