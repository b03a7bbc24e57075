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
