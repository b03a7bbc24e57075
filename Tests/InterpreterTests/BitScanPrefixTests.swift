import MachineCore
import XCTest
@testable import Interpreter

/// F3 0F BC/BD: TZCNT/LZCNT on a model with BMI1/ABM, REP BSF/BSR (the prefix ignored) on
/// one without them (SDM Vol. 2B TZCNT, LZCNT: "on processors that do not support" them the
/// encoding executes as BSF/BSR).
final class BitScanPrefixTests: XCTestCase {
    // mov ecx, 0x1234 / mov edx, 0x5678 / xor eax, eax / tzcnt ecx, eax / mov [0x2100], ecx
    // lzcnt edx, eax / mov [0x2104], edx / mov ebx, 0xF0 / tzcnt esi, ebx / mov [0x2108], esi
    // lzcnt edi, ebx / mov [0x210C], edi / hlt
    static let program: [UInt8] = [
        0xB9, 0x34, 0x12, 0x00, 0x00, 0xBA, 0x78, 0x56, 0x00, 0x00, 0x31, 0xC0, 0xF3, 0x0F, 0xBC, 0xC8,
        0x89, 0x0D, 0x00, 0x21, 0x00, 0x00, 0xF3, 0x0F, 0xBD, 0xD0, 0x89, 0x15, 0x04, 0x21, 0x00, 0x00,
        0xBB, 0xF0, 0x00, 0x00, 0x00, 0xF3, 0x0F, 0xBC, 0xF3, 0x89, 0x35, 0x08, 0x21, 0x00, 0x00, 0xF3,
        0x0F, 0xBD, 0xFB, 0x89, 0x3D, 0x0C, 0x21, 0x00, 0x00, 0xF4,
    ]

    func results(_ model: CPUModel) throws -> [UInt32] {
        let m = try TestMachine()
        m.cpu.model = model
        try m.protectedMode(Self.program)
        _ = m.run()
        XCTAssertEqual(m.cpu.unimplementedCount, 0)
        return try (0..<4).map { try m.memory.read32(0x2100 + UInt64($0 * 4)) }
    }

    func testWithoutBMI1AndABMTheyAreBSFAndBSR() throws {
        // Zero source: BSF/BSR leave the destination; 0xF0: bit 4 and bit 7.
        XCTAssertEqual(try results(.swiftpc), [0x1234, 0x5678, 4, 7])
    }

    func testWithBMI1AndABMTheyCount() throws {
        var model = CPUModel.swiftpc
        model.leaf7EBX |= CPUIDBits.bmi1
        model.ext1ECX |= CPUIDBits.abm
        XCTAssertEqual(try results(model), [32, 32, 4, 24])
    }
}
