/// Table-driven x86 decoder for 16-, 32- and 64-bit code (issue #3).
///
/// `decode` reads at most 15 bytes (SDM Vol. 1, 2.1: an instruction longer than 15 bytes is
/// invalid), never allocates, and writes a flat `DecodedInstruction`. Prefix and escape
/// handling is code (SDM Vol. 2A, 2.1-2.3 and 2.6-2.7); which form an opcode is, and so its
/// operands and immediates, comes from the tables generated from scripts/isa/opcode-maps.txt.
public struct X86Decoder: @unchecked Sendable {
    /// 16, 32 or 64.
    public let bitness: Int
    @usableFromInline let modeIndex: UInt64
    /// This mode's root refs: 13 encoding spaces of 256 opcodes.
    @usableFromInline let roots: UnsafeMutablePointer<UInt32>
    @usableFromInline let nodes: UnsafeMutablePointer<UInt32>
    @usableFromInline let forms: UnsafeMutablePointer<FormInfo>
    @usableFromInline let hot: UnsafeMutablePointer<FormHot>
    /// This mode's 256-entry `PrefixClass` table.
    @usableFromInline let prefixClasses: UnsafeMutablePointer<UInt16>

    /// Fails for a bitness other than 16, 32 or 64.
    public init?(bitness: Int) {
        switch bitness {
        case 16: modeIndex = 0
        case 32: modeIndex = 1
        case 64: modeIndex = 2
        default: return nil
        }
        self.bitness = bitness
        let t = ISATables.shared
        roots = t.roots + Int(modeIndex) * 13 * 256
        nodes = t.nodes
        forms = t.forms
        hot = t.hot
        prefixClasses = t.prefixClasses + (bitness == 64 ? 256 : 0)
    }

    /// Decodes the instruction at the start of `bytes`. Returns false (and `form == 0`) for
    /// an invalid or truncated encoding.
    @discardableResult
    public func decode(_ bytes: UnsafeRawBufferPointer, into d: inout DecodedInstruction) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            d = DecodedInstruction()
            d.bitness = UInt8(bitness)
            return false
        }
        return decode(base.assumingMemoryBound(to: UInt8.self), count: bytes.count, into: &d)
    }

    /// Convenience for tests and tools: decode the first instruction of `bytes`.
    public func decode(_ bytes: [UInt8]) -> DecodedInstruction {
        var d = DecodedInstruction()
        bytes.withUnsafeBytes { _ = decode($0, into: &d) }
        return d
    }

    // Root and node ref layout (scripts/isa/gen_tables.py).
    @usableFromInline static let leafBit: UInt32 = 0x8000_0000
    @usableFromInline static let modrmBit: UInt32 = 0x4000_0000

    /// Follows the decision tree from `ref` with the selector values packed 4 bits each in `state`.
    @inline(__always) @usableFromInline
    func walk(_ start: UInt32, _ state: UInt64) -> Int {
        var ref = start & ~X86Decoder.modrmBit
        while ref & X86Decoder.leafBit == 0 {
            let sel = UInt64((ref >> 24) & 0xF)
            let v = Int((state >> (sel &* 4)) & 0xF)
            ref = nodes[Int(ref & 0xFF_FFFF) &+ v]
        }
        return Int(ref & 0xFFFF)
    }

    @inline(__always) @usableFromInline
    func fail(_ d: inout DecodedInstruction, _ consumed: Int, _ limit: Int) -> Bool {
        d.form = 0
        d.mnemonic = 0
        d.length = UInt8(max(1, min(consumed, limit)))
        return false
    }

    /// The hot path: `p` points at the instruction, `count` bytes are readable.
    public func decode(_ p: UnsafePointer<UInt8>, count: Int, into d: inout DecodedInstruction) -> Bool {
        if _fastPath(count >= X86Decoder.directMinimum) { return decodeBody(p, limit: 15, into: &d) }
        return decodePadded(p, count: count, into: &d)
    }

    /// The body reads up to `directMinimum` bytes without bounds checks (an instruction is at
    /// most 15 bytes, and the prefix loop stops at `limit`, so no read goes past byte 31);
    /// shorter input is decoded from a zero-padded copy. Reading past `limit` is harmless:
    /// every failure and the final length check clamp to `limit`, exactly as if the decoder
    /// had stopped at the first byte it could not read.
    @usableFromInline static let directMinimum = 32

    @inline(never) @usableFromInline
    func decodePadded(_ p: UnsafePointer<UInt8>, count: Int, into d: inout DecodedInstruction) -> Bool {
        var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { raw in
            let q = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if count > 0 { q.update(from: p, count: min(count, X86Decoder.directMinimum)) }
            return decodeBody(UnsafePointer(q), limit: min(count, 15), into: &d)
        }
    }

    /// Decodes from `p`, which has at least `directMinimum` readable bytes; `limit` (at most
    /// 15) is how many of them belong to the input.
    @inline(__always) @usableFromInline
    func decodeBody(_ p: UnsafePointer<UInt8>, limit: Int, into d: inout DecodedInstruction) -> Bool {
        d = DecodedInstruction()
        d.bitness = UInt8(truncatingIfNeeded: bitness)
        let is64 = modeIndex == 2
        let classes = prefixClasses
        var i = 0
        var seg = Segment.none
        var rex: UInt8 = 0
        var pfx: UInt16 = 0

        // Legacy prefixes and REX (SDM Vol. 2A, 2.1.1 and 2.2.1). A REX prefix counts only
        // when the opcode follows it directly; any later prefix cancels it.
        var b = p[0]
        var c = classes[Int(b)]
        while c != 0 {
            if i >= limit { return fail(&d, i + 1, limit) }
            if c & PrefixClass.rex != 0 {
                rex = b
            } else {
                rex = 0
                // The last of F2/F3 wins: each clears the other.
                let set = c & PrefixClass.bitsMask
                let clear = (set & PrefixBits.rep) << 1 | (set & PrefixBits.repne) >> 1
                pfx = (pfx & ~clear) | set
                if c & PrefixClass.segmentHigh != 0 {
                    seg = b &- 0x64 &+ Segment.fs
                } else if c & PrefixClass.segmentLow != 0 {
                    seg = (b >> 3) & 3
                }
            }
            i &+= 1
            b = p[i]
            c = classes[Int(b)]
        }
        if i >= limit { return fail(&d, i + 1, limit) }
        if rex != 0 { pfx |= PrefixBits.rex }
        i &+= 1  // the opcode byte

        var space = 0
        var op = b
        if b == 0x0F {
            let b2 = p[i]
            i &+= 1
            if b2 == 0x38 || b2 == 0x3A {
                space = b2 == 0x38 ? 2 : 3
                op = p[i]
                i &+= 1
            } else if b2 == 0x0F {
                return decodeEscape(p, limit: limit, i: i, b: b, pfx: pfx, rex: rex, seg: seg, into: &d)
            } else {
                space = 1
                op = b2
            }
        } else if b & 0xFE == 0xC4 || b == 0x62 {
            // VEX/EVEX, or LES/LDS/BOUND outside 64-bit mode when ModRM.mod != 11
            // (SDM Vol. 2A, 2.3.5 and 2.7.1).
            if is64 || p[i] >= 0xC0 {
                return decodeEscape(p, limit: limit, i: i, b: b, pfx: pfx, rex: rex, seg: seg, into: &d)
            }
        }
        let osp = pfx & PrefixBits.operandSize != 0
        // Mandatory prefix: the last of F2/F3 wins, else 66 (SDM Vol. 2A, 2.1.2).
        let mp: UInt64 = pfx & PrefixBits.rep != 0 ? 2 : pfx & PrefixBits.repne != 0 ? 3 : (osp ? 1 : 0)
        return finish(p, limit: limit, i: i, space: space, op: op, is3DNow: false, isVEX: false, isEVEX: false,
                      mp: mp, aszIndex: addressSizeIndex(pfx), w: UInt64(rex >> 3) & 1, lsel: 0,
                      rexR: (rex >> 2) & 1, rexX: (rex >> 1) & 1, rexB: rex & 1, rexRp: 0, vvvv: 0, vPrime: 0,
                      evexP2: 0, vvvvHigh: 0, rex: rex, seg: seg, pfx: pfx, into: &d)
    }

    /// 0 = 16-bit, 1 = 32-bit, 2 = 64-bit addressing (SDM Vol. 1, 3.6.1).
    @inline(__always) @usableFromInline
    func addressSizeIndex(_ pfx: UInt16) -> UInt64 {
        let asp = pfx & PrefixBits.addressSize != 0
        return modeIndex == 0 ? (asp ? 1 : 0) : modeIndex == 1 ? (asp ? 0 : 1) : (asp ? 1 : 2)
    }

    /// The rarer encodings, kept out of the hot path: 3DNow! (0F 0F) and VEX/EVEX. `b` is the
    /// escape byte and `i` the offset after it.
    @inline(never) @usableFromInline
    func decodeEscape(_ p: UnsafePointer<UInt8>, limit: Int, i start: Int, b: UInt8, pfx pfxIn: UInt16, rex: UInt8,
                      seg: UInt8, into d: inout DecodedInstruction) -> Bool {
        var i = start
        var pfx = pfxIn
        let is64 = modeIndex == 2
        let osp = pfx & PrefixBits.operandSize != 0
        let aszIndex = addressSizeIndex(pfx)
        if b == 0x0F {
            let mp: UInt64 = pfx & PrefixBits.rep != 0 ? 2 : pfx & PrefixBits.repne != 0 ? 3 : (osp ? 1 : 0)
            return finish(p, limit: limit, i: i, space: 4, op: 0, is3DNow: true, isVEX: false, isEVEX: false,
                          mp: mp, aszIndex: aszIndex, w: UInt64(rex >> 3) & 1, lsel: 0,
                          rexR: (rex >> 2) & 1, rexX: (rex >> 1) & 1, rexB: rex & 1, rexRp: 0, vvvv: 0, vPrime: 0,
                          evexP2: 0, vvvvHigh: 0, rex: rex, seg: seg, pfx: pfx, into: &d)
        }
        let v1 = p[i]
        if pfx & (PrefixBits.operandSize | PrefixBits.rep | PrefixBits.repne | PrefixBits.lock) != 0 || rex != 0 {
            return fail(&d, i, limit)
        }
        var space: Int, op: UInt8, w: UInt64, lsel: UInt64, vexPP: UInt64
        var rexR: UInt8, rexX: UInt8 = 0, rexB: UInt8 = 0, rexRp: UInt8 = 0, vvvv: UInt8, vPrime: UInt8 = 0
        var evexP2: UInt8 = 0, vvvvHigh: UInt8 = 0
        var isEVEX = false
        if b == 0xC5 {
            i &+= 1
            rexR = (~v1 >> 7) & 1
            vvvv = (~v1 >> 3) & 0xF
            lsel = UInt64(v1 >> 2) & 1
            space = 5
            w = 0
            pfx |= PrefixBits.vex
            d.vectorLength = UInt8(lsel)
            op = p[i]
            i &+= 1
            vexPP = UInt64(v1 & 3)
        } else if b == 0xC4 {
            let v2 = p[i &+ 1]
            i &+= 2
            let mmmmm = v1 & 0x1F
            if mmmmm < 1 || mmmmm > 3 { return fail(&d, i, limit) }
            rexR = (~v1 >> 7) & 1; rexX = (~v1 >> 6) & 1; rexB = (~v1 >> 5) & 1
            w = UInt64(v2 >> 7)
            vvvv = (~v2 >> 3) & 0xF
            lsel = UInt64(v2 >> 2) & 1
            space = 4 &+ Int(mmmmm)
            pfx |= PrefixBits.vex
            d.vectorLength = UInt8(lsel)
            op = p[i]
            i &+= 1
            vexPP = UInt64(v2 & 3)
        } else {
            let p0 = v1, p1 = p[i &+ 1], p2 = p[i &+ 2]
            i &+= 3
            if p0 & 0x08 != 0 || p1 & 0x04 == 0 { return fail(&d, i, limit) }
            let mmm = p0 & 7
            switch mmm {
            case 1, 2, 3: space = 7 &+ Int(mmm)
            case 5, 6: space = 6 &+ Int(mmm)
            default: return fail(&d, i, limit)
            }
            rexR = (~p0 >> 7) & 1; rexX = (~p0 >> 6) & 1; rexB = (~p0 >> 5) & 1
            rexRp = (~p0 >> 4) & 1
            w = UInt64(p1 >> 7)
            vvvv = (~p1 >> 3) & 0xF
            vPrime = (~p2 >> 3) & 1
            evexP2 = p2
            lsel = UInt64(p2 >> 5) & 3
            pfx |= PrefixBits.evex
            isEVEX = true
            op = p[i]
            i &+= 1
            vexPP = UInt64(p1 & 3)
        }
        if !is64 {
            // Outside 64-bit mode only eight registers exist: the inverted high bits are
            // ignored (SDM Vol. 2A, 2.3.5.6), except that EVEX.V' must be 1 (stored
            // inverted) there, and an unused vvvv must still be 1111b.
            if isEVEX && vPrime != 0 { return fail(&d, i, limit) }
            vvvvHigh = vvvv & 8
            rexR = 0; rexX = 0; rexB = 0; rexRp = 0
            vvvv &= 7
        }
        return finish(p, limit: limit, i: i, space: space, op: op, is3DNow: false, isVEX: !isEVEX, isEVEX: isEVEX,
                      mp: vexPP, aszIndex: aszIndex, w: w, lsel: lsel, rexR: rexR, rexX: rexX, rexB: rexB,
                      rexRp: rexRp, vvvv: vvvv, vPrime: vPrime, evexP2: evexP2, vvvvHigh: vvvvHigh, rex: rex,
                      seg: seg, pfx: pfx, into: &d)
    }
}

/// What a byte does in the prefix position (`ISATables.prefixClasses`): the `PrefixBits` it
/// sets, and flags for REX and segment overrides; 0 for a byte that is not a prefix.
@usableFromInline
enum PrefixClass {
    @usableFromInline static let bitsMask: UInt16 = 0x3FF
    /// 40-4F, in 64-bit mode only.
    @usableFromInline static let rex: UInt16 = 1 << 12
    /// 64, 65: FS, GS overrides.
    @usableFromInline static let segmentHigh: UInt16 = 1 << 13
    /// 26, 2E, 36, 3E outside 64-bit mode: ES, CS, SS, DS overrides (in 64-bit mode they are
    /// ignored, SDM Vol. 1, 3.3.7.1, but still recorded as a segment prefix).
    @usableFromInline static let segmentLow: UInt16 = 1 << 14

    static func of(_ b: UInt8, is64: Bool) -> UInt16 {
        switch b {
        case 0x26, 0x2E, 0x36, 0x3E: return PrefixBits.segment | (is64 ? 0 : segmentLow)
        case 0x64, 0x65: return PrefixBits.segment | segmentHigh
        case 0x66: return PrefixBits.operandSize
        case 0x67: return PrefixBits.addressSize
        case 0xF0: return PrefixBits.lock
        case 0xF2: return PrefixBits.repne
        case 0xF3: return PrefixBits.rep
        case 0x40...0x4F where is64: return rex
        default: return 0
        }
    }
}
