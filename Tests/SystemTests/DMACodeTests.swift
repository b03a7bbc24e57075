import Foundation
import XCTest

/// DMA into code that has already run (issue 14's contract for device writes): every engine
/// that decoded or translated the function must run the body the IDE bus master wrote over
/// it, the standby interpreter of `--migrate-every` included (guests/dma-code.asm).
final class DMACodeTests: XCTestCase {
    /// K of the body in each disk sector; the guest's `variant_k` holds the same values.
    static let variants: [UInt32] = [0x1111_1111, 0x0204_0608, 0x1020_3040]
    static let expected = "rounds 300, calls per round 64, stale results 0\r\n"
    static let passed: Int32 = (0x21 << 1) | 1

    /// One body per sector, 64-bit code returning 4 * K, padded with INT3:
    ///     xor eax, eax / mov ecx, 4 / .l: add eax, K / dec ecx / jnz .l / ret
    static func body(_ k: UInt32) -> [UInt8] {
        let code: [UInt8] = [0x31, 0xC0, 0xB9, 0x04, 0x00, 0x00, 0x00, 0x05]
            + withUnsafeBytes(of: k.littleEndian, Array.init) + [0xFF, 0xC9, 0x75, 0xF7, 0xC3]
        return code + [UInt8](repeating: 0xCC, count: 512 - code.count)
    }

    /// A small read-only disk in the test's temporary directory: the bodies, then zeros.
    static func disk() throws -> String {
        var bytes = variants.flatMap(body)
        bytes += [UInt8](repeating: 0, count: 8 * 512 - bytes.count)
        return try SwiftPCProcess.temporaryFile("dma-code.img", contents: Data(bytes)) + ",readonly"
    }

    static func run(_ options: [String], append: String = "") throws -> SwiftPCProcess.Result {
        try SwiftPCProcess.run(["run", "--stats"] + options + ["--disk", try disk(), "--kernel", try SwiftPCProcess.guest("dma-code"),
                                                              "--append", append])
    }

    static func count(after label: String, in text: String) -> Int {
        text.components(separatedBy: label).dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
    }

    /// The block translator made blocks of the function's loop, and dropped them with the
    /// decoded instructions when the DMA rewrote the page.
    func testInterpreterWithBlockTranslation() throws {
        let r = try Self.run(["--accel", "interp", "--jit", "on"])
        XCTAssertEqual(r.status, Self.passed, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, Self.expected)
        XCTAssertGreaterThan(Self.count(after: "translated blocks: ", in: r.stderr), 0, r.stderr)
    }

    func testInterpreterWithoutBlockTranslation() throws {
        let r = try Self.run(["--accel", "interp", "--jit", "off"])
        XCTAssertEqual(r.status, Self.passed, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, Self.expected)
        XCTAssertEqual(Self.count(after: "translated blocks: ", in: r.stderr), 0, r.stderr)
    }

    func testKVM() throws {
        try SwiftPCProcess.requireKVM()
        let r = try Self.run(["--accel", "kvm"])
        XCTAssertEqual(r.status, Self.passed, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, Self.expected)
    }

    /// The vCPU moves between KVM and the interpreter every 2 ms, so DMAs done under one
    /// engine land on code the other decoded before. Fails (thousands of stale results) when
    /// the standby interpreter does not hear of device writes.
    func testKVMWithTheStandbyInterpreter() throws {
        try SwiftPCProcess.requireKVM()
        let r = try Self.run(["--accel", "kvm", "--migrate-every", "0.002"])
        XCTAssertEqual(r.status, Self.passed, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, Self.expected)
        XCTAssertGreaterThanOrEqual(Self.count(after: "engine switches: ", in: r.stderr), 20, r.stderr)
    }

    /// The neighbour of DMA: the guest itself copies each body over the function. What it
    /// wrote while KVM ran reaches the standby interpreter through KVM's dirty log
    /// (KVMVirtualMachine+WriteTracking.swift); without that, some 500 calls ran stale code.
    func testCodeWrittenUnderKVMReachesTheStandbyInterpreter() throws {
        try SwiftPCProcess.requireKVM()
        let r = try Self.run(["--accel", "kvm", "--migrate-every", "0.002"], append: "cpu-copy")
        XCTAssertEqual(r.status, Self.passed, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, Self.expected)
        XCTAssertGreaterThanOrEqual(Self.count(after: "engine switches: ", in: r.stderr), 10, r.stderr)
    }

    /// The copying guest on each engine alone (the interpreter sees its own writes).
    func testCodeWrittenByTheCPUOnEachEngine() throws {
        let interp = try Self.run(["--accel", "interp"], append: "cpu-copy")
        XCTAssertEqual(interp.status, Self.passed, interp.stdout + interp.stderr)
        XCTAssertEqual(interp.stdout, Self.expected)
        try SwiftPCProcess.requireKVM()
        let kvm = try Self.run(["--accel", "kvm"], append: "cpu-copy")
        XCTAssertEqual(kvm.status, Self.passed, kvm.stdout + kvm.stderr)
        XCTAssertEqual(kvm.stdout, Self.expected)
    }
}
