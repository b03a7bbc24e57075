import MachineCore
import X86Decoder

/// One 128-bit SIMD value as two 64-bit lanes (lane 0 = bits 63:0). Reinterpreted as other
/// SIMD lane types with `unsafeBitCast`, which is free.
typealias V128 = SIMD2<UInt64>

/// MXCSR bits (SDM Vol. 1 §10.2.3, Figure 10-3).
enum MXCSR {
    /// Exception flags: invalid, denormal, divide-by-zero, overflow, underflow, precision.
    static let ie: UInt32 = 1 << 0, de: UInt32 = 1 << 1, ze: UInt32 = 1 << 2
    static let oe: UInt32 = 1 << 3, ue: UInt32 = 1 << 4, pe: UInt32 = 1 << 5
    static let flags: UInt32 = 0x3F
    /// Denormals are zeros: denormal source operands are read as signed zeros.
    static let daz: UInt32 = 1 << 6
    /// Exception masks IM..PM, bits 7-12 (flag bit n has its mask at bit n + 7).
    static let maskShift: UInt32 = 7
    static let masks: UInt32 = 0x3F << 7
    /// Rounding control, bits 13-14 (same encoding as the x87 RC field, SDM Vol. 1 Table 4-8).
    static let rcShift: UInt32 = 13
    static let rcMask: UInt32 = 3 << 13
    /// Flush to zero: tiny results become signed zeros when underflow is masked.
    static let ftz: UInt32 = 1 << 15
    /// Power-on and FNINIT-independent reset value: all exceptions masked, round to nearest.
    static let reset: UInt32 = 0x1F80
}

/// Layout of the SIMD register file behind `X86CPU.xmmBase`: XMM0-XMM15 (16 bytes each)
/// followed by scratch slots that handlers use for operands and results, so that the host
/// floating-point code between the environment switches only touches memory (see
/// X86CPU+SSEFloat.swift for why that matters).
enum XMMFile {
    static let registerCount = 16
    /// Scratch slot numbers (used like register numbers with `xmmPointer`).
    static let source: UInt8 = 16, result: UInt8 = 17, temp: UInt8 = 18
    /// Exception flags a handler found itself while the host environment was switched.
    static let extraFlags: UInt8 = 19
    /// DPPS/DPPD products and partial sums.
    static let products: UInt8 = 20, sums: UInt8 = 21
    /// MXCSR (first four bytes): behind the pointer, so that reading it costs no dynamic
    /// exclusivity check as a stored class property would.
    static let control: UInt8 = 22
    static let slotCount = 23

    static func allocate() -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: slotCount * 16, alignment: 16)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: slotCount * 16)
        return p
    }
}

extension X86CPU {
    // MARK: register access

    @inline(__always) func xmmPointer(_ r: UInt8) -> UnsafeMutableRawPointer { xmmBase + Int(r) &* 16 }
    @inline(__always) func xmm(_ r: UInt8) -> V128 { xmmPointer(r).load(as: V128.self) }
    @inline(__always) func setXMM(_ r: UInt8, _ v: V128) { xmmPointer(r).storeBytes(of: v, as: V128.self) }

    /// MXCSR (SDM Vol. 1 §10.2.3).
    var mxcsr: UInt32 {
        @inline(__always) get { xmmPointer(XMMFile.control).load(as: UInt32.self) }
        @inline(__always) set { xmmPointer(XMMFile.control).storeBytes(of: newValue, as: UInt32.self) }
    }

    /// Loads XMM registers and MXCSR from the architectural state (setState).
    func loadSIMDState() {
        for i in 0..<XMMFile.registerCount {
            let x = i < fpu.xmm.count ? fpu.xmm[i] : 0
            setXMM(UInt8(i), V128(UInt64(truncatingIfNeeded: x), UInt64(truncatingIfNeeded: x >> 64)))
        }
        mxcsr = fpu.mxcsr & X86CPU.mxcsrMask
    }

    /// Stores XMM registers and MXCSR into the architectural state (getState).
    func storeSIMDState(into f: inout FPUState) {
        f.xmm = (0..<XMMFile.registerCount).map { i in
            let v = xmm(UInt8(i))
            return UInt128(v[1]) << 64 | UInt128(v[0])
        }
        f.mxcsr = mxcsr
    }

    /// One XMM register as the 128-bit integer FXSAVE/FXRSTOR move.
    func xmmValue(_ i: Int) -> UInt128 {
        let v = xmm(UInt8(i))
        return UInt128(v[1]) << 64 | UInt128(v[0])
    }

    func setXMMValue(_ i: Int, _ x: UInt128) {
        setXMM(UInt8(i), V128(UInt64(truncatingIfNeeded: x), UInt64(truncatingIfNeeded: x >> 64)))
    }

    // MARK: availability (SDM Vol. 3A §13.1.4 and Vol. 2 "SIMD Floating-Point Exceptions" tables)

    /// SSE instructions: #UD when CR0.EM = 1 or CR4.OSFXSR = 0, #NM when CR0.TS = 1.
    @inline(__always) func sseCheck() throws(CPUException) {
        if (cr0 & (CR0.em | CR0.ts)) | (~cr4 & CR4.osfxsr) != 0 { try sseCheckSlow() }
    }

    @inline(never) func sseCheckSlow() throws(CPUException) {
        if cr0 & CR0.em != 0 || cr4 & CR4.osfxsr == 0 { throw .invalidOpcode }
        throw CPUException(CPUException.Vector.deviceNotAvailable)
    }

    /// An unmasked SIMD floating-point exception: #XM with CR4.OSXMMEXCPT = 1, else #UD
    /// (SDM Vol. 3A §6.15, "Interrupt 19").
    func simdFloatingPointException() -> CPUException {
        cr4 & CR4.osxmmexcpt != 0 ? CPUException(CPUException.Vector.simd) : .invalidOpcode
    }

    // MARK: memory operands

    /// Linear address of the 16-byte memory operand; `aligned` forms raise #GP(0) when it is
    /// not 16-byte aligned, whatever the segment (SDM Vol. 2 MOVAPS/MOVDQA "Exceptions").
    @inline(__always)
    func simdLinear(_ d: InstructionRef, _ size: Int, aligned: Bool, write: Bool) throws(CPUException) -> UInt64 {
        let linear = try linearAddress(Int(d.segment), effectiveAddress(d), size, write: write)
        if aligned && linear & 15 != 0 { throw .gp() }
        return linear
    }

    /// The address of the upper half, wrapping at 4 GiB outside 64-bit mode.
    @inline(__always) func simdNext(_ linear: UInt64, _ k: UInt64) -> UInt64 {
        codeBits == 64 ? linear &+ k : (linear &+ k) & 0xFFFF_FFFF
    }

    func readMemory128(_ d: InstructionRef, aligned: Bool) throws(CPUException) -> V128 {
        let linear = try simdLinear(d, 16, aligned: aligned, write: false)
        let lo = try readLinear(linear, 8)
        let hi = try readLinear(simdNext(linear, 8), 8)
        return V128(lo, hi)
    }

    func writeMemory128(_ d: InstructionRef, _ v: V128, aligned: Bool) throws(CPUException) {
        let linear = try simdLinear(d, 16, aligned: aligned, write: true)
        if linear & 0xFFF > 0xFF0 {
            // Crossing a page: check both pages first so that a fault leaves memory unchanged.
            _ = try translate(linear, .write, user: userAccess)
            _ = try translate(simdNext(linear, 15), .write, user: userAccess)
        }
        try writeLinear(linear, 8, v[0])
        try writeLinear(simdNext(linear, 8), 8, v[1])
    }

    /// The full 128-bit xmm/m128 source operand (`Wx`).
    @inline(__always)
    func sseSource(_ d: InstructionRef, aligned: Bool = true) throws(CPUException) -> V128 {
        if !d.hasMemory { return xmm(d.rm) }
        return try readMemory128(d, aligned: aligned)
    }

    /// An xmm/m32, xmm/m64 (...) source: the register whole, or `bytes` of memory zero-extended
    /// (scalar and narrow operands have no alignment requirement).
    @inline(__always)
    func sseSourceLow(_ d: InstructionRef, _ bytes: Int) throws(CPUException) -> V128 {
        if !d.hasMemory { return xmm(d.rm) }
        return V128(try readMemoryOperand(d, bytes), 0)
    }
}

// MARK: lane views

@inline(__always) func lanes<T: SIMD>(_ v: V128, _: T.Type) -> T { unsafeBitCast(v, to: T.self) }
@inline(__always) func v128<T: SIMD>(_ x: T) -> V128 { unsafeBitCast(x, to: V128.self) }
@inline(__always) func u8(_ v: V128) -> SIMD16<UInt8> { unsafeBitCast(v, to: SIMD16<UInt8>.self) }
@inline(__always) func i8(_ v: V128) -> SIMD16<Int8> { unsafeBitCast(v, to: SIMD16<Int8>.self) }
@inline(__always) func u16(_ v: V128) -> SIMD8<UInt16> { unsafeBitCast(v, to: SIMD8<UInt16>.self) }
@inline(__always) func i16(_ v: V128) -> SIMD8<Int16> { unsafeBitCast(v, to: SIMD8<Int16>.self) }
@inline(__always) func u32(_ v: V128) -> SIMD4<UInt32> { unsafeBitCast(v, to: SIMD4<UInt32>.self) }
@inline(__always) func i32(_ v: V128) -> SIMD4<Int32> { unsafeBitCast(v, to: SIMD4<Int32>.self) }
@inline(__always) func i64(_ v: V128) -> SIMD2<Int64> { unsafeBitCast(v, to: SIMD2<Int64>.self) }
