// Stopping a running vCPU from another thread, and interrupts through the in-kernel irqchip.
import Foundation
import XCTest
@testable import KVMAccel
import MachineCore

final class KVMStopAndIRQTests: XCTestCase {
    /// `jmp $` spins in the guest until another thread calls requestStop().
    func testRequestStopFromAnotherThread() throws {
        let rig = try KVMRig()
        try rig.memory.write([0xEB, 0xFE], at: GuestState.codeAddress)  // jmp $
        try rig.cpu.setState(GuestState.realMode())
        for _ in 0..<2 {
            let cpu = rig.cpu
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { cpu.requestStop() }
            let start = Date()
            XCTAssertEqual(try rig.run(timeout: 10), .stopRequested)
            XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.15, "run() returned before the stop request")
            XCTAssertEqual(try rig.cpu.getState().rip, GuestState.codeAddress)
        }
        XCTAssertNil(rig.control.stopReason)
    }

    /// A stop requested through MachineControl from another thread reaches the vCPU through
    /// onStopRequested and is visible to the machine afterwards.
    func testMachineControlStopFromAnotherThread() throws {
        let rig = try KVMRig()
        try rig.memory.write([0xEB, 0xFE], at: GuestState.codeAddress)
        try rig.cpu.setState(GuestState.realMode())
        let control = rig.control
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { control.requestStop(.external) }
        XCTAssertEqual(try rig.run(timeout: 10), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .external)
    }

    /// A request made while run() is not running is kept: the next run() returns at once,
    /// and the one after that runs the guest again.
    func testStopRequestedBeforeRunIsNotLost() throws {
        let rig = try KVMRig()
        try rig.memory.write([0xEB, 0xFE], at: GuestState.codeAddress)
        try rig.cpu.setState(GuestState.realMode())
        rig.cpu.requestStop()
        XCTAssertEqual(try rig.run(timeout: 10), .stopRequested)
        let cpu = rig.cpu
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { cpu.requestStop() }
        let start = Date()
        XCTAssertEqual(try rig.run(timeout: 10), .stopRequested)
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.15)
    }

    /// Real-mode guest programs KVM's in-kernel 8259A (ICW1-4, unmasks IRQ 5), points IVT
    /// vector 0x25 at a handler, does STI and loops on HLT. The test raises IRQ 5 through an
    /// IRQLine wired to KVM_IRQ_LINE; the handler prints 'I', sends EOI and exits.
    func testInKernelIRQChipDeliversInterruptToHaltedGuest() throws {
        try interruptThroughInKernelPIC(routing: nil)
    }

    /// The same with the ISA-override routing table installed (GSI 5 still reaches PIC input 5).
    func testInKernelIRQChipWithISAOverrideRouting() throws {
        try interruptThroughInKernelPIC(routing: KVMVirtualMachine.isaOverrideRouting)
    }

    func interruptThroughInKernelPIC(routing: [KVMGSIRoute]?) throws {
        let rig = try KVMRig(irqchip: true)
        XCTAssertTrue(rig.vm.hasIRQChip)
        if let routing { try rig.vm.setGSIRouting(routing) }
        let main: [UInt8] = [
            0xFA,                    // cli
            0xB0, 0x11, 0xE6, 0x20,  // ICW1: edge, cascade, ICW4 follows
            0xB0, 0x20, 0xE6, 0x21,  // ICW2: vectors 0x20-0x27
            0xB0, 0x04, 0xE6, 0x21,  // ICW3: slave on IR2
            0xB0, 0x01, 0xE6, 0x21,  // ICW4: 8086 mode
            0xB0, 0xDF, 0xE6, 0x21,  // OCW1: mask everything but IRQ 5
            0xBA, 0xF8, 0x03,        // mov dx, 0x3F8
            0xB0, 0x52, 0xEE,        // out 'R' (ready)
            0xFB,                    // sti
            0xF4,                    // hlt
            0xEB, 0xFD,              // jmp back to the hlt
        ]
        let handler: [UInt8] = [
            0xB0, 0x49,              // mov al, 'I'
            0xBA, 0xF8, 0x03,        // mov dx, 0x3F8
            0xEE,                    // out dx, al
            0xB0, 0x20, 0xE6, 0x20,  // non-specific EOI
            0xBA, 0xF4, 0x00,        // mov dx, 0xF4
            0xB0, 0x05, 0xEE,        // debug exit 5
            0xCF,                    // iret
        ]
        try rig.memory.write(main, at: GuestState.codeAddress)
        try rig.memory.write(handler, at: 0x1200)
        try rig.memory.write16(0x25 * 4, 0x1200)  // IVT[0x25] offset
        try rig.memory.write16(0x25 * 4 + 2, 0)   // IVT[0x25] segment
        try rig.cpu.setState(GuestState.realMode())

        let ready = DispatchSemaphore(value: 0)
        rig.serial.onWrite = { if $0 == 0x52 { ready.signal() } }
        let line = rig.vm.irqLine(5)
        DispatchQueue.global().async {
            guard ready.wait(timeout: .now() + 15) == .success else { return }
            // Let the guest reach HLT so the interrupt has to wake it.
            usleep(100_000)
            line.pulse()
        }
        XCTAssertEqual(try rig.run(timeout: 20), .stopRequested)
        XCTAssertEqual(rig.control.stopReason, .debugExit(5))
        XCTAssertEqual(rig.serial.text, "RI")
    }

    func testIRQLineWithoutIRQChipIsAConfigurationError() throws {
        let rig = try KVMRig()
        XCTAssertThrowsError(try rig.vm.setIRQLine(4, level: true)) { error in
            XCTAssertEqual(error as? MachineError, .badConfiguration("IRQ 4: the VM has no in-kernel irqchip"))
        }
    }

    func testBadGSIRouteIsRefused() throws {
        let rig = try KVMRig(irqchip: true)
        XCTAssertThrowsError(try rig.vm.setGSIRouting([KVMGSIRoute(gsi: 3, pin: .picMaster(8))]))
        XCTAssertThrowsError(try rig.vm.setGSIRouting([KVMGSIRoute(gsi: 3, pin: .ioapic(24))]))
    }

    func testIRQChipAfterVCPUIsRefused() throws {
        let rig = try KVMRig()
        XCTAssertThrowsError(try rig.vm.createInKernelIRQChip())
    }
}
