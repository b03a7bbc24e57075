/// Second half of decoding: form lookup, ModRM/SIB/displacement, immediates, and the
/// validity rules that depend on the form (LOCK, VEX/EVEX.vvvv, EVEX masking/broadcast).
extension X86Decoder {
    /// disp8*N compression factors by FormInfo.tupleType (SDM Vol. 2A, 2.7.5): (N, N with EVEX.b).
    @usableFromInline static let tupleN: [(UInt8, UInt8)] = [
        (1, 1), (1, 1), (2, 2), (4, 4), (8, 8), (16, 16), (32, 32), (64, 64), (8, 4), (16, 4), (32, 4), (64, 4),
        (16, 8), (32, 8), (64, 8), (4, 2), (8, 2), (16, 2), (32, 2), (64, 2),
    ]

    @inline(__always) @usableFromInline
    func finish(_ p: UnsafePointer<UInt8>, limit: Int, i start: Int, space: Int, op opcode: UInt8, is3DNow: Bool,
                isVEX: Bool, isEVEX: Bool, mp: UInt64, osp: Bool, asp: Bool, lock: Bool, aszIndex: UInt64, w: UInt64,
                lsel lselIn: UInt64, rexR: UInt8, rexX: UInt8, rexB: UInt8, rexRp: UInt8, vvvv: UInt8, vPrime: UInt8,
                evexP2: UInt8, vvvvHigh: UInt8, rex: UInt8, seg: UInt8, pfx: UInt16, into d: inout DecodedInstruction) -> Bool {
        var i = start
        var op = opcode
        let rootBase = Int(modeIndex) &* (13 &* 256)
        let root = roots[rootBase &+ space &* 256 &+ Int(op)]
        let hasModRM = is3DNow || root & X86Decoder.modrmBit != 0
        var modrm: UInt8 = 0
        if hasModRM {
            if i >= limit { return fail(&d, i + 1, limit) }
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
        d.addressSize = aszIndex == 0 ? 16 : aszIndex == 1 ? 32 : 64
        d.modrm = modrm
        d.segmentOverride = seg
        d.segment = seg == Segment.none ? Segment.ds : seg
        var memDone = false
        let form: Int
        if is3DNow {
            // 3DNow!: 0F 0F ModRM [SIB] [disp] suffix; the suffix byte names the operation.
            if !isReg {
                i = memoryOperand(p, limit: limit, i: i, modrm: modrm, aszIndex: aszIndex, rexX: rexX, rexB: rexB,
                                  vsibHigh: 0, isVSIB: false, scale: 1, seg: seg, into: &d)
                if i < 0 { return fail(&d, -i, limit) }
                memDone = true
            }
            if i >= limit { return fail(&d, i + 1, limit) }
            op = p[i]
            i &+= 1
            form = walk(roots[rootBase &+ 4 &* 256 &+ Int(op)], state)
        } else {
            form = walk(root, state)
        }
        if form == 0 { return fail(&d, i, limit) }
        let fi = forms.advanced(by: form)
        let attrs = fi.pointee.attributes
        d.opcode = op

        // Memory operand.
        let memory = hasModRM && !isReg && attrs & FormAttributes.anyMod == 0
        if memory && !memDone {
            let k0 = fi.pointee.operands.0, k1 = fi.pointee.operands.1, k2 = fi.pointee.operands.2
            let isVSIB = X86Decoder.isVSIB(k0) || X86Decoder.isVSIB(k1) || X86Decoder.isVSIB(k2)
            // AMX's sibmem also needs a SIB byte (SDM Vol. 2A, TILELOADD).
            if (k0 == OperandKind.sibmem.rawValue || k1 == OperandKind.sibmem.rawValue) && modrm & 7 != 4 {
                return fail(&d, i, limit)
            }
            var scale: UInt8 = 1
            if isEVEX && modrm & 0xC0 == 0x40 {
                let t = Int(fi.pointee.tupleType)
                if t < X86Decoder.tupleN.count { scale = evexB ? X86Decoder.tupleN[t].1 : X86Decoder.tupleN[t].0 }
            }
            // VSIB addressing needs a SIB byte, and so 32/64-bit addressing (SDM Vol. 2A, 2.3.12).
            if isVSIB && (modrm & 7 != 4 || aszIndex == 0) { return fail(&d, i, limit) }
            i = memoryOperand(p, limit: limit, i: i, modrm: modrm, aszIndex: aszIndex, rexX: rexX, rexB: rexB,
                              vsibHigh: isEVEX ? vPrime : 0, isVSIB: isVSIB, scale: scale, seg: seg, into: &d)
            if i < 0 { return fail(&d, -i, limit) }
        }

        // Immediates, in encoding order.
        let imm1 = fi.pointee.immediate1
        if imm1 != 0 {
            i = immediate(p, limit: limit, i: i, kind: imm1, aszIndex: aszIndex, value: &d.immediate)
            if i < 0 { return fail(&d, -i, limit) }
            let imm2 = fi.pointee.immediate2
            if imm2 != 0 {
                i = immediate(p, limit: limit, i: i, kind: imm2, aszIndex: aszIndex, value: &d.immediate2)
                if i < 0 { return fail(&d, -i, limit) }
            }
        }

        // LOCK only on a lockable form with a memory destination (SDM Vol. 2A, LOCK).
        if lock && (attrs & FormAttributes.lock == 0 || !memory) { return fail(&d, i, limit) }
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
                if evexP2 & 0x80 != 0 && memory && X86Decoder.isMemoryCapable(fi.pointee.operands.0) {
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
        d.reg = (modrm >> 3) & 7 | rexR << 3 | rexRp << 4
        if attrs & FormAttributes.opcodeRegister != 0 {
            d.rm = op & 7 | rexB << 3
        } else {
            d.rm = modrm & 7 | rexB << 3 | (isEVEX ? rexX << 4 : 0)
        }
        if reg8 {
            let k0 = fi.pointee.operands.0, k1 = fi.pointee.operands.1
            if (k0 == OperandKind.r8_reg.rawValue || k1 == OperandKind.r8_reg.rawValue) && d.reg >= 4 {
                d.reg = Register.ah &+ d.reg &- 4
            }
            if (k0 == OperandKind.r8_or_mem.rawValue || k1 == OperandKind.r8_or_mem.rawValue
                || k0 == OperandKind.r8_opcode.rawValue) && d.rm >= 4 && !memory {
                d.rm = Register.ah &+ d.rm &- 4
            }
        }
        d.vvvv = vvvv | vPrime << 4
        if attrs & FormAttributes.checkRegisters != 0 && !registersExist(fi, &d, modrm: modrm) {
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

        // Operand size (SDM Vol. 1, 3.6.1; Vol. 2A, 2.2.1.2 for 64-bit defaults).
        var os = fi.pointee.operandSize
        if os == 0 {
            let osp2 = osp && fi.pointee.mandatoryPrefix != 2
            switch modeIndex {
            case 2:
                if attrs & FormAttributes.f64 != 0 || w != 0 { os = 64 } else if osp2 { os = 16 } else if attrs & FormAttributes.d64 != 0 { os = 64 } else { os = 32 }
            case 1: os = osp2 ? 16 : 32
            default: os = osp2 ? 32 : 16
            }
        }
        d.operandSize = os
        d.form = UInt16(truncatingIfNeeded: form)
        d.mnemonic = fi.pointee.mnemonic
        d.length = UInt8(truncatingIfNeeded: i)
        d.rex = rex
        d.prefixes = pfx | (fi.pointee.mandatoryPrefix >= 2 ? PrefixBits.mandatory : 0)
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
    /// Returns the new offset, or minus the bytes needed when the input runs out.
    @inline(__always) @usableFromInline
    func memoryOperand(_ p: UnsafePointer<UInt8>, limit: Int, i start: Int, modrm: UInt8, aszIndex: UInt64,
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
            if i &+ dispSize > limit { return -(i &+ dispSize) }
            if dispSize == 1 { d.displacement = Int64(Int8(bitPattern: p[i])) &* Int64(scale) } else if dispSize == 2 { d.displacement = Int64(Int16(bitPattern: UInt16(p[i]) | UInt16(p[i &+ 1]) << 8)) }
            i &+= dispSize
        } else {
            var dispSize = mod == 1 ? 1 : mod == 2 ? 4 : 0
            if rm == 4 {
                if i >= limit { return -(i &+ 1) }
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
            if i &+ dispSize > limit { return -(i &+ dispSize) }
            if dispSize == 1 {
                d.displacement = Int64(Int8(bitPattern: p[i])) &* Int64(scale)
            } else if dispSize == 4 {
                let v = UInt32(p[i]) | UInt32(p[i &+ 1]) << 8 | UInt32(p[i &+ 2]) << 16 | UInt32(p[i &+ 3]) << 24
                d.displacement = Int64(Int32(bitPattern: v))
            }
            i &+= dispSize
        }
        if seg == Segment.none && ss { d.segment = Segment.ss }
        return i
    }

    /// Reads one immediate. Returns the new offset, or minus the bytes needed.
    @inline(__always) @usableFromInline
    func immediate(_ p: UnsafePointer<UInt8>, limit: Int, i: Int, kind: UInt8, aszIndex: UInt64, value: inout UInt64) -> Int {
        let size: Int
        switch kind {
        case ImmediateKind.imm8, ImmediateKind.rel8, ImmediateKind.imm8SignExtended, ImmediateKind.is4: size = 1
        case ImmediateKind.imm16, ImmediateKind.rel16: size = 2
        case ImmediateKind.imm32, ImmediateKind.rel32, ImmediateKind.imm32SignExtended: size = 4
        case ImmediateKind.imm64: size = 8
        default: size = aszIndex == 0 ? 2 : aszIndex == 1 ? 4 : 8  // moffs
        }
        if i &+ size > limit { return -(i &+ size) }
        var v: UInt64 = 0
        for k in 0..<size { v |= UInt64(p[i &+ k]) << (8 &* UInt64(k)) }
        switch kind {
        case ImmediateKind.rel8, ImmediateKind.imm8SignExtended: v = UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: v)))
        case ImmediateKind.rel16: v = UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: v)))
        case ImmediateKind.rel32, ImmediateKind.imm32SignExtended: v = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v)))
        default: break
        }
        value = v
        return i &+ size
    }
}
