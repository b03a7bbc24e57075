import MachineCore
import X86Decoder

/// System instructions: descriptor tables, control registers, MSRs, CPUID, fast system calls.
extension X86CPU {
    // MARK: group 6 / group 7 (SDM Vol. 2, "SLDT", "LGDT", ...)

    func group6(_ d: InstructionRef) throws(CPUException) {
        guard protectedMode && !v86Mode else { throw .invalidOpcode }
        switch d.reg & 7 {
        case 0, 1: // SLDT, STR
            let v = UInt64(segs[d.reg & 7 == 0 ? Seg.ldtr : Seg.tr].selector)
            if d.hasMemory { try writeRM(d, 2, v) } else { setReg(d.rm, opBytes(d), v) }
        case 2: // LLDT
            guard cpl == 0 else { throw .gp() }
            let selector = UInt16(truncatingIfNeeded: try readRM(d, 2))
            if selector & 0xFFFC == 0 {
                var s = SegmentRegister(selector: selector, type: 2, s: false)
                s.unusable = true
                segs[Seg.ldtr] = s
                return
            }
            guard selector & 4 == 0 else { throw .gp(UInt32(selector & 0xFFFC)) }
            let desc = try readDescriptor(selector, wide: inLongMode)
            guard !desc.s, desc.type == 2 else { throw .gp(UInt32(selector & 0xFFFC)) }
            guard desc.present else { throw .np(UInt32(selector & 0xFFFC)) }
            try checkWideSystemDescriptor(desc, selector)
            segs[Seg.ldtr] = desc.segment(selector: selector)
        case 3: // LTR
            guard cpl == 0 else { throw .gp() }
            let selector = UInt16(truncatingIfNeeded: try readRM(d, 2))
            guard selector & 0xFFFC != 0, selector & 4 == 0 else { throw .gp(UInt32(selector & 0xFFFC)) }
            let desc = try readDescriptor(selector, wide: inLongMode)
            guard !desc.s, desc.type == 1 || desc.type == 9 else { throw .gp(UInt32(selector & 0xFFFC)) }
            guard desc.present else { throw .np(UInt32(selector & 0xFFFC)) }
            try checkWideSystemDescriptor(desc, selector)
            // Mark the TSS busy.
            let base = gdtr.base &+ UInt64(selector & 0xFFF8)
            try writeSystem(base &+ 5, 1, ((desc.low >> 40) & 0xFF) | 2)
            var s = desc.segment(selector: selector)
            s.type |= 2
            segs[Seg.tr] = s
        case 4, 5: // VERR, VERW
            let selector = UInt16(truncatingIfNeeded: try readRM(d, 2))
            var ok = false
            if selector & 0xFFFC != 0, let desc = try? readDescriptor(selector), desc.s {
                let privileged = desc.isConforming || (desc.dpl >= cpl && desc.dpl >= UInt8(selector & 3))
                ok = privileged && (d.reg & 7 == 4 ? desc.isReadable : desc.isWritableData)
            }
            setFlags(ok ? RFLAGS.zf : 0, mask: RFLAGS.zf)
        default:
            throw .invalidOpcode
        }
    }

    func group7(_ d: InstructionRef) throws(CPUException) {
        if !d.hasMemory {
            switch d.modrm {
            case 0xF8: // SWAPGS
                guard codeBits == 64 else { throw .invalidOpcode }
                guard cpl == 0 else { throw .gp() }
                let t = segs[Seg.gs].base
                segs[Seg.gs].base = msr.kernelGSBase
                msr.kernelGSBase = t
                return
            case 0xF9: // RDTSCP
                try rdtsc()
                setReg(1, 4, msr.tscAux & 0xFFFF_FFFF)
                return
            case 0xC1: // VMCALL
                try hypercall(.vmcall)
                return
            case 0xD9: // VMMCALL
                try hypercall(.vmmcall)
                return
            case 0xD0: // XGETBV
                guard cr4 & CR4.osxsave != 0 else { throw .invalidOpcode }
                guard reg(1, 4) == 0 else { throw .gp() }
                setReg(0, 4, xcr0 & 0xFFFF_FFFF); setReg(2, 4, xcr0 >> 32)
                return
            case 0xD1 where model.leaf1ECX & CPUIDBits.xsave != 0: // XSETBV
                try xsetbv()
                return
            default:
                break
            }
            switch d.reg & 7 {
            case 4: setReg(d.rm, opBytes(d), cr0 & 0xFFFF_FFFF)  // SMSW r
            case 6: try lmsw(UInt64(reg(d.rm, 2)))
            default: throw unimplementedInstruction(d)
            }
            return
        }
        let ea = effectiveAddress(d)
        let seg = Int(d.segment)
        let baseSize = codeBits == 64 ? 8 : 4
        switch d.reg & 7 {
        case 0, 1: // SGDT, SIDT
            let table = d.reg & 7 == 0 ? gdtr : idtr
            try write(seg, ea, 2, UInt64(table.limit))
            try write(seg, (ea &+ 2) & addressMask(d), baseSize, baseSize == 4 ? table.base & 0xFFFF_FFFF : table.base)
        case 2, 3: // LGDT, LIDT
            guard cpl == 0 else { throw .gp() }
            let limit = try read(seg, ea, 2)
            var base = try read(seg, (ea &+ 2) & addressMask(d), baseSize)
            if codeBits != 64 && opBytes(d) == 2 { base &= 0xFF_FFFF }
            // A 64-bit descriptor-table base must be canonical (AMD APM Vol. 3 "LGDT", "LIDT":
            // #GP(0) for a non-canonical base), else every later access through it would be.
            if codeBits == 64 && !isCanonical(base) { throw .gp() }
            let table = DescriptorTableRegister(base: base, limit: UInt16(limit))
            if d.reg & 7 == 2 { gdtr = table } else { idtr = table }
        case 4: try writeRM(d, 2, cr0 & 0xFFFF)  // SMSW m16
        case 6: try lmsw(try readRM(d, 2))
        case 7: // INVLPG
            // No limit or canonical check: an address that cannot be mapped has no TLB entry
            // to drop, so INVLPG of it is a no-op (SDM Vol. 2A "INVLPG": only #GP(0) at CPL > 0
            // and #UD for a register operand; "INVLPG of a non-canonical address is a NOP").
            guard cpl == 0 else { throw .gp() }
            let base = codeBits == 64 ? (seg >= Seg.fs ? segs[seg].base : 0) : segs[seg].base
            let linear = codeBits == 64 ? base &+ ea : (base &+ ea) & 0xFFFF_FFFF
            if codeBits != 64 || isCanonical(linear) { tlb.flush(linearPage: linear >> 12) }
        default:
            throw unimplementedInstruction(d)
        }
    }

    /// In IA-32e mode LDT and TSS descriptors are 16 bytes with a 64-bit base, which must be
    /// canonical: #GP(selector) otherwise (SDM Vol. 3A §8.2.3; AMD APM Vol. 2 §4.8.3).
    func checkWideSystemDescriptor(_ desc: Descriptor, _ selector: UInt16) throws(CPUException) {
        guard inLongMode else { return }
        if !isCanonical(desc.base) { throw .gp(UInt32(selector & 0xFFFC)) }
    }

    /// Bits 63:47 all equal (SDM Vol. 1 §3.3.7.1).
    @inline(__always) func isCanonical(_ a: UInt64) -> Bool {
        let top = a >> 47
        return top == 0 || top == 0x1FFFF
    }

    /// LMSW: loads PE, MP, EM, TS; cannot clear PE (SDM Vol. 2A, "LMSW").
    func lmsw(_ v: UInt64) throws(CPUException) {
        guard cpl == 0 else { throw .gp() }
        let newLow = (cr0 & CR0.pe) | (v & 0xF)
        try setCR0((cr0 & ~0xF) | newLow)
    }

    /// LAR / LSL (SDM Vol. 2A).
    func loadAccessRightsOrLimit(_ d: InstructionRef, limit: Bool) throws(CPUException) {
        guard protectedMode && !v86Mode else { throw .invalidOpcode }
        let osz = opBytes(d)
        let selector = UInt16(truncatingIfNeeded: try readRM(d, 2))
        guard selector & 0xFFFC != 0, let desc = try? readDescriptor(selector) else {
            setFlags(0, mask: RFLAGS.zf); return
        }
        var valid: Bool
        if desc.s {
            valid = desc.isConforming || (desc.dpl >= cpl && desc.dpl >= UInt8(selector & 3))
        } else {
            let allowed: Set<UInt8> = limit ? [1, 2, 3, 9, 0xB] : [1, 2, 3, 4, 5, 9, 0xB, 0xC]
            valid = allowed.contains(desc.type) && desc.dpl >= cpl && desc.dpl >= UInt8(selector & 3)
            if inLongMode && ![2, 9, 0xB, 0xC].contains(desc.type) { valid = false }
        }
        guard valid else { setFlags(0, mask: RFLAGS.zf); return }
        if limit {
            setReg(d.reg, osz, UInt64(desc.limit))
        } else {
            setReg(d.reg, osz, (desc.low >> 32) & 0x00F0_FF00)
        }
        setFlags(RFLAGS.zf, mask: RFLAGS.zf)
    }

    // MARK: control and debug registers (SDM Vol. 3A §2.5, Vol. 2B "MOV—Move to/from Control Registers")

    func moveControlOrDebug(_ d: InstructionRef) throws(CPUException) {
        guard cpl == 0 else { throw .gp() }
        let n = Int(d.reg)
        let size = codeBits == 64 ? 8 : 4
        // General detect: any MOV to or from a debug register (0F 21, 0F 23) faults with #DB
        // before it runs, even in a MOV SS shadow; DR6.BD says why (SDM Vol. 3B §17.2.4,
        // §17.3.1.3; delivering the #DB clears GD). A fault: the frame carries RF = 1
        // (§17.3.1.1). #UD for DR4/DR5 under CR4.DE comes first.
        if d.opcode & 1 != 0 && dr7 & DR7.generalDetect != 0 && !(cr4 & CR4.de != 0 && (n == 4 || n == 5)) {
            dr6 |= DR6.bd
            flagsBase |= RFLAGS.rf
            throw CPUException(CPUException.Vector.debug)
        }
        switch d.opcode {
        case 0x20:
            let v: UInt64
            switch n {
            case 0: v = cr0
            case 2: v = cr2
            case 3: v = cr3
            case 4: v = cr4
            case 8: v = cr8
            default: throw .invalidOpcode
            }
            setReg(d.rm, size, v)
        case 0x22:
            let v = reg(d.rm, size)
            switch n {
            case 0: try setCR0(v)
            case 2: cr2 = v
            case 3:
                try checkPAEPointers(cr3: v)
                cr3 = v
                tlb.flushAll()
            case 4: try setCR4(v)
            case 8: cr8 = v & 0xF
            default: throw .invalidOpcode
            }
            sliceEnd = true
        case 0x21:
            let v: UInt64
            switch n {
            case 0: v = dr.0
            case 1: v = dr.1
            case 2: v = dr.2
            case 3: v = dr.3
            case 4, 6: v = dr6
            case 5, 7: v = dr7
            default: throw .invalidOpcode
            }
            // With CR4.DE, DR4/DR5 are no longer aliases of DR6/DR7 (SDM Vol. 3B §17.2.2).
            if cr4 & CR4.de != 0 && (n == 4 || n == 5) { throw .invalidOpcode }
            setReg(d.rm, size, v)
        default:
            let v = reg(d.rm, size)
            if cr4 & CR4.de != 0 && (n == 4 || n == 5) { throw .invalidOpcode }
            switch n {
            case 0: dr.0 = v
            case 1: dr.1 = v
            case 2: dr.2 = v
            case 3: dr.3 = v
            case 4, 6: dr6 = (v & 0xE00F) | 0xFFFF_0FF0
            case 5, 7: dr7 = (v & 0xFFFF_2BFF) | 0x400
            default: throw .invalidOpcode
            }
        }
    }

    /// PAE paging outside long mode loads the four PDPTEs with CR3; a present one with a
    /// reserved bit set (1-2, 5-8, or an address bit at or above MAXPHYADDR 40) makes the
    /// MOV CR3 raise #GP(0) (SDM Vol. 3A §4.4.1, Table 4-8). The walker still reads them at
    /// each walk.
    func checkPAEPointers(cr3 value: UInt64) throws(CPUException) {
        guard pagingEnabled, cr4 & CR4.pae != 0, !inLongMode else { return }
        let reserved: UInt64 = 0x1E6 | 0xFFFF_FF00_0000_0000
        for i in 0..<4 {
            let e = physicalRead64((value & 0xFFFF_FFE0) + UInt64(i * 8))
            if e & 1 != 0 && e & reserved != 0 { throw .gp() }
        }
    }

    func setCR0(_ v: UInt64) throws(CPUException) {
        var value = (v & 0xFFFF_FFFF) | CR0.et
        if value & CR0.pg != 0 && value & CR0.pe == 0 { throw .gp() }
        if value & CR0.nw != 0 && value & CR0.cd == 0 { throw .gp() }
        // Enabling paging with EFER.LME activates IA-32e mode (SDM Vol. 3A §9.8.5).
        let enablingPaging = cr0 & CR0.pg == 0 && value & CR0.pg != 0
        if enablingPaging && msr.efer & EFER.lme != 0 {
            guard cr4 & CR4.pae != 0 else { throw .gp() }
            msr.efer |= EFER.lma
        }
        if cr0 & CR0.pg != 0 && value & CR0.pg == 0 {
            if codeBits == 64 { throw .gp() }
            msr.efer &= ~EFER.lma
        }
        value |= 0
        cr0 = value
        tlb.flushAll()
        updateMode()
        sliceEnd = true
    }

    func setCR4(_ v: UInt64) throws(CPUException) {
        // VME/PVI are not in the CPU model (virtual-8086 mode runs without the extensions).
        var supported: UInt64 = CR4.tsd | CR4.de | CR4.pse | CR4.pae | CR4.mce | CR4.pge
            | CR4.pce | CR4.osfxsr | CR4.osxmmexcpt
        if model.leaf1ECX & CPUIDBits.xsave != 0 { supported |= CR4.osxsave }
        guard v & ~supported == 0 else { throw .gp() }
        if inLongMode && v & CR4.pae == 0 { throw .gp() }
        cr4 = v
        tlb.flushAll()
        // CR4.DE turns R/W = 10 breakpoints into I/O breakpoints.
        debugRegistersChanged()
    }

    // MARK: MSRs and time stamp counter

    func rdmsr() throws(CPUException) {
        guard cpl == 0 else { throw .gp() }
        let v: UInt64
        switch UInt32(truncatingIfNeeded: regs[1]) {
        case MSR.tsc: v = currentTSC()
        case MSR.apicBase: v = msr.apicBase
        case MSR.sysenterCS: v = msr.sysenterCS
        case MSR.sysenterESP: v = msr.sysenterESP
        case MSR.sysenterEIP: v = msr.sysenterEIP
        case MSR.miscEnable: v = msr.miscEnable
        case MSR.pat: v = msr.pat
        case MSR.efer: v = msr.efer
        case MSR.star: v = msr.star
        case MSR.lstar: v = msr.lstar
        case MSR.cstar: v = msr.cstar
        case MSR.sfmask: v = msr.sfmask
        case MSR.fsBase: v = segs[Seg.fs].base
        case MSR.gsBase: v = segs[Seg.gs].base
        case MSR.kernelGSBase: v = msr.kernelGSBase
        case MSR.tscAux: v = msr.tscAux
        case MSR.biosSignID, MSR.mcgCap, MSR.mcgStatus, MSR.platformID, MSR.debugCtl: v = 0
        case MSR.platformInfo:
            // The TSC runs at the maximum non-turbo ratio times the 100 MHz bus clock.
            let ratio = UInt64(min(max(model.tscKHz / 100_000, 1), 0xFF))
            v = ratio << 8 | ratio << 40
        case MTRR.capabilityMSR: v = MTRR.capability
        case MTRR.defTypeMSR: v = msr.mtrrDefType
        case MTRR.variableFirstMSR..<MTRR.variableFirstMSR + UInt32(2 * MTRR.variableCount):
            v = msr.mtrrVariable[Int(UInt32(truncatingIfNeeded: regs[1]) - MTRR.variableFirstMSR)]
        case let index where MTRR.fixedMSRs.contains(index):
            v = msr.mtrrFixed[MTRR.fixedMSRs.firstIndex(of: index)!]
        case let index:
            // The local APIC's registers (x2APIC, TSC deadline), when the machine has one.
            guard let msrs = platform.msrs, let value = msrs.readMSR(index) else {
                if platform.msrs?.ownsMSR(index) == true { throw .gp() }
                throw unknownMSR(index)
            }
            v = value
        }
        setReg(0, 4, v & 0xFFFF_FFFF)
        setReg(2, 4, v >> 32)
    }

    func wrmsr() throws(CPUException) {
        guard cpl == 0 else { throw .gp() }
        let v = (reg(2, 4) << 32) | reg(0, 4)
        func canonical(_ a: UInt64) throws(CPUException) -> UInt64 {
            let top = a >> 47
            guard top == 0 || top == 0x1FFFF else { throw .gp() }
            return a
        }
        switch UInt32(truncatingIfNeeded: regs[1]) {
        case MSR.tsc: tscOffset = v &- hostTSC()
        case MSR.apicBase:
            if let msrs = platform.msrs, !msrs.writeMSR(MSR.apicBase, v) { throw .gp() }
            msr.apicBase = v
        case MSR.sysenterCS: msr.sysenterCS = v & 0xFFFF
        case MSR.sysenterESP: msr.sysenterESP = try canonical(v)
        case MSR.sysenterEIP: msr.sysenterEIP = try canonical(v)
        case MSR.miscEnable: msr.miscEnable = v
        case MSR.pat: msr.pat = v
        case MSR.efer:
            // SCE, LME, NXE are writable; LMA is read-only (SDM Vol. 3A §2.2.1).
            guard v & ~(EFER.sce | EFER.lme | EFER.lma | EFER.nxe) == 0 else { throw .gp() }
            if pagingEnabled && (v & EFER.lme) != (msr.efer & EFER.lme) { throw .gp() }
            msr.efer = (v & ~EFER.lma) | (msr.efer & EFER.lma)
            tlb.flushAll()
        case MSR.star: msr.star = v
        case MSR.lstar: msr.lstar = try canonical(v)
        case MSR.cstar: msr.cstar = try canonical(v)
        case MSR.sfmask: msr.sfmask = v & 0xFFFF_FFFF
        case MSR.fsBase: segs[Seg.fs].base = try canonical(v)
        case MSR.gsBase: segs[Seg.gs].base = try canonical(v)
        case MSR.kernelGSBase: msr.kernelGSBase = try canonical(v)
        case MSR.tscAux: msr.tscAux = v & 0xFFFF_FFFF
        case MSR.biosSignID: break  // writing 0 before CPUID asks for the revision: nothing to latch
        case MSR.mcgStatus: guard v == 0 else { throw .gp() }
        // No last-branch recording or branch single-step: only "all off" can be written.
        case MSR.debugCtl: guard v == 0 else { throw .gp() }
        // IA32_PLATFORM_ID and MSR_PLATFORM_INFO are read-only (#GP on write, as on hardware).
        case MTRR.defTypeMSR:
            guard v & ~0xCFF == 0 else { throw .gp() }
            msr.mtrrDefType = v
        case MTRR.variableFirstMSR..<MTRR.variableFirstMSR + UInt32(2 * MTRR.variableCount):
            msr.mtrrVariable[Int(UInt32(truncatingIfNeeded: regs[1]) - MTRR.variableFirstMSR)] = v
        case let index where MTRR.fixedMSRs.contains(index):
            msr.mtrrFixed[MTRR.fixedMSRs.firstIndex(of: index)!] = v
        case let index:
            guard let msrs = platform.msrs, msrs.writeMSR(index, v) else {
                // The platform's own registers refuse bad values with #GP too; count only the
                // MSRs nobody here has.
                if index == MSR.platformID || index == MSR.platformInfo || platform.msrs?.ownsMSR(index) == true { throw .gp() }
                throw unknownMSR(index)
            }
        }
    }

    /// #GP for an MSR this CPU does not have, counted by index (for `--stats`): a guest that
    /// depends on one shows up there instead of failing silently.
    func unknownMSR(_ index: UInt32) -> CPUException {
        unknownMSRs[index, default: 0] += 1
        unknownMSRCount += 1
        return .gp()
    }

    func rdtsc() throws(CPUException) {
        if cr4 & CR4.tsd != 0 && cpl != 0 { throw .gp() }
        let t = currentTSC()
        setReg(0, 4, t & 0xFFFF_FFFF)
        setReg(2, 4, t >> 32)
    }

    /// The TSC runs at the model's advertised rate from the host's monotonic clock.
    func hostTSC() -> UInt64 {
        X86CPU.tscCycles(nanoseconds: MachineClock.monotonicNanoseconds(), kHz: model.tscKHz)
    }

    /// Cycles of a `kHz` clock in `nanoseconds`. The product needs 128 bits: at 2 GHz its low
    /// half wraps after 2.5 hours of host uptime, which would step the TSC backwards.
    static func tscCycles(nanoseconds: UInt64, kHz: UInt32) -> UInt64 {
        let product = nanoseconds.multipliedFullWidth(by: UInt64(kHz))
        // The quotient fits while nanoseconds * kHz < 2^64 * 10^6 (centuries at any real rate).
        guard product.high < 1_000_000 else { return UInt64.max }
        return UInt64(1_000_000).dividingFullWidth((product.high, product.low)).quotient
    }

    func currentTSC() -> UInt64 { hostTSC() &+ tscOffset }

    /// The guest's TSC now (for the platform's TSC-deadline timer).
    public var timeStampCounter: UInt64 { currentTSC() }

    // MARK: CPUID

    func cpuid() {
        let leaf = UInt32(truncatingIfNeeded: regs[0]), subleaf = UInt32(truncatingIfNeeded: regs[1])
        var r = model.cpuid(leaf: leaf, subleaf: subleaf)
        if leaf == 1 {
            // OSXSAVE mirrors CR4.OSXSAVE (SDM Vol. 2A CPUID, leaf 1 ECX bit 27).
            r.ecx = (r.ecx & ~CPUIDBits.osxsave) | (cr4 & CR4.osxsave != 0 ? CPUIDBits.osxsave : 0)
            // A globally disabled APIC (IA32_APIC_BASE.EN clear) is as if absent, CPUID
            // included (SDM Vol. 3A §11.4.3).
            if msr.apicBase & X86CPU.apicGlobalEnable == 0 { r.edx &= ~CPUIDBits.apic }
        }
        setReg(0, 4, UInt64(r.eax)); setReg(3, 4, UInt64(r.ebx))
        setReg(1, 4, UInt64(r.ecx)); setReg(2, 4, UInt64(r.edx))
    }

    /// IA32_APIC_BASE bit 11.
    static let apicGlobalEnable: UInt64 = 1 << 11

    // MARK: SYSCALL / SYSRET (SDM Vol. 2B), SYSENTER / SYSEXIT

    func syscall() throws(CPUException) {
        guard inLongMode, msr.efer & EFER.sce != 0 else { throw .invalidOpcode }
        let star = msr.star
        let csSelector = UInt16((star >> 32) & 0xFFFC)
        regs[1] = rip
        regs[11] = rflags & ~RFLAGS.rf
        if codeBits == 64 { rip = msr.lstar } else { rip = msr.cstar }
        rflags = rflags & ~msr.sfmask & ~RFLAGS.rf
        segs[Seg.cs] = SegmentRegister(selector: csSelector, base: 0, limit: 0xFFFF_FFFF, type: 0xB, dpl: 0, l: true, db: false, g: true)
        segs[Seg.ss] = SegmentRegister(selector: csSelector &+ 8, base: 0, limit: 0xFFFF_FFFF, type: 0x3, dpl: 0, db: true, g: true)
        updateMode()
        sliceEnd = true
    }

    func sysret(_ d: InstructionRef) throws(CPUException) {
        guard inLongMode, msr.efer & EFER.sce != 0 else { throw .invalidOpcode }
        guard cpl == 0 else { throw .gp() }
        let base = UInt16((msr.star >> 48) & 0xFFFF)
        let to64 = opBytes(d) == 8
        if to64 {
            let top = regs[1] >> 47
            guard top == 0 || top == 0x1FFFF else { throw .gp() }
            rip = regs[1]
            segs[Seg.cs] = SegmentRegister(selector: (base &+ 16) | 3, base: 0, limit: 0xFFFF_FFFF, type: 0xB, dpl: 3, l: true, db: false, g: true)
        } else {
            rip = regs[1] & 0xFFFF_FFFF
            segs[Seg.cs] = SegmentRegister(selector: base | 3, base: 0, limit: 0xFFFF_FFFF, type: 0xB, dpl: 3, db: true, g: true)
        }
        rflags = (regs[11] & 0x3C_7FD7) | 2
        segs[Seg.ss] = SegmentRegister(selector: (base &+ 8) | 3, base: 0, limit: 0xFFFF_FFFF, type: 0x3, dpl: 3, db: true, g: true)
        updateMode()
        sliceEnd = true
    }

    func sysenter() throws(CPUException) {
        guard protectedMode, msr.sysenterCS & 0xFFFC != 0 else { throw .gp() }
        let cs = UInt16(msr.sysenterCS & 0xFFFC)
        flagsBase &= ~(RFLAGS.vm | RFLAGS.if | RFLAGS.rf)
        let long = inLongMode
        segs[Seg.cs] = SegmentRegister(selector: cs, base: 0, limit: 0xFFFF_FFFF, type: 0xB, dpl: 0, l: long, db: !long, g: true)
        segs[Seg.ss] = SegmentRegister(selector: cs &+ 8, base: 0, limit: 0xFFFF_FFFF, type: 0x3, dpl: 0, db: true, g: true)
        updateMode()
        regs[4] = long ? msr.sysenterESP : msr.sysenterESP & 0xFFFF_FFFF
        rip = long ? msr.sysenterEIP : msr.sysenterEIP & 0xFFFF_FFFF
        sliceEnd = true
    }

    func sysexit(_ d: InstructionRef) throws(CPUException) {
        guard protectedMode, cpl == 0, msr.sysenterCS & 0xFFFC != 0 else { throw .gp() }
        let base = UInt16(msr.sysenterCS & 0xFFFC)
        if opBytes(d) == 8 {
            segs[Seg.cs] = SegmentRegister(selector: (base &+ 32) | 3, base: 0, limit: 0xFFFF_FFFF, type: 0xB, dpl: 3, l: true, db: false, g: true)
            segs[Seg.ss] = SegmentRegister(selector: (base &+ 40) | 3, base: 0, limit: 0xFFFF_FFFF, type: 0x3, dpl: 3, db: true, g: true)
            regs[4] = regs[1]
            rip = regs[2]
        } else {
            segs[Seg.cs] = SegmentRegister(selector: (base &+ 16) | 3, base: 0, limit: 0xFFFF_FFFF, type: 0xB, dpl: 3, db: true, g: true)
            segs[Seg.ss] = SegmentRegister(selector: (base &+ 24) | 3, base: 0, limit: 0xFFFF_FFFF, type: 0x3, dpl: 3, db: true, g: true)
            regs[4] = regs[1] & 0xFFFF_FFFF
            rip = regs[2] & 0xFFFF_FFFF
        }
        updateMode()
        sliceEnd = true
    }
}
