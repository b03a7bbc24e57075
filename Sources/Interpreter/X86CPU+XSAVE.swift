import MachineCore
import X86Decoder

/// XSAVE, XSAVEOPT, XRSTOR, XGETBV and XSETBV for the state components this CPU has: x87
/// (XCR0 bit 0) and SSE (bit 1), in the standard (non-compacted) format (SDM Vol. 1 ch. 13).
extension X86CPU {
    /// XCR0 bits that can be set.
    static let supportedXCR0: UInt64 = XCR0Bits.x87 | XCR0Bits.sse
    /// Legacy region plus the 64-byte XSAVE header; no extended components follow.
    static let xsaveAreaSize = 576

    enum XCR0Bits {
        static let x87: UInt64 = 1 << 0
        static let sse: UInt64 = 1 << 1
        static let avx: UInt64 = 1 << 2
    }

    /// Offsets in the XSAVE header (SDM Vol. 1 §13.4.2).
    enum XSaveHeader {
        static let xstateBV = 512
        static let xcompBV = 520
        /// Bytes 528-575 are reserved and must be zero for XRSTOR.
        static let reserved = 528
    }

    /// #UD without CR4.OSXSAVE, #NM with CR0.TS (SDM Vol. 2D XSAVE "Protected Mode Exceptions").
    func checkXSaveAvailable() throws(CPUException) {
        if cr4 & CR4.osxsave == 0 { throw .invalidOpcode }
        if cr0 & CR0.ts != 0 { throw CPUException(CPUException.Vector.deviceNotAvailable) }
    }

    /// The XSAVE area operand: 64-byte aligned, #GP(0) otherwise.
    func xsaveOperand(_ d: InstructionRef) throws(CPUException) -> X87Operand {
        let m = X87Operand(self, d)
        if try linearAddress(m.seg, m.offset, 64) & 63 != 0 { throw .gp() }
        return m
    }

    /// The requested-feature bitmap: XCR0 AND EDX:EAX.
    var requestedFeatures: UInt64 { xcr0 & ((reg(2, 4) << 32) | reg(0, 4)) }

    /// XSAVE and XSAVEOPT (which may skip unmodified components; saving them is allowed).
    func xsave(_ d: InstructionRef) throws(CPUException) {
        try checkXSaveAvailable()
        let m = try xsaveOperand(d)
        let rfbm = requestedFeatures
        // Probe the header first so that a fault leaves memory unchanged.
        let oldBV = try read(m.seg, m.at(XSaveHeader.xstateBV), 8)
        try write(m.seg, m.at(XSaveHeader.xstateBV), 8, oldBV)
        try storeLegacyRegion(m, wide: codeBits == 64 && d.rex & 0x08 != 0,
                              x87: rfbm & XCR0Bits.x87 != 0, sse: rfbm & XCR0Bits.sse != 0)
        // XSTATE_BV: the saved components are marked in use; bits outside RFBM keep their value.
        try write(m.seg, m.at(XSaveHeader.xstateBV), 8, (oldBV & ~rfbm) | (rfbm & X86CPU.supportedXCR0))
    }

    /// XRSTOR, standard format: components in RFBM come from memory when XSTATE_BV says so
    /// and are initialised otherwise (SDM Vol. 1 §13.8).
    func xrstor(_ d: InstructionRef) throws(CPUException) {
        try checkXSaveAvailable()
        let m = try xsaveOperand(d)
        let rfbm = requestedFeatures
        let xstateBV = try read(m.seg, m.at(XSaveHeader.xstateBV), 8)
        // The compacted form is not supported (no XSAVEC); reserved header bits must be zero.
        guard try read(m.seg, m.at(XSaveHeader.xcompBV), 8) == 0,
              try read(m.seg, m.at(XSaveHeader.reserved), 8) == 0,
              xstateBV & ~xcr0 == 0 else { throw .gp() }
        let fromMemory = rfbm & xstateBV
        var image = try readLegacyRegion(m, wide: codeBits == 64 && d.rex & 0x08 != 0,
                                         x87: fromMemory & XCR0Bits.x87 != 0, sse: rfbm & XCR0Bits.sse != 0)
        if rfbm & XCR0Bits.sse != 0 && xstateBV & XCR0Bits.sse == 0 {
            // XMM registers to their initial value; MXCSR is still loaded from memory.
            image.xmm = image.xmm.map { $0.map { _ in 0 } }
        }
        image.apply(to: self)
        if rfbm & XCR0Bits.x87 != 0 && xstateBV & XCR0Bits.x87 == 0 {
            x87Initialize()
            x87.fip = 0; x87.fdp = 0; x87.fcs = 0; x87.fds = 0; x87.fop = 0
        }
    }

    /// XSETBV (0F 01 D1): CPL 0, XCR0 only; bit 0 must stay set and only supported
    /// components may be enabled (SDM Vol. 2D XSETBV).
    func xsetbv() throws(CPUException) {
        guard cr4 & CR4.osxsave != 0 else { throw .invalidOpcode }
        guard cpl == 0, reg(1, 4) == 0 else { throw .gp() }
        let value = (reg(2, 4) << 32) | reg(0, 4)
        guard value & XCR0Bits.x87 != 0, value & ~X86CPU.supportedXCR0 == 0 else { throw .gp() }
        xcr0 = value
    }
}
