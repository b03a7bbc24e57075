import XCTest
import MachineCore
@testable import Devices

final class StdVGAPCIFunctionTests: XCTestCase {
    func testIdentity() {
        let pci = StdVGAPCIFunction(vga: VGA(), mmioBus: MMIOBus())
        XCTAssertEqual(pci.configRead(offset: 0, size: 4), 0x1111_1234)
        XCTAssertEqual(pci.configRead(offset: 0x08, size: 4) >> 8, 0x030000, "class: VGA-compatible display")
        XCTAssertEqual(pci.configRead(offset: 0x2C, size: 4), 0x1100_1AF4)
        XCTAssertEqual(pci.configRead(offset: 0x30, size: 4), 0, "no ROM BAR without a ROM")
    }

    func testBARSizingWithAllOnes() {
        let rom = [UInt8](repeating: 0x55, count: 40_000)
        let pci = StdVGAPCIFunction(vga: VGA(), romImage: rom, mmioBus: MMIOBus())
        for offset in [0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x30] { pci.configWrite(offset: offset, size: 4, value: 0xFFFF_FFFF) }
        XCTAssertEqual(pci.configRead(offset: 0x10, size: 4), 0xFF00_0008, "16 MiB prefetchable memory")
        XCTAssertEqual(pci.configRead(offset: 0x14, size: 4), 0, "BAR 1 unimplemented")
        XCTAssertEqual(pci.configRead(offset: 0x18, size: 4), 0xFFFF_F000, "4 KiB memory")
        XCTAssertEqual(pci.configRead(offset: 0x30, size: 4), 0xFFFF_0001, "64 KiB ROM (40000 bytes rounded up)")
    }

    func testBARsClaimAndMoveMMIOWithTheMemorySpaceBit() {
        let bus = MMIOBus()
        let vga = VGA()
        let rom: [UInt8] = [0x55, 0xAA, 0x40] + [UInt8](repeating: 0, count: 100)
        let pci = StdVGAPCIFunction(vga: vga, romImage: rom, mmioBus: bus)
        pci.configWrite(offset: 0x10, size: 4, value: 0xE000_0000)
        pci.configWrite(offset: 0x18, size: 4, value: 0xE100_0000)
        pci.configWrite(offset: 0x30, size: 4, value: 0xE102_0001)
        XCTAssertNil(bus.claimName(at: 0xE000_0000), "memory space disabled")
        pci.configWrite(offset: 0x04, size: 2, value: UInt32(PCIConfig.commandMemorySpace))
        bus.write(address: 0xE000_0010, size: 4, value: 0xCAFE_F00D)
        XCTAssertEqual(vga.vram.load(fromByteOffset: 0x10, as: UInt32.self), 0xCAFE_F00D)
        XCTAssertEqual(bus.read(address: 0xE102_0000, size: 2), 0xAA55, "ROM signature")
        // DISPI through the register BAR.
        bus.write(address: 0xE100_0500 + 2 * UInt64(BochsVBE.indexXRes), size: 2, value: 1024)
        XCTAssertEqual(vga.state.vbe.xres, 1024)
        XCTAssertEqual(bus.read(address: 0xE100_0500, size: 2), UInt64(BochsVBE.id0))
        // VGA ports through the register BAR: 0x3C8/0x3C9 at 0x408/0x409.
        bus.write(address: 0xE100_0408, size: 1, value: 3)
        bus.write(address: 0xE100_0409, size: 1, value: 0x11)
        XCTAssertEqual(vga.state.dac[9], 0x11)
        // A BAR move moves the claim.
        pci.configWrite(offset: 0x10, size: 4, value: 0xD000_0000)
        XCTAssertNil(bus.claimName(at: 0xE000_0000))
        XCTAssertEqual(bus.read(address: 0xD000_0010, size: 4), 0xCAFE_F00D)
        XCTAssertEqual(pci.framebufferBase, 0xD000_0000)
        // Clearing the ROM enable bit or the memory bit unmaps.
        pci.configWrite(offset: 0x30, size: 4, value: 0xE102_0000)
        XCTAssertNil(bus.claimName(at: 0xE102_0000))
        pci.configWrite(offset: 0x04, size: 2, value: 0)
        XCTAssertNil(bus.claimName(at: 0xD000_0000))
        XCTAssertNil(pci.registersBase)
    }

    func testOverlappingPlacementLeavesTheRegionUnmapped() throws {
        let bus = MMIOBus()
        final class Dummy: MMIODevice {
            func mmioRead(offset: UInt64, size: Int) -> UInt64 { 0 }
            func mmioWrite(offset: UInt64, size: Int, value: UInt64) {}
        }
        try bus.claim(base: 0xFEC0_0000, size: 0x1000, device: Dummy(), name: "ioapic")
        let pci = StdVGAPCIFunction(vga: VGA(), mmioBus: bus)
        pci.configWrite(offset: 0x04, size: 2, value: UInt32(PCIConfig.commandMemorySpace))
        pci.configWrite(offset: 0x18, size: 4, value: 0xFEC0_0000)
        XCTAssertNil(pci.registersBase)
        XCTAssertEqual(bus.claimName(at: 0xFEC0_0000), "ioapic")
        pci.configWrite(offset: 0x18, size: 4, value: 0xFEB0_0000)
        XCTAssertEqual(pci.registersBase, 0xFEB0_0000)
    }

    func testAttachClaimsPortsAndLegacyWindow() throws {
        let ports = PortIOBus(), mmio = MMIOBus()
        let vga = VGA()
        try vga.attach(portBus: ports, mmioBus: mmio)
        ports.write(port: 0x1CE, size: 2, value: UInt32(BochsVBE.indexVideoMemory64K))
        XCTAssertEqual(ports.read(port: 0x1CF, size: 2), 256)
        ports.write(port: 0x3C8, size: 1, value: 1)
        XCTAssertEqual(ports.read(port: 0x3C8, size: 1), 1)
        XCTAssertEqual(mmio.claimName(at: 0xB8000), "vga-window")
    }
}
