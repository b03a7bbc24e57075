/// The few facts the decoder's hot path needs about a form, packed in 16 bytes and derived
/// once from `FormInfo` (so decoding touches one small record instead of comparing operand
/// kinds and re-deriving the operand size for every instruction).
@usableFromInline
struct FormHot {
    @usableFromInline var attributes: UInt32
    @usableFromInline var mnemonic: UInt16
    /// `ImmediateKind` of the first and second immediate (0 = none).
    @usableFromInline var immediate1: UInt8
    @usableFromInline var immediate2: UInt8
    /// `FormHot.Flag` bits.
    @usableFromInline var flags: UInt8
    @usableFromInline var tupleType: UInt8
    /// Effective operand size: one byte per mode (16/32/64-bit code from bit 0), each four
    /// 2-bit codes (1 = 16, 2 = 32, 3 = 64 bits) indexed by `osp | REX.W << 1`.
    @usableFromInline var operandSizes: UInt32

    @usableFromInline enum Flag {
        /// An 8-bit ModRM.reg operand: without REX, reg 4-7 name AH-BH.
        @usableFromInline static let reg8Reg: UInt8 = 1 << 0
        /// An 8-bit r/m or opcode-register operand: without REX, 4-7 name AH-BH.
        @usableFromInline static let reg8RM: UInt8 = 1 << 1
        /// A VSIB memory operand (needs SIB and 32/64-bit addressing).
        @usableFromInline static let vsib: UInt8 = 1 << 2
        /// AMX sibmem (needs a SIB byte).
        @usableFromInline static let sibmem: UInt8 = 1 << 3
        /// The 66/F2/F3 prefix selects the form (`PrefixBits.mandatory`).
        @usableFromInline static let mandatory: UInt8 = 1 << 4
        /// The first operand can be memory (EVEX zeroing of a memory destination is #UD).
        @usableFromInline static let memoryDestination: UInt8 = 1 << 5
    }

    init(_ f: FormInfo) {
        attributes = f.attributes
        mnemonic = f.mnemonic
        immediate1 = f.immediate1
        immediate2 = f.immediate2
        tupleType = f.tupleType
        let k = [f.operands.0, f.operands.1, f.operands.2, f.operands.3, f.operands.4]
        var fl: UInt8 = 0
        if k[0] == OperandKind.r8_reg.rawValue || k[1] == OperandKind.r8_reg.rawValue { fl |= Flag.reg8Reg }
        if k[0] == OperandKind.r8_or_mem.rawValue || k[1] == OperandKind.r8_or_mem.rawValue
            || k[0] == OperandKind.r8_opcode.rawValue { fl |= Flag.reg8RM }
        if k[0...2].contains(where: X86Decoder.isVSIB) { fl |= Flag.vsib }
        if k[0] == OperandKind.sibmem.rawValue || k[1] == OperandKind.sibmem.rawValue { fl |= Flag.sibmem }
        if f.mandatoryPrefix >= 2 { fl |= Flag.mandatory }
        if X86Decoder.isMemoryCapable(k[0]) { fl |= Flag.memoryDestination }
        flags = fl
        var packed: UInt32 = 0
        for mode in 0..<3 {
            for sel in 0..<4 {
                let osp = sel & 1 != 0, w = sel & 2 != 0
                packed |= UInt32(FormHot.code(FormHot.operandSize(f, mode: mode, osp: osp, w: w))) << (8 * mode + 2 * sel)
            }
        }
        operandSizes = packed
    }

    /// Operand size (SDM Vol. 1, 3.6.1; Vol. 2A, 2.2.1.2 for 64-bit defaults); a 66 prefix
    /// that is the form's mandatory prefix does not change it.
    static func operandSize(_ f: FormInfo, mode: Int, osp: Bool, w: Bool) -> UInt8 {
        if f.operandSize != 0 { return f.operandSize }
        let osp2 = osp && f.mandatoryPrefix != 2
        switch mode {
        case 2:
            if f.attributes & FormAttributes.f64 != 0 || w { return 64 }
            if osp2 { return 16 }
            return f.attributes & FormAttributes.d64 != 0 ? 64 : 32
        case 1: return osp2 ? 16 : 32
        default: return osp2 ? 32 : 16
        }
    }

    static func code(_ size: UInt8) -> UInt8 { size == 16 ? 1 : size == 32 ? 2 : 3 }

    /// Inverse of `code`: 1/2/3 -> 16/32/64.
    @inline(__always) @usableFromInline
    static func size(_ code: UInt8) -> UInt8 { 8 &<< code }

    @inline(__always) @usableFromInline
    func operandSize(mode: UInt64, sel: UInt64) -> UInt8 {
        let code = (operandSizes &>> UInt32(truncatingIfNeeded: mode &* 8 &+ sel &* 2)) & 3
        return FormHot.size(UInt8(truncatingIfNeeded: code))
    }
}
