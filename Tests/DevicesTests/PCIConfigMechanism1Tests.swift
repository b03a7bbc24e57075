import XCTest
import MachineCore
@testable import Devices

final class PCIConfigMechanism1Tests: XCTestCase {
    var pciBus: PCIBus!
    var mech: PCIConfigMechanism1!
    var ports: PortIOBus!
    var bridge: I440FXHostBridge!

    override func setUpWithError() throws {
        pciBus = PCIBus()
        bridge = I440FXHostBridge()
        try pciBus.register(bridge, at: I440FXHostBridge.address, name: "i440fx")
        mech = PCIConfigMechanism1(bus: pciBus)
        ports = PortIOBus()
        try mech.attach(to: ports)
    }

    func address(bus: UInt32 = 0, device: UInt32, function: UInt32 = 0, register: UInt32) -> UInt32 {
        0x8000_0000 | bus << 16 | device << 11 | function << 8 | register
    }

    func testHostBridgeIdentity() {
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 0))
        XCTAssertEqual(ports.read(port: 0xCFC, size: 4), 0x1237_8086)
        XCTAssertEqual(ports.read(port: 0xCFC, size: 2), 0x8086)
        XCTAssertEqual(ports.read(port: 0xCFE, size: 2), 0x1237)
        XCTAssertEqual(ports.read(port: 0xCFD, size: 1), 0x80)
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 8))
        XCTAssertEqual(ports.read(port: 0xCFC, size: 4), 0x0600_0002, "class 06/00/00, revision 02")
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 0x0C))
        XCTAssertEqual(ports.read(port: 0xCFE, size: 1), 0x00, "header type 0, single function")
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 4))
        XCTAssertEqual(ports.read(port: 0xCFC, size: 4), 0x0280_0006)
    }

    func testConfigAddressRegister() {
        ports.write(port: 0xCF8, size: 4, value: 0xFFFF_FFFF)
        XCTAssertEqual(ports.read(port: 0xCF8, size: 4), 0x80FF_FFFC, "reserved bits read as zero")
        // Byte accesses at 0xCF8 are not CONFIG_ADDRESS.
        ports.write(port: 0xCF8, size: 1, value: 0)
        XCTAssertEqual(ports.read(port: 0xCF8, size: 4), 0x80FF_FFFC)
        XCTAssertEqual(ports.read(port: 0xCF8, size: 1), 0xFF)
        XCTAssertNil(ports.claimInfo(at: 0xCF9), "0xCF9 is left for the reset control register")
    }

    func testAbsentFunctionsAndDisabledReadOnes() {
        ports.write(port: 0xCF8, size: 4, value: address(device: 5, register: 0))
        XCTAssertEqual(ports.read(port: 0xCFC, size: 4), 0xFFFF_FFFF)
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, function: 1, register: 0))
        XCTAssertEqual(ports.read(port: 0xCFC, size: 4), 0xFFFF_FFFF)
        ports.write(port: 0xCF8, size: 4, value: address(bus: 1, device: 0, register: 0))
        XCTAssertEqual(ports.read(port: 0xCFC, size: 2), 0xFFFF)
        // Enable bit clear: no configuration cycle.
        ports.write(port: 0xCF8, size: 4, value: 0x0000_0000)
        XCTAssertEqual(ports.read(port: 0xCFC, size: 4), 0xFFFF_FFFF)
        ports.write(port: 0xCFC, size: 4, value: 0) // dropped
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 0))
        XCTAssertEqual(ports.read(port: 0xCFC, size: 4), 0x1237_8086)
    }

    func testCommandStatusWriteSemantics() {
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 4))
        ports.write(port: 0xCFC, size: 2, value: 0x0000)
        XCTAssertEqual(ports.read(port: 0xCFC, size: 2), 0x0006, "MAE and BME are hardwired on")
        ports.write(port: 0xCFC, size: 2, value: 0x0140)
        XCTAssertEqual(ports.read(port: 0xCFC, size: 2), 0x0146)
        bridge.config.set16(PCIConfig.status, 0x0280 | PCIConfig.statusReceivedMasterAbort)
        ports.write(port: 0xCFE, size: 2, value: UInt32(PCIConfig.statusReceivedMasterAbort))
        XCTAssertEqual(ports.read(port: 0xCFE, size: 2), 0x0280)
    }

    func testPAMAndSMRAMRegisters() {
        var pamWrites: [Int] = []
        bridge.onPAMWrite = { pamWrites.append($0) }
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 0x58))
        ports.write(port: 0xCFD, size: 1, value: 0xFF) // PAM0 at 0x59
        XCTAssertEqual(ports.read(port: 0xCFD, size: 1), 0x30)
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 0x5C))
        ports.write(port: 0xCFC, size: 4, value: 0x3333_3333) // PAM3-PAM6
        XCTAssertEqual(ports.read(port: 0xCFC, size: 4), 0x3333_3333)
        XCTAssertEqual(pamWrites, [0x59, 0x5C, 0x5D, 0x5E, 0x5F])
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 0x70))
        XCTAssertEqual(ports.read(port: 0xCFE, size: 1), 0x02, "SMRAM default")
        ports.write(port: 0xCFE, size: 1, value: 0xFF)
        XCTAssertEqual(ports.read(port: 0xCFE, size: 1), 0x7A, "C_BASE_SEG stays 010, bit 7 reserved")
    }

    func testIdentityIsReadOnly() {
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 0))
        ports.write(port: 0xCFC, size: 4, value: 0)
        XCTAssertEqual(ports.read(port: 0xCFC, size: 4), 0x1237_8086)
    }

    func testAccessPastDwordIsCut() {
        ports.write(port: 0xCF8, size: 4, value: address(device: 0, register: 0))
        XCTAssertEqual(ports.read(port: 0xCFF, size: 2), 0xFF12)
    }

    func testBusRejectsDuplicateAddress() {
        XCTAssertThrowsError(try pciBus.register(I440FXHostBridge(), at: I440FXHostBridge.address, name: "again"))
        XCTAssertEqual(pciBus.addresses, [I440FXHostBridge.address])
        XCTAssertNil(PCIAddress(bus: 0, device: 32, function: 0))
        XCTAssertEqual(PCIAddress(bus: 0, device: 0x1f, function: 3)?.description, "00:1f.3")
    }
}
