import MachineCore
import X86Decoder

/// x87 environment and state images: FSTENV/FLDENV, FSAVE/FRSTOR in their four layouts
/// (SDM Vol. 1 §8.1.10, Figures 8-9 to 8-12), FXSAVE/FXRSTOR (SDM Vol. 2A FXSAVE, Tables
/// 3-53 and 3-56), LDMXCSR/STMXCSR.
extension X86CPU {
    /// Offsets of the FXSAVE image (SDM Vol. 2A FXSAVE, Table 3-53).
    enum FXSaveLayout {
        static let fcw = 0, fsw = 2, ftw = 4, fop = 6, fip = 8, fcs = 12, fdp = 16, fds = 20
        static let mxcsr = 24, mxcsrMask = 28, st0 = 32, xmm0 = 160
        static let size = 512
    }

    /// MXCSR bits this processor implements (DAZ included); MXCSR_MASK in the FXSAVE image.
    static let mxcsrMask: UInt32 = 0x0000_FFFF

    /// The real-address (and virtual-8086) layouts hold 20-bit linear pointers instead of
    /// selector:offset pairs.
    var x87RealLayout: Bool { !protectedMode || v86Mode }

    // MARK: FSTENV / FLDENV

    /// Writes the 14- or 28-byte environment at `m` (operand size 16 or 32).
    func writeEnvironment(_ m: X87Operand, wide: Bool) throws(CPUException) {
        let ip = x87.fip, dp = x87.fdp
        let size = wide ? 4 : 2
        // Figure 8-9 (32-bit protected), 8-10 (32-bit real), 8-11 (16-bit protected), 8-12 (16-bit real).
        var words: [UInt64] = [UInt64(x87.fcw), UInt64(x87.fsw), UInt64(x87.ftw)]
        if x87RealLayout {
            let linearIP = (UInt64(x87.fcs) << 4) &+ ip
            let linearDP = (UInt64(x87.fds) << 4) &+ dp
            if wide {
                words += [linearIP & 0xFFFF, ((linearIP >> 16) & 0xFFFF) << 12 | UInt64(x87.fop & 0x7FF),
                          linearDP & 0xFFFF, ((linearDP >> 16) & 0xFFFF) << 12]
            } else {
                words += [linearIP & 0xFFFF, ((linearIP >> 16) & 0xF) << 12 | UInt64(x87.fop & 0x7FF),
                          linearDP & 0xFFFF, ((linearDP >> 16) & 0xF) << 12]
            }
        } else if wide {
            words += [ip & 0xFFFF_FFFF, UInt64(x87.fop & 0x7FF) << 16 | UInt64(x87.fcs), dp & 0xFFFF_FFFF, UInt64(x87.fds)]
        } else {
            words += [ip & 0xFFFF, UInt64(x87.fcs), dp & 0xFFFF, UInt64(x87.fds)]
        }
        // Write the last field first so that a fault leaves memory unchanged.
        for k in stride(from: words.count - 1, through: 0, by: -1) {
            try write(m.seg, m.at(k * size), size, words[k])
        }
    }

    /// Reads an environment image into the FPU (tags of non-empty registers re-derived).
    func readEnvironment(_ m: X87Operand, wide: Bool) throws(CPUException) {
        let size = wide ? 4 : 2
        var w = [UInt64](repeating: 0, count: 7)
        for k in 0..<7 { w[k] = try read(m.seg, m.at(k * size), size) }
        x87.fcw = (UInt16(truncatingIfNeeded: w[0]) & FCW.writable) | FCW.reservedOne
        x87.fsw = UInt16(truncatingIfNeeded: w[1])
        x87.ftw = UInt16(truncatingIfNeeded: w[2])
        if x87RealLayout {
            let ipHigh = wide ? (w[4] >> 12) & 0xFFFF : (w[4] >> 12) & 0xF
            let dpHigh = wide ? (w[6] >> 12) & 0xFFFF : (w[6] >> 12) & 0xF
            x87.fip = (ipHigh << 16) | (w[3] & 0xFFFF)
            x87.fop = UInt16(truncatingIfNeeded: w[4]) & 0x7FF
            x87.fdp = (dpHigh << 16) | (w[5] & 0xFFFF)
            x87.fcs = 0
            x87.fds = 0
        } else if wide {
            x87.fip = w[3] & 0xFFFF_FFFF
            x87.fcs = UInt16(truncatingIfNeeded: w[4])
            x87.fop = UInt16(truncatingIfNeeded: w[4] >> 16) & 0x7FF
            x87.fdp = w[5] & 0xFFFF_FFFF
            x87.fds = UInt16(truncatingIfNeeded: w[6])
        } else {
            x87.fip = w[3]; x87.fcs = UInt16(truncatingIfNeeded: w[4])
            x87.fdp = w[5]; x87.fds = UInt16(truncatingIfNeeded: w[6])
        }
        x87RecomputeTags()
        x87UpdateSummary()
    }

    /// Whether the environment image uses the 32-bit layout (operand size 32 or 64).
    @inline(__always) func x87WideEnvironment(_ d: InstructionRef) -> Bool { d.operandSize != 16 }

    /// FNSTENV: store, then mask all exceptions (SDM Vol. 2A FSTENV).
    func storeEnvironment(_ d: InstructionRef) throws(CPUException) {
        try writeEnvironment(X87Operand(self, d), wide: x87WideEnvironment(d))
        x87.fcw |= FCW.masks
    }

    func loadEnvironment(_ d: InstructionRef) throws(CPUException) {
        try readEnvironment(X87Operand(self, d), wide: x87WideEnvironment(d))
    }

    // MARK: FSAVE / FRSTOR

    /// FNSAVE: the environment, ST(0)..ST(7) as 10-byte values, then FNINIT.
    func saveState(_ d: InstructionRef) throws(CPUException) {
        let m = X87Operand(self, d)
        let wide = x87WideEnvironment(d)
        let base = wide ? 28 : 14
        for i in stride(from: 7, through: 0, by: -1) {
            let v = st(i)
            try write(m.seg, m.at(base + i * 10 + 8), 2, UInt64(v.signExponent))
            try write(m.seg, m.at(base + i * 10), 8, v.significand)
        }
        try writeEnvironment(m, wide: wide)
        x87Initialize()
    }

    /// FRSTOR: the environment, then the registers in stack order of the loaded TOP.
    func restoreState(_ d: InstructionRef) throws(CPUException) {
        let m = X87Operand(self, d)
        let wide = x87WideEnvironment(d)
        let base = wide ? 28 : 14
        var values = [X87Register](repeating: X87Register(), count: 8)
        for i in 0..<8 {
            values[i] = X87Register(significand: try read(m.seg, m.at(base + i * 10), 8),
                                    signExponent: UInt16(truncatingIfNeeded: try read(m.seg, m.at(base + i * 10 + 8), 2)))
        }
        try readEnvironment(m, wide: wide)
        for i in 0..<8 { x87Regs[stPhysical(i)] = values[i] }
        x87RecomputeTags()
    }

    // MARK: FXSAVE / FXRSTOR / LDMXCSR / STMXCSR (0F AE /0 /1 /2 /3)

    /// #NM for CR0.EM or CR0.TS (SDM Vol. 2A FXSAVE "Protected Mode Exceptions").
    func checkFXSaveAvailable() throws(CPUException) {
        if cr0 & (CR0.em | CR0.ts) != 0 { throw CPUException(CPUException.Vector.deviceNotAvailable) }
    }

    /// LDMXCSR/STMXCSR: #UD without CR4.OSFXSR or with CR0.EM; #NM with CR0.TS.
    func checkSSEAvailable() throws(CPUException) {
        if cr0 & CR0.em != 0 || cr4 & CR4.osfxsr == 0 { throw .invalidOpcode }
        if cr0 & CR0.ts != 0 { throw CPUException(CPUException.Vector.deviceNotAvailable) }
    }

    /// The 512-byte image must be 16-byte aligned: #GP(0) otherwise.
    func fxsaveOperand(_ d: InstructionRef) throws(CPUException) -> X87Operand {
        let m = X87Operand(self, d)
        let linear = try linearAddress(m.seg, m.offset, 16)
        if linear & 15 != 0 { throw .gp() }
        return m
    }

    func fxsave(_ d: InstructionRef) throws(CPUException) {
        try checkFXSaveAvailable()
        let m = try fxsaveOperand(d)
        // Probe the far end first so that a fault leaves memory unchanged.
        try write(m.seg, m.at(FXSaveLayout.size - 8), 8, try read(m.seg, m.at(FXSaveLayout.size - 8), 8))
        try storeLegacyRegion(m, wide: codeBits == 64 && d.rex & 0x08 != 0, x87: true, sse: true)
    }

    func fxrstor(_ d: InstructionRef) throws(CPUException) {
        try checkFXSaveAvailable()
        let m = try fxsaveOperand(d)
        let image = try readLegacyRegion(m, wide: codeBits == 64 && d.rex & 0x08 != 0, x87: true, sse: true)
        image.apply(to: self)
    }

    /// Stores the x87 and/or SSE parts of the 512-byte FXSAVE layout at `m` (also the legacy
    /// region of the XSAVE area, SDM Vol. 1 §13.4.1). `wide`: 64-bit FIP/FDP (REX.W forms).
    func storeLegacyRegion(_ m: X87Operand, wide: Bool, x87 saveX87: Bool, sse: Bool) throws(CPUException) {
        let L = FXSaveLayout.self
        if saveX87 {
            var abridged: UInt64 = 0
            for p in 0..<8 where (x87.ftw >> UInt16(p * 2)) & 3 != X87Tag.empty { abridged |= 1 << UInt64(p) }
            try write(m.seg, m.at(L.fcw), 2, UInt64(x87.fcw))
            try write(m.seg, m.at(L.fsw), 2, UInt64(x87.fsw))
            try write(m.seg, m.at(L.ftw), 2, abridged)
            try write(m.seg, m.at(L.fop), 2, UInt64(x87.fop & 0x7FF))
            if wide {
                try write(m.seg, m.at(L.fip), 8, x87.fip)
                try write(m.seg, m.at(L.fdp), 8, x87.fdp)
            } else {
                try write(m.seg, m.at(L.fip), 4, x87.fip & 0xFFFF_FFFF)
                try write(m.seg, m.at(L.fcs), 4, UInt64(x87.fcs))
                try write(m.seg, m.at(L.fdp), 4, x87.fdp & 0xFFFF_FFFF)
                try write(m.seg, m.at(L.fds), 4, UInt64(x87.fds))
            }
            for i in 0..<8 {
                let v = st(i)
                try write(m.seg, m.at(L.st0 + i * 16), 8, v.significand)
                try write(m.seg, m.at(L.st0 + i * 16 + 8), 8, UInt64(v.signExponent))
            }
        }
        if sse {
            try write(m.seg, m.at(L.mxcsr), 4, UInt64(mxcsr))
            try write(m.seg, m.at(L.mxcsrMask), 4, UInt64(X86CPU.mxcsrMask))
            let xmmCount = codeBits == 64 ? 16 : 8
            for i in 0..<xmmCount {
                let x = xmmValue(i)
                try write(m.seg, m.at(L.xmm0 + i * 16), 8, UInt64(truncatingIfNeeded: x))
                try write(m.seg, m.at(L.xmm0 + i * 16 + 8), 8, UInt64(truncatingIfNeeded: x >> 64))
            }
        }
    }

    /// The x87 and SSE state read from a legacy region, checked before anything is changed.
    struct LegacyImage {
        var x87: (fcw: UInt16, fsw: UInt16, abridged: UInt64, fop: UInt16, fip: UInt64, fdp: UInt64,
                  fcs: UInt16, fds: UInt16, values: [X87Register])?
        var mxcsr: UInt32?
        var xmm: [UInt128]?

        func apply(to cpu: X86CPU) {
            if let x = x87 {
                cpu.x87.fcw = (x.fcw & FCW.writable) | FCW.reservedOne
                cpu.x87.fsw = x.fsw
                cpu.x87.fop = x.fop; cpu.x87.fip = x.fip; cpu.x87.fdp = x.fdp; cpu.x87.fcs = x.fcs; cpu.x87.fds = x.fds
                var ftw: UInt16 = 0
                for p in 0..<8 where x.abridged & (1 << UInt64(p)) == 0 { ftw |= X87Tag.empty << UInt16(p * 2) }
                cpu.x87.ftw = ftw
                for i in 0..<8 { cpu.x87Regs[cpu.stPhysical(i)] = x.values[i] }
                cpu.x87RecomputeTags()
                cpu.x87UpdateSummary()
            }
            if let mxcsr { cpu.mxcsr = mxcsr }
            if let xmm { for i in xmm.indices { cpu.setXMMValue(i, xmm[i]) } }
        }
    }

    /// Reads the parts of a legacy region; MXCSR with reserved bits set is #GP(0).
    func readLegacyRegion(_ m: X87Operand, wide: Bool, x87 loadX87: Bool, sse: Bool) throws(CPUException) -> LegacyImage {
        let L = FXSaveLayout.self
        var image = LegacyImage()
        if sse {
            let mxcsr = UInt32(truncatingIfNeeded: try read(m.seg, m.at(L.mxcsr), 4))
            if mxcsr & ~X86CPU.mxcsrMask != 0 { throw .gp() }
            image.mxcsr = mxcsr
            let xmmCount = codeBits == 64 ? 16 : 8
            var xmm = [UInt128](repeating: 0, count: xmmCount)
            for i in 0..<xmmCount {
                let lo = try read(m.seg, m.at(L.xmm0 + i * 16), 8)
                let hi = try read(m.seg, m.at(L.xmm0 + i * 16 + 8), 8)
                xmm[i] = UInt128(hi) << 64 | UInt128(lo)
            }
            image.xmm = xmm
        }
        if loadX87 {
            let fcw = UInt16(truncatingIfNeeded: try read(m.seg, m.at(L.fcw), 2))
            let fsw = UInt16(truncatingIfNeeded: try read(m.seg, m.at(L.fsw), 2))
            let abridged = try read(m.seg, m.at(L.ftw), 1)
            let fop = UInt16(truncatingIfNeeded: try read(m.seg, m.at(L.fop), 2)) & 0x7FF
            var fip: UInt64, fdp: UInt64, fcs: UInt16 = 0, fds: UInt16 = 0
            if wide {
                fip = try read(m.seg, m.at(L.fip), 8)
                fdp = try read(m.seg, m.at(L.fdp), 8)
            } else {
                fip = try read(m.seg, m.at(L.fip), 4)
                fcs = UInt16(truncatingIfNeeded: try read(m.seg, m.at(L.fcs), 2))
                fdp = try read(m.seg, m.at(L.fdp), 4)
                fds = UInt16(truncatingIfNeeded: try read(m.seg, m.at(L.fds), 2))
            }
            var values = [X87Register](repeating: X87Register(), count: 8)
            for i in 0..<8 {
                values[i] = X87Register(significand: try read(m.seg, m.at(L.st0 + i * 16), 8),
                                        signExponent: UInt16(truncatingIfNeeded: try read(m.seg, m.at(L.st0 + i * 16 + 8), 2)))
            }
            image.x87 = (fcw, fsw, abridged, fop, fip, fdp, fcs, fds, values)
        }
        return image
    }

    func loadMXCSR(_ d: InstructionRef) throws(CPUException) {
        try checkSSEAvailable()
        let v = UInt32(truncatingIfNeeded: try readMemoryOperand(d, 4))
        if v & ~X86CPU.mxcsrMask != 0 { throw .gp() }
        mxcsr = v
    }

    func storeMXCSR(_ d: InstructionRef) throws(CPUException) {
        try checkSSEAvailable()
        try writeMemoryOperand(d, 4, UInt64(mxcsr))
    }
}
