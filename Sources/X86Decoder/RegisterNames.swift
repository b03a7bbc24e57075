/// Intel-syntax register names for the disassembler (SDM Vol. 1, 3.4 and 3.7).
enum RegisterNames {
    static let gpr64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
    static let gpr32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
                        "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"]
    static let gpr16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
                        "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"]
    /// 0-15 with REX numbering, then AH, CH, DH, BH at 16-19 (`Register.ah`).
    static let gpr8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
                       "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b", "ah", "ch", "dh", "bh"]
    static let segment = ["es", "cs", "ss", "ds", "fs", "gs"]

    static func gpr(_ n: UInt8, bits: Int) -> String {
        let i = Int(n)
        switch bits {
        case 8: return i < gpr8.count ? gpr8[i] : "?"
        case 16: return gpr16[i & 15]
        case 32: return gpr32[i & 15]
        default: return gpr64[i & 15]
        }
    }

    static func seg(_ n: UInt8) -> String { Int(n) < segment.count ? segment[Int(n)] : "?" }

    /// Intel's size keyword for a memory operand of `bytes` bytes ("" when there is none).
    static func sizeKeyword(_ bytes: Int) -> String {
        switch bytes {
        case 1: return "byte ptr "
        case 2: return "word ptr "
        case 4: return "dword ptr "
        case 6: return "fword ptr "
        case 8: return "qword ptr "
        case 10: return "tbyte ptr "
        case 16: return "xmmword ptr "
        case 32: return "ymmword ptr "
        case 64: return "zmmword ptr "
        default: return ""
        }
    }
}
