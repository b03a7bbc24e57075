import Foundation

/// Where `swiftpc run` finds firmware nobody named on the command line: `roms/` of the
/// checkout the binary was built in (`.build/<config>/swiftpc` → `../../roms`), `roms/` of
/// the working directory, then Debian's seabios package.
enum FirmwareSearch {
    static let biosName = "bios-256k.bin"
    static let vgaBIOSName = "vgabios-stdvga.bin"
    static let systemDirectory = "/usr/share/seabios"

    static func candidates(_ name: String) -> [String] {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let checkout = executable.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return [checkout.appendingPathComponent("roms/\(name)").path,
                FileManager.default.currentDirectoryPath + "/roms/\(name)",
                "\(systemDirectory)/\(name)"]
    }

    static func find(_ name: String) -> String? {
        candidates(name).first { FileManager.default.isReadableFile(atPath: $0) }
    }

    static func defaultBIOS() -> String? { find(biosName) }
    static func defaultVGABIOS() -> String? { find(vgaBIOSName) }
}
