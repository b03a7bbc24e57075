import MachineCore

/// FPUState ⇄ the FXSAVE legacy area and the XSAVE standard format (SDM Vol. 1 §10.5.1 and
/// §13.4), the layouts KVM_GET/SET_XSAVE exchange (struct kvm_xsave) and that CKVM converts
/// struct kvm_fpu to. The kernel saves guest state with the 64-bit forms, so FIP and FDP are
/// 64-bit fields and FCS/FDS are not carried: they read back as 0.
///
/// `FPUState.st[i]` is the register FXSAVE stores in slot i, that is ST(i); the full tag
/// word is indexed by physical register, and R(i) holds ST((i - TOP) mod 8).
enum XSaveLayout {
    /// Size of the legacy area (x87 and SSE).
    static let legacySize = 512
    /// Offset of the XSAVE header; XSTATE_BV is its first quadword.
    static let headerOffset = 512
    /// Size of the legacy area plus header: where extended components start.
    static let extendedStart = 576
    /// Standard-format offset of the AVX component (YMM_Hi128) on every processor so far.
    static let defaultAVXOffset = 576

    // Offsets in the legacy area, 64-bit format (SDM Vol. 1, Table 10-2).
    static let fcw = 0, fsw = 2, ftw = 4, fop = 6, fip = 8, fdp = 16, mxcsr = 24, mxcsrMask = 28
    static let st0 = 32, xmm0 = 160

    /// x87 tag values in the full tag word (SDM Vol. 1 §8.1.7).
    enum Tag {
        static let valid: UInt16 = 0, zero: UInt16 = 1, special: UInt16 = 2, empty: UInt16 = 3
    }

    /// The full tag word from FXSAVE's abridged one (one bit per physical register: 1 = not
    /// empty), classifying each non-empty register from its contents as FSTENV would.
    static func fullTagWord(abridged: UInt8, fsw: UInt16, st: [X87Register]) -> UInt16 {
        let top = Int((fsw >> 11) & 7)
        var tags: UInt16 = 0
        for physical in 0..<8 {
            let tag: UInt16
            if abridged & (1 << physical) == 0 {
                tag = Tag.empty
            } else {
                let r = st[(physical - top) & 7]
                let exponent = r.signExponent & 0x7FFF
                if exponent == 0x7FFF { tag = Tag.special }                       // NaN, infinity
                else if exponent == 0 { tag = r.significand == 0 ? Tag.zero : Tag.special }  // zero, denormal
                else { tag = r.significand >> 63 == 1 ? Tag.valid : Tag.special }  // normal, unnormal
            }
            tags |= tag << (physical * 2)
        }
        return tags
    }

    /// FXSAVE's abridged tag byte from a full tag word.
    static func abridgedTag(_ ftw: UInt16) -> UInt8 {
        var b: UInt8 = 0
        for physical in 0..<8 where (ftw >> (physical * 2)) & 3 != Tag.empty { b |= 1 << physical }
        return b
    }

    static func load128(_ p: UnsafeRawPointer, _ offset: Int) -> UInt128 {
        let lo = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        let hi = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        return UInt128(hi) << 64 | UInt128(lo)
    }

    static func store128(_ p: UnsafeMutableRawPointer, _ offset: Int, _ v: UInt128) {
        p.storeBytes(of: UInt64(truncatingIfNeeded: v).littleEndian, toByteOffset: offset, as: UInt64.self)
        p.storeBytes(of: UInt64(truncatingIfNeeded: v >> 64).littleEndian, toByteOffset: offset + 8, as: UInt64.self)
    }

    /// Reads the legacy area at `p` (512 bytes) into `fpu` (x87, MXCSR and XMM registers).
    /// `x87Present`/`ssePresent` false mean the component is in its initial state (XSTATE_BV
    /// bit clear), whatever the bytes say.
    static func readLegacy(_ p: UnsafeRawPointer, into fpu: inout FPUState, x87Present: Bool = true, ssePresent: Bool = true) {
        func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        if x87Present {
            fpu.fcw = u16(fcw)
            fpu.fsw = u16(fsw)
            fpu.fop = u16(fop) & 0x7FF
            fpu.fip = u64(fip)
            fpu.fdp = u64(fdp)
            fpu.fcs = 0
            fpu.fds = 0
            fpu.st = (0..<8).map { i in
                X87Register(significand: u64(st0 + 16 * i), signExponent: u16(st0 + 16 * i + 8))
            }
            fpu.ftw = fullTagWord(abridged: p.load(fromByteOffset: ftw, as: UInt8.self), fsw: fpu.fsw, st: fpu.st)
        } else {
            // x87 initial state (SDM Vol. 1 §13.6): FINIT values.
            fpu.fcw = 0x037F; fpu.fsw = 0; fpu.ftw = 0xFFFF; fpu.fop = 0
            fpu.fip = 0; fpu.fdp = 0; fpu.fcs = 0; fpu.fds = 0
            fpu.st = Array(repeating: X87Register(), count: 8)
        }
        fpu.mxcsr = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: mxcsr, as: UInt32.self))
        fpu.xmm = (0..<16).map { ssePresent ? load128(p, xmm0 + 16 * $0) : 0 }
    }

    /// Writes `fpu` into the legacy area at `p`, leaving MXCSR_MASK and the reserved bytes.
    static func writeLegacy(_ fpu: FPUState, to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: fpu.fcw.littleEndian, toByteOffset: fcw, as: UInt16.self)
        p.storeBytes(of: fpu.fsw.littleEndian, toByteOffset: fsw, as: UInt16.self)
        p.storeBytes(of: abridgedTag(fpu.ftw), toByteOffset: ftw, as: UInt8.self)
        p.storeBytes(of: UInt8(0), toByteOffset: ftw + 1, as: UInt8.self)
        p.storeBytes(of: (fpu.fop & 0x7FF).littleEndian, toByteOffset: fop, as: UInt16.self)
        p.storeBytes(of: fpu.fip.littleEndian, toByteOffset: fip, as: UInt64.self)
        p.storeBytes(of: fpu.fdp.littleEndian, toByteOffset: fdp, as: UInt64.self)
        p.storeBytes(of: fpu.mxcsr.littleEndian, toByteOffset: mxcsr, as: UInt32.self)
        for i in 0..<8 {
            let r = i < fpu.st.count ? fpu.st[i] : X87Register()
            p.storeBytes(of: r.significand.littleEndian, toByteOffset: st0 + 16 * i, as: UInt64.self)
            p.storeBytes(of: r.signExponent.littleEndian, toByteOffset: st0 + 16 * i + 8, as: UInt16.self)
            for pad in 10..<16 { p.storeBytes(of: UInt8(0), toByteOffset: st0 + 16 * i + pad, as: UInt8.self) }
        }
        for i in 0..<16 { store128(p, xmm0 + 16 * i, i < fpu.xmm.count ? fpu.xmm[i] : 0) }
    }

    /// XSTATE_BV of an XSAVE image.
    static func xstateBV(_ p: UnsafeRawPointer) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: headerOffset, as: UInt64.self))
    }

    static func setXStateBV(_ p: UnsafeMutableRawPointer, _ v: UInt64) {
        p.storeBytes(of: v.littleEndian, toByteOffset: headerOffset, as: UInt64.self)
    }

    /// Reads an XSAVE image (standard format) into `fpu`, including the YMM upper halves
    /// when `avxOffset` is given (the component is enabled for this vCPU).
    static func readXSave(_ p: UnsafeRawPointer, into fpu: inout FPUState, avxOffset: Int?) {
        let bv = xstateBV(p)
        readLegacy(p, into: &fpu, x87Present: bv & 1 != 0, ssePresent: bv & 2 != 0)
        if let avxOffset, bv & 4 != 0 {
            fpu.ymmHigh = (0..<16).map { load128(p, avxOffset + 16 * $0) }
        } else {
            fpu.ymmHigh = Array(repeating: 0, count: 16)
        }
    }

    /// Writes `fpu` into an XSAVE image, marking x87, SSE (and AVX when `avxOffset` is given)
    /// present in XSTATE_BV; other components are left as they were in the image.
    static func writeXSave(_ fpu: FPUState, to p: UnsafeMutableRawPointer, avxOffset: Int?) {
        writeLegacy(fpu, to: p)
        var bv = xstateBV(p) | 0b11
        if let avxOffset {
            for i in 0..<16 { store128(p, avxOffset + 16 * i, i < fpu.ymmHigh.count ? fpu.ymmHigh[i] : 0) }
            bv |= 0b100
        }
        setXStateBV(p, bv)
    }
}
