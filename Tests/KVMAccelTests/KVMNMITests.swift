// NMIs raised with KVMVirtualCPU.injectNMI() (KVM_NMI issued on the vCPU thread).
import Foundation
import XCTest
@testable import KVMAccel
import MachineCore

final class KVMNMITests: XCTestCase {
    /// Real mode: IVT[2] -> 0000:1200, a handler that prints 'N' and returns with IRET.
    static let handler: [UInt8] = [
        0x50,                    // push ax
        0xB0, 0x4E,              // mov al, 'N'
        0xBA, 0xF8, 0x03,        // mov dx, 0x3F8
        0xEE,                    // out dx, al
        0x58,                    // pop ax
        0xCF,                    // iret
    ]

    func install(_ rig: KVMRig, main: [UInt8]) throws {
        try rig.memory.write(main, at: GuestState.codeAddress)
        try rig.memory.write(Self.handler, at: 0x1200)
        try rig.memory.write16(2 * 4, 0x1200)
        try rig.memory.write16(2 * 4 + 2, 0)
        try rig.cpu.setState(GuestState.realMode())
    }

    /// An NMI requested before run() is pending in getState() and taken at the first
    /// instruction boundary although IF = 0.
    func testNMIRequestedBeforeRunIsTakenWithIFClear() throws {
        let rig = try KVMRig()
        try install(rig, main: [
            0xBA, 0xF8, 0x03,        // mov dx, 0x3F8
            0xB0, 0x41, 0xEE,        // out 'A'
            0xBA, 0xF4, 0x00,        // mov dx, 0xF4
            0xB0, 0x07, 0xEE,        // debug exit 7
            0xF4,
        ])
        rig.cpu.injectNMI()
        XCTAssertTrue(try rig.cpu.getState().nmiPending)
        XCTAssertEqual(try rig.run(), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(7))
        XCTAssertEqual(rig.serial.text, "NA")
        XCTAssertFalse(try rig.cpu.getState().nmiPending)
    }

    /// With the in-kernel irqchip a HLT waits in the kernel; an NMI from another thread wakes
    /// it even with IF = 0, and the guest resumes after the HLT.
    func testNMIFromAnotherThreadWakesAHaltedVCPU() throws {
        let rig = try KVMRig(irqchip: true)
        try install(rig, main: [
            0xFA,                    // cli
            0xBA, 0xF8, 0x03,        // mov dx, 0x3F8
            0xB0, 0x48, 0xEE,        // out 'H'
            0xF4,                    // hlt
            0xB0, 0x57, 0xEE,        // out 'W'
            0xBA, 0xF4, 0x00,        // mov dx, 0xF4
            0xB0, 0x09, 0xEE,        // debug exit 9
            0xF4,
        ])
        let halting = DispatchSemaphore(value: 0)
        rig.serial.onWrite = { if $0 == 0x48 { halting.signal() } }
        let cpu = rig.cpu
        DispatchQueue.global().async {
            guard halting.wait(timeout: .now() + 15) == .success else { return }
            usleep(100_000)  // let the guest reach HLT
            cpu.injectNMI()
        }
        XCTAssertEqual(try rig.run(timeout: 20), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(9))
        XCTAssertEqual(rig.serial.text, "HNW")
    }
}
