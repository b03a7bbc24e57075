/// One decoded instruction: a flat value type (no references, no arrays) holding what the
/// interpreter needs to execute it. Which fields are meaningful depends on the form's operand
/// kinds (`ISATables.shared.forms[form]`).
///
/// Register numbers: general registers 0-15 (RAX..R15, with REX); 8-bit registers without a
/// REX prefix use 16-19 for AH, CH, DH, BH. Vector registers 0-31, opmask 0-7, segment
/// registers 0-5 (ES CS SS DS FS GS), control/debug registers 0-15, ST(i) 0-7.
public struct DecodedInstruction: Sendable {
    /// Form id (`FormID`), 0 when the bytes are not a valid instruction.
    public var form: UInt16 = 0
    public var mnemonic: UInt16 = 0
    /// Bytes consumed (for an invalid encoding: how far the decoder read, at least 1).
    public var length: UInt8 = 0
    /// Code bitness the instruction was decoded in (16, 32 or 64).
    public var bitness: UInt8 = 0
    /// Effective operand size in bits (16, 32 or 64).
    public var operandSize: UInt8 = 0
    /// Effective address size in bits (16, 32 or 64).
    public var addressSize: UInt8 = 0
    /// `PrefixBits` seen.
    public var prefixes: UInt16 = 0
    /// Raw REX byte (0 when none applied).
    public var rex: UInt8 = 0
    /// Segment register of the memory operand (the override, else the default).
    public var segment: UInt8 = Segment.ds
    /// Segment override prefix that applies, or `Segment.none`.
    public var segmentOverride: UInt8 = Segment.none
    /// The opcode byte (for VEX/EVEX the byte after the prefix; for 3DNow! the suffix).
    public var opcode: UInt8 = 0
    public var modrm: UInt8 = 0
    public var sib: UInt8 = 0
    /// ModRM.reg extended by REX.R / VEX.R / EVEX.R'.
    public var reg: UInt8 = 0
    /// ModRM.rm register (mod = 11) or the opcode's low 3 bits, extended by REX.B / EVEX.X.
    public var rm: UInt8 = 0
    /// VEX/EVEX.vvvv (with EVEX.V'), decoded (not inverted).
    public var vvvv: UInt8 = 0
    /// EVEX.aaa opmask register.
    public var opmask: UInt8 = 0
    /// VEX.L / EVEX.L'L: 0 = 128, 1 = 256, 2 = 512 bits.
    public var vectorLength: UInt8 = 0
    /// `EVEXBits`.
    public var evex: UInt8 = 0
    /// Memory operand: base register, `Register.none` or `Register.rip`.
    public var memoryBase: UInt8 = Register.none
    public var memoryIndex: UInt8 = Register.none
    public var memoryScale: UInt8 = 1
    public var hasMemory: Bool = false
    /// Displacement, sign-extended (EVEX disp8 already scaled by N).
    public var displacement: Int64 = 0
    /// First immediate (sign-extended where the encoding says so; relative branches hold the
    /// signed displacement), moffs offset, or far pointer offset.
    public var immediate: UInt64 = 0
    /// Second immediate: ENTER's imm8, or a far pointer's selector.
    public var immediate2: UInt64 = 0

    public init() {}

    public var isValid: Bool { form != 0 }
}

public enum PrefixBits {
    public static let lock: UInt16 = 1 << 0
    public static let rep: UInt16 = 1 << 1        // F3
    public static let repne: UInt16 = 1 << 2      // F2
    public static let operandSize: UInt16 = 1 << 3 // 66
    public static let addressSize: UInt16 = 1 << 4 // 67
    public static let rex: UInt16 = 1 << 5
    public static let vex: UInt16 = 1 << 6
    public static let evex: UInt16 = 1 << 7
    public static let segment: UInt16 = 1 << 8
    /// The 66/F2/F3 prefix selected the form (mandatory prefix) rather than acting as itself.
    public static let mandatory: UInt16 = 1 << 9
}

public enum EVEXBits {
    public static let z: UInt8 = 1 << 0           // zeroing masking
    public static let b: UInt8 = 1 << 1           // broadcast / rounding / SAE
    /// Embedded rounding control (L'L when b is set on a register form), bits 2-3.
    public static let roundingShift: UInt8 = 2
}

public enum Segment {
    public static let es: UInt8 = 0, cs: UInt8 = 1, ss: UInt8 = 2, ds: UInt8 = 3, fs: UInt8 = 4, gs: UInt8 = 5
    public static let none: UInt8 = 0xFF
}

public enum Register {
    public static let none: UInt8 = 0xFF
    public static let rip: UInt8 = 0x10
    /// First of AH, CH, DH, BH in 8-bit register numbering without REX.
    public static let ah: UInt8 = 16
}
