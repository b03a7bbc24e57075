import MachineCore

/// Decimal-arithmetic adjustments (SDM Vol. 2A, "DAA", "DAS", "AAA", "AAS", "AAM", "AAD").
/// Invalid in 64-bit mode; the decoder rejects them there.
extension X86CPU {
    func daa() {
        let oldAL = reg(0, 1)
        let oldCF = carryFlag
        var al = oldAL
        var cf = false, af = false
        if al & 0xF > 9 || flag(RFLAGS.af) {
            al = (al &+ 6) & 0xFF
            cf = oldCF || oldAL > 0xF9
            af = true
        }
        if oldAL > 0x99 || oldCF {
            al = (al &+ 0x60) & 0xFF
            cf = true
        }
        setReg(0, 1, al)
        // OF is undefined; the 286 and later Intel parts leave it as the carry into bit 7.
        let of = (oldAL & 0x80) == 0 && (al & 0x80) != 0
        setFlags(szp(al, 1) | (cf ? RFLAGS.cf : 0) | (af ? RFLAGS.af : 0) | (of ? RFLAGS.of : 0), mask: arithmeticFlagsMask)
    }

    func das() {
        let oldAL = reg(0, 1)
        let oldCF = carryFlag
        var al = oldAL
        var cf = false, af = false
        if al & 0xF > 9 || flag(RFLAGS.af) {
            cf = oldCF || al < 6
            al = (al &- 6) & 0xFF
            af = true
        }
        if oldAL > 0x99 || oldCF {
            al = (al &- 0x60) & 0xFF
            cf = true
        }
        setReg(0, 1, al)
        let of = (oldAL & 0x80) != 0 && (al & 0x80) == 0
        setFlags(szp(al, 1) | (cf ? RFLAGS.cf : 0) | (af ? RFLAGS.af : 0) | (of ? RFLAGS.of : 0), mask: arithmeticFlagsMask)
    }

    func aaa() {
        var ax = reg(0, 2)
        let adjust = ax & 0xF > 9 || flag(RFLAGS.af)
        if adjust { ax = (ax &+ 0x106) & 0xFFFF }
        setReg(0, 2, ax & 0xFF0F)
        setFlags(adjust ? RFLAGS.af | RFLAGS.cf : 0, mask: RFLAGS.af | RFLAGS.cf)
    }

    func aas() {
        var ax = reg(0, 2)
        let adjust = ax & 0xF > 9 || flag(RFLAGS.af)
        if adjust {
            // AX - 6 borrows from AH, then AH - 1 (SDM Vol. 2A, "AAS").
            ax = (ax &- 6) & 0xFFFF
            ax = (ax &- 0x100) & 0xFFFF
        }
        setReg(0, 2, ax & 0xFF0F)
        setFlags(adjust ? RFLAGS.af | RFLAGS.cf : 0, mask: RFLAGS.af | RFLAGS.cf)
    }

    func aam(_ base: UInt8) throws(CPUException) {
        guard base != 0 else { throw .divideError }
        let al = reg(0, 1)
        let ah = al / UInt64(base), newAL = al % UInt64(base)
        setReg(0, 2, (ah << 8) | newAL)
        setFlags(szp(newAL, 1), mask: arithmeticFlagsMask)
    }

    func aad(_ base: UInt8) {
        let al = reg(0, 1), ah = reg(ByteRegister.ah, 1)
        // Flags as an 8-bit ADD of AL and AH*base (what the 286 and later parts leave).
        let product = (ah &* UInt64(base)) & 0xFF
        let r = alu(0, al, product, 1)
        setReg(0, 2, r)
    }
}

enum ByteRegister {
    /// AH in the decoder's 8-bit register numbering (without REX).
    static let ah: UInt8 = 16
}
