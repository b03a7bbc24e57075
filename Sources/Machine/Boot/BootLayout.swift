import MachineCore

/// Fixed guest-physical addresses of the structures the loaders build in low memory before
/// the first instruction runs. Everything lives in [0, `end`), below the lowest address any
/// supported kernel is loaded at, inside the first e820 RAM entry (0 ... 0x9FC00). The same
/// layout serves the three boot protocols; each uses only the parts it needs.
///
///     0x00500  GDT (null, null, code 0x10, data 0x18, TSS 0x20)
///     0x07000  boot information: Linux zero page | hvm_start_info | multiboot_info (4 KiB)
///     0x08000  boot stack, growing down from 0x08FF0
///     0x09000  PML4, 0x0A000 PDPT, 0x0B000-0x0EFFF four page directories (64-bit only)
///     0x10000  memory map (PVH memmap / multiboot mmap), 4 KiB
///     0x11000  module list (PVH modlist / multiboot mods), 4 KiB
///     0x12000  strings: module strings, boot loader name (up to 0x20000)
///     0x20000  kernel command line, NUL-terminated (up to 0x30000)
///
/// A board that needs low memory for its own tables (ACPI, MP) should use the BIOS area
/// 0xE0000-0xFFFFF or reserve a range in the `E820Map` it passes to the loader.
public enum BootLayout {
    /// The Global Descriptor Table.
    public static let gdt: UInt64 = 0x500
    /// Linux zero page (struct boot_params), PVH hvm_start_info or multiboot information.
    public static let bootInfo: UInt64 = 0x7000
    public static let bootInfoSize: UInt64 = 0x1000
    /// Initial stack pointer: top of the page above the boot information, 16-byte aligned.
    public static let stackTop: UInt64 = 0x8FF0
    /// Identity-mapping page tables for the 64-bit entry (see `IdentityPageTables`).
    public static let pml4: UInt64 = 0x9000
    public static let pdpt: UInt64 = 0xA000
    public static let pageDirectories: UInt64 = 0xB000
    /// Memory map handed to PVH and multiboot kernels.
    public static let memoryMap: UInt64 = 0x10000
    public static let memoryMapSize: UInt64 = 0x1000
    /// Module list handed to PVH and multiboot kernels.
    public static let moduleList: UInt64 = 0x11000
    public static let moduleListSize: UInt64 = 0x1000
    /// Strings referenced from the boot information (module names, loader name).
    public static let strings: UInt64 = 0x12000
    public static let stringsSize: UInt64 = 0xE000
    /// The kernel command line.
    public static let commandLine: UInt64 = 0x20000
    /// Room for the command line including its terminating NUL.
    public static let commandLineSize: UInt64 = 0x10000
    /// First address after the loader's structures; kernels and modules must stay above.
    public static let end: UInt64 = 0x30000

    /// The name multiboot kernels are told (boot_loader_name).
    public static let loaderName = "swiftpc"
}
