import Foundation
import XCTest
@testable import X86Decoder

/// The checked-in tables must be what scripts/isa/gen_tables.py makes of scripts/isa/opcode-maps.txt.
final class GeneratedTablesTests: XCTestCase {
    func testRegenerationChangesNothing() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-gen-\(getpid())")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", DifferentialTests.repoRoot.appendingPathComponent("scripts/isa/gen_tables.py").path,
                       "--out", tmp.path]
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { throw XCTSkip("python3 is not available") }
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let checkedIn = DifferentialTests.repoRoot.appendingPathComponent("Sources/X86Decoder/Generated")
        for name in ["PackedISA.swift", "FormIDs.swift"] {
            let fresh = try String(contentsOf: tmp.appendingPathComponent(name), encoding: .utf8)
            let have = try String(contentsOf: checkedIn.appendingPathComponent(name), encoding: .utf8)
            XCTAssertTrue(fresh == have, "\(name) is stale: run python3 scripts/isa/gen_tables.py")
        }
    }

    func testTablesCarryTheDataFileFacts() {
        let t = ISATables.shared
        let add = t.forms[Int(FormID.ADD_Eb_Gb)]
        XCTAssertEqual(t.mnemonicNames[Int(add.mnemonic)], "add")
        XCTAssertTrue(add.has(FormAttributes.lock))
        XCTAssertEqual(add.flagsWritten, FlagBits.of | FlagBits.sf | FlagBits.zf | FlagBits.af | FlagBits.cf | FlagBits.pf)
        XCTAssertEqual(add.operand(0), .r8_or_mem)
        XCTAssertEqual(add.operand(1), .r8_reg)
        let movs = t.forms[Int(FormID.MOVSB_Yb_Xb)]
        XCTAssertTrue(movs.has(FormAttributes.rep))
        XCTAssertEqual(movs.flagsRead, FlagBits.df)
        XCTAssertEqual(t.cpuidFeatures(ofForm: FormID.CMOVE_Gv_Ev_o32), ["CMOV"])
        XCTAssertEqual(t.formNames[Int(FormID.SYSCALL)], "SYSCALL")
    }

    /// What scripts/isa/expand.py makes of the SDM notation in opcode-maps.txt.
    func testOpcodeMapExpansion() {
        let t = ISATables.shared
        let all: UInt8 = 0b111, legacyModes: UInt8 = 0b011, longMode: UInt8 = 0b100
        // v-sized operands split by operand size; the 64-bit form exists in 64-bit mode only.
        XCTAssertEqual(t.forms[Int(FormID.ADD_Ev_Gv_o16)].modes, all)
        XCTAssertEqual(t.forms[Int(FormID.ADD_Ev_Gv_o64)].modes, longMode)
        XCTAssertEqual(t.forms[Int(FormID.ADD_Ev_Gv_o64)].operand(0), .r64_or_mem)
        // d64 (PUSH): no 32-bit form in 64-bit mode; i64 (PUSH ES): none at all there.
        XCTAssertEqual(t.forms[Int(FormID.PUSH_Zv_o32)].modes, legacyModes)
        XCTAssertEqual(t.forms[Int(FormID.PUSH_ES)].modes, legacyModes)
        // The cc macro fills in the flags each condition reads.
        XCTAssertEqual(t.forms[Int(FormID.JBE_Jb_o32)].flagsRead, FlagBits.cf | FlagBits.zf)
        XCTAssertEqual(t.forms[Int(FormID.CMOVG_Gv_Ev_o32)].flagsRead, FlagBits.zf | FlagBits.sf | FlagBits.of)
        // A/B/C mnemonics name the operand-size variants.
        XCTAssertEqual(t.mnemonicNames[Int(t.forms[Int(FormID.CDQE_o64)].mnemonic)], "cdqe")
        // privileged / lockable declarations.
        XCTAssertTrue(t.forms[Int(FormID.HLT)].has(FormAttributes.privileged))
        XCTAssertFalse(t.forms[Int(FormID.CMP_Eb_Gb)].has(FormAttributes.lock))
        XCTAssertTrue(t.forms[Int(FormID.XCHG_Eb_Gb)].has(FormAttributes.lock))
        // EVEX: one form per vector length, with the disp8*N tuple of the length.
        XCTAssertEqual(t.forms[Int(FormID.VADDPS_Vx_Hx_Wx_512_E)].operand(0), .zmm_reg)
        XCTAssertEqual(FormInfo.tupleNames[Int(t.forms[Int(FormID.VADDPS_Vx_Hx_Wx_512_E)].tupleType)], "N64B4")
        XCTAssertEqual(FormInfo.tupleNames[Int(t.forms[Int(FormID.VADDPS_Vx_Hx_Wx_128_E)].tupleType)], "N16B4")
    }
}
