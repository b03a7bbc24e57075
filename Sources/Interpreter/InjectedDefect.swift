import MachineCore

/// Deliberate interpreter defects, for proving that the conformance suite catches a wrong
/// result (its self-test). The choice is made when an instruction is decoded
/// (`classifyFastPath`), so a correct interpreter pays nothing per executed instruction.
public enum InjectedDefect: Sendable {
    case none
    /// ADD r/m16/32/64, reg (opcode 01) produces the inverted carry flag.
    case addCarryFlip
}

extension X86CPU {
    /// ADD r/m, reg with CF inverted (`InjectedDefect.addCarryFlip`).
    @inline(never)
    func executeDefectiveAdd(_ d: InstructionRef, _ size: Int) throws(CPUException) {
        try aluRMRegOperation(d, size, 0)
        let flags = rflags
        setFlags(flags ^ RFLAGS.cf, mask: RFLAGS.cf)
    }
}
