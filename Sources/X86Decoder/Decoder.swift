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
    @usableFromInline let roots: UnsafeMutablePointer<UInt32>
    @usableFromInline let nodes: UnsafeMutablePointer<UInt32>
    @usableFromInline let forms: UnsafeMutablePointer<FormInfo>

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
        roots = t.roots
        nodes = t.nodes
        forms = t.forms
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
        d = DecodedInstruction()
        d.bitness = UInt8(bitness)
        let limit = min(count, 15)
        let is64 = modeIndex == 2
        var i = 0
        var osp = false, asp = false, lock = false
        var lastRep: UInt64 = 0  // 2: F3, 3: F2 (the mp selector's values)
        var seg = Segment.none
        var rex: UInt8 = 0
        var pfx: UInt16 = 0
        var b: UInt8 = 0

        // Legacy prefixes and REX (SDM Vol. 2A, 2.1.1 and 2.2.1). A REX prefix counts only
        // when the opcode follows it directly; any later prefix cancels it.
        prefixLoop: while true {
            if i >= limit { return fail(&d, i + 1, limit) }
            b = p[i]
            switch b {
            case 0x26, 0x2E, 0x36, 0x3E:
                // In 64-bit mode the ES/CS/SS/DS overrides are ignored (SDM Vol. 1, 3.3.7.1).
                if !is64 { seg = (b >> 3) & 3 }
                pfx |= PrefixBits.segment
            case 0x64, 0x65:
                seg = b &- 0x64 &+ Segment.fs
                pfx |= PrefixBits.segment
            case 0x66: osp = true; pfx |= PrefixBits.operandSize
            case 0x67: asp = true; pfx |= PrefixBits.addressSize
            case 0xF0: lock = true; pfx |= PrefixBits.lock
            case 0xF2: lastRep = 3; pfx = (pfx & ~PrefixBits.rep) | PrefixBits.repne
            case 0xF3: lastRep = 2; pfx = (pfx & ~PrefixBits.repne) | PrefixBits.rep
            case 0x40...0x4F where is64:
                rex = b
                i &+= 1
                continue prefixLoop
            default:
                break prefixLoop
            }
            rex = 0
            i &+= 1
        }
        if rex != 0 { pfx |= PrefixBits.rex }
        // Mandatory prefix: the last of F2/F3 wins, else 66 (SDM Vol. 2A, 2.1.2).
        let mp: UInt64 = lastRep != 0 ? lastRep : (osp ? 1 : 0)
        var w = UInt64(rex >> 3) & 1
        var rexR = (rex >> 2) & 1, rexX = (rex >> 1) & 1, rexB = rex & 1
        let aszIndex: UInt64 = modeIndex == 0 ? (asp ? 1 : 0) : modeIndex == 1 ? (asp ? 0 : 1) : (asp ? 1 : 2)
        var space = 0
        var op: UInt8 = b
        i &+= 1  // the opcode byte
        var lsel: UInt64 = 0
        var vvvv: UInt8 = 0
        var evexP2: UInt8 = 0
        var isVEX = false, isEVEX = false, is3DNow = false
        var rexRp: UInt8 = 0, vPrime: UInt8 = 0
        var vexPP: UInt64 = 0
        var vvvvHigh: UInt8 = 0

        switch b {
        case 0x0F:
            if i >= limit { return fail(&d, i + 1, limit) }
            let b2 = p[i]
            i &+= 1
            if b2 == 0x38 || b2 == 0x3A {
                if i >= limit { return fail(&d, i + 1, limit) }
                space = b2 == 0x38 ? 2 : 3
                op = p[i]
                i &+= 1
            } else if b2 == 0x0F {
                is3DNow = true
                space = 4
                op = 0
            } else {
                space = 1
                op = b2
            }
        case 0xC4, 0xC5, 0x62:
            // VEX/EVEX, or LES/LDS/BOUND outside 64-bit mode when ModRM.mod != 11
            // (SDM Vol. 2A, 2.3.5 and 2.7.1).
            if i >= limit { return fail(&d, i + 1, limit) }
            let v1 = p[i]
            if !is64 && v1 < 0xC0 { break }
            if osp || lastRep != 0 || lock || rex != 0 { return fail(&d, i, limit) }
            if b == 0xC5 {
                i &+= 1
                rexR = (~v1 >> 7) & 1
                vvvv = (~v1 >> 3) & 0xF
                lsel = UInt64(v1 >> 2) & 1
                space = 5
                w = 0
                rexX = 0; rexB = 0
                pfx |= PrefixBits.vex
                isVEX = true
                d.vectorLength = UInt8(lsel)
                if i >= limit { return fail(&d, i + 1, limit) }
                op = p[i]
                i &+= 1
                vexPP = UInt64(v1 & 3)
            } else if b == 0xC4 {
                if i &+ 1 >= limit { return fail(&d, i + 2, limit) }
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
                isVEX = true
                d.vectorLength = UInt8(lsel)
                if i >= limit { return fail(&d, i + 1, limit) }
                op = p[i]
                i &+= 1
                vexPP = UInt64(v2 & 3)
            } else {
                if i &+ 2 >= limit { return fail(&d, i + 3, limit) }
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
                if i >= limit { return fail(&d, i + 1, limit) }
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
        default:
            break
        }
        return finish(p, limit: limit, i: i, space: space, op: op, is3DNow: is3DNow, isVEX: isVEX, isEVEX: isEVEX,
                      mp: (isVEX || isEVEX) ? vexPP : mp, osp: osp, asp: asp, lock: lock, aszIndex: aszIndex, w: w,
                      lsel: lsel, rexR: rexR, rexX: rexX, rexB: rexB, rexRp: rexRp, vvvv: vvvv, vPrime: vPrime,
                      evexP2: evexP2, vvvvHigh: vvvvHigh, rex: rex, seg: seg, pfx: pfx, into: &d)
    }
}
