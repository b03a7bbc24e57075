import XCTest
import MachineCore
@testable import Devices

/// Xen's platform PCI device: its configuration space as Linux's xen-platform-pci probes it,
/// BAR0 and the fixed unplug ports (xen-doc misc/hvm-emulated-unplug; Linux
/// arch/x86/xen/platform-pci-unplug.c; QEMU hw/i386/xen/xen_platform.c).
final class XenPlatformPCIDeviceTests: XCTestCase {
    var ports: PortIOBus!
    var pci: PCIBus!
    var device: XenPlatformPCIDevice!
    var requests: [XenUnplugRequest] = []
    var logLines: [String] = []

    override func setUpWithError() throws {
        ports = PortIOBus()
        pci = PCIBus()
        device = XenPlatformPCIDevice(portBus: ports)
        try device.attach(to: pci)
        device.onUnplug = { [unowned self] in requests.append($0) }
        device.onLogLine = { [unowned self] in logLines.append($0) }
    }

    func inb(_ port: UInt16) -> UInt32 { ports.read(port: port, size: 1) }
    func inw(_ port: UInt16) -> UInt32 { ports.read(port: port, size: 2) }
    func inl(_ port: UInt16) -> UInt32 { ports.read(port: port, size: 4) }
    func outb(_ port: UInt16, _ v: UInt32) { ports.write(port: port, size: 1, value: v) }
    func outw(_ port: UInt16, _ v: UInt32) { ports.write(port: port, size: 2, value: v) }
    func outl(_ port: UInt16, _ v: UInt32) { ports.write(port: port, size: 4, value: v) }

    // MARK: Configuration space

    func testIdentityIsWhatLinuxMatchesAndQEMUGives() {
        let address = XenPlatformPCIDevice.address
        XCTAssertEqual(address, PCIAddress(device: 3))
        XCTAssertEqual(pci.configRead(address, offset: 0x00, size: 4), 0x0001_5853, "vendor 5853, device 0001")
        XCTAssertEqual(pci.configRead(address, offset: 0x08, size: 4), 0xFF80_0001, "class FF80, interface 0, revision 1")
        XCTAssertEqual(pci.configRead(address, offset: 0x2C, size: 4), 0x0001_5853, "subsystem 5853:0001")
        XCTAssertEqual(pci.configRead(address, offset: 0x0E, size: 1), 0, "single-function type 0 header")
        XCTAssertEqual(pci.configRead(address, offset: 0x3D, size: 1), 1, "INTA#")
        XCTAssertEqual(pci.configRead(address, offset: 0x04, size: 2), 0, "decodes nothing until enabled")
    }

    func testBARSizingGivesA256PortIOBARAndA16MiBPrefetchableMemoryBAR() {
        for offset in stride(from: 0x10, through: 0x24, by: 4) { device.configWrite(offset: offset, size: 4, value: 0xFFFF_FFFF) }
        XCTAssertEqual(device.configRead(offset: 0x10, size: 4), 0xFFFF_FF01, "I/O, 256 ports")
        XCTAssertEqual(device.configRead(offset: 0x14, size: 4), 0xFF00_0008, "32-bit prefetchable memory, 16 MiB")
        for offset in stride(from: 0x18, through: 0x24, by: 4) {
            XCTAssertEqual(device.configRead(offset: offset, size: 4), 0, "BAR at 0x\(String(offset, radix: 16)) unimplemented")
        }
        device.configWrite(offset: 0x04, size: 2, value: 0xFFFF)
        XCTAssertEqual(device.configRead(offset: 0x04, size: 2), 0x0003, "only I/O and memory space enables exist")
    }

    func testBAR0DecodesWhereTheBARAndIOEnablePutIt() {
        device.configWrite(offset: 0x10, size: 4, value: 0xC100)
        XCTAssertEqual(inb(0xC100), 0xFF, "I/O space disabled")
        device.configWrite(offset: 0x04, size: 2, value: UInt32(PCIConfig.commandIOSpace))
        XCTAssertEqual(device.ioPortBase, 0xC100)
        outb(0xC100, 1)
        XCTAssertEqual(inb(0xC100), 1, "platform flags at +0")
        XCTAssertEqual(inb(0xC101), 0xFF)
        XCTAssertEqual(inb(0xC1FF), 0xFF)
        device.configWrite(offset: 0x10, size: 4, value: 0xC200)
        XCTAssertEqual(inb(0xC200), 1, "moved with the BAR")
        XCTAssertEqual(ports.claimInfo(at: 0xC100)?.name, nil, "the old window is free")
        device.configWrite(offset: 0x04, size: 2, value: 0)
        XCTAssertNil(device.ioPortBase)
        XCTAssertNil(ports.claimInfo(at: 0xC200))
    }

    /// BAR1 is an address for grant frames, never an MMIO claim: the hypervisor backs each
    /// frame the guest places there with a page of its own.
    func testBAR1IsAWindowForGrantFramesThatTheDeviceDoesNotDecode() throws {
        let mmio = MMIOBus()
        XCTAssertNil(device.grantFrameWindow)
        device.configWrite(offset: 0x14, size: 4, value: 0xF100_0000)
        XCTAssertNil(device.grantFrameWindow, "memory space disabled")
        device.configWrite(offset: 0x04, size: 2, value: UInt32(PCIConfig.commandMemorySpace))
        XCTAssertEqual(device.grantFrameWindow, 0xF100_0000..<0xF200_0000)
        XCTAssertNil(mmio.lookup(0xF100_0000), "the device takes no MMIO bus at all")
    }

    // MARK: The fixed ports

    func testTheMagicAndProtocolVersionReadAsLinuxReadsThem() {
        XCTAssertEqual(inw(0x10), 0x49D2, "magic word at 0x10")
        XCTAssertEqual(inb(0x12), 1, "protocol version byte at 0x12")
        XCTAssertEqual(inb(0x10), 0, "platform flags byte at 0x10")
        // Widths and offsets the protocol does not define read as all ones.
        XCTAssertEqual(inl(0x10), 0xFFFF_FFFF)
        XCTAssertEqual(inw(0x12), 0xFFFF)
        XCTAssertEqual(inb(0x11), 0xFF)
        XCTAssertEqual(inw(0x1E), 0xFFFF)
        XCTAssertEqual(ports.claimInfo(at: 0x10)?.name, "xen-platform-fixed")
        XCTAssertEqual(ports.claimInfo(at: 0x1F)?.base, 0x10)
        XCTAssertNil(ports.claimInfo(at: 0x20))
    }

    /// Linux's check_platform_magic and xen_unplug_emulated_devices, in order.
    func testLinuxsHandshakeThenUnplugsDisksAndNICs() {
        XCTAssertEqual(inw(0x10), 0x49D2)
        XCTAssertEqual(inb(0x12), 1)
        outw(0x12, 3)
        outl(0x10, 1)
        XCTAssertEqual(device.reportedDriver.product, XenPlatformPCIDevice.productLinux)
        XCTAssertEqual(device.reportedDriver.version, 1)
        XCTAssertEqual(inw(0x10), 0x49D2, "not blacklisted")
        XCTAssertEqual(requests, [], "the version writes unplug nothing")
        outw(0x10, 3)
        XCTAssertEqual(requests, [[.ideDisks, .nics]])
        XCTAssertEqual(device.unplugged, [.ideDisks, .nics])
    }

    func testAllIDEDisksOverridesAuxIDEDisks() {
        outw(0x10, 4)
        outw(0x10, 5)
        XCTAssertEqual(requests, [.auxIDEDisks, .ideDisks])
        XCTAssertEqual(device.unplugged, [.ideDisks, .auxIDEDisks], "both were asked for at some point")
    }

    func testNVMeAndUndefinedBitsAndEmptyMasks() {
        outw(0x10, 0x0008)
        outw(0x10, 0xFFF0)
        outw(0x10, 0)
        XCTAssertEqual(requests, [.nvmeDisks], "undefined bits and an empty mask unplug nothing")
        outw(0x10, 0xFFFF)
        XCTAssertEqual(requests.last, [.ideDisks, .nics, .nvmeDisks])
    }

    func testByteWritesTo0x12AreTheDriversLog() {
        for byte in Array("hello\nxen".utf8) { outb(0x12, UInt32(byte)) }
        XCTAssertEqual(logLines, ["hello"])
        outb(0x12, 0x0A)
        XCTAssertEqual(logLines, ["hello", "xen"])
        XCTAssertEqual(device.logLineCount, 2)
        XCTAssertEqual(requests, [], "logging unplugs nothing")
    }

    func testAnEndlessLogLineIsCutAtTheBufferSize() {
        for _ in 0..<(3 * XenPlatformPCIDevice.logLineLimit) { outb(0x12, UInt32(UInt8(ascii: "x"))) }
        XCTAssertEqual(logLines.count, 2)
        XCTAssertEqual(logLines.map(\.count), [XenPlatformPCIDevice.logLineLimit, XenPlatformPCIDevice.logLineLimit])
        XCTAssertLessThanOrEqual(device.state.logLine.count, XenPlatformPCIDevice.logLineLimit)
    }

    func testOnlyTheROMLockFlagExists() {
        outb(0x10, 0xFF)
        XCTAssertEqual(inb(0x10), UInt32(XenPlatformPCIDevice.platformFlagROMLock))
        outb(0x10, 0xFE)
        XCTAssertEqual(inb(0x10), 0)
    }

    // MARK: BAR0's unplug and log ports

    func testBAR0UnplugPortsAsQEMUDecodesThem() {
        device.configWrite(offset: 0x10, size: 4, value: 0xC100)
        device.configWrite(offset: 0x04, size: 2, value: UInt32(PCIConfig.commandIOSpace))
        outb(0xC108, 1)
        outb(0xC108, 2)
        outb(0xC104, 2)
        outb(0xC104, 1)
        XCTAssertEqual(requests, [.ideDisks, .nics, [.ideDisks, .nics]], "+8: 1 disks, 2 NICs; +4: 1 is SUSE's unplug-all")
        for byte in Array("ok\n".utf8) { outb(0xC108, UInt32(byte)) }
        XCTAssertEqual(logLines, ["ok"], "other bytes at +8 are log")
        outb(0xC100, 1)
        XCTAssertEqual(inb(0x10), 1, "the flags byte is one register behind both ports")
    }

    // MARK: State and reset

    func testStateRoundTripAndResetToPowerOn() throws {
        let powerOn = device.state
        device.configWrite(offset: 0x10, size: 4, value: 0xC100)
        device.configWrite(offset: 0x04, size: 2, value: 3)
        outb(0x10, 1)
        outw(0x12, 3)
        outl(0x10, 0x1234_5678)
        outw(0x10, 1)
        for byte in Array("part".utf8) { outb(0x12, UInt32(byte)) }
        let dirty = device.state
        XCTAssertEqual(dirty.unplugRequests, 1)
        XCTAssertEqual(dirty.logLine, Array("part".utf8))
        device.reset()
        XCTAssertEqual(device.state, powerOn)
        XCTAssertNil(ports.claimInfo(at: 0xC100), "BAR0 unmapped by the reset")
        try device.restore(dirty)
        XCTAssertEqual(device.state, dirty)
        XCTAssertEqual(inb(0xC100), 1, "BAR0 decodes again where the restored BAR puts it")
        XCTAssertEqual(device.reportedDriver.version, 0x1234_5678)
    }

    func testImpossibleStatesAreRefusedAndLeaveTheDeviceAlone() {
        let before = device.state
        var bad = before
        bad.platformFlags = 0x80
        XCTAssertThrowsError(try device.restore(bad))
        bad = before
        bad.unplugRequests = 0x100
        XCTAssertThrowsError(try device.restore(bad))
        bad = before
        bad.logLine = [UInt8](repeating: 0x41, count: XenPlatformPCIDevice.logLineLimit + 1)
        XCTAssertThrowsError(try device.restore(bad))
        bad = before
        bad.configuration[0] = 0x86
        XCTAssertThrowsError(try device.restore(bad), "the vendor ID is read-only")
        bad = before
        bad.configuration[0x14] = 0x01
        XCTAssertThrowsError(try device.restore(bad), "BAR1's type bits are read-only")
        XCTAssertEqual(device.state, before)
    }

    /// Every width at every fixed port and BAR0 offset, with every pattern: never a crash, and
    /// the magic still reads back.
    func testHostileAccessesAtEveryWidthAndOffset() {
        device.configWrite(offset: 0x10, size: 4, value: 0xFF00)
        device.configWrite(offset: 0x04, size: 2, value: 3)
        var generator = SystemRandomNumberGenerator()
        for port in UInt16(0x10)...0x1F {
            for size in [1, 2, 3, 4, 8] {
                for value: UInt32 in [0, 0xFFFF_FFFF, 0x0A0A_0A0A, UInt32.random(in: 0...UInt32.max, using: &generator)] {
                    ports.write(port: port, size: size, value: value)
                    _ = ports.read(port: port, size: size)
                }
            }
        }
        for offset in UInt16(0)...0xFF {
            for size in [1, 2, 4] {
                ports.write(port: 0xFF00 &+ offset, size: size, value: 0xFFFF_FFFF)
                _ = ports.read(port: 0xFF00 &+ offset, size: size)
            }
        }
        XCTAssertEqual(inw(0x10), 0x49D2)
        XCTAssertLessThanOrEqual(device.state.logLine.count, XenPlatformPCIDevice.logLineLimit)
        XCTAssertEqual(device.state.unplugRequests & ~XenUnplugRequest.defined.rawValue, 0)
    }
}
