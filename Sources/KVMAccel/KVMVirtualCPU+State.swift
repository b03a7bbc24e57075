// getState / setState: the whole architectural CPUState through the KVM vCPU ioctls.
import CKVM
import MachineCore
import Synchronization

extension KVMVirtualCPU {
    /// MSRs the state carries besides EFER and APIC_BASE (which travel in kvm_sregs) and
    /// FS/GS base (segment bases), in the order they are written.
    static let stateMSRNumbers: [UInt32] = [
        MSR.star, MSR.lstar, MSR.cstar, MSR.sfmask, MSR.kernelGSBase,
        MSR.sysenterCS, MSR.sysenterESP, MSR.sysenterEIP, MSR.pat, MSR.tscAux, MSR.miscEnable, MSR.tsc,
        MTRR.defTypeMSR,
    ] + (0..<UInt32(2 * MTRR.variableCount)).map { MTRR.variableFirstMSR + $0 } + MTRR.fixedMSRs

    static func field(_ msr: UInt32) -> WritableKeyPath<ModelSpecificRegisters, UInt64>? {
        switch msr {
        case MSR.star: return \.star
        case MSR.lstar: return \.lstar
        case MSR.cstar: return \.cstar
        case MSR.sfmask: return \.sfmask
        case MSR.kernelGSBase: return \.kernelGSBase
        case MSR.sysenterCS: return \.sysenterCS
        case MSR.sysenterESP: return \.sysenterESP
        case MSR.sysenterEIP: return \.sysenterEIP
        case MSR.pat: return \.pat
        case MSR.tsc: return \.tsc
        case MSR.tscAux: return \.tscAux
        case MSR.miscEnable: return \.miscEnable
        case MTRR.defTypeMSR: return \.mtrrDefType
        case MTRR.variableFirstMSR..<MTRR.variableFirstMSR + UInt32(2 * MTRR.variableCount):
            return \.mtrrVariable[Int(msr - MTRR.variableFirstMSR)]
        case let index where MTRR.fixedMSRs.contains(index):
            return \.mtrrFixed[MTRR.fixedMSRs.firstIndex(of: index)!]
        default: return nil
        }
    }

    // MARK: VCPUEngine

    /// Reads the complete architectural state. Call it only while `run()` is not running.
    public func getState() throws(MachineError) -> CPUState {
        var s = CPUState()
        var regs = kvm_regs()
        try KVMIoctl.call(fd, CKVM_GET_REGS, &regs, "KVM_GET_REGS")
        KVMStateConversion.apply(regs, to: &s)
        var sregs = kvm_sregs()
        try KVMIoctl.call(fd, CKVM_GET_SREGS, &sregs, "KVM_GET_SREGS")
        KVMStateConversion.apply(sregs, to: &s)
        try readFPU(into: &s.fpu)
        try readMSRs(into: &s.msr)
        if hasDebugRegisters {
            var d = kvm_debugregs()
            try KVMIoctl.call(fd, CKVM_GET_DEBUGREGS, &d, "KVM_GET_DEBUGREGS")
            KVMStateConversion.apply(d, to: &s)
        }
        if hasVCPUEvents {
            var e = kvm_vcpu_events()
            try KVMIoctl.call(fd, CKVM_GET_VCPU_EVENTS, &e, "KVM_GET_VCPU_EVENTS")
            KVMStateConversion.apply(e, to: &s)
        }
        if !vm.hasIRQChip, let vector = KVMStateConversion.pendingInterrupt(in: sregs) {
            s.pendingInterrupt = vector
        }
        s.halted = try isHalted()
        // Requested with injectNMI() but not yet handed to KVM: pending all the same.
        if hasRequestedNMI { s.nmiPending = true }
        return s
    }

    /// Loads the complete architectural state, in the order QEMU uses (registers, FPU/XSAVE,
    /// XCR0, system registers, MSRs, run state, events, debug registers). Page tables that
    /// CR3 points to must already be in guest memory: in PAE mode KVM_SET_SREGS loads the
    /// PDPTEs from them.
    public func setState(_ state: CPUState) throws(MachineError) {
        guard state.gpr.count == 16, state.dr.count == 4, state.fpu.st.count == 8, state.fpu.xmm.count == 16 else {
            throw .badConfiguration("CPUState has malformed register arrays")
        }
        // An NMI requested earlier and not yet issued was reported by getState as nmiPending;
        // the loaded state now decides.
        nmiRequest.store(false, ordering: .sequentiallyConsistent)
        var regs = KVMStateConversion.regs(from: state)
        try KVMIoctl.call(fd, CKVM_SET_REGS, &regs, "KVM_SET_REGS")
        try writeFPU(state.fpu)
        var sregs = KVMStateConversion.sregs(from: state)
        try KVMIoctl.call(fd, CKVM_SET_SREGS, &sregs, "KVM_SET_SREGS")
        try writeMSRs(state.msr)
        try setHalted(state.halted)
        if hasVCPUEvents {
            var e = kvm_vcpu_events()
            try KVMIoctl.call(fd, CKVM_GET_VCPU_EVENTS, &e, "KVM_GET_VCPU_EVENTS")
            KVMStateConversion.update(&e, from: state)
            try KVMIoctl.call(fd, CKVM_SET_VCPU_EVENTS, &e, "KVM_SET_VCPU_EVENTS")
        } else if state.pendingInterrupt != nil || state.nmiPending || state.interruptShadow {
            throw .engineUnavailable("\(vm.system.path): the kernel lacks KVM_CAP_VCPU_EVENTS, needed to load pending events")
        }
        if hasDebugRegisters {
            var d = KVMStateConversion.debugRegisters(from: state)
            try KVMIoctl.call(fd, CKVM_SET_DEBUGREGS, &d, "KVM_SET_DEBUGREGS")
        }
    }

    // MARK: run state

    func isHalted() throws(MachineError) -> Bool {
        guard vm.hasIRQChip, hasMPState else { return userspaceHalted }
        var mp = kvm_mp_state()
        try KVMIoctl.call(fd, CKVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE")
        return mp.mp_state == UInt32(KVM_MP_STATE_HALTED)
    }

    /// Only the runnable/halted distinction is written, and only when it changes, so an AP
    /// waiting for INIT/SIPI keeps that state through setState(getState()).
    func setHalted(_ halted: Bool) throws(MachineError) {
        userspaceHalted = halted
        guard vm.hasIRQChip, hasMPState else { return }
        var mp = kvm_mp_state()
        try KVMIoctl.call(fd, CKVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE")
        let isHalted = mp.mp_state == UInt32(KVM_MP_STATE_HALTED)
        if halted && !isHalted {
            mp.mp_state = UInt32(KVM_MP_STATE_HALTED)
        } else if !halted && isHalted {
            mp.mp_state = UInt32(KVM_MP_STATE_RUNNABLE)
        } else {
            return
        }
        try KVMIoctl.call(fd, CKVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE")
    }

    // MARK: x87 / SSE / AVX and XCR0

    func readFPU(into fpu: inout FPUState) throws(MachineError) {
        if let size = xsaveSize {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            defer { buffer.deallocate() }
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            try getXSave(buffer, size: size)
            XSaveLayout.readXSave(buffer, into: &fpu, avxOffset: avxOffset)
        } else {
            var k = kvm_fpu()
            try KVMIoctl.call(fd, CKVM_GET_FPU, &k, "KVM_GET_FPU")
            KVMStateConversion.apply(k, to: &fpu)
        }
        fpu.xcr0 = 1
        if hasXCRs {
            var x = kvm_xcrs()
            try KVMIoctl.call(fd, CKVM_GET_XCRS, &x, "KVM_GET_XCRS")
            withUnsafeBytes(of: x.xcrs) { raw in
                let entries = raw.bindMemory(to: kvm_xcr.self)
                for i in 0..<min(Int(x.nr_xcrs), entries.count) where entries[i].xcr == 0 { fpu.xcr0 = entries[i].value }
            }
        }
    }

    func writeFPU(_ fpu: FPUState) throws(MachineError) {
        if let size = xsaveSize {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            defer { buffer.deallocate() }
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            // Read-modify-write keeps the components CPUState does not describe.
            try getXSave(buffer, size: size)
            XSaveLayout.writeXSave(fpu, to: buffer, avxOffset: avxOffset)
            try KVMIoctl.call(fd, CKVM_SET_XSAVE, raw: buffer, "KVM_SET_XSAVE")
        } else {
            var k = KVMStateConversion.kvmFPU(from: fpu)
            try KVMIoctl.call(fd, CKVM_SET_FPU, &k, "KVM_SET_FPU")
        }
        if hasXCRs {
            guard fpu.xcr0 & 1 != 0, fpu.xcr0 & ~supportedXCR0 == 0 else {
                throw .badConfiguration("XCR0 0x\(String(fpu.xcr0, radix: 16)) enables state this vCPU's CPU model does not offer (allowed: 0x\(String(supportedXCR0, radix: 16)))")
            }
            var x = kvm_xcrs()
            x.nr_xcrs = 1
            x.xcrs.0.xcr = 0
            x.xcrs.0.value = fpu.xcr0
            try KVMIoctl.call(fd, CKVM_SET_XCRS, &x, "KVM_SET_XCRS")
        } else if fpu.xcr0 != 1 {
            throw .engineUnavailable("\(vm.system.path): the kernel lacks KVM_CAP_XCRS, needed to load XCR0 0x\(String(fpu.xcr0, radix: 16))")
        }
    }

    func getXSave(_ buffer: UnsafeMutableRawPointer, size: Int) throws(MachineError) {
        if size > MemoryLayout<kvm_xsave>.size {
            try KVMIoctl.call(fd, CKVM_GET_XSAVE2, raw: buffer, "KVM_GET_XSAVE2")
        } else {
            try KVMIoctl.call(fd, CKVM_GET_XSAVE, raw: buffer, "KVM_GET_XSAVE")
        }
    }

    // MARK: MSRs

    func readMSRs(into msr: inout ModelSpecificRegisters) throws(MachineError) {
        guard !stateMSRs.isEmpty else { return }
        guard let list = ckvm_msrs_alloc(UInt32(stateMSRs.count)) else { throw .engineFailure("out of memory for the MSR list") }
        defer { ckvm_free(list) }
        for (i, number) in stateMSRs.enumerated() { ckvm_msrs_entry(list, UInt32(i)).pointee.index = number }
        let done = try KVMIoctl.call(fd, CKVM_GET_MSRS, raw: list, "KVM_GET_MSRS")
        // KVM_GET_MSRS returns how many it read; it stops at the first it cannot.
        for i in 0..<min(Int(done), stateMSRs.count) {
            let entry = ckvm_msrs_entry(list, UInt32(i)).pointee
            if let field = KVMVirtualCPU.field(entry.index) { msr[keyPath: field] = entry.data }
        }
        if Int(done) < stateMSRs.count {
            throw .engineFailure("KVM_GET_MSRS could not read MSR 0x\(String(stateMSRs[Int(done)], radix: 16))")
        }
    }

    func writeMSRs(_ msr: ModelSpecificRegisters) throws(MachineError) {
        guard !stateMSRs.isEmpty else { return }
        guard let list = ckvm_msrs_alloc(UInt32(stateMSRs.count)) else { throw .engineFailure("out of memory for the MSR list") }
        defer { ckvm_free(list) }
        for (i, number) in stateMSRs.enumerated() {
            let entry = ckvm_msrs_entry(list, UInt32(i))
            entry.pointee.index = number
            entry.pointee.data = KVMVirtualCPU.field(number).map { msr[keyPath: $0] } ?? 0
        }
        let done = try KVMIoctl.call(fd, CKVM_SET_MSRS, raw: list, "KVM_SET_MSRS")
        if Int(done) < stateMSRs.count {
            let bad = stateMSRs[Int(done)]
            let value = KVMVirtualCPU.field(bad).map { msr[keyPath: $0] } ?? 0
            throw .badConfiguration("KVM_SET_MSRS refused MSR 0x\(String(bad, radix: 16)) = 0x\(String(value, radix: 16))")
        }
    }
}
