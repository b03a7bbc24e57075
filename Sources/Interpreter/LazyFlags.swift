import MachineCore

/// The arithmetic flags of the last flag-setting operation, kept as its operands and result
/// and computed only when something reads them (docs/ARCHITECTURE.md, "Lazy flags").
struct LazyFlags {
    enum Op: UInt8 {
        /// Flags are in `X86CPU.flagsBase`.
        case none
        case add, adc, sub, sbb, logic, inc, dec
        /// Shifts by a masked count of 1...: `a` = operand, `b` = count. AF (undefined) reads 0.
        case shl, shr, sar
        /// MUL/IMUL: `carry` = CF = OF (the result did not fit); SF, ZF, PF follow the low
        /// half of the result as the 286 and later Intel parts do (architecturally undefined);
        /// AF reads 0.
        case mul
    }
    var op: Op = .none
    /// Operand size in bytes.
    var size: Int = 4
    var result: UInt64 = 0
    var a: UInt64 = 0
    var b: UInt64 = 0
    /// Carry in for ADC/SBB; the preserved CF for INC/DEC.
    var carry: Bool = false
}

/// OF SF ZF AF PF CF.
let arithmeticFlagsMask: UInt64 = 0x8D5

@inline(__always) func sizeMask(_ size: Int) -> UInt64 { size >= 8 ? ~0 : (UInt64(1) << UInt64(size &* 8)) &- 1 }
@inline(__always) func signBit(_ size: Int) -> UInt64 { UInt64(1) << UInt64(size &* 8 &- 1) }

/// PF: set when the low byte of the result has an even number of 1 bits.
@inline(__always) func parityFlag(_ v: UInt64) -> UInt64 { (v & 0xFF).nonzeroBitCount & 1 == 0 ? RFLAGS.pf : 0 }

extension X86CPU {
    /// The arithmetic flags as bits, computed from the lazy record.
    @inline(__always)
    func computeArithmeticFlags() -> UInt64 {
        let l = lazy
        let mask = sizeMask(l.size), sign = signBit(l.size)
        let r = l.result & mask, a = l.a & mask, b = l.b & mask
        var f: UInt64 = 0
        if r == 0 { f |= RFLAGS.zf }
        if r & sign != 0 { f |= RFLAGS.sf }
        f |= parityFlag(r)
        switch l.op {
        case .none:
            return flagsBase & arithmeticFlagsMask
        case .add, .adc:
            if r < a || (l.op == .adc && l.carry && r == a) { f |= RFLAGS.cf }
            if (a ^ r) & (b ^ r) & sign != 0 { f |= RFLAGS.of }
            f |= (a ^ b ^ r) & RFLAGS.af
        case .sub, .sbb:
            if a < b || (l.op == .sbb && l.carry && a == b) { f |= RFLAGS.cf }
            if (a ^ b) & (a ^ r) & sign != 0 { f |= RFLAGS.of }
            f |= (a ^ b ^ r) & RFLAGS.af
        case .logic:
            break
        case .inc:
            if l.carry { f |= RFLAGS.cf }
            if r == sign { f |= RFLAGS.of }
            f |= (a ^ 1 ^ r) & RFLAGS.af
        case .dec:
            if l.carry { f |= RFLAGS.cf }
            if r == sign &- 1 { f |= RFLAGS.of }
            f |= (a ^ 1 ^ r) & RFLAGS.af
        case .shl:
            // CF: the last bit shifted out; OF: MSB(result) XOR CF (SDM Vol. 2B, "SAL/SAR/SHL/SHR").
            let count = l.b, bits = UInt64(l.size * 8)
            let cf = count <= bits && (a << (count &- 1)) & sign != 0
            if cf { f |= RFLAGS.cf }
            if (r & sign != 0) != cf { f |= RFLAGS.of }
        case .shr:
            let count = l.b, bits = UInt64(l.size * 8)
            if count <= bits && (a >> (count &- 1)) & 1 != 0 { f |= RFLAGS.cf }
            // OF: the sign before the last one-bit step (the operand's sign for a count of 1).
            let beforeLast = count &- 1 < bits ? a >> (count &- 1) : 0
            if beforeLast & sign != 0 { f |= RFLAGS.of }
        case .mul:
            if l.carry { f |= RFLAGS.cf | RFLAGS.of }
        case .sar:
            let count = min(l.b, 63)
            let extended = signExtendLazy(a, l.size)
            if (extended >> Int64(count &- 1)) & 1 != 0 { f |= RFLAGS.cf }
        }
        return f
    }

    /// Folds the lazy flags into `flagsBase`.
    @inline(__always)
    func materializeFlags() {
        if lazy.op == .none { return }
        flagsBase = (flagsBase & ~arithmeticFlagsMask) | computeArithmeticFlags()
        lazy.op = .none
    }

    /// The full RFLAGS value.
    var rflags: UInt64 {
        get {
            if lazy.op == .none { return flagsBase }
            return (flagsBase & ~arithmeticFlagsMask) | computeArithmeticFlags()
        }
        set {
            lazy.op = .none
            flagsBase = (newValue & 0x3F_7FD7) | 2
            // TF and RF need the run loop's careful step from the next instruction on.
            if flagsBase & (RFLAGS.tf | RFLAGS.rf) != 0 { sliceEnd = true }
        }
    }

    /// CF alone, without computing the other flags (INC/DEC/ADC/SBB need just this).
    @_transparent var carryFlag: Bool {
        let l = lazy
        let mask = sizeMask(l.size)
        switch l.op {
        case .none: return flagsBase & RFLAGS.cf != 0
        case .add: return l.result & mask < l.a & mask
        case .sub: return l.a & mask < l.b & mask
        case .logic: return false
        case .inc, .dec, .mul: return l.carry
        // The last bit shifted out (a masked count of 1 or more; past the width it is 0 for SHL/SHR).
        case .shl: return l.b <= UInt64(l.size &* 8) && (l.a << (l.b &- 1)) & signBit(l.size) != 0
        case .shr: return l.b <= UInt64(l.size &* 8) && (l.a >> (l.b &- 1)) & 1 != 0
        default: return carryFromAllFlags()
        }
    }

    /// CF after the operations whose carry needs the full computation (ADC/SBB, shifts).
    @inline(never) func carryFromAllFlags() -> Bool { computeArithmeticFlags() & RFLAGS.cf != 0 }

    @inline(__always) func setLazy(_ op: LazyFlags.Op, size: Int, result: UInt64, a: UInt64, b: UInt64, carry: Bool = false) {
        lazy.op = op
        lazy.size = size
        lazy.result = result
        lazy.a = a
        lazy.b = b
        lazy.carry = carry
    }

    /// Sets arithmetic flags directly (shifts, multiplies, BCD): bits in `mask` take `value`.
    @inline(__always) func setFlags(_ value: UInt64, mask: UInt64) {
        materializeFlags()
        flagsBase = (flagsBase & ~mask) | (value & mask)
    }

    @inline(__always) func flag(_ bit: UInt64) -> Bool {
        if bit & arithmeticFlagsMask != 0 { return rflags & bit != 0 }
        return flagsBase & bit != 0
    }

    /// ZF/SF/PF of a result of `size` bytes, as bits.
    @inline(__always) func szp(_ r: UInt64, _ size: Int) -> UInt64 {
        let m = r & sizeMask(size)
        return (m == 0 ? RFLAGS.zf : 0) | (m & signBit(size) != 0 ? RFLAGS.sf : 0) | parityFlag(m)
    }

    /// Evaluates condition code `cc` (the low 4 bits of Jcc/SETcc/CMOVcc; SDM Vol. 1, Appendix B).
    /// After CMP/SUB, logic operations and INC/DEC/ADD the common conditions come straight from
    /// the operands and result, without computing the flags.
    @_transparent
    func condition(_ cc: UInt8) -> Bool {
        let l = lazy
        let mask = sizeMask(l.size)
        var r: Bool
        switch l.op {
        case .sub:
            let a = l.a & mask, b = l.b & mask
            switch cc >> 1 {
            case 1: r = a < b
            case 2: r = a == b
            case 3: r = a <= b
            case 4: r = (a &- b) & signBit(l.size) != 0
            case 6: r = signExtendLazy(a, l.size) < signExtendLazy(b, l.size)
            case 7: r = signExtendLazy(a, l.size) <= signExtendLazy(b, l.size)
            default: return conditionFromFlags(cc)
            }
        case .logic, .add, .inc, .dec:
            let result = l.result & mask
            switch cc >> 1 {
            case 2: r = result == 0
            case 4: r = result & signBit(l.size) != 0
            default:
                guard l.op == .logic else { return conditionFromFlags(cc) }
                // CF = OF = 0 after a logic operation.
                switch cc >> 1 {
                case 0, 1: r = false
                case 3: r = result == 0
                case 6: r = result & signBit(l.size) != 0
                case 7: r = result == 0 || result & signBit(l.size) != 0
                default: return conditionFromFlags(cc)
                }
            }
        default:
            return conditionFromFlags(cc)
        }
        return cc & 1 == 0 ? r : !r
    }

    @inline(__always) func signExtendLazy(_ v: UInt64, _ size: Int) -> Int64 {
        let shift = UInt64(64 - size * 8)
        return Int64(bitPattern: v << shift) >> Int64(shift)
    }

    func conditionFromFlags(_ cc: UInt8) -> Bool {
        let f = rflags
        let r: Bool
        switch cc >> 1 {
        case 0: r = f & RFLAGS.of != 0
        case 1: r = f & RFLAGS.cf != 0
        case 2: r = f & RFLAGS.zf != 0
        case 3: r = f & (RFLAGS.cf | RFLAGS.zf) != 0
        case 4: r = f & RFLAGS.sf != 0
        case 5: r = f & RFLAGS.pf != 0
        case 6: r = (f & RFLAGS.sf != 0) != (f & RFLAGS.of != 0)
        default: r = f & RFLAGS.zf != 0 || ((f & RFLAGS.sf != 0) != (f & RFLAGS.of != 0))
        }
        return cc & 1 == 0 ? r : !r
    }
}
