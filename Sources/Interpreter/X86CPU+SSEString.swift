import MachineCore
import X86Decoder

/// SSE4.2 string and text instructions PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM (SDM Vol. 2B
/// §4.1, "Imm8 Control Byte Operation for PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM"),
/// CRC32 (SDM Vol. 2A CRC32) and MPSADBW.
extension X86CPU {
    /// Imm8 fields of the string compares (SDM Vol. 2B §4.1.1-4.1.6).
    enum StringCompareControl {
        /// Bits 1:0 source data format: 00 unsigned bytes, 01 unsigned words, 10 signed bytes,
        /// 11 signed words.
        static let wordElements: Int = 1 << 0
        static let signedElements: Int = 1 << 1
        /// Bits 3:2 aggregation: equal any, ranges, equal each, equal ordered.
        static let aggregationShift = 2
        static let equalAny = 0, ranges = 1, equalEach = 2, equalOrdered = 3
        /// Bits 5:4 polarity: 00/10 positive, 01 negative, 11 masked negative.
        static let polarityShift = 4
        /// Bit 6: PCMPxSTRI most significant index; PCMPxSTRM byte/word mask instead of bits.
        static let bit6: Int = 1 << 6
    }

    /// 66 0F 3A 60-63: op 60 PCMPESTRM, 61 PCMPESTRI, 62 PCMPISTRM, 63 PCMPISTRI.
    func stringCompare(_ d: InstructionRef, _ op: UInt8) throws(CPUException) {
        try sseCheck()
        // The SSE4.2 string instructions take unaligned memory operands (SDM Vol. 1 §12.10.1).
        let b = try sseSource(d, aligned: false)
        let a = xmm(d.reg)
        let C = StringCompareControl.self
        let imm = Int(d.immediate & 0xFF)
        let words = imm & C.wordElements != 0
        let signed = imm & C.signedElements != 0
        let n = words ? 8 : 16
        // Elements as Int so that signed and unsigned compare alike.
        func element(_ v: V128, _ i: Int) -> Int {
            if words { return signed ? Int(i16(v)[i]) : Int(u16(v)[i]) }
            return signed ? Int(i8(v)[i]) : Int(u8(v)[i])
        }
        let explicit = op <= 0x61
        var la = n, lb = n
        if explicit {
            // |rAX| and |rDX| (64-bit with REX.W), saturated to the element count.
            let wide = opBytes(d) == 8
            func length(_ r: UInt8) -> Int {
                let v = wide ? Int64(bitPattern: regs[Int(r)]) : Int64(Int32(truncatingIfNeeded: regs[Int(r)]))
                let m = v == Int64.min ? UInt64(1) << 63 : UInt64(v < 0 ? -v : v)
                return m > UInt64(n) ? n : Int(m)
            }
            la = length(0)
            lb = length(2)
        } else {
            for i in 0..<n where element(a, i) == 0 { la = i; break }
            for i in 0..<n where element(b, i) == 0 { lb = i; break }
        }
        // IntRes1 bit j for element j of the second operand (SDM §4.1.4, with the overrides
        // of Table 4-7 for invalid elements).
        var res1 = 0
        switch (imm >> C.aggregationShift) & 3 {
        case C.equalAny:
            for j in 0..<lb {
                for i in 0..<la where element(a, i) == element(b, j) { res1 |= 1 << j; break }
            }
        case C.ranges:
            for j in 0..<lb {
                let x = element(b, j)
                var i = 0
                while i + 1 < la {
                    if element(a, i) <= x && x <= element(a, i + 1) { res1 |= 1 << j; break }
                    i += 2
                }
            }
        case C.equalEach:
            for j in 0..<n {
                let va = j < la, vb = j < lb
                if va && vb {
                    if element(a, j) == element(b, j) { res1 |= 1 << j }
                } else if !va && !vb {
                    res1 |= 1 << j
                }
            }
        default: // equal ordered: the substring a starts at element j of b
            for j in 0..<n {
                var match = true
                var k = 0
                while k < n - j && k < la {
                    if j + k >= lb || element(a, k) != element(b, j + k) { match = false; break }
                    k += 1
                }
                if match { res1 |= 1 << j }
            }
        }
        let all = (1 << n) - 1
        var res2 = res1
        switch (imm >> C.polarityShift) & 3 {
        case 1: res2 = ~res1 & all
        case 3: res2 = (res1 ^ ((1 << lb) - 1)) & all
        default: break
        }
        // Flags: CF = IntRes2 != 0, ZF = the second operand ends early, SF = the first does,
        // OF = IntRes2 bit 0; AF and PF cleared.
        var f: UInt64 = 0
        if res2 != 0 { f |= RFLAGS.cf }
        if lb < n { f |= RFLAGS.zf }
        if la < n { f |= RFLAGS.sf }
        if res2 & 1 != 0 { f |= RFLAGS.of }
        if op & 1 != 0 { // index
            let index: Int
            if res2 == 0 {
                index = n
            } else if imm & C.bit6 != 0 {
                index = (Int.bitWidth - 1) - res2.leadingZeroBitCount
            } else {
                index = res2.trailingZeroBitCount
            }
            setReg(1, 4, UInt64(index))
        } else { // mask into XMM0
            if imm & C.bit6 != 0 {
                if words {
                    var r = SIMD8<UInt16>()
                    for i in 0..<8 where res2 & (1 << i) != 0 { r[i] = 0xFFFF }
                    setXMM(0, v128(r))
                } else {
                    var r = SIMD16<UInt8>()
                    for i in 0..<16 where res2 & (1 << i) != 0 { r[i] = 0xFF }
                    setXMM(0, v128(r))
                }
            } else {
                setXMM(0, V128(UInt64(res2), 0))
            }
        }
        setFlags(f, mask: arithmeticFlagsMask)
    }

    // MARK: CRC32 (F2 0F 38 F0/F1)

    /// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of the source bytes, accumulated
    /// into the destination's low 32 bits; the destination is written as 32 bits, or as 64
    /// zero-extended with REX.W.
    func crc32(_ d: InstructionRef) throws(CPUException) {
        let size = d.opcode == 0xF0 ? 1 : opBytes(d)
        let v = try readRM(d, size)
        var crc = UInt32(truncatingIfNeeded: regs[Int(d.reg)])
        for k in 0..<size {
            crc ^= UInt32((v >> UInt64(k * 8)) & 0xFF)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        setReg(d.reg, opBytes(d) == 8 ? 8 : 4, UInt64(crc))
    }

    // MARK: MPSADBW (66 0F 3A 42)

    /// Eight sums of absolute differences between a 4-byte block of the source (imm8[1:0])
    /// and sliding 4-byte windows of the destination starting at byte 4 * imm8[2].
    func mpsadbw(_ d: InstructionRef) throws(CPUException) {
        try sseCheck()
        let s = u8(try sseSource(d)), a = u8(xmm(d.reg))
        let imm = Int(d.immediate & 0xFF)
        let aOffset = (imm >> 2) & 1 == 0 ? 0 : 4
        let bOffset = (imm & 3) * 4
        var r = SIMD8<UInt16>()
        for i in 0..<8 {
            var sum = 0
            for k in 0..<4 { sum += abs(Int(a[aOffset + i + k]) - Int(s[bOffset + k])) }
            r[i] = UInt16(sum)
        }
        setXMM(d.reg, v128(r))
    }
}
