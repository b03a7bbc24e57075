import Devices
import MachineCore
import XCTest
@testable import Machine

/// What the machine hands SeaBIOS through fw_cfg: the boot order and the memory map.
final class FirmwareConfigContentTests: XCTestCase {
    func testBootOrderListsDisksThenTheCDUnlessTheCDComesFirst() {
        var config = MachineConfig()
        config.disks = [DiskSpec(path: "a.img"), DiskSpec(path: "b.img")]
        config.cdrom = "c.iso"
        let disk0 = "/pci@i0cf8/*@1,1/drive@0/disk@0", disk1 = "/pci@i0cf8/*@1,1/drive@0/disk@1"
        let cd = "/pci@i0cf8/*@1,1/drive@1/disk@0"
        XCTAssertEqual(FirmwareConfigContent.bootOrder(config: config), [disk0, disk1, cd])
        config.bootFromCDROMFirst = true
        XCTAssertEqual(FirmwareConfigContent.bootOrder(config: config), [cd, disk0, disk1])
        XCTAssertEqual(FirmwareConfigContent.bootOrder(config: MachineConfig()), [])
    }

    func testTheInstalledItemsReachTheDevice() throws {
        let memory = try GuestMemory(size: 64 << 20)
        let fwcfg = FirmwareConfig(memory: memory)
        try FirmwareConfigContent.install(into: fwcfg, memory: memory, cpuCount: 1, bootOrder: ["/x"])
        XCTAssertEqual(fwcfg.file("bootorder"), Array("/x\n".utf8) + [0])
        // The RAM of E820Map, 20 bytes an entry (address, length, type): conventional memory
        // and 1 MiB .. 64 MiB.
        let e820 = fwcfg.file("etc/e820") ?? []
        let ram = E820Map(memory: memory).entries.filter { $0.type == .ram }
        XCTAssertEqual(e820.count, 20 * ram.count)
        let last = e820.count - 20
        XCTAssertEqual(e820[last..<last + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) }, 1 << 20)
        XCTAssertEqual(e820[last + 8..<last + 16].reversed().reduce(0) { $0 << 8 | UInt64($1) }, (64 << 20) - (1 << 20))
        XCTAssertEqual(e820[last + 16], 1)
        for name in [ACPITables.rsdpFile, ACPITables.tablesFile, ACPITables.loaderFile] {
            XCTAssertNotNil(fwcfg.file(name), name)
        }
    }
}

/// The items QEMU adds to fw_cfg on a `-kernel` boot.
final class FirmwareConfigKernelItemsTests: XCTestCase {
    /// Reads numbered item `key` through the selector and data ports.
    func item(_ fwcfg: FirmwareConfig, _ key: UInt16, count: Int) -> [UInt8] {
        fwcfg.portWrite(offset: 0, size: 2, value: UInt32(key))
        return (0..<count).map { _ in UInt8(fwcfg.portRead(offset: 1, size: 1)) }
    }

    func u32(_ bytes: [UInt8]) -> Int { bytes.reversed().reduce(0) { $0 << 8 | Int($1) } }

    func testBzImageIsSplitIntoSetupAndKernelWithCommandLineAndInitrd() throws {
        let dir = try TemporaryDirectory()
        let builder = BzImageBuilder()
        let bytes = builder.build()
        let image = try KernelImage.detect(bytes: bytes, path: "bz")
        let initrd = [try dir.file("a", [1, 2, 3]), try dir.file("b", [4, 5])]
        let fwcfg = FirmwareConfig(memory: try GuestMemory(size: 16 << 20))
        try FirmwareConfigContent.installKernel(into: fwcfg, image: image, initrd: initrd, commandLine: "console=ttyS0")

        XCTAssertEqual(u32(item(fwcfg, FirmwareConfig.Key.commandLineSize, count: 4)), 14)
        XCTAssertEqual(item(fwcfg, FirmwareConfig.Key.commandLineData, count: 14), Array("console=ttyS0".utf8) + [0])
        XCTAssertEqual(u32(item(fwcfg, FirmwareConfig.Key.setupSize, count: 4)), builder.kernelOffset)
        XCTAssertEqual(item(fwcfg, FirmwareConfig.Key.setupData, count: 16), Array(bytes[0..<16]))
        XCTAssertEqual(u32(item(fwcfg, FirmwareConfig.Key.kernelSize, count: 4)), bytes.count - builder.kernelOffset)
        XCTAssertEqual(item(fwcfg, FirmwareConfig.Key.kernelData, count: 16),
                       Array(bytes[builder.kernelOffset..<builder.kernelOffset + 16]))
        XCTAssertEqual(u32(item(fwcfg, FirmwareConfig.Key.initrdSize, count: 4)), 5)
        XCTAssertEqual(item(fwcfg, FirmwareConfig.Key.initrdData, count: 6), [1, 2, 3, 4, 5, 0], "reads past the end are 0")
    }

    func testMultibootKernelIsServedWholeAndModulesAreNoInitrd() throws {
        let dir = try TemporaryDirectory()
        let bytes = multibootKludgeImage()
        let image = try KernelImage.detect(bytes: bytes, path: "mb")
        let fwcfg = FirmwareConfig(memory: try GuestMemory(size: 16 << 20))
        try FirmwareConfigContent.installKernel(into: fwcfg, image: image, initrd: [try dir.file("m", [9])], commandLine: "")
        XCTAssertEqual(u32(item(fwcfg, FirmwareConfig.Key.kernelSize, count: 4)), bytes.count)
        XCTAssertEqual(u32(item(fwcfg, FirmwareConfig.Key.commandLineSize, count: 4)), 1, "the NUL alone")
        XCTAssertEqual(u32(item(fwcfg, FirmwareConfig.Key.setupSize, count: 4)), 0)
        XCTAssertEqual(u32(item(fwcfg, FirmwareConfig.Key.initrdSize, count: 4)), 0)
    }
}
