/// What the ISA data says about one instruction form (scripts/isa/opcode-maps.txt; the field
/// meanings are documented in scripts/isa/forms-format.txt). One record per form id, built once from the
/// generated packed table.
public struct FormInfo: Sendable {
    public var mnemonic: UInt16
    /// `FormAttributes` bits.
    public var attributes: UInt32
    /// Immediate kinds in encoding order (`ImmediateKind` raw values, 0 = none).
    public var immediate1: UInt8
    public var immediate2: UInt8
    /// Operand size the form requires (0 = any, else 16/32/64) and address size likewise.
    public var operandSize: UInt8
    public var addressSize: UInt8
    /// Up to five operand kinds (`OperandKind` raw values), 0 = no operand.
    public var operands: (UInt8, UInt8, UInt8, UInt8, UInt8)
    /// EVEX tuple type (1-based index into `FormInfo.tupleNames`, 0 = none).
    public var tupleType: UInt8
    /// Memory operand size and broadcast element size in bytes (0 = none).
    public var memorySize: UInt16
    public var broadcastSize: UInt8
    /// Index of the form's CPUID feature set (see `ISATables.cpuidFeatures(ofSet:)`).
    public var cpuidSet: UInt8
    /// RFLAGS (and x87 C0-C3) read, written, left undefined, cleared, set (`FlagBits`).
    public var flagsRead: UInt16
    public var flagsWritten: UInt16
    public var flagsUndefined: UInt16
    public var flagsCleared: UInt16
    public var flagsSet: UInt16
    /// 0 legacy, 1 VEX, 2 EVEX, 3 3DNow!
    public var encoding: UInt8
    /// 0 one-byte, 1 0F, 2 0F38, 3 0F3A, 5 MAP5, 6 MAP6.
    public var map: UInt8
    public var opcode: UInt8
    /// Bit 0: valid in 16-bit code, bit 1: 32-bit, bit 2: 64-bit.
    public var modes: UInt8
    /// Mandatory prefix: 0 none (66/F2/F3 keep their meaning), 1 NP, 2 66, 3 F3, 4 F2.
    public var mandatoryPrefix: UInt8

    public var operandCount: Int {
        var n = 0
        withUnsafeBytes(of: operands) { for b in $0 where b != 0 { n += 1 } }
        return n
    }

    public func operand(_ i: Int) -> OperandKind {
        let raw: UInt8
        switch i {
        case 0: raw = operands.0
        case 1: raw = operands.1
        case 2: raw = operands.2
        case 3: raw = operands.3
        case 4: raw = operands.4
        default: raw = 0
        }
        return OperandKind(rawValue: raw) ?? .none
    }

    @inline(__always) public func has(_ a: UInt32) -> Bool { attributes & a != 0 }

    public static let tupleNames = ["", "N1", "N2", "N4", "N8", "N16", "N32", "N64", "N8B4", "N16B4", "N32B4",
                                    "N64B4", "N16B8", "N32B8", "N64B8", "N4B2", "N8B2", "N16B2", "N32B2", "N64B2"]
}

/// FormInfo.attributes bits (order of isa.ATTRS in scripts/isa/isa.py, then derived bits).
public enum FormAttributes {
    public static let d64: UInt32 = 1 << 0          // 64-bit default operand size in long mode
    public static let f64: UInt32 = 1 << 1          // operand size forced to 64 in long mode
    public static let anyMod: UInt32 = 1 << 2       // ModRM.mod ignored: r/m is always a register
    public static let lock: UInt32 = 1 << 3         // LOCK allowed (with a memory destination)
    public static let xacquire: UInt32 = 1 << 4
    public static let xrelease: UInt32 = 1 << 5
    public static let rep: UInt32 = 1 << 6          // REP/REPE allowed
    public static let repne: UInt32 = 1 << 7
    public static let bnd: UInt32 = 1 << 8
    public static let notrack: UInt32 = 1 << 9
    public static let no66: UInt32 = 1 << 10
    public static let nfx: UInt32 = 1 << 11
    public static let privileged: UInt32 = 1 << 12  // CPL 0 only
    public static let uniqueRegs: UInt32 = 1 << 13
    public static let uniqueDest: UInt32 = 1 << 14
    public static let broadcast: UInt32 = 1 << 15   // EVEX.b on a memory operand = broadcast
    public static let rounding: UInt32 = 1 << 16    // EVEX.b on registers = embedded rounding
    public static let sae: UInt32 = 1 << 17         // EVEX.b on registers = suppress all exceptions
    public static let opmask: UInt32 = 1 << 18      // EVEX.aaa may name a mask
    public static let opmaskRequired: UInt32 = 1 << 19
    public static let zeroing: UInt32 = 1 << 20     // EVEX.z allowed
    public static let usesVVVV: UInt32 = 1 << 24    // an operand is encoded in VEX/EVEX.vvvv
    public static let hasModRM: UInt32 = 1 << 25
    public static let registerRM: UInt32 = 1 << 26  // ModRM.rm is a register (mod = 11 or anymod)
    public static let opcodeRegister: UInt32 = 1 << 27 // register in the opcode's low 3 bits
    public static let checkRegisters: UInt32 = 1 << 28 // a segment/control/debug/opmask/tile operand
}

/// FormInfo.immediate1/immediate2 values.
public enum ImmediateKind {
    public static let none: UInt8 = 0
    public static let imm8: UInt8 = 1
    public static let imm16: UInt8 = 2
    public static let imm32: UInt8 = 3
    public static let imm64: UInt8 = 4
    public static let moffs: UInt8 = 5     // absolute offset of the address size (A0-A3)
    public static let rel8: UInt8 = 6
    public static let rel16: UInt8 = 7
    public static let rel32: UInt8 = 8
    public static let imm8SignExtended: UInt8 = 9
    public static let imm32SignExtended: UInt8 = 10
    public static let is4: UInt8 = 11      // register number in imm8[7:4]
}

/// FormInfo flag masks (RFLAGS bits and the x87 condition codes).
public enum FlagBits {
    public static let of: UInt16 = 1 << 0, sf: UInt16 = 1 << 1, zf: UInt16 = 1 << 2, af: UInt16 = 1 << 3
    public static let cf: UInt16 = 1 << 4, pf: UInt16 = 1 << 5, df: UInt16 = 1 << 6, `if`: UInt16 = 1 << 7
    public static let ac: UInt16 = 1 << 8, uif: UInt16 = 1 << 9
    public static let c0: UInt16 = 1 << 10, c1: UInt16 = 1 << 11, c2: UInt16 = 1 << 12, c3: UInt16 = 1 << 13
}
