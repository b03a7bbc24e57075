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
