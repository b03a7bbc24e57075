import Devices
import MachineCore
import Xen
import XCTest
@testable import Machine

/// The pc board with `--xen` (PCBoard+Xen.swift): Xen's platform PCI device and its unplug
/// ports exist only then, its unplug requests reach the IDE disks, and the console and
/// xenstore rings live in QEMU's special area, backed and reserved on every boot path.
final class PCBoardXenTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }

    func machine(xen: Bool, firmware: Bool = false, disks: Int = 0, cdrom: Bool = false) throws -> Machine {
        var config = MachineConfig()
        config.machine = .pc
        config.accel = .interp
        config.memorySize = 64 << 20
        config.serial = .none
        if firmware {
            // A stand-in BIOS: the board needs an image, not a working one.
            config.bios = try directory.file("bios.bin", [UInt8](repeating: 0xF4, count: 64 << 10))
        } else {
            config.kernel = try directory.file("bzImage", BzImageBuilder().build())
        }
        config.disks = try (0..<disks).map { DiskSpec(path: try directory.file("disk\($0).img", [UInt8](repeating: 0, count: 1 << 20))) }
        if cdrom { config.cdrom = try directory.file("cd.iso", [UInt8](repeating: 0, count: 2048 * 16)) }
        if xen { config.xen = .default }
        return try Machine(config: config, serialBackend: NullSerialBackend())
    }

    func pc(_ m: Machine) -> PCBoard { m.board as! PCBoard }

    func configRead(_ m: Machine, device: Int, offset: Int) -> UInt32 {
        m.lock.withLock {
            m.portBus.write(port: 0xCF8, size: 4, value: 0x8000_0000 | UInt32(device) << 11 | UInt32(offset))
            return m.portBus.read(port: 0xCFC, size: 4)
        }
    }

    /// The 20-byte entries of fw_cfg's etc/e820 as (base, size, type).
    func firmwareE820(_ m: Machine) -> [(UInt64, UInt64, UInt32)] {
        let bytes = pc(m).firmwareConfig.file("etc/e820") ?? []
        func le(_ slice: ArraySlice<UInt8>) -> UInt64 { slice.reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        return stride(from: 0, to: bytes.count, by: 20).map { o in
            (le(bytes[o..<o + 8]), le(bytes[o + 8..<o + 16]), UInt32(le(bytes[o + 16..<o + 20])))
        }
    }

    /// The zero page's E820 table a directly booted bzImage finds.
    func bootE820(_ m: Machine) throws -> [(UInt64, UInt64, UInt32)] {
        let zeroPage = BootLayout.bootInfo
        let count = Int(try m.memory.read8(zeroPage + UInt64(ZeroPage.e820Entries)))
        return try (0..<count).map { i in
            let entry = zeroPage + UInt64(ZeroPage.e820Table + i * ZeroPage.e820EntrySize)
            return (try m.memory.read64(entry), try m.memory.read64(entry + 8), try m.memory.read32(entry + 16))
        }
    }

    func testWithoutXenThereIsNoPlatformDeviceNoUnplugPortAndNoSpecialArea() throws {
        let m = try machine(xen: false)
        XCTAssertNil(pc(m).xenPlatform)
        XCTAssertEqual(configRead(m, device: 3, offset: 0), 0xFFFF_FFFF, "00:03.0 is empty")
        XCTAssertNil(m.portBus.claimInfo(at: 0x10))
        XCTAssertFalse(m.memory.isRuntimePage(XenSpecialPages.areaBase))
        XCTAssertEqual(m.memory.runtimePageCount, 0)
        XCTAssertFalse(firmwareE820(m).contains { $0.2 == E820Type.reserved.rawValue }, "only RAM, as before")
        XCTAssertFalse(try bootE820(m).contains { $0.0 == XenSpecialPages.areaBase })
    }

    func testWithXenThePlatformDeviceIsAt0003AndItsPortsAnswer() throws {
        let m = try machine(xen: true)
        XCTAssertEqual(configRead(m, device: 3, offset: 0), 0x0001_5853)
        XCTAssertEqual(configRead(m, device: 3, offset: 8), 0xFF80_0001)
        XCTAssertEqual(m.lock.withLock { m.portBus.read(port: 0x10, size: 2) }, 0x49D2)
        XCTAssertTrue(m.board.devices.contains { $0 === pc(m).xenPlatform }, "reset with the board")
    }

    /// QEMU's special area (0xFEFF8000, 16 KiB): the console and store pages are backed there
    /// before the guest runs, published as HVM params, and reserved in both memory maps.
    func testTheConsoleAndStorePagesLiveInTheReservedSpecialArea() throws {
        for firmware in [false, true] {
            let m = try machine(xen: true, firmware: firmware)
            let what = firmware ? "firmware boot" : "--kernel"
            XCTAssertTrue(m.memory.isRuntimePage(0xFEFF_8000), what)
            XCTAssertTrue(m.memory.isRuntimePage(0xFEFF_9000), what)
            XCTAssertEqual(m.xen?.console?.pageAddress, 0xFEFF_8000, what)
            XCTAssertEqual(m.xen?.hypervisor.param(XenHVMABI.paramConsolePFN), 0xFEFF8, what)
            XCTAssertEqual(m.xen?.hypervisor.param(XenHVMABI.paramStorePFN), 0xFEFF9, what)
            XCTAssertNotNil(m.xen?.store, "\(what): xenstore is served")
            XCTAssertTrue(firmwareE820(m).contains { $0 == (0xFEFF_8000, 0x4000, E820Type.reserved.rawValue) }, what)
            if !firmware {
                XCTAssertTrue(try bootE820(m).contains { $0 == (0xFEFF_8000, 0x4000, E820Type.reserved.rawValue) })
            }
            // The BIOS area is left to the firmware: nothing Xen wrote there.
            XCTAssertNotEqual(m.xen?.hypervisor.param(XenHVMABI.paramConsolePFN), 0xFE, what)
        }
    }

    /// The pages outlive a machine reset (a domain reset unbacks only grant frames), and the
    /// rings are built again in them.
    func testTheSpecialPagesSurviveAReset() throws {
        let m = try machine(xen: true)
        try m.memory.write32(0xFEFF_8000 + 3084, 0x1234)     // out_prod scribbled by a guest
        try m.reset()
        XCTAssertTrue(m.memory.isRuntimePage(0xFEFF_8000))
        XCTAssertEqual(try m.memory.read32(0xFEFF_8000 + 3084), 0, "the console ring was rebuilt")
        XCTAssertEqual(m.xen?.hypervisor.param(XenHVMABI.paramStorePFN), 0xFEFF9)
    }

    /// Linux's unplug write takes the IDE disks off the controller; the CD-ROM stays; a
    /// machine reset puts the disks back for the firmware's next boot.
    func testTheUnplugPortTakesTheIDEDisksAndAResetGivesThemBack() throws {
        let m = try machine(xen: true, disks: 2, cdrom: true)
        let ide = pc(m).ide
        XCTAssertNotNil(ide.primary.master)
        m.lock.withLock { m.portBus.write(port: 0x10, size: 2, value: UInt32(XenUnplugRequest.auxIDEDisks.rawValue)) }
        XCTAssertNotNil(ide.primary.master, "aux: the primary master stays")
        XCTAssertNil(ide.primary.slave)
        m.lock.withLock { m.portBus.write(port: 0x10, size: 2, value: 3) }
        XCTAssertNil(ide.primary.master)
        XCTAssertNotNil(ide.secondary.master, "the CD-ROM stays")
        XCTAssertEqual(pc(m).xenPlatform?.unplugged, [.ideDisks, .nics, .auxIDEDisks])
        try m.reset()
        XCTAssertNotNil(ide.primary.master)
        XCTAssertNotNil(ide.primary.slave)
        XCTAssertEqual(pc(m).xenPlatform?.unplugged, [])
    }

    func testWithoutXenPort0x10UnplugsNothing() throws {
        let m = try machine(xen: false, disks: 1)
        m.lock.withLock { m.portBus.write(port: 0x10, size: 2, value: 3) }
        XCTAssertNotNil(pc(m).ide.primary.master)
    }

    /// The board's device list covers the platform device too (BoardTests' rule).
    func testEveryDeviceOfAXenPCBoardIsInItsResetList() throws {
        let board = try machine(xen: true).board
        let listed = Set(board.devices.map { ObjectIdentifier($0) })
        for held in BoardTests.devicesHeld(by: board) {
            XCTAssertTrue(listed.contains(ObjectIdentifier(held)), "\(type(of: held)) is not reset")
        }
    }

    /// Each IDE disk of a --xen pc machine is also a Xen vbd on the same image, numbered as
    /// Xen's toolstack numbers hda and hdb (768, 832), so that after the unplug Linux's
    /// blkfront finds the image as xvda; `if=xen` disks follow from xvde. The CD-ROM is not one.
    func testTheIDEDisksAreAlsoXenVirtualBlockDevicesOnTheSameImages() throws {
        var config = MachineConfig()
        config.accel = .interp
        config.memorySize = 64 << 20
        config.serial = .none
        config.kernel = try directory.file("bzImage", BzImageBuilder().build())
        config.disks = [DiskSpec(path: try directory.file("a.img", [UInt8](repeating: 0, count: 1 << 20))),
                        DiskSpec(path: try directory.file("b.img", [UInt8](repeating: 0, count: 1 << 20)), readOnly: true)]
        config.xenDisks = [DiskSpec(path: try directory.file("x.img", [UInt8](repeating: 0, count: 1 << 20)), interface: .xen)]
        config.cdrom = try directory.file("cd.iso", [UInt8](repeating: 0, count: 2048 * 16))
        config.xen = .default
        let m = try Machine(config: config, serialBackend: NullSerialBackend())
        let devices = try XCTUnwrap(m.xen?.blocks?.devices)
        XCTAssertEqual(devices.map(\.virtualDevice), [768, 832, 51776])
        XCTAssertEqual(devices.map(\.name), ["xvda", "xvdb", "xvde"])
        guard devices.count == 3 else { return }
        let ide = pc(m).ide
        XCTAssertTrue(devices[0].backend.storage as AnyObject === (ide.primary.master as? ATADisk)?.image, "one image, one lock")
        XCTAssertTrue(devices[1].backend.readOnly, "a read-only IDE disk is a read-only vbd")
        let store = try XCTUnwrap(m.xen?.store?.store)
        let domain = "/local/domain/\(m.xen!.hypervisor.domainID)"
        XCTAssertEqual(store.readString(domain + "/device/vbd/768/virtual-device"), "768")
        XCTAssertEqual(store.readString(domain + "/device/vbd/768/device-type"), "disk")
        XCTAssertEqual(store.readString("/local/domain/0/backend/vbd/\(m.xen!.hypervisor.domainID)/832/mode"), "r")
        XCTAssertNil(store.readString(domain + "/device/vbd/5632/virtual-device"), "the CD-ROM is no vbd")
        // After a reset (the disks back on the controller) the vbds are published again.
        try m.reset()
        XCTAssertEqual(store.readString(domain + "/device/vbd/832/virtual-device"), "832")
    }

    func testWithoutXenOrWithoutDisksThereAreNoVBDs() throws {
        XCTAssertNil(try machine(xen: false, disks: 1).xen)
        XCTAssertNil(try machine(xen: true).xen?.blocks, "no disk, no block service")
    }
}
