import MachineCore
import XCTest
@testable import Interpreter

/// x87 edge cases the random differential runner found against the host CPU (32-bit flat
/// code at 0x1000, operands at 0x2000).
final class X87StackAndDivideEdgeTests: XCTestCase {
    let indefinite = X87Register(significand: 0xC000_0000_0000_0000, signExponent: 0xFFFF)

    func run(_ code: [UInt8], setup: (TestMachine) throws -> Void = { _ in }) throws -> CPUState {
        let m = try TestMachine()
        try m.protectedMode(code + [0xF4])
        try setup(m)
        return m.run()
    }

    /// FDIVR m64 with ST(0) = +0 and a denormal m64: divide-by-zero outranks the denormal
    /// operand, so FSW has ZE and not DE (SDM Vol. 1 §8.7), and ST(0) = +inf.
    func testDivideByZeroOutranksADenormalMemoryOperand() throws {
        // fldz; fdivr qword [0x2000]
        let s = try run([0xD9, 0xEE, 0xDC, 0x3D, 0x00, 0x20, 0x00, 0x00]) { m in try m.memory.write64(0x2000, 1) }
        XCTAssertEqual(s.fpu.fsw & 0x3F, 0x04, "ZE only")
        XCTAssertEqual(s.fpu.st[0], X87Register(significand: 1 << 63, signExponent: 0x7FFF))
    }

    /// FXTRACT on a full stack: the masked stack overflow leaves both of its results (the
    /// exponent's place, old ST(0), and the pushed significand) as the indefinite QNaN.
    func testFXTRACTStackOverflowMakesBothResultsIndefinite() throws {
        // fld1 x 8; fxtract
        let s = try run([UInt8](repeating: 0, count: 8).flatMap { _ in [0xD9, 0xE8] } + [0xD9, 0xF4])
        XCTAssertEqual(s.fpu.fsw & 0x41, 0x41, "IE and SF")
        XCTAssertNotEqual(s.fpu.fsw & 0x0200, 0, "C1 = 1: overflow")
        XCTAssertEqual(s.fpu.st[0], indefinite)
        XCTAssertEqual(s.fpu.st[1], indefinite)
    }
}
