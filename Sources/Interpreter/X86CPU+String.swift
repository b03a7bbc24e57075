import MachineCore
import X86Decoder

/// String instructions with REP/REPE/REPNE (SDM Vol. 2B, "REP/REPE/REPZ/REPNE/REPNZ").
/// A repeated instruction runs a bounded number of iterations per step and then re-executes
/// itself (RIP is moved back), so it is interruptible and restartable as on hardware; such a
/// step also ends the run slice, so that requests are seen between runs of iterations.
extension X86CPU {
    static let stringIterationsPerStep = 4096

    func stringInstruction(_ d: InstructionRef) throws(CPUException) {
        let op = d.opcode
        let size = op & 1 == 0 ? 1 : opBytes(d)
        let asz = Int(d.addressSize) / 8
        let amask = sizeMask(asz)
        let rep = d.prefixes & (PrefixBits.rep | PrefixBits.repne) != 0
        let repne = d.prefixes & PrefixBits.repne != 0
        let step = flagsBase & RFLAGS.df != 0 ? 0 &- UInt64(size) : UInt64(size)
        let srcSeg = Int(d.segment)
        let isIO = op >= 0x6C && op <= 0x6F
        if isIO { try checkIOPermission(UInt16(reg(2, 2)), size) }
        var iterations = 0
        // With TF set the single-step trap comes after every iteration (SDM Vol. 3B §17.3.1.4).
        let oneIterationPerStep = flagsBase & RFLAGS.tf != 0
        if rep && codeBits == 64 && asz == 8 && step == UInt64(size) && !oneIterationPerStep
            && (op == 0xA4 || op == 0xA5 || op == 0xAA || op == 0xAB) {
            repeatedMoveInPages(movs: op <= 0xA5, size: size, sourceSegment: srcSeg)
        }
        while true {
            if rep && reg(1, asz) == 0 { return }
            let si = reg(6, asz), di = reg(7, asz)
            switch op {
            case 0x6C, 0x6D: // INS: ES:[rDI] from port DX
                let v = UInt64(portIn(UInt16(reg(2, 2)), size))
                try write(Seg.es, di, size, v)
                setReg(7, asz, (di &+ step) & amask)
            case 0x6E, 0x6F: // OUTS: DS:[rSI] to port DX
                let v = try read(srcSeg, si, size)
                portOut(UInt16(reg(2, 2)), size, UInt32(truncatingIfNeeded: v))
                setReg(6, asz, (si &+ step) & amask)
            case 0xA4, 0xA5: // MOVS
                let v = try read(srcSeg, si, size)
                try write(Seg.es, di, size, v)
                setReg(6, asz, (si &+ step) & amask)
                setReg(7, asz, (di &+ step) & amask)
            case 0xA6, 0xA7: // CMPS
                let a = try read(srcSeg, si, size)
                let b = try read(Seg.es, di, size)
                _ = alu(7, a, b, size)
                setReg(6, asz, (si &+ step) & amask)
                setReg(7, asz, (di &+ step) & amask)
            case 0xAA, 0xAB: // STOS
                try write(Seg.es, di, size, reg(0, size))
                setReg(7, asz, (di &+ step) & amask)
            case 0xAC, 0xAD: // LODS
                setReg(0, size, try read(srcSeg, si, size))
                setReg(6, asz, (si &+ step) & amask)
            default: // SCAS
                let b = try read(Seg.es, di, size)
                _ = alu(7, reg(0, size), b, size)
                setReg(7, asz, (di &+ step) & amask)
            }
            guard rep else { return }
            setReg(1, asz, (reg(1, asz) &- 1) & amask)
            if op == 0xA6 || op == 0xA7 || op == 0xAE || op == 0xAF {
                let zf = flag(RFLAGS.zf)
                if repne ? zf : !zf { return }
            }
            if reg(1, asz) == 0 { return }
            iterations += 1
            // A data breakpoint hit ends the step after this iteration: the #DB trap comes
            // between iterations (SDM Vol. 3B §17.3.1.2).
            if iterations >= X86CPU.stringIterationsPerStep || (isIO && sliceEnd) || dataBreakpointHit != 0
                || oneIterationPerStep {
                // Come back to this instruction: interrupts can be taken in between. RF = 1 in
                // an event frame pushed before it resumes (SDM Vol. 3A §17.3.1.1), and no
                // instruction breakpoint on the resumed instruction: the runner clears RF
                // before the next instruction.
                rip = (rip &- UInt64(d.length)) & (codeBits == 64 ? ~0 : (codeBits == 32 ? 0xFFFF_FFFF : 0xFFFF))
                flagsBase |= RFLAGS.rf
                // A bounded run of iterations ends the slice too: the engine then looks at
                // interrupt and stop requests, so one long REP (RCX = 2^30, say) delays
                // them by one run, not by a slice of such runs.
                if iterations >= X86CPU.stringIterationsPerStep { sliceEnd = true }
                return
            }
        }
    }

    /// REP MOVS / REP STOS in 64-bit mode, forward: whole runs that stay within one source
    /// and one destination page, through their software-TLB entries, at memory speed. It
    /// stops at anything else (no entry, a page end inside an element, RCX = 0, a bound on
    /// the work per step) and leaves it to the element-by-element loop, which faults and
    /// restarts as the SDM describes; the registers say how far it got, as after iterations.
    func repeatedMoveInPages(movs: Bool, size: Int, sourceSegment: Int) {
        let sourceBase = sourceSegment >= Seg.fs ? segs[sourceSegment].base : 0
        for _ in 0..<16 {
            let count = regs[1]
            guard count != 0 else { return }
            let destination = regs[7]
            guard let dst = tlb.hostAddress(destination, write: true) else { return }
            var n = min(count, (4096 - (destination & 0xFFF)) / UInt64(size))
            var src: UnsafeMutableRawPointer?
            if movs {
                let source = sourceBase &+ regs[6]
                src = tlb.hostAddress(source, write: false)
                guard src != nil else { return }
                n = min(n, (4096 - (source & 0xFFF)) / UInt64(size))
            }
            guard n > 0 else { return }
            let bytes = Int(n) * size
            if let src {
                if dst > src && dst < src + bytes {
                    // The destination overlaps the source ahead of it: element by element,
                    // each read after the writes before it, as the instruction does.
                    for k in 0..<Int(n) { storeHost(dst + k * size, size, loadHost(src + k * size, size)) }
                } else {
                    dst.copyMemory(from: src, byteCount: bytes)
                }
                regs[6] = regs[6] &+ UInt64(bytes)
            } else if size == 1 {
                dst.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: regs[0]), count: bytes)
            } else {
                let value = reg(0, size)
                for k in 0..<Int(n) { storeHost(dst + k * size, size, value) }
            }
            regs[7] = destination &+ UInt64(bytes)
            regs[1] = count &- n
        }
    }
}
