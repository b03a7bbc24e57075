import Devices
import MachineCore
import XCTest
@testable import Machine

/// The boards over one machine core: each lays out its own memory map, puts only its own
/// devices on the buses, resets every device it holds, and turns its chipset's A20 gate and
/// PAM registers into memory state whatever engine runs the vCPU.
final class BoardTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }

    func machine(_ kind: MachineKind) throws -> Machine {
        var config = MachineConfig()
        config.machine = kind
        config.accel = .interp
        config.memorySize = 64 << 20
        config.serial = .none
        config.kernel = try directory.file("bzImage", BzImageBuilder().build())
        return try Machine(config: config, serialBackend: NullSerialBackend())
    }

    func testEachBoardLaysOutItsOwnMemoryMap() throws {
        let pc = try machine(.pc), pvh = try machine(.pvh)
        XCTAssertFalse(pc.memory.isRAM(0xA_0000), "the pc board leaves the legacy VGA window to the VGA")
        XCTAssertTrue(pc.memory.isRAM(0xC_0000))
        XCTAssertTrue(pvh.memory.isRAM(0xA_0000), "nothing on the pvh board decodes the VGA window")
        XCTAssertEqual(pvh.memory.map, PVHBoard.memoryMap)
        XCTAssertEqual(pc.memory.map, PCBoard.memoryMap)
    }

    func testThePVHBoardHasNoPCIVGAOrIDEAndThePCBoardHasThem() throws {
        let pc = try machine(.pc), pvh = try machine(.pvh)
        let pcOnly: [(UInt16, String)] = [(0xCF8, "PCI configuration"), (0x1F0, "IDE"), (0x3C0, "VGA"), (0x60, "i8042"),
                                          (0x92, "port 92h"), (0x510, "fw_cfg"), (0xCF9, "reset control")]
        for (port, what) in pcOnly {
            XCTAssertNotNil(pc.portBus.claimInfo(at: port), "pc: \(what)")
            XCTAssertNil(pvh.portBus.claimInfo(at: port), "pvh: no \(what)")
        }
        for (port, what) in [(UInt16(0x3F8), "COM1"), (0x70, "RTC"), (0x40, "PIT"), (0x20, "PIC"), (0xF4, "debug exit"),
                             (0x604, "ACPI PM1a control"), (0x608, "ACPI PM timer")] {
            XCTAssertNotNil(pvh.portBus.claimInfo(at: port), "pvh: \(what)")
        }
        XCTAssertNil(pvh.vga)
        XCTAssertNotNil(pc.vga)
    }

    /// The reset list is the board's device list: every device a board holds (its stored
    /// properties, and the interrupt controllers it shares) is in it.
    func testEveryDeviceABoardHoldsIsInItsResetList() throws {
        for kind in MachineKind.allCases {
            let board = try machine(kind).board
            let listed = Set(board.devices.map { ObjectIdentifier($0) })
            XCTAssertEqual(listed.count, board.devices.count, "\(kind): a device listed twice")
            for held in Self.devicesHeld(by: board) {
                XCTAssertTrue(listed.contains(ObjectIdentifier(held)), "\(kind): \(type(of: held)) is not reset")
            }
        }
    }

    /// The BoardDevices reachable from `object`'s stored properties, one level into helpers
    /// such as the interrupt controllers and the VGA's PCI function.
    static func devicesHeld(by object: Any) -> [BoardDevice] {
        var found: [BoardDevice] = []
        for child in Mirror(reflecting: object).children {
            var value = child.value
            if let optional = value as? OptionalProtocol { guard let unwrapped = optional.unwrapped else { continue }; value = unwrapped }
            if let device = value as? BoardDevice { found.append(device) }
            if value is ISAInterruptControllers || value is StdVGAPCIFunction { found += devicesHeld(by: value) }
        }
        return found
    }

    /// After a reset every device's registers are as the board built them, whatever the
    /// guest did to them (StatefulDevice's `state` compared before and after).
    func testAResetGivesEveryDeviceItsStateAsBuilt() throws {
        for kind in MachineKind.allCases {
            let m = try machine(kind)
            let built = m.board.devices.map(Self.stateOf)
            m.lock.withLock {
                // Scribble over every port the board decodes, except those that stop or reset the
                // machine and the registers a reset keeps on purpose: the RTC's index and CMOS RAM
                // (0x70-0x71: the MC146818's RESET leaves them, and its state follows the clock)
                // and the UART's scratch register (0x3FF, PC16550D: unchanged by MR).
                for port in UInt16(0)...0x0FFF where m.portBus.claimInfo(at: port) != nil {
                    if [0x64, 0x92, 0xCF9, 0xF4, 0xF5, 0xF6, 0xF7, 0x604, 0x605, 0xB2, 0x70, 0x71, 0x3FF].contains(port) { continue }
                    m.portBus.write(port: port, size: 1, value: 0xA5)
                }
            }
            try m.reset()
            for (device, before) in zip(m.board.devices, built) where !(device is MC146818RTC) {
                guard let before else { continue }
                XCTAssertTrue(Self.state(of: device, equals: before),
                              "\(kind): \(type(of: device)) differs after a reset:\n\(before)\n\(Self.stateOf(device)!)")
            }
        }
    }

    static func stateOf(_ device: BoardDevice) -> Any? {
        guard let d = device as? any StatefulDevice else { return nil }
        return stateValue(d)
    }
    static func stateValue<D: StatefulDevice>(_ d: D) -> Any { d.state }
    static func state(of device: BoardDevice, equals other: Any) -> Bool {
        guard let d = device as? any StatefulDevice else { return false }
        return compare(d, other)
    }
    static func compare<D: StatefulDevice>(_ d: D, _ other: Any) -> Bool { (other as? D.State) == d.state }

    /// A reset puts back what the guest changed: the UART's registers, the A20 gate and the
    /// shadow-RAM protection (as memory state, which the engines read).
    func testAMachineResetPutsTheBoardBack() throws {
        let m = try machine(.pc)
        let a20 = m.memory.a20Mask, protected = m.memory.writeProtectedLowPages
        let lcr: UInt16 = 0x3FB, scratch: UInt16 = 0x3FF
        m.lock.withLock {
            m.portBus.write(port: lcr, size: 1, value: 0x1B)
            m.portBus.write(port: scratch, size: 1, value: 0x5A)
            m.portBus.write(port: 0x92, size: 1, value: 0x00)       // port 92h closes its half of the gate
            m.portBus.write(port: 0x64, size: 1, value: 0xD1)       // i8042: write output port ...
            m.portBus.write(port: 0x60, size: 1, value: 0xCD)       // ... with A20 clear
            m.portBus.write(port: 0xCF8, size: 4, value: 0x8000_0058)
            m.portBus.write(port: 0xCFE, size: 1, value: 0x11)      // PAM1 (0x5A): 0xC0000-0xC7FFF read-only
        }
        XCTAssertFalse(m.memory.a20Enabled, "both halves of the gate closed")
        XCTAssertNotEqual(m.memory.writeProtectedLowPages, protected, "PAM moved the protected pages")
        try m.reset()
        XCTAssertEqual(m.lock.withLock { m.portBus.read(port: lcr, size: 1) }, 0x00, "LCR back to its reset value")
        XCTAssertEqual(m.memory.a20Mask, a20)
        XCTAssertEqual(m.memory.writeProtectedLowPages, protected)
    }
}

/// Lets a Mirror child of optional type be unwrapped without knowing its wrapped type.
protocol OptionalProtocol { var unwrapped: Any? { get } }
extension Optional: OptionalProtocol {
    var unwrapped: Any? { self.map { $0 as Any } }
}
