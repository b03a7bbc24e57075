import Foundation
import MachineCore

/// Places a BIOS image the way a PC's flash is decoded: the whole image ends at 4 GiB (where
/// the reset vector FFFFFFF0 lies) and its last 128 KiB are also visible below 1 MiB at
/// 0xE0000-0xFFFFF, the legacy BIOS area (as QEMU's isa-bios alias does).
public enum FirmwareImage {
    /// Largest legacy-area alias.
    public static let legacyWindow = 128 << 10
    /// Largest image we accept (a 16 MiB flash part).
    public static let maximumSize = 16 << 20

    public static func read(path: String) throws(MachineError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw .unreadableFile(path: path, reason: reason)
        }
        guard !data.isEmpty else { throw .badImage(path: path, reason: "firmware image is empty") }
        guard data.count <= maximumSize, data.count % 4096 == 0 else {
            throw .badImage(path: path, reason: "firmware image must be a multiple of 4 KiB and at most 16 MiB (it is \(data.count) bytes)")
        }
        return [UInt8](data)
    }

    /// Maps `image` as ROM below 4 GiB and copies its tail into the legacy BIOS area of RAM.
    /// With `mapROM` false only the legacy-area copy is refreshed (a machine reset).
    public static func install(_ image: [UInt8], into memory: GuestMemory, mapROM: Bool = true) throws(MachineError) {
        if mapROM { try memory.addROM(image, at: 0x1_0000_0000 - UInt64(image.count)) }
        let window = min(image.count, legacyWindow)
        try memory.write(image[(image.count - window)...], at: 0x10_0000 - UInt64(window))
    }
}
