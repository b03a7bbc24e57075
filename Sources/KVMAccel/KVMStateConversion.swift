// CPUState ⇄ the KVM register structures (api.rst KVM_GET/SET_REGS, _SREGS, _DEBUGREGS,
// _VCPU_EVENTS, _MP_STATE). Pure functions; the ioctls are in KVMVirtualCPU+State.swift.
import CKVM
import MachineCore

enum KVMStateConversion {
    // MARK: general registers (struct kvm_regs)

    static func regs(from s: CPUState) -> kvm_regs {
        var r = kvm_regs()
        r.rax = s.gpr[0]; r.rcx = s.gpr[1]; r.rdx = s.gpr[2]; r.rbx = s.gpr[3]
        r.rsp = s.gpr[4]; r.rbp = s.gpr[5]; r.rsi = s.gpr[6]; r.rdi = s.gpr[7]
        r.r8 = s.gpr[8]; r.r9 = s.gpr[9]; r.r10 = s.gpr[10]; r.r11 = s.gpr[11]
        r.r12 = s.gpr[12]; r.r13 = s.gpr[13]; r.r14 = s.gpr[14]; r.r15 = s.gpr[15]
        r.rip = s.rip
        // Bit 1 of RFLAGS always reads as 1 (SDM Vol. 1 §3.4.3).
        r.rflags = s.rflags | RFLAGS.reserved1
        return r
    }

    static func apply(_ r: kvm_regs, to s: inout CPUState) {
        s.gpr = [r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
                 r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15]
        s.rip = r.rip
        s.rflags = r.rflags
    }

    // MARK: segments (struct kvm_segment)

    /// A segment register in KVM's form. A segment that is not present is unusable and vice
    /// versa: VMX and SVM both derive one from the other on the way back (vmx_get_segment,
    /// svm_get_segment), so they are made to agree here.
    static func segment(from s: SegmentRegister) -> kvm_segment {
        var k = kvm_segment()
        let unusable = s.unusable || !s.present
        k.base = s.base
        k.limit = s.limit
        k.selector = s.selector
        k.type = s.type & 0xF
        k.present = unusable ? 0 : 1
        k.dpl = s.dpl & 3
        k.db = s.db ? 1 : 0
        k.s = s.s ? 1 : 0
        k.l = s.l ? 1 : 0
        k.g = s.g ? 1 : 0
        k.avl = s.avl ? 1 : 0
        k.unusable = unusable ? 1 : 0
        return k
    }

    static func segment(from k: kvm_segment) -> SegmentRegister {
        let unusable = k.unusable != 0 || k.present == 0
        return SegmentRegister(selector: k.selector, base: k.base, limit: k.limit, type: k.type & 0xF, s: k.s != 0,
                               dpl: k.dpl & 3, present: !unusable, avl: k.avl != 0, l: k.l != 0, db: k.db != 0,
                               g: k.g != 0, unusable: unusable)
    }

    static func table(from t: DescriptorTableRegister) -> kvm_dtable {
        var d = kvm_dtable()
        d.base = t.base
        d.limit = t.limit
        return d
    }

    // MARK: system registers (struct kvm_sregs)

    /// EFER.LMA is set exactly when EFER.LME and CR0.PG are (SDM Vol. 3A §9.8.5); KVM rejects
    /// other combinations, so a loader's state that leaves LMA out is completed here.
    static func sregs(from s: CPUState) -> kvm_sregs {
        var k = kvm_sregs()
        k.cs = segment(from: s.cs); k.ds = segment(from: s.ds); k.es = segment(from: s.es)
        k.fs = segment(from: s.fs); k.gs = segment(from: s.gs); k.ss = segment(from: s.ss)
        k.tr = segment(from: s.tr); k.ldt = segment(from: s.ldtr)
        k.gdt = table(from: s.gdtr)
        k.idt = table(from: s.idtr)
        k.cr0 = s.cr0; k.cr2 = s.cr2; k.cr3 = s.cr3; k.cr4 = s.cr4; k.cr8 = s.cr8
        var efer = s.msr.efer & ~EFER.lma
        if efer & EFER.lme != 0 && s.cr0 & CR0.pg != 0 { efer |= EFER.lma }
        k.efer = efer
        k.apic_base = s.msr.apicBase
        // interrupt_bitmap stays empty: a pending interrupt travels in KVM_SET_VCPU_EVENTS.
        return k
    }

    static func apply(_ k: kvm_sregs, to s: inout CPUState) {
        s.cs = segment(from: k.cs); s.ds = segment(from: k.ds); s.es = segment(from: k.es)
        s.fs = segment(from: k.fs); s.gs = segment(from: k.gs); s.ss = segment(from: k.ss)
        s.tr = segment(from: k.tr); s.ldtr = segment(from: k.ldt)
        s.gdtr = DescriptorTableRegister(base: k.gdt.base, limit: k.gdt.limit)
        s.idtr = DescriptorTableRegister(base: k.idt.base, limit: k.idt.limit)
        s.cr0 = k.cr0; s.cr2 = k.cr2; s.cr3 = k.cr3; s.cr4 = k.cr4; s.cr8 = k.cr8
        s.msr.efer = k.efer
        s.msr.apicBase = k.apic_base
    }

    /// The vector of an interrupt KVM holds in sregs.interrupt_bitmap (only without an
    /// in-kernel irqchip, api.rst KVM_GET_SREGS), if any.
    static func pendingInterrupt(in k: kvm_sregs) -> UInt8? {
        let words = [k.interrupt_bitmap.0, k.interrupt_bitmap.1, k.interrupt_bitmap.2, k.interrupt_bitmap.3]
        for (i, w) in words.enumerated() where w != 0 {
            return UInt8(i * 64 + w.trailingZeroBitCount)
        }
        return nil
    }

    // MARK: debug registers (struct kvm_debugregs)

    static func debugRegisters(from s: CPUState) -> kvm_debugregs {
        var d = kvm_debugregs()
        let dr = s.dr + [0, 0, 0, 0]
        d.db = (dr[0], dr[1], dr[2], dr[3])
        // The upper halves of DR6 and DR7 are reserved as zero (KVM rejects anything else).
        d.dr6 = s.dr6 & 0xFFFF_FFFF
        d.dr7 = s.dr7 & 0xFFFF_FFFF
        return d
    }

    static func apply(_ d: kvm_debugregs, to s: inout CPUState) {
        s.dr = [d.db.0, d.db.1, d.db.2, d.db.3]
        s.dr6 = d.dr6
        s.dr7 = d.dr7
    }

    // MARK: x87 and SSE without XSAVE (struct kvm_fpu, through the FXSAVE image)

    static func kvmFPU(from fpu: FPUState) -> kvm_fpu {
        var image = [UInt8](repeating: 0, count: XSaveLayout.legacySize)
        var k = kvm_fpu()
        image.withUnsafeMutableBytes { b in
            XSaveLayout.writeLegacy(fpu, to: b.baseAddress!)
            ckvm_fxsave_to_fpu(b.baseAddress!.assumingMemoryBound(to: UInt8.self), &k)
        }
        return k
    }

    /// x87, MXCSR and XMM registers from kvm_fpu; YMM upper halves are zero and XCR0 untouched.
    static func apply(_ k: kvm_fpu, to fpu: inout FPUState) {
        var k = k
        var image = [UInt8](repeating: 0, count: XSaveLayout.legacySize)
        image.withUnsafeMutableBytes { b in
            ckvm_fpu_to_fxsave(&k, b.baseAddress!.assumingMemoryBound(to: UInt8.self))
            XSaveLayout.readLegacy(UnsafeRawPointer(b.baseAddress!), into: &fpu)
        }
        fpu.ymmHigh = Array(repeating: 0, count: 16)
    }

    // MARK: pending events (struct kvm_vcpu_events)

    /// Updates `e` (read from KVM first, so exception and SMM state are kept) with the
    /// CPUState's pending interrupt, NMI and interrupt shadow.
    static func update(_ e: inout kvm_vcpu_events, from s: CPUState) {
        if let vector = s.pendingInterrupt {
            e.interrupt.injected = 1
            e.interrupt.nr = vector
            e.interrupt.soft = 0
        } else {
            e.interrupt.injected = 0
            e.interrupt.nr = 0
            e.interrupt.soft = 0
        }
        e.interrupt.shadow = shadow(for: s)
        e.nmi.injected = 0
        e.nmi.pending = s.nmiPending ? 1 : 0
        // Only flags that name fields we give a value to; VALID_SMM/PAYLOAD stay as read.
        e.flags |= UInt32(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW)
        e.flags &= ~UInt32(KVM_VCPUEVENT_VALID_SIPI_VECTOR)
    }

    static let shadowSTI = UInt8(KVM_X86_SHADOW_INT_STI)
    static let shadowMovSS = UInt8(KVM_X86_SHADOW_INT_MOV_SS)

    /// CPUState has one bit of interrupt shadow. STI blocking requires IF=1 (SDM Vol. 3C
    /// §26.3.1.5), so without IF the shadow is the MOV SS kind.
    static func shadow(for s: CPUState) -> UInt8 {
        guard s.interruptShadow else { return 0 }
        return s.rflags & RFLAGS.if != 0 ? shadowSTI : shadowMovSS
    }

    static func apply(_ e: kvm_vcpu_events, to s: inout CPUState) {
        // A soft interrupt (INT n) being re-injected is an instruction restart, not a pending
        // external interrupt; it is not carried.
        s.pendingInterrupt = e.interrupt.injected != 0 && e.interrupt.soft == 0 ? e.interrupt.nr : nil
        s.interruptShadow = e.interrupt.shadow != 0
        s.nmiPending = e.nmi.pending != 0 || e.nmi.injected != 0
    }
}
