import MachineCore
import XCTest
@testable import Interpreter

/// VMCALL and VMMCALL reach the platform's hypercall hook (VCPUPlatform.hypercalls) as a
/// hypervisor's VM exit would, with the caller's registers and privilege level; without a hook,
/// or when the hook declines, they raise #UD as on a CPU outside a VM.
final class HypercallHookTests: XCTestCase {
    /// Records calls and answers RAX = RAX + RDI, and RBX = the physical address of the
    /// linear address in RSI.
    final class Recorder: HypercallHandler {
        var calls: [HypercallRegisters] = []
        var decline = false
        func hypercall(_ r: inout HypercallRegisters, context: HypercallContext) -> HypercallOutcome {
            calls.append(r)
            if decline { return .undefinedInstruction }
            r.rax = r.rax &+ r.rdi
            r.rbx = context.physicalAddress(ofLinear: r.rsi, write: false) ?? 0xDEAD
            return .handled
        }
    }

    /// mov eax, 40; mov edi, 2; mov esi, 0x2345; <call>; hlt (32-bit protected mode, paging off).
    func program(_ call: [UInt8]) -> [UInt8] {
        [0xB8, 40, 0, 0, 0, 0xBF, 2, 0, 0, 0, 0xBE, 0x45, 0x23, 0, 0] + call + [0xF4]
    }
    static let vmcall: [UInt8] = [0x0F, 0x01, 0xC1]
    static let vmmcall: [UInt8] = [0x0F, 0x01, 0xD9]

    func testVMCALLAndVMMCALLReachTheHookWithTheCallersRegisters() throws {
        for (call, instruction) in [(Self.vmcall, HypercallRegisters.Instruction.vmcall), (Self.vmmcall, .vmmcall)] {
            let m = try TestMachine()
            let hook = Recorder()
            m.cpu.platform.hypercalls = hook
            try m.protectedMode(program(call))
            let s = m.run()
            XCTAssertEqual(hook.calls.count, 1)
            XCTAssertEqual(hook.calls.first?.instruction, instruction)
            XCTAssertEqual(hook.calls.first?.cpl, 0)
            XCTAssertEqual(hook.calls.first?.longMode, false)
            XCTAssertEqual(s.rax, 42, "the hook's result is in RAX")
            XCTAssertEqual(s.rbx, 0x2345, "paging off: the linear address is the physical one")
            XCTAssertEqual(s.rip, 0x1000 + UInt64(program(call).count), "the guest went on after the call to HLT")
            XCTAssertNil(m.cpu.lastDeliveredVector)
        }
    }

    func testWithoutAHookOrWhenItDeclinesTheInstructionRaisesUD() throws {
        for declined in [false, true] {
            let m = try TestMachine()
            let hook = Recorder()
            hook.decline = true
            if declined { m.cpu.platform.hypercalls = hook }
            try m.protectedMode(program(Self.vmcall), idtEntries: 8)
            try m.interruptGate(6, handler: 0x3000)
            try m.memory.write([0xF4], at: 0x3000)
            let s = m.run()
            XCTAssertEqual(m.cpu.lastDeliveredVector, 6, "#UD")
            XCTAssertEqual(s.rax, 40, "no result")
            XCTAssertEqual(hook.calls.count, declined ? 1 : 0)
        }
    }
}
