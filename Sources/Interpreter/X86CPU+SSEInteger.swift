import MachineCore
import X86Decoder

/// Packed integer arithmetic: the MMX/SSE2 rows of the 0F map, SSSE3 (0F 38 00-1E) and the
/// SSE4.1 integer operations (SDM Vol. 2, per-instruction pages). Pure functions of 128-bit
/// values; MMX forms use the low half (X86CPU+SSEDispatch.swift, `mmxIntOp`).
extension X86CPU {
    /// The 0F-map packed-integer operation `op` (the opcode byte) on `a` (destination) and `b`.
    func packedIntOp(_ op: UInt8, _ a: V128, _ b: V128) -> V128 {
        switch op {
        case 0x60: return v128(unpackLow(u8(a), u8(b)))
        case 0x61: return v128(unpackLow(u16(a), u16(b)))
        case 0x62: return v128(unpackLow(u32(a), u32(b)))
        case 0x6C: return V128(a[0], b[0])
        case 0x68: return v128(unpackHigh(u8(a), u8(b)))
        case 0x69: return v128(unpackHigh(u16(a), u16(b)))
        case 0x6A: return v128(unpackHigh(u32(a), u32(b)))
        case 0x6D: return V128(a[1], b[1])
        case 0x63: // PACKSSWB
            return v128(SIMD16<Int8>(lowHalf: SIMD8<Int8>(clamping: i16(a)), highHalf: SIMD8<Int8>(clamping: i16(b))))
        case 0x67: // PACKUSWB
            return v128(SIMD16<UInt8>(lowHalf: SIMD8<UInt8>(clamping: i16(a)), highHalf: SIMD8<UInt8>(clamping: i16(b))))
        case 0x6B: // PACKSSDW
            return v128(SIMD8<Int16>(lowHalf: SIMD4<Int16>(clamping: i32(a)), highHalf: SIMD4<Int16>(clamping: i32(b))))
        case 0x64: return v128(allOnes(i8(a) .> i8(b)))
        case 0x65: return v128(allOnes(i16(a) .> i16(b)))
        case 0x66: return v128(allOnes(i32(a) .> i32(b)))
        case 0x74: return v128(allOnes(i8(a) .== i8(b)))
        case 0x75: return v128(allOnes(i16(a) .== i16(b)))
        case 0x76: return v128(allOnes(i32(a) .== i32(b)))
        case 0xD1: return v128(shiftRight(u16(a), b[0]))
        case 0xD2: return v128(shiftRight(u32(a), b[0]))
        case 0xD3: return v128(shiftRight(a, b[0]))
        case 0xE1: return v128(shiftRight(i16(a), b[0]))
        case 0xE2: return v128(shiftRight(i32(a), b[0]))
        case 0xF1: return v128(shiftLeft(u16(a), b[0]))
        case 0xF2: return v128(shiftLeft(u32(a), b[0]))
        case 0xF3: return v128(shiftLeft(a, b[0]))
        case 0xD4: return a &+ b
        case 0xD5: return v128(i16(a) &* i16(b))
        case 0xD8: return v128(subtractSaturating(u8(a), u8(b)))
        case 0xD9: return v128(subtractSaturating(u16(a), u16(b)))
        case 0xDA: return v128(pointwiseMin(u8(a), u8(b)))
        case 0xDB: return a & b
        case 0xDC: return v128(addSaturating(u8(a), u8(b)))
        case 0xDD: return v128(addSaturating(u16(a), u16(b)))
        case 0xDE: return v128(pointwiseMax(u8(a), u8(b)))
        case 0xDF: return ~a & b
        case 0xE0: // PAVGB: (a + b + 1) >> 1 without overflow
            let x = SIMD16<UInt16>(truncatingIfNeeded: u8(a)) &+ SIMD16<UInt16>(truncatingIfNeeded: u8(b)) &+ 1
            return v128(SIMD16<UInt8>(truncatingIfNeeded: x &>> 1))
        case 0xE3:
            let x = SIMD8<UInt32>(truncatingIfNeeded: u16(a)) &+ SIMD8<UInt32>(truncatingIfNeeded: u16(b)) &+ 1
            return v128(SIMD8<UInt16>(truncatingIfNeeded: x &>> 1))
        case 0xE4: // PMULHUW
            let x = SIMD8<UInt32>(truncatingIfNeeded: u16(a)) &* SIMD8<UInt32>(truncatingIfNeeded: u16(b))
            return v128(SIMD8<UInt16>(truncatingIfNeeded: x &>> 16))
        case 0xE5: // PMULHW
            let x = SIMD8<Int32>(truncatingIfNeeded: i16(a)) &* SIMD8<Int32>(truncatingIfNeeded: i16(b))
            return v128(SIMD8<Int16>(truncatingIfNeeded: x &>> 16))
        case 0xE8: return v128(subtractSaturating(i8(a), i8(b)))
        case 0xE9: return v128(subtractSaturating(i16(a), i16(b)))
        case 0xEA: return v128(pointwiseMin(i16(a), i16(b)))
        case 0xEB: return a | b
        case 0xEC: return v128(addSaturating(i8(a), i8(b)))
        case 0xED: return v128(addSaturating(i16(a), i16(b)))
        case 0xEE: return v128(pointwiseMax(i16(a), i16(b)))
        case 0xEF: return a ^ b
        case 0xF4: // PMULUDQ: the even doublewords, full 64-bit products
            return V128((a[0] & 0xFFFF_FFFF) &* (b[0] & 0xFFFF_FFFF), (a[1] & 0xFFFF_FFFF) &* (b[1] & 0xFFFF_FFFF))
        case 0xF5: // PMADDWD
            let p = SIMD8<Int32>(truncatingIfNeeded: i16(a)) &* SIMD8<Int32>(truncatingIfNeeded: i16(b))
            return v128(p.evenHalf &+ p.oddHalf)
        case 0xF6: // PSADBW: sum of absolute differences per 8-byte group, in the low word
            let x = u8(a), y = u8(b)
            var s0: UInt64 = 0, s1: UInt64 = 0
            for i in 0..<8 {
                s0 += UInt64(x[i] > y[i] ? x[i] - y[i] : y[i] - x[i])
                s1 += UInt64(x[i + 8] > y[i + 8] ? x[i + 8] - y[i + 8] : y[i + 8] - x[i + 8])
            }
            return V128(s0, s1)
        case 0xF8: return v128(u8(a) &- u8(b))
        case 0xF9: return v128(u16(a) &- u16(b))
        case 0xFA: return v128(u32(a) &- u32(b))
        case 0xFB: return a &- b
        case 0xFC: return v128(u8(a) &+ u8(b))
        case 0xFD: return v128(u16(a) &+ u16(b))
        case 0xFE: return v128(u32(a) &+ u32(b))
        default: return a
        }
    }

    /// SSSE3 operations (0F 38 00-0B, 1C-1E) on 128-bit values.
    func ssse3Op(_ op: UInt8, _ a: V128, _ b: V128) -> V128 {
        switch op {
        case 0x00: // PSHUFB
            let x = u8(a), s = u8(b)
            var r = SIMD16<UInt8>()
            for i in 0..<16 where s[i] & 0x80 == 0 { r[i] = x[Int(s[i] & 15)] }
            return v128(r)
        case 0x01: return v128(horizontal(i16(a), i16(b), subtract: false))
        case 0x02: return v128(horizontal(i32(a), i32(b), subtract: false))
        case 0x03: return v128(horizontalSaturating(i16(a), i16(b), subtract: false))
        case 0x05: return v128(horizontal(i16(a), i16(b), subtract: true))
        case 0x06: return v128(horizontal(i32(a), i32(b), subtract: true))
        case 0x07: return v128(horizontalSaturating(i16(a), i16(b), subtract: true))
        case 0x04: // PMADDUBSW: unsigned bytes of a times signed bytes of b, pairs summed with saturation
            let p = SIMD16<Int16>(truncatingIfNeeded: u8(a)) &* SIMD16<Int16>(truncatingIfNeeded: i8(b))
            let s = SIMD8<Int32>(truncatingIfNeeded: p.evenHalf) &+ SIMD8<Int32>(truncatingIfNeeded: p.oddHalf)
            return v128(SIMD8<Int16>(clamping: s))
        case 0x08: return v128(sign(i8(a), i8(b)))
        case 0x09: return v128(sign(i16(a), i16(b)))
        case 0x0A: return v128(sign(i32(a), i32(b)))
        case 0x0B: // PMULHRSW: round((a * b) >> 15)
            let p = SIMD8<Int32>(truncatingIfNeeded: i16(a)) &* SIMD8<Int32>(truncatingIfNeeded: i16(b))
            return v128(SIMD8<Int16>(truncatingIfNeeded: ((p &>> 14) &+ 1) &>> 1))
        case 0x1C: return v128(absolute(i8(b)))
        case 0x1D: return v128(absolute(i16(b)))
        case 0x1E: return v128(absolute(i32(b)))
        default: return a
        }
    }

    /// SSE4.1 integer operations of the 0F38 map that are pure functions of two xmm values.
    func sse41IntOp(_ op: UInt8, _ a: V128, _ b: V128) -> V128 {
        switch op {
        case 0x28: // PMULDQ: signed even doublewords
            let x = i32(a), y = i32(b)
            return V128(UInt64(bitPattern: Int64(x[0]) &* Int64(y[0])), UInt64(bitPattern: Int64(x[2]) &* Int64(y[2])))
        case 0x29: return v128(allOnes(i64(a) .== i64(b)))
        case 0x37: return v128(allOnes(i64(a) .> i64(b)))
        case 0x2B: // PACKUSDW
            return v128(SIMD8<UInt16>(lowHalf: SIMD4<UInt16>(clamping: i32(a)), highHalf: SIMD4<UInt16>(clamping: i32(b))))
        case 0x38: return v128(pointwiseMin(i8(a), i8(b)))
        case 0x39: return v128(pointwiseMin(i32(a), i32(b)))
        case 0x3A: return v128(pointwiseMin(u16(a), u16(b)))
        case 0x3B: return v128(pointwiseMin(u32(a), u32(b)))
        case 0x3C: return v128(pointwiseMax(i8(a), i8(b)))
        case 0x3D: return v128(pointwiseMax(i32(a), i32(b)))
        case 0x3E: return v128(pointwiseMax(u16(a), u16(b)))
        case 0x3F: return v128(pointwiseMax(u32(a), u32(b)))
        case 0x40: return v128(u32(a) &* u32(b))
        case 0x41: // PHMINPOSUW: the smallest unsigned word and its (lowest) index
            let w = u16(b)
            var best = w[0], index = 0
            for i in 1..<8 where w[i] < best { best = w[i]; index = i }
            return V128(UInt64(best) | UInt64(index) << 16, 0)
        default: return a
        }
    }

    // MARK: shifts by an immediate (0F 71-73)

    /// Groups 12-14: PSRLW/PSRAW/PSLLW, PSRLD/PSRAD/PSLLD, PSRLQ/PSRLDQ/PSLLQ/PSLLDQ by imm8.
    func simdShiftImmediate(_ d: InstructionRef, _ op: UInt8, mmx isMMX: Bool) throws(CPUException) {
        let kind = d.reg & 7
        let count = d.immediate & 0xFF
        // The register-count opcode of the same operation: 71 -> D1/E1/F1, 72 -> D2/E2/F2, 73 -> D3/F3.
        var intOp: UInt8 = 0
        switch kind {
        case 2: intOp = 0xD0 + (op - 0x70)
        case 4 where op != 0x73: intOp = 0xE0 + (op - 0x70)
        case 6: intOp = 0xF0 + (op - 0x70)
        case 3, 7:
            guard op == 0x73, !isMMX else { throw .invalidOpcode }
        default: throw .invalidOpcode
        }
        if isMMX {
            try mmxCheck()
            mmxTransition()
            setMMX(d.rm, packedIntOp(intOp, V128(mmx(d.rm), 0), V128(count, 0))[0])
            return
        }
        try sseCheck()
        let a = xmm(d.rm)
        if intOp != 0 {
            setXMM(d.rm, packedIntOp(intOp, a, V128(count, 0)))
        } else {
            setXMM(d.rm, kind == 3 ? byteShiftRight(a, Int(count)) : byteShiftLeft(a, Int(count)))
        }
    }
}

// MARK: lane helpers

/// A lane mask as lanes of all ones (true) or zeros: SIMDMask stores exactly that.
@inline(__always) func allOnes<M: SIMD>(_ m: SIMDMask<M>) -> M { unsafeBitCast(m, to: M.self) }

func unpackLow<T: SIMD>(_ a: T, _ b: T) -> T {
    var r = T()
    for i in 0..<(T.scalarCount / 2) { r[2 * i] = a[i]; r[2 * i + 1] = b[i] }
    return r
}

func unpackHigh<T: SIMD>(_ a: T, _ b: T) -> T {
    let h = T.scalarCount / 2
    var r = T()
    for i in 0..<h { r[2 * i] = a[h + i]; r[2 * i + 1] = b[h + i] }
    return r
}

/// Logical right shift of each lane; counts of the lane width or more give zero.
@inline(__always) func shiftRight<T: SIMD>(_ a: T, _ count: UInt64) -> T where T.Scalar: FixedWidthInteger & UnsignedInteger {
    count >= UInt64(T.Scalar.bitWidth) ? T() : a &>> T(repeating: T.Scalar(count))
}

/// Arithmetic right shift; counts beyond the width fill with the sign bit.
@inline(__always) func shiftRight<T: SIMD>(_ a: T, _ count: UInt64) -> T where T.Scalar: FixedWidthInteger & SignedInteger {
    a &>> T(repeating: T.Scalar(min(count, UInt64(T.Scalar.bitWidth - 1))))
}

@inline(__always) func shiftLeft<T: SIMD>(_ a: T, _ count: UInt64) -> T where T.Scalar: FixedWidthInteger {
    count >= UInt64(T.Scalar.bitWidth) ? T() : a &<< T(repeating: T.Scalar(truncatingIfNeeded: count))
}

func addSaturating<T: SIMD>(_ a: T, _ b: T) -> T where T.Scalar: FixedWidthInteger {
    var r = T()
    for i in 0..<T.scalarCount {
        let (s, o) = a[i].addingReportingOverflow(b[i])
        r[i] = o ? (T.Scalar.isSigned ? (b[i] < 0 ? T.Scalar.min : T.Scalar.max) : T.Scalar.max) : s
    }
    return r
}

func subtractSaturating<T: SIMD>(_ a: T, _ b: T) -> T where T.Scalar: FixedWidthInteger {
    var r = T()
    for i in 0..<T.scalarCount {
        let (s, o) = a[i].subtractingReportingOverflow(b[i])
        r[i] = o ? (T.Scalar.isSigned ? (b[i] > 0 ? T.Scalar.min : T.Scalar.max) : T.Scalar.min) : s
    }
    return r
}

/// Pairwise horizontal add or subtract: pairs of `a`, then pairs of `b` (PHADDW/PHSUBD...).
func horizontal<T: SIMD>(_ a: T, _ b: T, subtract: Bool) -> T where T.Scalar: FixedWidthInteger {
    let h = T.scalarCount / 2
    var r = T()
    for i in 0..<h {
        r[i] = subtract ? a[2 * i] &- a[2 * i + 1] : a[2 * i] &+ a[2 * i + 1]
        r[h + i] = subtract ? b[2 * i] &- b[2 * i + 1] : b[2 * i] &+ b[2 * i + 1]
    }
    return r
}

func horizontalSaturating(_ a: SIMD8<Int16>, _ b: SIMD8<Int16>, subtract: Bool) -> SIMD8<Int16> {
    var r = SIMD8<Int16>()
    for i in 0..<4 {
        let x = Int32(a[2 * i]), y = Int32(a[2 * i + 1])
        let u = Int32(b[2 * i]), v = Int32(b[2 * i + 1])
        r[i] = Int16(clamping: subtract ? x - y : x + y)
        r[4 + i] = Int16(clamping: subtract ? u - v : u + v)
    }
    return r
}

/// PSIGN: negate, zero or keep each lane of `a` by the sign of `b`.
func sign<T: SIMD>(_ a: T, _ b: T) -> T where T.Scalar: FixedWidthInteger & SignedInteger {
    var r = T()
    for i in 0..<T.scalarCount { r[i] = b[i] < 0 ? 0 &- a[i] : (b[i] == 0 ? 0 : a[i]) }
    return r
}

/// PABS: the minimum value stays as is (its magnitude read unsigned).
func absolute<T: SIMD>(_ a: T) -> T where T.Scalar: FixedWidthInteger & SignedInteger {
    var r = T()
    for i in 0..<T.scalarCount { r[i] = a[i] < 0 ? 0 &- a[i] : a[i] }
    return r
}

/// PSRLDQ: the 128-bit value shifted right by `count` bytes (16 or more gives zero).
func byteShiftRight(_ a: V128, _ count: Int) -> V128 {
    if count >= 16 { return V128(0, 0) }
    let x = u8(a)
    var r = SIMD16<UInt8>()
    for i in 0..<(16 - count) { r[i] = x[i + count] }
    return v128(r)
}

func byteShiftLeft(_ a: V128, _ count: Int) -> V128 {
    if count >= 16 { return V128(0, 0) }
    let x = u8(a)
    var r = SIMD16<UInt8>()
    for i in count..<16 { r[i] = x[i - count] }
    return v128(r)
}
