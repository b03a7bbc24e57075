import MachineCore

/// VMCALL and VMMCALL reach the platform's hypercall hook (VCPUPlatform.hypercalls): the
/// interpreter plays the part of a hypervisor's VM exit (SDM Vol. 3C §26.1.2: VMCALL in VMX
/// non-root operation exits unconditionally; AMD APM Vol. 2 §15.9, VMMCALL is intercepted).
/// Without a hook they are what they are on a CPU outside a VM: #UD.
extension X86CPU: HypercallContext {
    func hypercall(_ instruction: HypercallRegisters.Instruction) throws(CPUException) {
        guard let handler = platform.hypercalls else { throw .invalidOpcode }
        var r = HypercallRegisters(instruction: instruction, cpl: Int(cpl), longMode: codeBits == 64,
                                   rax: regs[0], rbx: regs[3], rcx: regs[1], rdx: regs[2], rsi: regs[6], rdi: regs[7],
                                   r8: regs[8], r9: regs[9], r10: regs[10])
        let outcome = handler.hypercall(&r, context: self)
        switch outcome {
        case .undefinedInstruction:
            throw .invalidOpcode
        case .handled, .handledThenBlock:
            regs[0] = r.rax; regs[3] = r.rbx; regs[1] = r.rcx; regs[2] = r.rdx; regs[6] = r.rsi; regs[7] = r.rdi
            regs[8] = r.r8; regs[9] = r.r9; regs[10] = r.r10
            // A hypercall can raise an interrupt for this vCPU (an event-channel upcall): look
            // at the interrupt controller after this instruction.
            sliceEnd = true
            if outcome == .handledThenBlock {
                // Halted after the instruction, with its own wake-up rule (InterpreterEngine).
                halted = true
                blockedInHypercall = true
            }
        }
    }

    /// Ends a hypercall's block (the engine saw an interrupt request or an NMI).
    public func wakeFromBlock() { halted = false }

    /// Translates a hypercall argument as a supervisor data access through the current page
    /// tables and the A20 gate; nil where the guest has no mapping.
    public func physicalAddress(ofLinear linear: UInt64, write: Bool) -> UInt64? {
        try? translate(linear, write ? .write : .read, user: false)
    }
}
