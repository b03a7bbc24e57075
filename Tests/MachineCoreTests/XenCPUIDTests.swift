import XCTest
@testable import MachineCore

/// Xen's hypervisor leaves (public/arch-x86/cpuid.h) appear only with the Xen interface on.
final class XenCPUIDTests: XCTestCase {
    func testXenLeavesWhenOn() {
        var model = CPUModel.swiftpc
        model.xen = XenInterfaceVersion(major: 4, minor: 17)
        let base = model.cpuid(leaf: 0x4000_0000)
        XCTAssertEqual(base, CPUIDResult(eax: 0x4000_0004, ebx: 0x566E_6558, ecx: 0x6558_4D4D, edx: 0x4D4D_566E))
        let signature = [base.ebx, base.ecx, base.edx].flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
        XCTAssertEqual(String(decoding: signature, as: UTF8.self), "XenVMMXenVMM")
        XCTAssertEqual(model.cpuid(leaf: 0x4000_0001).eax, 0x0004_0011)
        XCTAssertEqual(model.cpuid(leaf: 0x4000_0002), CPUIDResult(eax: 1, ebx: 0x4000_0000))
        XCTAssertEqual(model.cpuid(leaf: 0x4000_0004, apicID: 3), CPUIDResult(eax: (1 << 3) | (1 << 6), ebx: 3))
        // An older version has neither flag (QEMU's rule: vCPU id from 4.6, upcall vector from 4.17).
        model.xen = XenInterfaceVersion(major: 4, minor: 5)
        XCTAssertEqual(model.cpuid(leaf: 0x4000_0004, apicID: 3), CPUIDResult())
        XCTAssertEqual(model.cpuid(leaf: 0x4000_0001).eax, 0x0004_0005)
        // No other hypervisor base answers.
        XCTAssertEqual(model.cpuid(leaf: 0x4000_0100), model.cpuid(leaf: model.maxBasicLeaf))
    }

    func testNoXenLeavesWhenOff() {
        let model = CPUModel.swiftpc
        XCTAssertNil(model.xen)
        for leaf: UInt32 in 0x4000_0000...0x4000_0004 {
            XCTAssertEqual(model.cpuid(leaf: leaf), model.cpuid(leaf: model.maxBasicLeaf), "leaf \(String(leaf, radix: 16))")
        }
        XCTAssertNotEqual(model.cpuid(leaf: 0x4000_0000).ebx, XenCPUID.signatureEBX)
    }

    func testVersionParsing() {
        XCTAssertEqual(XenInterfaceVersion(parsing: "4.17"), XenInterfaceVersion(major: 4, minor: 17))
        for bad in ["4", "4.", ".17", "4.17.1", "a.b", "4.99999", "-4.1", "4 .1", "４.1"] {
            XCTAssertNil(XenInterfaceVersion(parsing: bad), bad)
        }
    }
}
