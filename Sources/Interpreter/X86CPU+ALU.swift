import MachineCore

/// Integer arithmetic with its flag rules (SDM Vol. 2, each instruction's "Flags Affected").
extension X86CPU {
    /// The eight classic ALU operations in opcode order: ADD OR ADC SBB AND SUB XOR CMP.
    /// Returns the result; flags are recorded lazily.
    @_transparent
    func alu(_ op: Int, _ a: UInt64, _ b: UInt64, _ size: Int) -> UInt64 {
        let m = sizeMask(size)
        switch op {
        case 0:
            let r = (a &+ b) & m
            setLazy(.add, size: size, result: r, a: a, b: b)
            return r
        case 1:
            let r = (a | b) & m
            setLazy(.logic, size: size, result: r, a: a, b: b)
            return r
        case 2:
            let c: UInt64 = carryFlag ? 1 : 0
            let r = (a &+ b &+ c) & m
            setLazy(.adc, size: size, result: r, a: a, b: b, carry: c != 0)
            return r
        case 3:
            let c: UInt64 = carryFlag ? 1 : 0
            let r = (a &- b &- c) & m
            setLazy(.sbb, size: size, result: r, a: a, b: b, carry: c != 0)
            return r
        case 4:
            let r = a & b & m
            setLazy(.logic, size: size, result: r, a: a, b: b)
            return r
        case 5, 7:
            let r = (a &- b) & m
            setLazy(.sub, size: size, result: r, a: a, b: b)
            return r
        default:
            let r = (a ^ b) & m
            setLazy(.logic, size: size, result: r, a: a, b: b)
            return r
        }
    }

    @_transparent
    func inc(_ a: UInt64, _ size: Int) -> UInt64 {
        let cf = carryFlag
        let r = (a &+ 1) & sizeMask(size)
        setLazy(.inc, size: size, result: r, a: a, b: 1, carry: cf)
        return r
    }

    @_transparent
    func dec(_ a: UInt64, _ size: Int) -> UInt64 {
        let cf = carryFlag
        let r = (a &- 1) & sizeMask(size)
        setLazy(.dec, size: size, result: r, a: a, b: 1, carry: cf)
        return r
    }

    @inline(__always)
    func neg(_ a: UInt64, _ size: Int) -> UInt64 { alu(5, 0, a, size) }

    // MARK: shifts and rotates (SDM Vol. 2B, "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR")

    /// Group-2 operation `op` (0 ROL, 1 ROR, 2 RCL, 3 RCR, 4 SHL, 5 SHR, 6 SAL (= SHL), 7 SAR)
    /// by `count` (masked to 5 bits, 6 with 64-bit operands). A masked count of 0 changes nothing.
    @_transparent
    func shift(_ op: Int, _ value: UInt64, _ rawCount: UInt64, _ size: Int) -> UInt64 {
        let bits = size * 8
        let count = Int(rawCount & (size == 8 ? 0x3F : 0x1F))
        if count == 0 { return value }
        let m = sizeMask(size)
        let a = value & m
        // SHL/SHR/SAR define every flag but AF: record them lazily.
        switch op {
        case 4, 6:
            let r = count >= bits ? 0 : (a << UInt64(count)) & m
            setLazy(.shl, size: size, result: r, a: a, b: UInt64(count))
            return r
        case 5:
            let r = count >= bits ? 0 : a >> UInt64(count)
            setLazy(.shr, size: size, result: r, a: a, b: UInt64(count))
            return r
        case 7:
            let r = UInt64(bitPattern: signExtend(a, size) >> Int64(min(count, 63))) & m
            setLazy(.sar, size: size, result: r, a: a, b: UInt64(count))
            return r
        default:
            return rotate(op, a, count, size)
        }
    }

    /// ROL, ROR, RCL, RCR (`op` 0...3) by a masked, non-zero `count`: CF and OF change, the
    /// other flags keep the previous operation's values.
    func rotate(_ op: Int, _ a: UInt64, _ count: Int, _ size: Int) -> UInt64 {
        let bits = size &* 8
        let m = sizeMask(size), sign = signBit(size)
        materializeFlags()
        var f = flagsBase
        var r: UInt64
        switch op {
        case 0: // ROL
            let n = count & (bits &- 1)
            r = n == 0 ? a : ((a << UInt64(n)) | (a >> UInt64(bits - n))) & m
            f = setBit(f, RFLAGS.cf, r & 1 != 0)
            f = setBit(f, RFLAGS.of, (r & sign != 0) != (r & 1 != 0))
        case 1: // ROR
            let n = count & (bits &- 1)
            r = n == 0 ? a : ((a >> UInt64(n)) | (a << UInt64(bits - n))) & m
            f = setBit(f, RFLAGS.cf, r & sign != 0)
            f = setBit(f, RFLAGS.of, (r & sign != 0) != (r & (sign >> 1) != 0))
        case 2: // RCL: rotate through CF, a (bits+1)-bit rotation
            let n = count % (bits + 1)
            var cf = f & RFLAGS.cf != 0
            r = a
            for _ in 0..<n {
                let out = r & sign != 0
                r = ((r << 1) | (cf ? 1 : 0)) & m
                cf = out
            }
            f = setBit(f, RFLAGS.cf, cf)
            f = setBit(f, RFLAGS.of, (r & sign != 0) != cf)
        default: // RCR
            let n = count % (bits + 1)
            var cf = f & RFLAGS.cf != 0
            r = a
            // OF is computed from the operand before the rotation for a count of 1.
            f = setBit(f, RFLAGS.of, (a & sign != 0) != cf)
            for _ in 0..<n {
                let out = r & 1 != 0
                r = (r >> 1) | (cf ? sign : 0)
                cf = out
            }
            f = setBit(f, RFLAGS.cf, cf)
            if n != 1 {
                f = setBit(f, RFLAGS.of, (r & sign != 0) != (r & (sign >> 1) != 0))
            }
        }
        flagsBase = f
        return r
    }

    @inline(__always) func setBit(_ f: UInt64, _ bit: UInt64, _ on: Bool) -> UInt64 { on ? f | bit : f & ~bit }

    /// SHLD/SHRD (SDM Vol. 2B): shifts `dest` by `count`, filling from `source`.
    func doubleShift(left: Bool, _ dest: UInt64, _ source: UInt64, _ rawCount: UInt64, _ size: Int) -> UInt64 {
        let bits = size * 8
        let count = Int(rawCount & (size == 8 ? 0x3F : 0x1F))
        if count == 0 { return dest }
        let m = sizeMask(size), sign = signBit(size)
        let a = dest & m, s = source & m
        var r: UInt64
        var cf: Bool
        if count > bits {
            // Undefined result for 16-bit operands with counts 17-31; keep something definite.
            r = a
            cf = carryFlag
        } else if left {
            r = count == bits ? s : ((a << UInt64(count)) | (s >> UInt64(bits - count))) & m
            cf = (a >> UInt64(bits - count)) & 1 != 0
        } else {
            r = count == bits ? s : ((a >> UInt64(count)) | (s << UInt64(bits - count))) & m
            cf = (a >> UInt64(count - 1)) & 1 != 0
        }
        materializeFlags()
        var f = (flagsBase & ~(RFLAGS.zf | RFLAGS.sf | RFLAGS.pf | RFLAGS.af)) | szp(r, size)
        f = setBit(f, RFLAGS.cf, cf)
        f = setBit(f, RFLAGS.of, (r & sign) != (a & sign))
        flagsBase = f
        return r
    }

    // MARK: multiply and divide (SDM Vol. 2A "MUL", "IMUL", "DIV", "IDIV")

    /// Unsigned multiply of the accumulator: AL/AX/EAX/RAX by `src`.
    func mulAccumulator(_ src: UInt64, _ size: Int, signed: Bool) {
        let m = sizeMask(size)
        var high: UInt64, low: UInt64
        let a = reg(0, size)
        if signed {
            let (h, l) = Int64(signExtend(a, size)).multipliedFullWidth(by: Int64(signExtend(src & m, size)))
            high = UInt64(bitPattern: h); low = l
        } else {
            (high, low) = a.multipliedFullWidth(by: src & m)
        }
        let overflow: Bool
        switch size {
        case 1:
            let r = low & 0xFFFF
            setReg(0, 2, r)
            overflow = signed ? UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: r))) & 0xFFFF != r : r >> 8 != 0
            setMulFlags(overflow, r & 0xFF, size)
            return
        case 2:
            let r = low & 0xFFFF_FFFF
            setReg(0, 2, r & 0xFFFF); setReg(2, 2, r >> 16)
            overflow = signed ? UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: r))) & 0xFFFF_FFFF != r : r >> 16 != 0
            setMulFlags(overflow, r & 0xFFFF, size)
        case 4:
            setReg(0, 4, low & 0xFFFF_FFFF); setReg(2, 4, low >> 32)
            overflow = signed ? UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: low))) != low : low >> 32 != 0
            setMulFlags(overflow, low & 0xFFFF_FFFF, size)
        default:
            setReg(0, 8, low); setReg(2, 8, high)
            overflow = signed ? high != (Int64(bitPattern: low) < 0 ? ~0 : 0) : high != 0
            setMulFlags(overflow, low, size)
        }
    }

    /// Two- and three-operand IMUL: returns the truncated product and sets CF/OF.
    func imulTruncating(_ a: UInt64, _ b: UInt64, _ size: Int) -> UInt64 {
        let (h, l) = signExtend(a, size).multipliedFullWidth(by: signExtend(b, size))
        let m = sizeMask(size)
        let r = l & m
        let overflow: Bool
        if size == 8 {
            overflow = h != (Int64(bitPattern: l) < 0 ? -1 : 0)
        } else {
            overflow = UInt64(bitPattern: signExtend(r, size)) != l || h != (Int64(bitPattern: l) < 0 ? -1 : 0)
        }
        setMulFlags(overflow, r, size)
        return r
    }

    /// CF = OF = overflow; SF, ZF, PF follow the low half as the 286 and later Intel parts
    /// do (they are undefined architecturally); AF cleared.
    func setMulFlags(_ overflow: Bool, _ low: UInt64, _ size: Int) {
        // Every arithmetic flag is written: nothing of the previous operation survives.
        setLazy(.mul, size: size, result: low, a: 0, b: 0, carry: overflow)
    }

    @inline(__always) func signExtend(_ v: UInt64, _ size: Int) -> Int64 {
        switch size {
        case 1: return Int64(Int8(truncatingIfNeeded: v))
        case 2: return Int64(Int16(truncatingIfNeeded: v))
        case 4: return Int64(Int32(truncatingIfNeeded: v))
        default: return Int64(bitPattern: v)
        }
    }

    /// DIV/IDIV of the double-width accumulator by `src`; #DE on a zero divisor or a quotient
    /// that does not fit (SDM Vol. 2A, "DIV").
    func divide(_ src: UInt64, _ size: Int, signed: Bool) throws(CPUException) {
        let m = sizeMask(size)
        let divisor = src & m
        guard divisor != 0 else { throw .divideError }
        if size == 8 {
            let high = regs[2], low = regs[0]
            if signed {
                let negativeDividend = Int64(bitPattern: high) < 0
                var (uh, ul) = (high, low)
                if negativeDividend { (uh, ul) = negate128(uh, ul) }
                let negativeDivisor = Int64(bitPattern: divisor) < 0
                let ud = negativeDivisor ? 0 &- divisor : divisor
                guard uh < ud else { throw .divideError }
                let (q, r) = ud.dividingFullWidth((uh, ul))
                let negativeQuotient = negativeDividend != negativeDivisor
                if negativeQuotient ? q > (1 << 63) : q > UInt64(Int64.max) { throw .divideError }
                regs[0] = negativeQuotient ? 0 &- q : q
                regs[2] = negativeDividend ? 0 &- r : r
            } else {
                guard high < divisor else { throw .divideError }
                let (q, r) = divisor.dividingFullWidth((high, low))
                regs[0] = q; regs[2] = r
            }
            return
        }
        let dividend: UInt64
        switch size {
        case 1: dividend = reg(0, 2)
        case 2: dividend = (reg(2, 2) << 16) | reg(0, 2)
        default: dividend = (reg(2, 4) << 32) | reg(0, 4)
        }
        var quotient: UInt64, remainder: UInt64
        if signed {
            let wide = size * 2
            let n = signExtend(dividend, wide), dv = signExtend(divisor, size)
            if n == Int64.min && dv == -1 { throw .divideError }
            let q = n / dv, r = n % dv
            let limit = Int64(1) << Int64(size * 8 - 1)
            guard q >= -limit && q < limit else { throw .divideError }
            quotient = UInt64(bitPattern: q) & m
            remainder = UInt64(bitPattern: r) & m
        } else {
            let q = dividend / divisor
            guard q <= m else { throw .divideError }
            quotient = q
            remainder = dividend % divisor
        }
        if size == 1 {
            setReg(0, 2, (remainder << 8) | quotient)
        } else {
            setReg(0, size, quotient)
            setReg(2, size, remainder)
        }
    }

    @inline(__always) func negate128(_ h: UInt64, _ l: UInt64) -> (UInt64, UInt64) {
        let nl = 0 &- l
        let nh = ~h &+ (l == 0 ? 1 : 0)
        return (nh, nl)
    }
}
