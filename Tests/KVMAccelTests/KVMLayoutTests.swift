// Pure conversions that need no /dev/kvm: the FXSAVE/XSAVE layouts and kvm_segment.
import XCTest
@testable import KVMAccel
import MachineCore

final class KVMLayoutTests: XCTestCase {
    func testTagWordClassifiesRegisterContents() {
        // TOP = 3: physical R3 is ST0, R4 is ST1, ...
        var st = Array(repeating: X87Register(), count: 8)
        st[0] = X87Register(significand: 1 << 63, signExponent: 0x3FFF)   // 1.0: valid
        st[1] = X87Register(significand: 0, signExponent: 0x8000)          // -0.0: zero
        st[2] = X87Register(significand: 1 << 63, signExponent: 0x7FFF)   // infinity: special
        st[3] = X87Register(significand: 1, signExponent: 0)               // denormal: special
        st[4] = X87Register(significand: 1 << 62, signExponent: 0x4000)   // unnormal: special
        let fsw: UInt16 = 3 << 11
        let abridged: UInt8 = 0b1111_1000  // R3..R7 in use
        let ftw = XSaveLayout.fullTagWord(abridged: abridged, fsw: fsw, st: st)
        let tags = (0..<8).map { (ftw >> ($0 * 2)) & 3 }
        XCTAssertEqual(tags, [3, 3, 3, 0, 1, 2, 2, 2])
        XCTAssertEqual(XSaveLayout.abridgedTag(ftw), abridged)
    }

    func testLegacyAreaRoundTrip() {
        var fpu = FPUState()
        fpu.fcw = 0x0360; fpu.fsw = 0x3800; fpu.fop = 0x7FF; fpu.fip = 0x1122_3344_5566; fpu.fdp = 0x7788_99AA
        fpu.st = (0..<8).map { X87Register(significand: (1 << 63) | UInt64($0), signExponent: 0x4000 + UInt16($0)) }
        fpu.ftw = XSaveLayout.fullTagWord(abridged: 0xFF, fsw: fpu.fsw, st: fpu.st)
        fpu.mxcsr = 0x1FBF
        fpu.xmm = (0..<16).map { UInt128($0) << 100 | UInt128($0 * 3) }
        var image = [UInt8](repeating: 0xEE, count: 512)
        image.withUnsafeMutableBytes { XSaveLayout.writeLegacy(fpu, to: $0.baseAddress!) }
        XCTAssertEqual(image[XSaveLayout.ftw], 0xFF)
        XCTAssertEqual(image[XSaveLayout.mxcsrMask], 0xEE, "MXCSR_MASK is left alone")
        var back = FPUState()
        image.withUnsafeBytes { XSaveLayout.readLegacy($0.baseAddress!, into: &back) }
        XCTAssertEqual(back, fpu)
    }

    /// The C shim's kvm_fpu ⇄ FXSAVE conversion keeps every field.
    func testKVMFPUConversionRoundTrip() {
        var fpu = FPUState()
        fpu.fcw = 0x037A; fpu.fsw = 0x0800; fpu.fop = 0x123; fpu.fip = 0xABCDEF; fpu.fdp = 0x123456
        fpu.st[1] = X87Register(significand: 0xC000_0000_0000_0000, signExponent: 0xC000)
        fpu.ftw = XSaveLayout.fullTagWord(abridged: 0b0000_0100, fsw: fpu.fsw, st: fpu.st)
        fpu.mxcsr = 0x1F81
        fpu.xmm[15] = UInt128.max
        let k = KVMStateConversion.kvmFPU(from: fpu)
        XCTAssertEqual(k.fcw, 0x037A)
        XCTAssertEqual(k.ftwx, 0b0000_0100)
        XCTAssertEqual(k.last_ip, 0xABCDEF)
        XCTAssertEqual(k.mxcsr, 0x1F81)
        var back = FPUState()
        KVMStateConversion.apply(k, to: &back)
        XCTAssertEqual(back, fpu)
    }

    /// Components whose XSTATE_BV bit is clear read as their initial state.
    func testXSaveInitialComponents() {
        var image = [UInt8](repeating: 0x55, count: 4096)
        image.withUnsafeMutableBytes { XSaveLayout.setXStateBV($0.baseAddress!, 0) }
        var fpu = FPUState()
        fpu.fcw = 0
        image.withUnsafeBytes { XSaveLayout.readXSave($0.baseAddress!, into: &fpu, avxOffset: 576) }
        XCTAssertEqual(fpu.fcw, 0x037F)
        XCTAssertEqual(fpu.ftw, 0xFFFF)
        XCTAssertEqual(fpu.xmm, Array(repeating: 0, count: 16))
        XCTAssertEqual(fpu.ymmHigh, Array(repeating: 0, count: 16))
        XCTAssertEqual(fpu.mxcsr, 0x5555_5555, "MXCSR is always taken from the image")

        var avx = FPUState()
        avx.ymmHigh = (0..<16).map { UInt128($0 + 1) }
        image.withUnsafeMutableBytes { XSaveLayout.writeXSave(avx, to: $0.baseAddress!, avxOffset: 576) }
        XCTAssertEqual(image.withUnsafeBytes { XSaveLayout.xstateBV($0.baseAddress!) }, 0b111)
        var back = FPUState()
        image.withUnsafeBytes { XSaveLayout.readXSave($0.baseAddress!, into: &back, avxOffset: 576) }
        XCTAssertEqual(back.ymmHigh, avx.ymmHigh)
    }

    /// Present and unusable are kept consistent both ways, as VMX and SVM report them.
    func testSegmentConversion() {
        let usable = SegmentRegister(selector: 0x2B, base: 0x7FFF_0000, limit: 0xFFFF_FFFF, type: 3, dpl: 3, avl: true, db: true, g: true)
        XCTAssertEqual(KVMStateConversion.segment(from: KVMStateConversion.segment(from: usable)), usable)
        let k = KVMStateConversion.segment(from: usable)
        XCTAssertEqual([k.present, k.dpl, k.db, k.s, k.l, k.g, k.avl, k.unusable], [1, 3, 1, 1, 0, 1, 1, 0])
        let null = SegmentRegister(selector: 0, base: 0, limit: 0, type: 0, present: true, unusable: true)
        let kn = KVMStateConversion.segment(from: null)
        XCTAssertEqual(kn.present, 0)
        XCTAssertEqual(kn.unusable, 1)
        let back = KVMStateConversion.segment(from: kn)
        XCTAssertTrue(back.unusable)
        XCTAssertFalse(back.present)
    }

    func testSRegsDeriveLMA() {
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.pg
        s.cr4 = CR4.pae
        s.msr.efer = EFER.lme
        XCTAssertEqual(KVMStateConversion.sregs(from: s).efer, EFER.lme | EFER.lma)
        s.cr0 = CR0.pe
        s.msr.efer = EFER.lme | EFER.lma
        XCTAssertEqual(KVMStateConversion.sregs(from: s).efer, EFER.lme)
    }

    func testEventsShadowKindFollowsIF() {
        var s = CPUState()
        s.interruptShadow = true
        s.rflags = 0x202
        XCTAssertEqual(KVMStateConversion.shadow(for: s), KVMStateConversion.shadowSTI)
        s.rflags = 0x2
        XCTAssertEqual(KVMStateConversion.shadow(for: s), KVMStateConversion.shadowMovSS)
        s.interruptShadow = false
        XCTAssertEqual(KVMStateConversion.shadow(for: s), 0)
    }

    func testMissingDeviceIsEngineUnavailable() {
        XCTAssertThrowsError(try KVMSystem(path: "/nonexistent/kvm")) { error in
            XCTAssertEqual(error as? MachineError, .engineUnavailable("/nonexistent/kvm: No such file or directory"))
        }
    }

    func testWrongDeviceIsEngineUnavailable() {
        // /dev/null opens but answers no KVM ioctl.
        XCTAssertThrowsError(try KVMSystem(path: "/dev/null")) { error in
            guard case let .engineUnavailable(text)? = error as? MachineError else { return XCTFail("\(error)") }
            XCTAssertTrue(text.hasPrefix("/dev/null: KVM_GET_API_VERSION failed"), text)
            XCTAssertTrue(text.hasSuffix("swiftpc needs 12"), text)
        }
    }
}
