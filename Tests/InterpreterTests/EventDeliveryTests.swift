import MachineCore
import XCTest
@testable import Interpreter

/// RF in the RFLAGS image of an event frame (SDM Vol. 3A §17.3.1.1): 1 for faults, the current
/// value for traps and interrupts.
final class ResumeFlagTests: XCTestCase {
    func testFaultFramesCarryRFAndTrapFramesDoNot() throws {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.gateMacro + """
            bits 32
            org 0x1000
                GATE 0, de_handler
                GATE 6, ud_handler
                GATE 3, bp_handler
                GATE 1, db_handler
                ud2                         ; fault
                xor ecx, ecx
                xor edx, edx
                mov eax, 1
                div ecx                     ; fault (the handler makes ECX 1 and returns to it)
                int3                        ; trap
                mov eax, 0x3700
                mov dr0, eax
                mov eax, \(TestAsm.dr7(slot: 0, rw: 1, len: 0))
                mov dr7, eax
                mov byte [0x3700], 1        ; data breakpoint: trap
                hlt
            ud_handler:
                mov eax, [esp + 8]
                mov [0x3100], eax
                add dword [esp], 2
                iretd
            de_handler:
                mov eax, [esp + 8]
                mov [0x3104], eax
                mov ecx, 1
                iretd
            bp_handler:
                mov eax, [esp + 8]
                mov [0x3108], eax
                iretd
            db_handler:
                mov eax, [esp + 8]
                mov [0x310C], eax
                iretd
            """)
        try m.protectedMode(code, idtEntries: 32)
        let s = m.run()
        XCTAssertTrue(m.cpu.isHalted, "ran to the end: \(s.rip)")
        let rf = UInt32(RFLAGS.rf)
        XCTAssertEqual(try m.memory.read32(0x3100) & rf, rf, "#UD frame")
        XCTAssertEqual(try m.memory.read32(0x3104) & rf, rf, "#DE frame")
        XCTAssertEqual(try m.memory.read32(0x3108) & rf, 0, "#BP (trap) frame")
        XCTAssertEqual(try m.memory.read32(0x310C) & rf, 0, "data breakpoint (trap) frame")
        XCTAssertEqual(s.rflags & RFLAGS.rf, 0, "RF is cleared once the next instruction runs")
    }

    /// An external interrupt taken between the iterations of a REP string instruction pushes
    /// RF = 1 and the instruction's address; after IRET the instruction finishes. One taken
    /// after an ordinary instruction pushes RF = 0.
    func testInterruptInTheMiddleOfAREPStringPushesRF() throws {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.gateMacro + """
            bits 32
            org 0x1000
                GATE 0x20, irq_handler
                mov edi, 0x10000
                mov ecx, 5000               ; more than one step of iterations
                xor eax, eax
                cld
                mov dword [0x3120], rep_insn
            rep_insn:
                rep stosb
                nop
                hlt
            irq_handler:
                push eax
                push ebx
                mov ebx, [0x3100]
                mov eax, [esp + 8]
                mov [0x3200 + ebx * 8], eax     ; EIP
                mov eax, [esp + 16]
                mov [0x3204 + ebx * 8], eax     ; EFLAGS
                inc dword [0x3100]
                pop ebx
                pop eax
                iretd
            """)
        try m.protectedMode(code, idtEntries: 0x21)
        try m.memory.write(Array(repeating: 0xEE, count: 5001), at: 0x10000)
        m.steps(6 + 5)                                 // GATE; setup up to the REP
        m.steps(1)                                     // the first 4096 iterations
        XCTAssertEqual(m.cpu.getState().rcx, 5000 - UInt64(X86CPU.stringIterationsPerStep))
        m.cpu.deliverExternalInterrupt(0x20)
        m.steps(11)                                    // the handler
        m.steps(1)                                     // the rest of the REP
        XCTAssertEqual(m.cpu.getState().rcx, 0)
        m.cpu.deliverExternalInterrupt(0x20)           // after the REP, before the NOP
        _ = m.run()
        XCTAssertEqual(try m.memory.read32(0x3100), 2)
        XCTAssertEqual(try m.memory.read32(0x3200), try m.memory.read32(0x3120), "EIP: the REP instruction")
        XCTAssertEqual(try m.memory.read32(0x3204) & UInt32(RFLAGS.rf), UInt32(RFLAGS.rf), "RF = 1 mid-REP")
        XCTAssertEqual(try m.memory.read32(0x3200 + 8), try m.memory.read32(0x3120) + 2, "EIP: the NOP")
        XCTAssertEqual(try m.memory.read32(0x3204 + 8) & UInt32(RFLAGS.rf), 0, "RF = 0 between instructions")
        XCTAssertEqual(try m.memory.read(0x10000 + 4999, count: 2), [0, 0xEE], "every byte written once")
    }

    /// An instruction breakpoint on an instruction that faults: the #DB handler returns with
    /// RF set in its frame; the #GP frame has RF = 1 by itself, so the IRET of the #GP handler
    /// re-runs the instruction without a second #DB.
    func testRFFromAFaultFrameSuppressesTheInstructionBreakpoint() throws {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.gateMacro + """
            bits 32
            org 0x1000
                GATE 1, db_handler
                GATE 13, gp_handler
                mov eax, target
                mov dr0, eax
                mov eax, \(TestAsm.dr7(slot: 0, rw: 0, len: 0))
                mov dr7, eax
                mov ax, 0x7F8               ; beyond the GDT limit
            target:
                mov es, ax                  ; #GP; the handler makes AX valid and returns here
                mov [0x310C], es
                hlt
            db_handler:
                inc dword [0x3100]
                or dword [esp + 8], 1 << 16 ; RF, or the breakpoint fires again at once
                iretd
            gp_handler:
                inc dword [0x3104]
                add esp, 4                  ; error code
                mov eax, [esp + 8]
                mov [0x3108], eax
                mov ax, 0x10
                iretd
            """)
        try m.protectedMode(code, idtEntries: 32)
        _ = m.run()
        XCTAssertEqual(try m.memory.read32(0x3100), 1, "one instruction-breakpoint #DB")
        XCTAssertEqual(try m.memory.read32(0x3104), 1, "one #GP")
        XCTAssertEqual(try m.memory.read32(0x3108) & UInt32(RFLAGS.rf), UInt32(RFLAGS.rf), "#GP frame RF")
        XCTAssertEqual(try m.memory.read16(0x310C), 0x10, "the instruction completed")
        XCTAssertTrue(m.cpu.isHalted)
    }
}

/// POPF never loads RF (SDM Vol. 2B, "POPF"): a breakpoint right after it still fires.
final class PopfResumeFlagTests: XCTestCase {
    func testPOPFDLeavesRFClear() throws {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.gateMacro + """
            bits 32
            org 0x1000
                GATE 1, db_handler
                mov eax, target
                mov dr0, eax
                mov eax, \(TestAsm.dr7(slot: 0, rw: 0, len: 0))
                mov dr7, eax
                push dword 0x10002          ; RF set in the popped image
                popfd
            target:
                nop
                hlt
            db_handler:
                inc dword [0x3100]
                or dword [esp + 8], 1 << 16
                iretd
            """)
        try m.protectedMode(code, idtEntries: 32)
        _ = m.run()
        XCTAssertEqual(try m.memory.read32(0x3100), 1, "the breakpoint after POPFD fired")
    }
}

/// NMI delivery (SDM Vol. 3A §6.7.1, §6.8.3).
final class NMITests: XCTestCase {
    /// 32-bit code with IF = 0; the NMI handler counts at [0x3100] and returns with IRETD
    /// after two NOPs. Main loops forever incrementing EBX.
    func nmiMachine() throws -> TestMachine {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.gateMacro + """
            bits 32
            org 0x1000
                GATE 2, nmi_handler
                cli
            main:
                inc ebx
                jmp main
            nmi_handler:
                inc dword [0x3100]
                nop
                nop
                iretd
            """)
        try m.protectedMode(code, idtEntries: 32)
        return m
    }

    func testNMIIsTakenWithIFClearAndASecondOneWaitsForIRET() throws {
        let m = try nmiMachine()
        m.steps(20)
        XCTAssertEqual(m.cpu.getState().rflags & RFLAGS.if, 0)
        m.cpu.injectNMI()
        XCTAssertTrue(m.cpu.deliverPendingNMI(), "IF = 0 does not mask NMI")
        XCTAssertEqual(m.cpu.lastDeliveredVector, 2)
        m.steps(1)                                 // inc dword [0x3100]
        XCTAssertEqual(try m.memory.read32(0x3100), 1)
        m.cpu.injectNMI()
        XCTAssertFalse(m.cpu.deliverPendingNMI(), "blocked while the handler runs")
        XCTAssertTrue(m.cpu.getState().nmiPending)
        m.steps(2)                                 // nop; nop
        XCTAssertFalse(m.cpu.deliverPendingNMI(), "still blocked before IRET")
        m.steps(1)                                 // iretd
        XCTAssertTrue(m.cpu.deliverPendingNMI(), "IRET unblocks NMI")
        m.steps(4)
        XCTAssertEqual(try m.memory.read32(0x3100), 2)
        XCTAssertFalse(m.cpu.getState().nmiPending)
    }

    func testMovSSHoldsOffNMIButSTIDoesNot() throws {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.gateMacro + """
            bits 32
            org 0x1000
                GATE 2, nmi_handler
                cli
                mov ax, 0x10
                mov ss, ax                  ; shadow: no NMI before the next instruction
                nop
                sti                         ; STI shadow: NMI may be taken
                nop
                hlt
            nmi_handler:
                inc dword [0x3100]
                iretd
            """)
        try m.protectedMode(code, idtEntries: 32)
        m.steps(6 + 3)     // GATE (6 instructions); cli; mov ax; mov ss
        m.cpu.injectNMI()
        XCTAssertFalse(m.cpu.deliverPendingNMI(), "MOV SS shadow")
        m.steps(1)         // nop
        XCTAssertTrue(m.cpu.deliverPendingNMI())
        m.steps(2)         // handler: inc; iretd
        XCTAssertEqual(try m.memory.read32(0x3100), 1)
        m.steps(1)         // sti
        XCTAssertFalse(m.cpu.interruptsEnabled, "INTR is held off by the STI shadow")
        m.cpu.injectNMI()
        XCTAssertTrue(m.cpu.deliverPendingNMI(), "the STI shadow does not block NMI")
    }

    func testHLTIsWokenByNMIAndResumesAfterIt() throws {
        let m = try TestMachine()
        // Real mode: IVT[2] -> handler. cli; hlt; mov bx, 0x1234; hlt.
        let code = try NASM.assemble(TestAsm.vectorMacro + """
            bits 16
            org 0x1000
                VECTOR 2, nmi_handler
                cli
                hlt
                mov bx, 0x1234
                hlt
            nmi_handler:
                inc word [0x3100]
                iret
            """)
        try m.realMode(code)
        _ = m.run()
        XCTAssertTrue(m.cpu.isHalted)
        XCTAssertEqual(m.cpu.getState().rbx & 0xFFFF, 0)
        m.cpu.injectNMI()
        XCTAssertTrue(m.cpu.deliverPendingNMI())
        XCTAssertFalse(m.cpu.isHalted, "the NMI ends HLT")
        let s = m.run()
        XCTAssertEqual(try m.memory.read16(0x3100), 1)
        XCTAssertEqual(s.rbx & 0xFFFF, 0x1234, "resumed after the HLT")
        XCTAssertTrue(m.cpu.isHalted)
    }

    /// The engine: an NMI raised from another thread wakes a vCPU halted with IF = 0 (which
    /// would otherwise be halted forever), and CPUState.nmiPending round-trips.
    func testEngineInjectNMIWakesAHaltedVCPU() throws {
        let memory = try GuestMemory(size: 4 << 20)
        let ports = PortIOBus()
        let control = MachineControl()
        final class ExitPort: PortIODevice {
            let control: MachineControl
            init(_ c: MachineControl) { control = c }
            func portRead(offset: UInt16, size: Int) -> UInt32 { 0xFF }
            func portWrite(offset: UInt16, size: Int, value: UInt32) { control.requestStop(.debugExit(value)) }
        }
        try ports.claim(base: 0xF4, count: 1, device: ExitPort(control), name: "debug-exit")
        let engine = InterpreterEngine(memory: memory, portBus: ports, mmioBus: MMIOBus(), lock: Lock(), control: control)
        let code = try NASM.assemble(TestAsm.vectorMacro + """
            bits 16
            org 0x1000
                VECTOR 2, nmi_handler
                cli
                hlt
                mov al, 0x21
                out 0xF4, al
                hlt
            nmi_handler:
                inc word [0x3100]
                iret
            """)
        try memory.write(code, at: 0x1000)
        var s = CPUState()
        s.cs = .realMode(0, code: true)
        s.rip = 0x1000
        s.rsp = 0x8000
        try engine.setState(s)
        XCTAssertEqual(try engine.run(), .haltedForever)
        engine.raiseNMI()
        XCTAssertTrue(try engine.getState().nmiPending, "pending before the vCPU runs")
        XCTAssertEqual(try engine.run(), .stopRequested)
        XCTAssertEqual(control.stopReason, .debugExit(0x21))
        XCTAssertEqual(try memory.read16(0x3100), 1)
        var saved = try engine.getState()
        XCTAssertFalse(saved.nmiPending)
        saved.nmiPending = true
        try engine.setState(saved)
        XCTAssertTrue(try engine.getState().nmiPending, "CPUState.nmiPending is loaded")
        // A request not yet taken is part of the state getState reports; setState replaces it.
        saved.nmiPending = false
        engine.raiseNMI()
        try engine.setState(saved)
        XCTAssertFalse(try engine.getState().nmiPending, "the loaded state decides")
    }
}

/// The TSC from host nanoseconds at the model's rate.
final class TimeStampCounterTests: XCTestCase {
    func testCyclesDoNotWrapAfterHoursOfHostUptime() {
        // 10,000 s at 2 GHz: the 64-bit product ns * kHz would have wrapped.
        XCTAssertEqual(X86CPU.tscCycles(nanoseconds: 10_000_000_000_000, kHz: 2_000_000), 20_000_000_000_000)
        // 30 days at 3.5 GHz.
        let ns: UInt64 = 30 * 86_400 * 1_000_000_000
        XCTAssertEqual(X86CPU.tscCycles(nanoseconds: ns, kHz: 3_500_000), 30 * 86_400 * 3_500_000_000)
        XCTAssertEqual(X86CPU.tscCycles(nanoseconds: 1_000, kHz: 2_000_000), 2_000)
    }

    func testRDTSCAdvancesAndWRMSRSetsIt() throws {
        let m = try TestMachine()
        // wrmsr IA32_TSC = 0x1_0000_0000; rdtsc; hlt
        let code = try NASM.assemble("""
            bits 32
            org 0x1000
                mov ecx, 0x10
                xor eax, eax
                mov edx, 1
                wrmsr
                rdtsc
                hlt
            """)
        try m.protectedMode(code)
        let s = m.run()
        let tsc = (s.rdx << 32) | (s.rax & 0xFFFF_FFFF)
        XCTAssertGreaterThanOrEqual(tsc, 0x1_0000_0000)
        XCTAssertLessThan(tsc, 0x1_0000_0000 + 2_000_000_000, "less than a second of cycles later")
    }
}

/// TF on a REP string instruction: a single-step trap after each iteration, the frame at the
/// instruction (with RF = 1) until the last one (SDM Vol. 3B §17.3.1.4).
final class RepeatedStringSingleStepTests: XCTestCase {
    func testSingleStepTrapsAfterEveryIteration() throws {
        let m = try TestMachine()
        let code = try NASM.assemble(TestAsm.gateMacro + """
            bits 32
            org 0x1000
                GATE 1, db_handler
                mov edi, 0x3400
                mov ecx, 3
                mov al, 0xCD
                cld
                mov dword [0x3120], rep_insn
                mov dword [0x3124], after
                pushfd
                or dword [esp], 0x100
                popfd
            rep_insn:
                rep stosb
            after:
                hlt
            db_handler:
                push eax
                push ebx
                mov ebx, [0x3100]
                mov eax, [esp + 8]
                mov [0x3200 + ebx * 8], eax     ; EIP
                mov eax, [esp + 16]
                mov [0x3204 + ebx * 8], eax     ; EFLAGS
                inc dword [0x3100]
                cmp dword [esp + 8], after
                jne .keep
                and dword [esp + 16], ~0x100    ; stop stepping at the HLT
            .keep:
                pop ebx
                pop eax
                iretd
            """)
        try m.protectedMode(code, idtEntries: 32)
        _ = m.run()
        let rep = try m.memory.read32(0x3120), after = try m.memory.read32(0x3124)
        XCTAssertEqual(try m.memory.read32(0x3100), 3, "one trap per iteration")
        let frames = try (0..<3).map { (try m.memory.read32(0x3200 + UInt64($0 * 8)), try m.memory.read32(0x3204 + UInt64($0 * 8))) }
        XCTAssertEqual(frames.map { $0.0 }, [rep, rep, after])
        XCTAssertEqual(frames.map { $0.1 & UInt32(RFLAGS.rf) }, [UInt32(RFLAGS.rf), UInt32(RFLAGS.rf), 0])
        XCTAssertEqual(try m.memory.read(0x3400, count: 4), [0xCD, 0xCD, 0xCD, 0])
    }
}
