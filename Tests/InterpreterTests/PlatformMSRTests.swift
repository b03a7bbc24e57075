import MachineCore
import XCTest
@testable import Interpreter

/// The MSRs Linux reads at boot that belong to no other test: the MTRRs (SDM Vol. 3A §12.11).
final class PlatformMSRTests: XCTestCase {
    func testMTRRDefaultTypeRoundTripsAndTheCapabilityIsReadOnly() throws {
        let m = try TestMachine()
        //   mov ecx, 0x2FF; mov eax, 0x806; xor edx, edx; wrmsr      MTRRs on, default write-back
        //   mov ecx, 0xFE; rdmsr; mov ebx, eax                          IA32_MTRRCAP
        //   mov ecx, 0x2FF; rdmsr; hlt
        try m.protectedMode([0xB9, 0xFF, 0x02, 0, 0, 0xB8, 0x06, 0x08, 0, 0, 0x31, 0xD2, 0x0F, 0x30,
                             0xB9, 0xFE, 0, 0, 0, 0x0F, 0x32, 0x89, 0xC3,
                             0xB9, 0xFF, 0x02, 0, 0, 0x0F, 0x32, 0xF4])
        let s = m.run()
        XCTAssertEqual(s.rbx, MTRR.capability, "eight variable ranges, fixed ranges, write-combining")
        XCTAssertEqual(s.rax, 0x806)
        XCTAssertEqual(s.msr.mtrrDefType, 0x806, "kept in CPUState for the other engine")
    }
}

/// The MSRs every Intel family 6 part answers and boot code reads unguarded (SDM Vol. 4
/// Table 2-2: IA32_PLATFORM_ID; Table 2-12 on: MSR_PLATFORM_INFO; IA32_DEBUGCTL), and the
/// #GP with a count for MSRs the CPU does not have.
final class IntelFamily6MSRTests: XCTestCase {
    /// 32-bit code at 0x1000 with a #GP handler at 0x3000 that stops with ESI = 0xBAD.
    func machine(_ body: String) throws -> TestMachine {
        let m = try TestMachine()
        try m.protectedMode(try NASM.assemble("bits 32\norg 0x1000\n" + body + "\nmov esi, 0x600D\nhlt\n"), idtEntries: 14)
        try m.memory.write(try NASM.assemble("bits 32\norg 0x3000\nmov esi, 0xBAD\nhlt\n"), at: 0x3000)
        try m.interruptGate(13, handler: 0x3000)
        return m
    }

    func testPlatformIDPlatformInfoAndDebugCtlAreReadable() throws {
        // Xen's microcode driver reads IA32_PLATFORM_ID without a fault handler (Xen 4.17
        // panicked here), as do Linux's and Windows' on Intel family 6.
        XCTAssertEqual(CPUModel.swiftpc.signature >> 8 & 0xF, 6, "an Intel family 6 model")
        let m = try machine("""
            mov ecx, 0x17
            rdmsr
            mov ebx, edx
            mov ecx, 0xCE
            rdmsr
            mov edi, eax
            mov ebp, edx
            mov ecx, 0x1D9
            rdmsr
            """)
        let s = m.run()
        XCTAssertEqual(s.rsi, 0x600D, "no #GP")
        XCTAssertEqual(s.rbx >> 18 & 7, 0, "platform 0 (bits 52:50)")
        let ratio = UInt64(CPUModel.swiftpc.tscKHz / 100_000)
        XCTAssertEqual(s.rdi >> 8 & 0xFF, ratio, "maximum non-turbo ratio: the TSC rate over the 100 MHz bus clock")
        XCTAssertEqual(s.rbp >> 8 & 0xFF, ratio, "minimum ratio (bits 47:40)")
        XCTAssertEqual(s.rdi & (1 << 31), 0, "no CPUID faulting")
        XCTAssertEqual(s.rax, 0, "IA32_DEBUGCTL: everything off")
        XCTAssertEqual(m.cpu.unknownMSRCount, 0)
    }

    func testReadOnlyPlatformMSRsFaultOnWrite() throws {
        for msr in [0x17, 0xCE] {
            let m = try machine("mov ecx, \(msr)\nrdmsr\nwrmsr")
            XCTAssertEqual(m.run().rsi, 0xBAD, "WRMSR \(String(msr, radix: 16)) raises #GP")
            XCTAssertEqual(m.cpu.unknownMSRCount, 0, "a known register's rule, not an unknown MSR")
        }
        let m = try machine("mov ecx, 0x1D9\nmov eax, 2\nxor edx, edx\nwrmsr")
        XCTAssertEqual(m.run().rsi, 0xBAD, "DEBUGCTL.BTF is not implemented: #GP rather than a silent no-op")
        let zero = try machine("mov ecx, 0x1D9\nxor eax, eax\nxor edx, edx\nwrmsr")
        XCTAssertEqual(zero.run().rsi, 0x600D)
    }

    func testUnknownMSRsStillFaultAndAreCounted() throws {
        let m = try machine("mov ecx, 0x4B564DFF\nrdmsr")
        XCTAssertEqual(m.run().rsi, 0xBAD)
        let w = try machine("mov ecx, 0x4B564DFE\nxor eax, eax\nxor edx, edx\nwrmsr")
        XCTAssertEqual(w.run().rsi, 0xBAD)
        XCTAssertEqual(m.cpu.unknownMSRCount, 1)
        XCTAssertEqual(m.cpu.unknownMSRs[0x4B56_4DFF], 1)
        XCTAssertEqual(w.cpu.unknownMSRs[0x4B56_4DFE], 1)
    }
}

/// IA32_APIC_BASE.EN clear makes the processor one without an APIC, CPUID.1:EDX.APIC
/// included (SDM Vol. 3A §11.4.3).
final class APICEnableCPUIDTests: XCTestCase {
    func testCPUIDReportsTheAPICOnlyWhileItIsEnabled() throws {
        let m = try TestMachine()
        try m.protectedMode(try NASM.assemble("""
            bits 32
            org 0x1000
                mov eax, 1
                cpuid
                mov esi, edx
                mov ecx, 0x1B
                rdmsr
                and eax, ~(1 << 11)
                wrmsr
                mov eax, 1
                cpuid
                mov edi, edx
                mov ecx, 0x1B
                rdmsr
                or eax, 1 << 11
                wrmsr
                mov eax, 1
                cpuid
                hlt
            """))
        let s = m.run()
        let apic = UInt64(CPUIDBits.apic)
        XCTAssertEqual(s.rsi & apic, apic, "enabled at reset")
        XCTAssertEqual(s.rdi & apic, 0, "hidden while globally disabled")
        XCTAssertEqual(s.rdx & apic, apic, "back once enabled again")
    }
}
