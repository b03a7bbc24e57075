#if canImport(Glibc)
import Glibc
#endif
import MachineCore

/// QEMU's firmware configuration device ("fw_cfg", QEMU docs/specs/fw_cfg.rst): how the
/// machine hands SeaBIOS its RAM size, CPU count, boot order, ACPI tables and other files.
///
/// Ports (x86): 0x510 selector (16-bit write), 0x511 data (8-bit read, advancing through the
/// selected item; reads past the end return 0), 0x514-0x51B the DMA address register (a
/// 64-bit big-endian guest-physical address of an `FWCfgDmaAccess`; writing its low half,
/// 0x518, starts the operation). Reading 0x514-0x51B returns the DMA signature "QEMU CFG".
///
/// The device serves numbered items (the legacy keys below 0x20) and named files, listed in
/// the file directory (key 0x19) with selectors from 0x20 up. DMA operations complete before
/// the triggering write returns, so a guest polling the control word sees it done at once.
public final class FirmwareConfig: PortIODevice {
    public static let selectorPort: UInt16 = 0x510
    public static let dataPort: UInt16 = 0x511
    public static let dmaPort: UInt16 = 0x514
    /// Ports 0x510-0x51B.
    public static let portCount = 12

    /// Offsets of the registers from 0x510.
    enum Offset {
        static let selector: UInt16 = 0
        static let data: UInt16 = 1
        static let dmaHigh: UInt16 = 4
        static let dmaLow: UInt16 = 8
    }

    /// Legacy item keys (fw_cfg.rst, "Selector Register").
    public enum Key {
        public static let signature: UInt16 = 0x0000
        public static let id: UInt16 = 0x0001
        public static let uuid: UInt16 = 0x0002
        public static let ramSize: UInt16 = 0x0003
        public static let cpuCount: UInt16 = 0x0005
        /// What QEMU serves on `-kernel` boots: sizes (u32) and contents of the kernel, the
        /// initrd, the NUL-terminated command line and a bzImage's real-mode setup part.
        public static let kernelSize: UInt16 = 0x0008
        public static let initrdSize: UInt16 = 0x000B
        public static let kernelData: UInt16 = 0x0011
        public static let initrdData: UInt16 = 0x0012
        public static let commandLineSize: UInt16 = 0x0014
        public static let commandLineData: UInt16 = 0x0015
        public static let setupSize: UInt16 = 0x0017
        public static let setupData: UInt16 = 0x0018
        public static let bootMenu: UInt16 = 0x000E
        public static let maxCPUs: UInt16 = 0x000F
        public static let fileDirectory: UInt16 = 0x0019
        /// The first selector given to a named file.
        public static let firstFile: UInt16 = 0x0020
        /// x86 items: legacy ACPI table list, SMBIOS entries, IRQ0 override, e820 reservations.
        public static let acpiTables: UInt16 = 0x8000
        public static let smbiosEntries: UInt16 = 0x8001
        public static let irq0Override: UInt16 = 0x8002
        public static let e820Table: UInt16 = 0x8003
    }

    /// Bits of the ID item: the traditional port interface and the DMA interface exist.
    public static let featureTraditional: UInt32 = 1 << 0
    public static let featureDMA: UInt32 = 1 << 1

    /// Control bits of an `FWCfgDmaAccess` (big-endian u32 control, u32 length, u64 address).
    public enum DMAControl {
        public static let error: UInt32 = 0x01
        public static let read: UInt32 = 0x02
        public static let skip: UInt32 = 0x04
        public static let select: UInt32 = 0x08
        public static let write: UInt32 = 0x10
    }

    /// What reading the DMA address register returns: "QEMU CFG" as a big-endian u64.
    public static let dmaSignature: UInt64 = 0x5145_4D55_2043_4647
    /// Largest name of a file, with its terminating NUL (the directory entry's field).
    public static let fileNameLength = 56

    private let memory: GuestMemory
    private var items: [UInt16: [UInt8]] = [:]
    private var files: [(name: String, selector: UInt16)] = []
    var selected: UInt16 = 0
    var position = 0
    var dmaAddress: UInt64 = 0

    public init(memory: GuestMemory) {
        self.memory = memory
        items[Key.signature] = Array("QEMU".utf8)
        items[Key.id] = le(Self.featureTraditional | Self.featureDMA, bytes: 4)
        rebuildDirectory()
    }

    public func attach(to bus: PortIOBus, name: String = "fw_cfg") throws(MachineError) {
        _ = try bus.claim(base: Self.selectorPort, count: Self.portCount, device: self, name: name)
    }

    /// Sets a numbered item.
    public func setItem(_ key: UInt16, _ bytes: [UInt8]) { items[key] = bytes }

    /// Sets a little-endian integer item of `width` bytes.
    public func setItem(_ key: UInt16, integer: UInt64, width: Int) { items[key] = le(integer, bytes: width) }

    /// Adds (or replaces) a named file. Names longer than 55 bytes are a board-assembly error.
    public func addFile(_ name: String, _ bytes: [UInt8]) throws(MachineError) {
        guard name.utf8.count < Self.fileNameLength else {
            throw .badConfiguration("fw_cfg file name '\(name)' is longer than \(Self.fileNameLength - 1) bytes")
        }
        if let existing = files.first(where: { $0.name == name }) {
            items[existing.selector] = bytes
        } else {
            let selector = Key.firstFile + UInt16(files.count)
            files.append((name, selector))
            items[selector] = bytes
        }
        rebuildDirectory()
    }

    /// The contents of a named file, if present.
    public func file(_ name: String) -> [UInt8]? {
        files.first(where: { $0.name == name }).flatMap { items[$0.selector] }
    }

    /// The size of the item at `key` (0 for an absent one).
    func itemSize(_ key: UInt16) -> Int { items[key]?.count ?? 0 }

    /// The directory (key 0x19): a big-endian count, then per file a big-endian size and
    /// selector, two reserved bytes and the NUL-padded name, in name order as QEMU keeps it.
    private func rebuildDirectory() {
        var dir = be(UInt64(files.count), bytes: 4)
        for file in files.sorted(by: { $0.name < $1.name }) {
            dir += be(UInt64(items[file.selector]?.count ?? 0), bytes: 4)
            dir += be(UInt64(file.selector), bytes: 2) + [0, 0]
            var name = Array(file.name.utf8)
            name += [UInt8](repeating: 0, count: Self.fileNameLength - name.count)
            dir += name
        }
        items[Key.fileDirectory] = dir
    }

    public func reset() {
        selected = 0
        position = 0
        dmaAddress = 0
    }

    // MARK: ports

    public func portRead(offset: UInt16, size: Int) -> UInt32 {
        switch offset {
        case Offset.data:
            // Wider reads of the data port return successive bytes (little-endian).
            var value: UInt32 = 0
            for k in 0..<size { value |= UInt32(nextByte()) << UInt32(8 * k) }
            return value
        case Offset.dmaHigh..<(Offset.dmaHigh + 8):
            // The signature as it lies in the big-endian register, byte by byte.
            var value: UInt32 = 0
            for k in 0..<size {
                let index = Int(offset - Offset.dmaHigh) + k
                guard index < 8 else { break }
                value |= UInt32(truncatingIfNeeded: Self.dmaSignature >> UInt64(8 * (7 - index)) & 0xFF) << UInt32(8 * k)
            }
            return value
        default:
            return UInt32(truncatingIfNeeded: allOnes(size: size))
        }
    }

    public func portWrite(offset: UInt16, size: Int, value: UInt32) {
        switch offset {
        case Offset.selector:
            select(UInt16(truncatingIfNeeded: value))
        case Offset.data:
            break    // writes through the data port are ignored (QEMU 2.4 and later)
        case Offset.dmaHigh where size == 4:
            dmaAddress = (dmaAddress & 0xFFFF_FFFF) | UInt64(UInt32(bigEndian: value)) << 32
        case Offset.dmaLow where size == 4:
            dmaAddress = (dmaAddress & ~0xFFFF_FFFF) | UInt64(UInt32(bigEndian: value))
            runDMA(at: dmaAddress)
            dmaAddress = 0
        default:
            break
        }
    }

    private func select(_ key: UInt16) {
        selected = key
        position = 0
    }

    private func nextByte() -> UInt8 {
        guard let item = items[selected], position < item.count else { return 0 }
        defer { position += 1 }
        return item[position]
    }

    /// Runs one `FWCfgDmaAccess` (fw_cfg.rst, "DMA interface"): optional select, then a read,
    /// skip or (unsupported, so error) write of `length` bytes; the control word is then
    /// cleared, or left with only the error bit set.
    ///
    /// `length` is the guest's and may be anything up to 4 GiB: a read copies at most what
    /// the selected item still holds, straight from the item into guest RAM, and writes the
    /// rest as zeros (as QEMU does) in steps of `dmaStepBytes`, checking between steps for a
    /// stop request. It ends at the end of the RAM the target lies in, with the error bit: no
    /// host allocation depends on the guest, and the work is bounded by the guest's RAM.
    private func runDMA(at address: UInt64) {
        guard let control = try? memory.read32(address).bigEndian,
              let length = try? memory.read32(address + 4).bigEndian,
              let target = try? memory.read64(address + 8).bigEndian else { return }
        if control & DMAControl.select != 0 { select(UInt16(control >> 16)) }
        var ok = true
        let remaining = max(0, (items[selected]?.count ?? 0) - position)
        if control & DMAControl.read != 0 {
            ok = dmaRead(length: UInt64(length), to: target)
        } else if control & DMAControl.skip != 0 {
            // Past the end nothing is left to skip: the position stays at the end.
            position += min(Int(length), remaining)
        } else if control & DMAControl.write != 0 {
            ok = false    // no item here is guest-writable
        }
        try? memory.write32(address, (ok ? 0 : DMAControl.error).bigEndian)
    }

    /// Largest piece of a DMA read done between two looks at the machine's stop request.
    public static let dmaStepBytes = 16 << 20
    /// Checked before each step of a DMA read: true abandons it (with the error bit).
    /// The machine sets it to its stop request, so that no guest transfer delays a stop.
    public var shouldAbandonTransfer: (() -> Bool)?

    /// The read part of a DMA access: `length` bytes from the selected item (zeros past its
    /// end) to guest RAM at `target`. False when the range leaves RAM or a stop intervened.
    private func dmaRead(length: UInt64, to target: UInt64) -> Bool {
        var address = target
        var left = length
        let item = items[selected] ?? []
        while left > 0 {
            // Asked before every step: many DMA starts in one burst (REP OUTS under KVM)
            // must not each do a step once a stop has been requested.
            if shouldAbandonTransfer?() == true { return false }
            let inRAM = memory.ramBytes(from: address)
            guard inRAM > 0 else { return false }
            let n = Int(min(left, inRAM, UInt64(Self.dmaStepBytes)))
            guard let p = memory.ramPointer(address, length: n) else { return false }
            let fromItem = min(n, max(0, item.count - position))
            if fromItem > 0 {
                item.withUnsafeBytes { p.copyMemory(from: $0.baseAddress! + position, byteCount: fromItem) }
                position += fromItem
            }
            // memset, not initializeMemory: unspecialized (debug) builds fill that byte by byte.
            if fromItem < n { memset(p + fromItem, 0, n - fromItem) }
            // Engines forget code they decoded there (GuestMemoryObserver).
            memory.noteDeviceWrite(physical: address, length: n)
            address += UInt64(n)
            left -= UInt64(n)
        }
        return true
    }

    private func le(_ value: UInt32, bytes: Int) -> [UInt8] { le(UInt64(value), bytes: bytes) }
    private func le(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) }
    }
    private func be(_ value: UInt64, bytes: Int) -> [UInt8] { le(value, bytes: bytes).reversed() }
}
