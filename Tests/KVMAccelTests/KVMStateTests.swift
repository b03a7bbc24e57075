// CPUState through KVM and back: every field the conversions cover.
import XCTest
@testable import KVMAccel
import MachineCore

final class KVMStateTests: XCTestCase {
    /// The swiftpc model with XSAVE and AVX, when the host offers them, so that XCR0 and the
    /// YMM upper halves are exercised too.
    static func avxModel(_ system: KVMSystem) throws -> CPUModel? {
        let host = try system.supportedCPUID()
        guard let leaf1 = host.first(where: { $0.function == 1 }),
              leaf1.ecx & (CPUIDBits.xsave | KVMCPUIDPolicy.Bit.avx) == CPUIDBits.xsave | KVMCPUIDPolicy.Bit.avx else { return nil }
        var model = CPUModel.swiftpc
        model.leaf1ECX |= CPUIDBits.xsave | KVMCPUIDPolicy.Bit.avx
        return model
    }

    /// A long-mode state with a distinctive value in every field the conversions carry.
    static func distinctiveState(avx: Bool) -> CPUState {
        var s = CPUState()
        s.gpr = (0..<16).map { UInt64($0 + 1) &* 0x0101_0101_0101_0101 ^ 0x8000_0000_0000_0000 }
        s.rip = 0x0000_0000_1234_5678
        s.rflags = RFLAGS.reserved1 | RFLAGS.cf | RFLAGS.pf | RFLAGS.af | RFLAGS.zf | RFLAGS.sf | RFLAGS.if | RFLAGS.of
        s.cs = SegmentRegister(selector: 0x08, base: 0, limit: 0xFFFF_FFFF, type: 0xB, s: true, dpl: 0, l: true, db: false, g: true)
        s.ss = SegmentRegister(selector: 0x10, base: 0, limit: 0xFFFF_FFFF, type: 0x3, dpl: 0, db: true, g: true)
        s.ds = SegmentRegister(selector: 0x18, base: 0x1000, limit: 0x000F_FFFF, type: 0x3, db: true, g: false)
        s.es = SegmentRegister(selector: 0x20, base: 0x2000, limit: 0xFFFF_FFFF, type: 0x3, avl: true, db: true, g: true)
        s.fs = SegmentRegister(selector: 0x2B, base: 0x0000_7FFF_1234_5000, limit: 0xFFFF_FFFF, type: 0x3, dpl: 3, db: true, g: true)
        s.gs = SegmentRegister(selector: 0x30, base: 0xFFFF_8000_DEAD_0000, limit: 0xFFFF_FFFF, type: 0x3, db: true, g: true)
        s.ldtr = SegmentRegister(selector: 0x38, base: 0x9000, limit: 0xFFF, type: 0x2, s: false)
        s.tr = SegmentRegister(selector: 0x40, base: 0xA000, limit: 0x67, type: 0xB, s: false)
        s.gdtr = DescriptorTableRegister(base: 0x500, limit: 0x47)
        s.idtr = DescriptorTableRegister(base: 0x600, limit: 0xFFF)
        s.cr0 = CR0.pe | CR0.mp | CR0.et | CR0.ne | CR0.wp | CR0.am | CR0.pg
        s.cr2 = 0x0000_0DEA_DBEE_F000
        s.cr3 = 0x2000
        s.cr4 = CR4.de | CR4.pse | CR4.pae | CR4.pge | CR4.osfxsr | CR4.osxmmexcpt | (avx ? CR4.osxsave : 0)
        s.cr8 = 5
        s.dr = [0x1000, 0x2000, 0x3000, 0x4000]
        s.dr6 = 0xFFFF_0FF1
        s.dr7 = 0x405
        s.msr.efer = EFER.sce | EFER.lme | EFER.lma | EFER.nxe
        s.msr.star = 0x0023_0010_0000_0000
        s.msr.lstar = 0xFFFF_FFFF_8100_0000
        s.msr.cstar = 0xFFFF_FFFF_8100_1000
        s.msr.sfmask = 0x4700
        s.msr.kernelGSBase = 0xFFFF_8880_0000_0000
        s.msr.sysenterCS = 0x10
        s.msr.sysenterESP = 0xFFFF_FE00_0000_1000
        s.msr.sysenterEIP = 0xFFFF_FFFF_8100_2000
        s.msr.pat = 0x0007_0406_0007_0504
        s.msr.tsc = 0x1_0000_0000
        s.msr.tscAux = 0x1234
        s.msr.miscEnable = 0x801
        s.fpu.fcw = 0x027F
        s.fpu.fsw = 0x3000  // TOP = 6
        s.fpu.ftw = 0x0FFF  // R6 and R7 (ST0, ST1) valid, the rest empty
        s.fpu.fop = 0x1D9
        s.fpu.fip = 0x0000_7FFF_0000_1234
        s.fpu.fdp = 0x0000_7FFF_0000_5678
        s.fpu.st = (0..<8).map { X87Register(significand: 0x8000_0000_0000_0000 | UInt64($0) << 40, signExponent: 0x3FFF + UInt16($0)) }
        s.fpu.mxcsr = 0x9F81
        s.fpu.xmm = (0..<16).map { UInt128(0x1111_2222_3333_4444 &* UInt64($0 + 1)) << 64 | UInt128($0 + 0x100) }
        if avx {
            s.fpu.ymmHigh = (0..<16).map { UInt128(0xAAAA_0000 + UInt64($0)) << 64 | UInt128(0x5555_0000 + UInt64($0)) }
            s.fpu.xcr0 = 0b111
        }
        s.pendingInterrupt = 0x41
        s.nmiPending = true
        s.interruptShadow = true
        s.halted = true
        return s
    }

    /// Compares field by field so that a failure names the field.
    static func assertEqual(_ got: CPUState, _ want: CPUState, tscSlack: UInt64 = 0, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.gpr, want.gpr, "gpr", file: file, line: line)
        XCTAssertEqual(got.rip, want.rip, "rip", file: file, line: line)
        XCTAssertEqual(got.rflags, want.rflags, "rflags", file: file, line: line)
        for (name, g, w) in [("es", got.es, want.es), ("cs", got.cs, want.cs), ("ss", got.ss, want.ss), ("ds", got.ds, want.ds),
                             ("fs", got.fs, want.fs), ("gs", got.gs, want.gs), ("ldtr", got.ldtr, want.ldtr), ("tr", got.tr, want.tr)] {
            XCTAssertEqual(g, w, name, file: file, line: line)
        }
        XCTAssertEqual(got.gdtr, want.gdtr, "gdtr", file: file, line: line)
        XCTAssertEqual(got.idtr, want.idtr, "idtr", file: file, line: line)
        XCTAssertEqual([got.cr0, got.cr2, got.cr3, got.cr4, got.cr8], [want.cr0, want.cr2, want.cr3, want.cr4, want.cr8], "cr0/2/3/4/8", file: file, line: line)
        XCTAssertEqual(got.dr, want.dr, "dr0-3", file: file, line: line)
        XCTAssertEqual(got.dr6, want.dr6, "dr6", file: file, line: line)
        XCTAssertEqual(got.dr7, want.dr7, "dr7", file: file, line: line)
        var gotMSR = got.msr, wantMSR = want.msr
        XCTAssertTrue(gotMSR.tsc >= wantMSR.tsc && gotMSR.tsc - wantMSR.tsc <= tscSlack,
                      "tsc 0x\(String(gotMSR.tsc, radix: 16)) vs 0x\(String(wantMSR.tsc, radix: 16))", file: file, line: line)
        gotMSR.tsc = 0; wantMSR.tsc = 0
        XCTAssertEqual(gotMSR, wantMSR, "msr", file: file, line: line)
        XCTAssertEqual(got.fpu, want.fpu, "fpu", file: file, line: line)
        XCTAssertEqual(got.pendingInterrupt, want.pendingInterrupt, "pendingInterrupt", file: file, line: line)
        XCTAssertEqual(got.nmiPending, want.nmiPending, "nmiPending", file: file, line: line)
        XCTAssertEqual(got.interruptShadow, want.interruptShadow, "interruptShadow", file: file, line: line)
        XCTAssertEqual(got.halted, want.halted, "halted", file: file, line: line)
    }

    /// Set a state with distinctive values everywhere, read it back: the same state (the
    /// TSC has moved on by the time in between).
    func testDistinctiveStateRoundTrip() throws {
        let system = try openKVMOrSkip()
        let model = try KVMStateTests.avxModel(system)
        let rig = try KVMRig(irqchip: true, model: model ?? .swiftpc)
        var want = KVMStateTests.distinctiveState(avx: model != nil)
        try rig.cpu.setState(want)
        var got = try rig.cpu.getState()
        // MSRs missing from this host's KVM_GET_MSR_INDEX_LIST are not carried.
        for number in KVMVirtualCPU.stateMSRNumbers where !rig.cpu.stateMSRs.contains(number) {
            let field = try XCTUnwrap(KVMVirtualCPU.field(number))
            XCTAssertEqual(got.msr[keyPath: field], CPUState().msr[keyPath: field], "MSR 0x\(String(number, radix: 16)) not carried")
            want.msr[keyPath: field] = got.msr[keyPath: field]
        }
        if HostQuirks.isPVM {
            // The guest TSC is the host's under kvm_pvm; KVM_SET_MSRS accepts and ignores it.
            got.msr.tsc = want.msr.tsc
        }
        // Allow ten seconds of TSC at up to 10 GHz.
        KVMStateTests.assertEqual(got, want, tscSlack: 100_000_000_000)
    }

    /// XCR0 and the YMM upper halves, on hosts whose KVM offers XSAVE and AVX.
    func testAVXStateRoundTrip() throws {
        let system = try openKVMOrSkip()
        guard let model = try KVMStateTests.avxModel(system) else {
            throw XCTSkip("KVM on this host does not offer XSAVE and AVX in KVM_GET_SUPPORTED_CPUID")
        }
        let rig = try KVMRig(model: model)
        var want = try GuestState.longMode(rig.memory)
        want.cr4 |= CR4.osxsave
        want.fpu.xcr0 = 0b111
        want.fpu.xmm = (0..<16).map { UInt128($0 + 1) << 64 | 0xFEED }
        want.fpu.ymmHigh = (0..<16).map { UInt128(0xAAAA_0000 + UInt64($0)) << 64 | UInt128(0x5555_0000 + UInt64($0)) }
        try rig.cpu.setState(want)
        let got = try rig.cpu.getState()
        XCTAssertEqual(got.fpu.xcr0, 0b111)
        XCTAssertEqual(got.fpu.xmm, want.fpu.xmm)
        XCTAssertEqual(got.fpu.ymmHigh, want.fpu.ymmHigh)
    }

    /// setState(getState()) is an identity, from the reset state and after running a guest.
    func testSetGetIsIdentity() throws {
        let rig = try KVMRig(irqchip: true)
        let reset = try rig.cpu.getState()
        try rig.cpu.setState(reset)
        KVMStateTests.assertEqual(try rig.cpu.getState(), reset, tscSlack: 100_000_000_000)

        try rig.memory.write([0xB8, 0x34, 0x12, 0x66, 0xBA, 0xF4, 0x00, 0x00, 0x00, 0xEE, 0xF4], at: GuestState.codeAddress)
        try rig.cpu.setState(GuestState.realMode())
        XCTAssertEqual(try rig.run(), .stopRequested)
        let after = try rig.cpu.getState()
        XCTAssertEqual(after.rax & 0xFFFF, 0x1234)
        try rig.cpu.setState(after)
        KVMStateTests.assertEqual(try rig.cpu.getState(), after, tscSlack: 100_000_000_000)
    }

    /// The loaders' entry states load as given (LMA derived when only LME and PG are set).
    func testLoaderStatesLoad() throws {
        let rig = try KVMRig()
        var long = try GuestState.longMode(rig.memory)
        long.msr.efer = EFER.lme
        try rig.cpu.setState(long)
        XCTAssertEqual(try rig.cpu.getState().msr.efer & (EFER.lme | EFER.lma), EFER.lme | EFER.lma)
        let protected = try GuestState.protectedMode(rig.memory)
        try rig.cpu.setState(protected)
        let got = try rig.cpu.getState()
        XCTAssertEqual(got.cs, protected.cs)
        XCTAssertEqual(got.cr0 & CR0.pe, CR0.pe)
    }

    func testXCR0BeyondModelIsRefused() throws {
        let rig = try KVMRig()
        var s = GuestState.realMode()
        s.fpu.xcr0 = 0b111
        XCTAssertThrowsError(try rig.cpu.setState(s)) { error in
            XCTAssertTrue("\(error)".contains("XCR0 0x7"), "\(error)")
        }
    }
}
