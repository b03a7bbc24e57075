import MachineCore
import X86Decoder

/// SIMD data movement: MOVUPS/MOVAPS/MOVDQA/MOVDQU and friends, scalar moves, MOVD/MOVQ
/// between general, MMX and XMM registers, the half moves, non-temporal stores, masked
/// stores, sign-mask extraction, and the insert/extract family (SDM Vol. 2, per-instruction
/// pages; the caching hints of the non-temporal forms have no effect here).
extension X86CPU {
    /// Moves of the 0F map; `pfx` is the SIMDPrefix class.
    func simdMove(_ d: InstructionRef, _ op: UInt8, _ pfx: UInt8) throws(CPUException) {
        let P = SIMDPrefix.self
        // Forms on MMX registers.
        if pfx == P.none && (op == 0x6E || op == 0x6F || op == 0x7E || op == 0x7F || op == 0xD7 || op == 0xE7 || op == 0xF7) {
            try mmxMove(d, op)
            return
        }
        if op == 0xC3 { // MOVNTI
            let size = opBytes(d) == 8 ? 8 : 4
            try writeMemoryOperand(d, size, reg(d.reg, size))
            return
        }
        try sseCheck()
        switch op {
        case 0x10:
            switch pfx {
            case P.pF3:
                if d.hasMemory {
                    setXMM(d.reg, V128(try readMemoryOperand(d, 4), 0))
                } else {
                    let a = xmm(d.reg)
                    setXMM(d.reg, V128((a[0] & ~0xFFFF_FFFF) | (xmm(d.rm)[0] & 0xFFFF_FFFF), a[1]))
                }
            case P.pF2:
                if d.hasMemory {
                    setXMM(d.reg, V128(try readMemoryOperand(d, 8), 0))
                } else {
                    setXMM(d.reg, V128(xmm(d.rm)[0], xmm(d.reg)[1]))
                }
            default: setXMM(d.reg, try sseSource(d, aligned: false)) // MOVUPS, MOVUPD
            }
        case 0x11:
            switch pfx {
            case P.pF3:
                if d.hasMemory {
                    try writeMemoryOperand(d, 4, xmm(d.reg)[0] & 0xFFFF_FFFF)
                } else {
                    let a = xmm(d.rm)
                    setXMM(d.rm, V128((a[0] & ~0xFFFF_FFFF) | (xmm(d.reg)[0] & 0xFFFF_FFFF), a[1]))
                }
            case P.pF2:
                if d.hasMemory {
                    try writeMemoryOperand(d, 8, xmm(d.reg)[0])
                } else {
                    setXMM(d.rm, V128(xmm(d.reg)[0], xmm(d.rm)[1]))
                }
            default: try storeXMM(d, xmm(d.reg), aligned: false)
            }
        case 0x12:
            switch pfx {
            case P.pF3: // MOVSLDUP
                let s = u32(try sseSource(d))
                setXMM(d.reg, v128(SIMD4<UInt32>(s[0], s[0], s[2], s[2])))
            case P.pF2: // MOVDDUP (m64 source)
                let s = try sseSourceLow(d, 8)
                setXMM(d.reg, V128(s[0], s[0]))
            default: // MOVLPS/MOVLPD m64, or MOVHLPS
                let lo = d.hasMemory ? try readMemoryOperand(d, 8) : xmm(d.rm)[1]
                setXMM(d.reg, V128(lo, xmm(d.reg)[1]))
            }
        case 0x13: try writeMemoryOperand(d, 8, xmm(d.reg)[0])
        case 0x16:
            if pfx == P.pF3 { // MOVSHDUP
                let s = u32(try sseSource(d))
                setXMM(d.reg, v128(SIMD4<UInt32>(s[1], s[1], s[3], s[3])))
            } else { // MOVHPS/MOVHPD m64, or MOVLHPS
                let hi = d.hasMemory ? try readMemoryOperand(d, 8) : xmm(d.rm)[0]
                setXMM(d.reg, V128(xmm(d.reg)[0], hi))
            }
        case 0x17: try writeMemoryOperand(d, 8, xmm(d.reg)[1])
        case 0x28: setXMM(d.reg, try sseSource(d)) // MOVAPS, MOVAPD
        case 0x29, 0x2B: try storeXMM(d, xmm(d.reg), aligned: true) // MOVAPS/PD, MOVNTPS/PD
        case 0x50: // MOVMSKPS/MOVMSKPD
            let a = xmm(d.rm)
            let mask: UInt64
            if pfx == P.p66 {
                mask = (a[0] >> 63) | (a[1] >> 63) << 1
            } else {
                let s = u32(a)
                mask = UInt64(s[0] >> 31) | UInt64(s[1] >> 31) << 1 | UInt64(s[2] >> 31) << 2 | UInt64(s[3] >> 31) << 3
            }
            setReg(d.reg, opBytes(d) == 8 ? 8 : 4, mask)
        case 0x6E: // MOVD/MOVQ xmm, r/m32/64
            setXMM(d.reg, V128(try readRM(d, opBytes(d) == 8 ? 8 : 4), 0))
        case 0x6F: setXMM(d.reg, try sseSource(d, aligned: pfx == P.p66)) // MOVDQA, MOVDQU
        case 0x7E:
            if pfx == P.pF3 { // MOVQ xmm, xmm/m64
                setXMM(d.reg, V128(try sseSourceLow(d, 8)[0], 0))
            } else { // MOVD/MOVQ r/m32/64, xmm
                let size = opBytes(d) == 8 ? 8 : 4
                try writeRM(d, size, xmm(d.reg)[0] & sizeMask(size))
            }
        case 0x7F: try storeXMM(d, xmm(d.reg), aligned: pfx == P.p66) // MOVDQA, MOVDQU
        case 0xD6:
            switch pfx {
            case P.pF3: // MOVQ2DQ
                try mmxCheck()
                mmxTransition()
                setXMM(d.reg, V128(mmx(d.rm), 0))
            case P.pF2: // MOVDQ2Q
                try mmxCheck()
                mmxTransition()
                setMMX(d.reg, xmm(d.rm)[0])
            default: // MOVQ xmm/m64, xmm
                if d.hasMemory { try writeMemoryOperand(d, 8, xmm(d.reg)[0]) } else { setXMM(d.rm, V128(xmm(d.reg)[0], 0)) }
            }
        case 0xD7: // PMOVMSKB r, xmm
            setReg(d.reg, opBytes(d) == 8 ? 8 : 4, byteSignMask(xmm(d.rm)))
        case 0xE7: try storeXMM(d, xmm(d.reg), aligned: true) // MOVNTDQ
        case 0xF0: setXMM(d.reg, try readMemory128(d, aligned: false)) // LDDQU
        case 0xF7: try maskedStore(d, xmm(d.reg), mask: xmm(d.rm), bytes: 16) // MASKMOVDQU
        default: throw unimplementedInstruction(d)
        }
    }

    /// Writes the 128-bit value to the xmm/m128 destination (register number in ModRM.rm).
    @inline(__always)
    func storeXMM(_ d: InstructionRef, _ v: V128, aligned: Bool) throws(CPUException) {
        if d.hasMemory { try writeMemory128(d, v, aligned: aligned) } else { setXMM(d.rm, v) }
    }

    /// Bit i = the sign bit of byte i (PMOVMSKB).
    func byteSignMask(_ v: V128) -> UInt64 {
        var m: UInt64 = 0
        for i in 0..<8 {
            m |= ((v[0] >> UInt64(i * 8 + 7)) & 1) << UInt64(i)
            m |= ((v[1] >> UInt64(i * 8 + 7)) & 1) << UInt64(i + 8)
        }
        return m
    }

    /// MASKMOVDQU/MASKMOVQ: the bytes whose mask byte has bit 7 set go to DS:rDI (segment
    /// overridable), the others are not written (SDM Vol. 2B MASKMOVDQU).
    func maskedStore(_ d: InstructionRef, _ v: V128, mask: V128, bytes: Int) throws(CPUException) {
        let asz = Int(d.addressSize) / 8
        let base = reg(7, asz)
        let seg = Int(d.segment)
        let data = u8(v), m = u8(mask)
        for i in 0..<bytes where m[i] & 0x80 != 0 {
            try write(seg, (base &+ UInt64(i)) & sizeMask(asz), 1, UInt64(data[i]))
        }
    }

    // MARK: PINSRW / PEXTRW (0F C4, C5)

    func pinsrw(_ d: InstructionRef, mmx isMMX: Bool) throws(CPUException) {
        if isMMX { try mmxCheck() } else { try sseCheck() }
        let w = d.hasMemory ? try readMemoryOperand(d, 2) : reg(d.rm, 2)
        if isMMX {
            mmxTransition()
            let shift = (d.immediate & 3) * 16
            setMMX(d.reg, (mmx(d.reg) & ~(0xFFFF << shift)) | (w << shift))
        } else {
            var x = u16(xmm(d.reg))
            x[Int(d.immediate & 7)] = UInt16(truncatingIfNeeded: w)
            setXMM(d.reg, v128(x))
        }
    }

    func pextrw(_ d: InstructionRef, mmx isMMX: Bool) throws(CPUException) {
        let w: UInt64
        if isMMX {
            try mmxCheck()
            mmxTransition()
            w = (mmx(d.rm) >> ((d.immediate & 3) * 16)) & 0xFFFF
        } else {
            try sseCheck()
            w = UInt64(u16(xmm(d.rm))[Int(d.immediate & 7)])
        }
        setReg(d.reg, opBytes(d) == 8 ? 8 : 4, w)
    }

    // MARK: SSE4.1 extract / insert (66 0F 3A 14-17, 20-22)

    func simdExtract(_ d: InstructionRef, _ op: UInt8) throws(CPUException) {
        try sseCheck()
        let a = xmm(d.reg)
        let imm = Int(d.immediate)
        let wide = opBytes(d) == 8
        var value: UInt64, size: Int
        switch op {
        case 0x14: value = UInt64(u8(a)[imm & 15]); size = 1            // PEXTRB
        case 0x15: value = UInt64(u16(a)[imm & 7]); size = 2            // PEXTRW
        case 0x16: // PEXTRD / PEXTRQ
            if wide { value = a[imm & 1]; size = 8 } else { value = UInt64(u32(a)[imm & 3]); size = 4 }
        default: value = UInt64(u32(a)[imm & 3]); size = 4              // EXTRACTPS
        }
        if d.hasMemory {
            try writeMemoryOperand(d, size, value)
        } else {
            // A register destination is zero-extended (to 64 bits with REX.W).
            setReg(d.rm, wide ? 8 : 4, value)
        }
    }

    func simdInsert(_ d: InstructionRef, _ op: UInt8) throws(CPUException) {
        try sseCheck()
        let imm = Int(d.immediate & 0xFF)
        switch op {
        case 0x20: // PINSRB
            let b = d.hasMemory ? try readMemoryOperand(d, 1) : reg(d.rm, 4) & 0xFF
            var x = u8(xmm(d.reg))
            x[imm & 15] = UInt8(truncatingIfNeeded: b)
            setXMM(d.reg, v128(x))
        case 0x21: // INSERTPS: source dword, destination dword, then the zero mask
            let s: UInt32
            if d.hasMemory {
                s = UInt32(truncatingIfNeeded: try readMemoryOperand(d, 4))
            } else {
                s = u32(xmm(d.rm))[(imm >> 6) & 3]
            }
            var x = u32(xmm(d.reg))
            x[(imm >> 4) & 3] = s
            for i in 0..<4 where imm & (1 << i) != 0 { x[i] = 0 }
            setXMM(d.reg, v128(x))
        default: // PINSRD / PINSRQ
            var a = xmm(d.reg)
            if opBytes(d) == 8 {
                a[imm & 1] = try readRM(d, 8)
            } else {
                var x = u32(a)
                x[imm & 3] = UInt32(truncatingIfNeeded: try readRM(d, 4))
                a = v128(x)
            }
            setXMM(d.reg, a)
        }
    }
}
