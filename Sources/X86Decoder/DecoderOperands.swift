/// Second half of decoding: form lookup, ModRM/SIB/displacement, immediates, and the
/// validity rules that depend on the form (LOCK, VEX/EVEX.vvvv, EVEX masking/broadcast).
extension X86Decoder {
    /// disp8*N compression factors by FormInfo.tupleType (SDM Vol. 2A, 2.7.5): (N, N with EVEX.b).
    @usableFromInline static let tupleN: [(UInt8, UInt8)] = [
        (1, 1), (1, 1), (2, 2), (4, 4), (8, 8), (16, 16), (32, 32), (64, 64), (8, 4), (16, 4), (32, 4), (64, 4),
        (16, 8), (32, 8), (64, 8), (4, 2), (8, 2), (16, 2), (32, 2), (64, 2),
    ]

    /// Everything after the opcode. Inlined into both the legacy hot path (where the VEX,
    /// EVEX and 3DNow! arguments are constants and their code folds away) and `decodeEscape`.
    /// Reads are not bounds-checked (see `directMinimum`); `i > limit` at the end means the
    /// input ran out.
    @inline(__always) @usableFromInline
    func finish(_ p: UnsafePointer<UInt8>, limit: Int, i start: Int, space: Int, op opcode: UInt8, is3DNow: Bool,
                isVEX: Bool, isEVEX: Bool, mp: UInt64, aszIndex: UInt64, w: UInt64,
                lsel lselIn: UInt64, rexR: UInt8, rexX: UInt8, rexB: UInt8, rexRp: UInt8, vvvv: UInt8, vPrime: UInt8,
                evexP2: UInt8, vvvvHigh: UInt8, rex: UInt8, seg: UInt8, pfx: UInt16, into d: inout DecodedInstruction) -> Bool {
        var i = start
        var op = opcode
        let osp = pfx & PrefixBits.operandSize != 0
        let root = roots[space &* 256 &+ Int(op)]
        let hasModRM = is3DNow || root & X86Decoder.modrmBit != 0
        var modrm: UInt8 = 0
        if hasModRM {
            modrm = p[i]
            i &+= 1
        }
        let isReg = modrm >= 0xC0
        var lsel = lselIn
        // EVEX.b on a register form: L'L is the rounding control and the length is 512.
        let evexB = isEVEX && evexP2 & 0x10 != 0
        if evexB && isReg { lsel = 2 }
        let state: UInt64 = modeIndex | mp << 4 | (osp ? 1 << 8 : 0) | w << 9 | aszIndex << 16 | lsel << 20
            | (isReg ? 1 << 24 : 0) | UInt64((modrm >> 3) & 7) << 28 | UInt64(modrm & 7) << 32 | UInt64(rexB) << 36
        d.addressSize = 16 &<< UInt8(truncatingIfNeeded: aszIndex)
        d.modrm = modrm
        d.segmentOverride = seg
        d.segment = seg == Segment.none ? Segment.ds : seg
        var memDone = false
        let form: Int
        if is3DNow {
            // 3DNow!: 0F 0F ModRM [SIB] [disp] suffix; the suffix byte names the operation.
            if !isReg {
                i = memoryOperand(p, i: i, modrm: modrm, aszIndex: aszIndex, rexX: rexX, rexB: rexB,
                                  vsibHigh: 0, isVSIB: false, scale: 1, seg: seg, into: &d)
                memDone = true
            }
            op = p[i]
            i &+= 1
            form = walk(roots[4 &* 256 &+ Int(op)], state)
        } else {
            form = walk(root, state)
        }
        if form == 0 { return fail(&d, i, limit) }
        let fh = hot.advanced(by: form)
        let attrs = fh.pointee.attributes
        let flags = fh.pointee.flags
        d.opcode = op

        // Memory operand.
        let memory = hasModRM && !isReg && attrs & FormAttributes.anyMod == 0
        if memory && !memDone {
            var isVSIB = false
            if flags & (FormHot.Flag.vsib | FormHot.Flag.sibmem) != 0 {
                isVSIB = flags & FormHot.Flag.vsib != 0
                // AMX's sibmem also needs a SIB byte (SDM Vol. 2A, TILELOADD).
                if flags & FormHot.Flag.sibmem != 0 && modrm & 7 != 4 { return fail(&d, i, limit) }
                // VSIB addressing needs a SIB byte, and so 32/64-bit addressing (SDM Vol. 2A, 2.3.12).
                if isVSIB && (modrm & 7 != 4 || aszIndex == 0) { return fail(&d, i, limit) }
            }
            var scale: UInt8 = 1
            if isEVEX && modrm & 0xC0 == 0x40 {
                let t = Int(fh.pointee.tupleType)
                if t < X86Decoder.tupleN.count { scale = evexB ? X86Decoder.tupleN[t].1 : X86Decoder.tupleN[t].0 }
            }
            i = memoryOperand(p, i: i, modrm: modrm, aszIndex: aszIndex, rexX: rexX, rexB: rexB,
                              vsibHigh: isEVEX ? vPrime : 0, isVSIB: isVSIB, scale: scale, seg: seg, into: &d)
        }

        // Immediates, in encoding order.
        let imm1 = fh.pointee.immediate1
        if imm1 != 0 {
            i = immediate(p, i: i, kind: imm1, aszIndex: aszIndex, value: &d.immediate)
            let imm2 = fh.pointee.immediate2
            if imm2 != 0 {
                i = immediate(p, i: i, kind: imm2, aszIndex: aszIndex, value: &d.immediate2)
            }
        }

        // LOCK only on a lockable form with a memory destination (SDM Vol. 2A, LOCK).
        if pfx & PrefixBits.lock != 0 && (attrs & FormAttributes.lock == 0 || !memory) { return fail(&d, i, limit) }
        if isVEX || isEVEX {
            // An unused vvvv must be 1111b (stored inverted) (SDM Vol. 2A, 2.3.6 and 2.7.1).
            if attrs & FormAttributes.usesVVVV == 0 && (vvvv | vvvvHigh != 0 || vPrime != 0) { return fail(&d, i, limit) }
            if isEVEX {
                let aaa = evexP2 & 7
                // L'L = 11 is reserved unless it is a rounding control (SDM Vol. 2A, 2.7.10).
                if lselIn == 3 && !(evexB && isReg) { return fail(&d, i, limit) }
                // Zeroing needs a mask: {z} with k0 is #UD (SDM Vol. 2A, 2.7.4).
                if evexP2 & 0x80 != 0 && aaa == 0 { return fail(&d, i, limit) }
                // ... and a memory destination cannot be zeroed (SDM Vol. 2A, 2.7.4).
                if evexP2 & 0x80 != 0 && memory && flags & FormHot.Flag.memoryDestination != 0 {
                    return fail(&d, i, limit)
                }
                if aaa != 0 && attrs & FormAttributes.opmask == 0 { return fail(&d, i, limit) }
                if aaa == 0 && attrs & FormAttributes.opmaskRequired != 0 { return fail(&d, i, limit) }
                if evexP2 & 0x80 != 0 && attrs & FormAttributes.zeroing == 0 { return fail(&d, i, limit) }
                if evexB {
                    let need = isReg ? (FormAttributes.rounding | FormAttributes.sae) : FormAttributes.broadcast
                    if attrs & need == 0 { return fail(&d, i, limit) }
                }
                d.opmask = aaa
                d.evex = (evexP2 >> 7) | (evexB ? EVEXBits.b : 0)
                if evexB && isReg { d.evex |= ((evexP2 >> 5) & 3) << EVEXBits.roundingShift }
                d.vectorLength = UInt8(lsel)
            }
        }

        // Registers.
        let reg8 = rex == 0 && !isVEX && !isEVEX
        var reg = (modrm >> 3) & 7 | rexR << 3 | rexRp << 4
        var rm: UInt8
        if attrs & FormAttributes.opcodeRegister != 0 {
            rm = op & 7 | rexB << 3
        } else {
            rm = modrm & 7 | rexB << 3 | (isEVEX ? rexX << 4 : 0)
        }
        if reg8 && flags & (FormHot.Flag.reg8Reg | FormHot.Flag.reg8RM) != 0 {
            if flags & FormHot.Flag.reg8Reg != 0 && reg >= 4 { reg = Register.ah &+ reg &- 4 }
            if flags & FormHot.Flag.reg8RM != 0 && rm >= 4 && !memory { rm = Register.ah &+ rm &- 4 }
        }
        d.reg = reg
        d.rm = rm
        d.vvvv = vvvv | vPrime << 4
        if attrs & (FormAttributes.checkRegisters | FormAttributes.uniqueRegs | FormAttributes.uniqueDest) != 0 {
            if attrs & FormAttributes.checkRegisters != 0 && !registersExist(forms.advanced(by: form), &d, modrm: modrm) {
                return fail(&d, i, limit)
            }
            if attrs & FormAttributes.uniqueRegs != 0 && !registersDistinct(attrs, d, isReg: isReg) {
                return fail(&d, i, limit)
            }
            // Complex FP16 multiplies: the destination may not be a source (SDM Vol. 2A, VFMADDCPH).
            if attrs & FormAttributes.uniqueDest != 0
                && (d.reg == d.vvvv && attrs & FormAttributes.usesVVVV != 0 || isReg && d.reg == d.rm) {
                return fail(&d, i, limit)
            }
        }
        // The input ran out before the instruction did (or it is longer than 15 bytes).
        if i > limit { return fail(&d, i, limit) }

        d.operandSize = fh.pointee.operandSize(mode: modeIndex, sel: (osp ? 1 : 0) | w << 1)
        d.form = UInt16(truncatingIfNeeded: form)
        d.mnemonic = fh.pointee.mnemonic
        d.length = UInt8(truncatingIfNeeded: i)
        d.rex = rex
        d.prefixes = pfx | (flags & FormHot.Flag.mandatory != 0 ? PrefixBits.mandatory : 0)
        return true
    }

    /// Register operands whose number must name an existing register: ES-GS (not CS as a
    /// destination: MOV CS is #UD), CR0/2/3/4/8, DR0-7, K0-7, TMM0-7 (SDM Vol. 2A, MOV).
    @inline(__always) @usableFromInline
    func registersExist(_ fi: UnsafeMutablePointer<FormInfo>, _ d: inout DecodedInstruction, modrm: UInt8) -> Bool {
        for n in 0..<5 {
            let k = fi.pointee.operand(n)
            switch k {
            case .seg_reg:
                let r = (modrm >> 3) & 7
                if r > 5 || (n == 0 && r == Segment.cs) { return false }
            case .cr_reg:
                if d.reg > 8 || d.reg == 1 || (d.reg >= 5 && d.reg <= 7) { return false }
            case .dr_reg:
                if d.reg > 7 { return false }
            case .k_reg, .kp1_reg, .tmm_reg:
                if d.reg > 7 { return false }
            case .tmm_rm:
                if d.rm > 7 { return false }
            case .r32_reg, .r64_reg:
                if d.reg > 15 { return false }  // EVEX.R' names no general register
            case .r32_or_mem, .r64_or_mem, .r32_rm, .r64_rm:
                d.rm &= 15  // EVEX.X does not extend a general register
            case .k_rm:
                d.rm &= 7  // VEX.B is ignored for an opmask r/m
            case .k_vvvv, .tmm_vvvv:
                if d.vvvv > 7 { return false }
            case .none:
                return true
            default:
                break
            }
        }
        return true
    }

    /// Gathers and AMX dot products need distinct destination, index/source and mask
    /// registers (SDM Vol. 2A, VPGATHERDD: #UD if any two are the same).
    @inline(__always) @usableFromInline
    func registersDistinct(_ attrs: UInt32, _ d: DecodedInstruction, isReg: Bool) -> Bool {
        let usesV = attrs & FormAttributes.usesVVVV != 0
        if d.hasMemory {
            guard d.memoryIndex != Register.none else { return true }
            return d.reg != d.memoryIndex && !(usesV && (d.vvvv == d.reg || d.vvvv == d.memoryIndex))
        }
        return d.reg != d.rm && !(usesV && (d.vvvv == d.reg || d.vvvv == d.rm))
    }

    @inline(__always) @usableFromInline
    static func isMemoryCapable(_ k: UInt8) -> Bool {
        (k >= OperandKind.mem.rawValue && k <= OperandKind.k_or_mem.rawValue)
    }

    @inline(__always) @usableFromInline
    static func isVSIB(_ k: UInt8) -> Bool {
        k >= OperandKind.mem_vsib32x.rawValue && k <= OperandKind.mem_vsib64z.rawValue
    }

    /// Parses SIB and displacement after ModRM (SDM Vol. 2A, 2.1.5, Tables 2-1 to 2-3).
    /// Returns the new offset (unchecked: the caller compares it with the limit).
    @inline(__always) @usableFromInline
    func memoryOperand(_ p: UnsafePointer<UInt8>, i start: Int, modrm: UInt8, aszIndex: UInt64,
                       rexX: UInt8, rexB: UInt8, vsibHigh: UInt8, isVSIB: Bool, scale: UInt8, seg: UInt8,
                       into d: inout DecodedInstruction) -> Int {
        var i = start
        let mod = modrm >> 6, rm = modrm & 7
        d.hasMemory = true
        var ss = false
        if aszIndex == 0 {
            // 16-bit forms: BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (disp16 when mod=00), BX.
            let bases: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (3, 3, 5, 5, 6, 7, 5, 3)
            let idx: (UInt8, UInt8, UInt8, UInt8) = (6, 7, 6, 7)
            var dispSize = mod == 1 ? 1 : mod == 2 ? 2 : 0
            if mod == 0 && rm == 6 {
                dispSize = 2
                d.memoryBase = Register.none
            } else {
                d.memoryBase = withUnsafeBytes(of: bases) { $0[Int(rm)] }
                if rm < 4 { d.memoryIndex = withUnsafeBytes(of: idx) { $0[Int(rm)] } }
                ss = d.memoryBase == 5
            }
            if dispSize == 1 { d.displacement = Int64(Int8(bitPattern: p[i])) &* Int64(scale) } else if dispSize == 2 { d.displacement = Int64(Int16(bitPattern: UInt16(p[i]) | UInt16(p[i &+ 1]) << 8)) }
            i &+= dispSize
        } else {
            var dispSize = mod == 1 ? 1 : mod == 2 ? 4 : 0
            if rm == 4 {
                let sib = p[i]
                i &+= 1
                d.sib = sib
                d.memoryScale = 1 << (sib >> 6)
                let index = (sib >> 3) & 7 | rexX << 3
                if index != 4 || isVSIB { d.memoryIndex = index | (isVSIB ? vsibHigh << 4 : 0) }
                let b = sib & 7
                if b == 5 && mod == 0 {
                    d.memoryBase = Register.none
                    dispSize = 4
                } else {
                    d.memoryBase = b | rexB << 3
                    ss = b == 4 || b == 5
                }
            } else if rm == 5 && mod == 0 {
                dispSize = 4
                d.memoryBase = aszIndex == 2 ? Register.rip : Register.none  // RIP-relative in 64-bit mode
            } else {
                d.memoryBase = rm | rexB << 3
                ss = rm == 5
            }
            // disp8 (times N for EVEX) or disp32, read as one little-endian word and
            // sign-extended by shifting.
            let raw = UInt64(UInt32(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt32.self)))
            let shift = UInt64(64 &- 8 &* dispSize) & 63
            let value = Int64(bitPattern: raw &<< shift) &>> shift
            d.displacement = dispSize == 0 ? 0 : value &* Int64(scale)
            i &+= dispSize
        }
        if seg == Segment.none && ss { d.segment = Segment.ss }
        return i
    }

    /// Reads one immediate; returns the new offset (unchecked, as for `memoryOperand`).
    @inline(__always) @usableFromInline
    func immediate(_ p: UnsafePointer<UInt8>, i: Int, kind: UInt8, aszIndex: UInt64, value: inout UInt64) -> Int {
        // Per ImmediateKind (4 bits each): log2 of the size in bits 0-1, sign-extended in bit 2,
        // moffs (size of the address) in bit 3.
        let table: UInt64 = 0x0_0_6_4_6_5_4_8_3_2_1_0_0
        let info = (table &>> (UInt64(kind) &* 4)) & 0xF
        let log2 = info & 8 != 0 ? aszIndex &+ 1 : info & 3
        let size = 1 &<< log2
        let raw = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
        let shift = (64 &- 8 &* size) & 63
        let high = raw &<< shift
        value = info & 4 != 0 ? UInt64(bitPattern: Int64(bitPattern: high) &>> shift) : high &>> shift
        return i &+ Int(size)
    }
}
