import MachineCore

/// Bits of the x87 status word (SDM Vol. 1 §8.1.3, Figure 8-4).
enum FSW {
    /// Invalid operation.
    static let ie: UInt16 = 1 << 0
    /// Denormal operand.
    static let de: UInt16 = 1 << 1
    /// Zero divide.
    static let ze: UInt16 = 1 << 2
    /// Overflow.
    static let oe: UInt16 = 1 << 3
    /// Underflow.
    static let ue: UInt16 = 1 << 4
    /// Precision (inexact result).
    static let pe: UInt16 = 1 << 5
    /// Stack fault (with IE; C1 tells overflow from underflow).
    static let sf: UInt16 = 1 << 6
    /// Exception summary: some unmasked exception flag is set.
    static let es: UInt16 = 1 << 7
    static let c0: UInt16 = 1 << 8
    static let c1: UInt16 = 1 << 9
    static let c2: UInt16 = 1 << 10
    /// TOP, the physical register number of ST(0), bits 11-13.
    static let topMask: UInt16 = 7 << 11
    static let c3: UInt16 = 1 << 14
    /// FPU busy; mirrors ES on processors since the 387.
    static let busy: UInt16 = 1 << 15
    /// The six exception flags IE..PE (same positions as the FCW masks).
    static let exceptions: UInt16 = 0x3F
    /// C0, C1, C2, C3.
    static let conditionCodes: UInt16 = c0 | c1 | c2 | c3
}

/// Bits of the x87 control word (SDM Vol. 1 §8.1.5, Figure 8-6).
enum FCW {
    /// The exception masks IM, DM, ZM, OM, UM, PM (bit set = masked).
    static let masks: UInt16 = 0x3F
    /// Precision control, bits 8-9: 00 = 24 bits, 10 = 53 bits, 11 = 64 bits (01 reserved).
    static let pcShift: UInt16 = 8
    /// Rounding control, bits 10-11: nearest, down, up, toward zero (SDM Vol. 1 Table 4-8).
    static let rcShift: UInt16 = 10
    /// Infinity control (bit 12): kept for compatibility with the 287, no effect.
    static let ic: UInt16 = 1 << 12
    /// The bits FLDCW keeps; bit 6 reads as one (SDM Vol. 1 Figure 8-6 "reserved").
    static let writable: UInt16 = 0x1F3F
    static let reservedOne: UInt16 = 0x0040
    /// FNINIT value: all exceptions masked, 64-bit precision, round to nearest.
    static let initial: UInt16 = 0x037F
}

/// Rounding-control values (SDM Vol. 1 Table 4-8).
enum X87Rounding {
    static let nearest: UInt16 = 0, down: UInt16 = 1, up: UInt16 = 2, towardZero: UInt16 = 3
}

/// Tag values of the full tag word (SDM Vol. 1 §8.1.7, Figure 8-7).
enum X87Tag {
    static let valid: UInt16 = 0, zero: UInt16 = 1, special: UInt16 = 2, empty: UInt16 = 3
}

/// Classification of the 80-bit format (SDM Vol. 1 §8.2.2, Table 8-3).
extension X87Register {
    /// The QNaN floating-point indefinite (SDM Vol. 1 §4.8.3.7).
    static let indefinite = X87Register(significand: 0xC000_0000_0000_0000, signExponent: 0xFFFF)
    static let integerBit: UInt64 = 1 << 63
    static let quietBit: UInt64 = 1 << 62

    @inline(__always) var sign: Bool { signExponent & 0x8000 != 0 }
    @inline(__always) var exponentField: Int32 { Int32(signExponent & 0x7FFF) }
    @inline(__always) var isZero: Bool { signExponent & 0x7FFF == 0 && significand == 0 }
    /// Denormal or pseudo-denormal (exponent 0, significand not zero).
    @inline(__always) var isDenormal: Bool { signExponent & 0x7FFF == 0 && significand != 0 }
    /// Unnormal, pseudo-NaN or pseudo-infinity: the 387 and later reject these as invalid operands.
    @inline(__always) var isUnsupported: Bool { signExponent & 0x7FFF != 0 && significand & X87Register.integerBit == 0 }
    @inline(__always) var isInfinity: Bool { signExponent & 0x7FFF == 0x7FFF && significand == X87Register.integerBit }
    @inline(__always) var isNaN: Bool {
        signExponent & 0x7FFF == 0x7FFF && significand & X87Register.integerBit != 0 && significand << 1 != 0
    }
    @inline(__always) var isSignalingNaN: Bool { isNaN && significand & X87Register.quietBit == 0 }
    /// Normal finite number (J bit set, exponent 1...0x7FFE).
    @inline(__always) var isNormal: Bool {
        let e = signExponent & 0x7FFF
        return e != 0 && e != 0x7FFF && significand & X87Register.integerBit != 0
    }
    /// Not a normal, zero or denormal number: the operation needs its special-case rules.
    @inline(__always) var isSpecial: Bool { signExponent & 0x7FFF == 0x7FFF || isUnsupported }

    /// The tag FSTENV/FSAVE report for a non-empty register.
    var tag: UInt16 {
        if isZero { return X87Tag.zero }
        return isNormal ? X87Tag.valid : X87Tag.special
    }

    @inline(__always) var negated: X87Register { X87Register(significand: significand, signExponent: signExponent ^ 0x8000) }
    @inline(__always) var quieted: X87Register { X87Register(significand: significand | X87Register.quietBit, signExponent: signExponent) }
    @inline(__always) static func zero(_ negative: Bool) -> X87Register {
        X87Register(significand: 0, signExponent: negative ? 0x8000 : 0)
    }
    @inline(__always) static func infinity(_ negative: Bool) -> X87Register {
        X87Register(significand: integerBit, signExponent: negative ? 0xFFFF : 0x7FFF)
    }

    /// The value as the host's 80-bit type (same bit layout on x86-64).
    var float80: Float80 {
        var f: Float80 = 0
        withUnsafeMutableBytes(of: &f) { p in
            p.storeBytes(of: significand, toByteOffset: 0, as: UInt64.self)
            p.storeBytes(of: signExponent, toByteOffset: 8, as: UInt16.self)
        }
        return f
    }

    init(_ f: Float80) {
        var v = f
        let (s, e) = withUnsafeBytes(of: &v) { p in
            (p.loadUnaligned(fromByteOffset: 0, as: UInt64.self), p.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        }
        self.init(significand: s, signExponent: e)
    }
}

/// The x87 control state the instructions touch all the time: control, status and tag words
/// and the last-instruction pointers. Kept behind a pointer (`X86CPU.x87`) rather than in the
/// `fpu` struct so that updates pay no exclusivity check; `fpu`'s copies of these fields are
/// only current after getState.
struct X87Control {
    var fcw: UInt16 = FCW.initial
    /// Status word including TOP (bits 11-13).
    var fsw: UInt16 = 0
    /// Full tag word, exact for every register.
    var ftw: UInt16 = 0xFFFF
    var fop: UInt16 = 0
    var fcs: UInt16 = 0
    var fds: UInt16 = 0
    var fip: UInt64 = 0
    var fdp: UInt64 = 0
}

/// A reference to the CPU's X87Control: field access through the pointer.
struct X87ControlRef {
    let p: UnsafeMutablePointer<X87Control>

    @inline(__always) var fcw: UInt16 { get { p.pointee.fcw } nonmutating set { p.pointee.fcw = newValue } }
    @inline(__always) var fsw: UInt16 { get { p.pointee.fsw } nonmutating set { p.pointee.fsw = newValue } }
    @inline(__always) var ftw: UInt16 { get { p.pointee.ftw } nonmutating set { p.pointee.ftw = newValue } }
    @inline(__always) var fop: UInt16 { get { p.pointee.fop } nonmutating set { p.pointee.fop = newValue } }
    @inline(__always) var fcs: UInt16 { get { p.pointee.fcs } nonmutating set { p.pointee.fcs = newValue } }
    @inline(__always) var fds: UInt16 { get { p.pointee.fds } nonmutating set { p.pointee.fds = newValue } }
    @inline(__always) var fip: UInt64 { get { p.pointee.fip } nonmutating set { p.pointee.fip = newValue } }
    @inline(__always) var fdp: UInt64 { get { p.pointee.fdp } nonmutating set { p.pointee.fdp = newValue } }

    static func allocate() -> X87ControlRef {
        let p = UnsafeMutablePointer<X87Control>.allocate(capacity: 1)
        p.initialize(to: X87Control())
        return X87ControlRef(p: p)
    }
}

/// The register stack: ST(i) lives in physical register (TOP + i) mod 8 (SDM Vol. 1 §8.1.2).
/// The eight registers are behind `x87Regs`; TOP stays in FSW bits 11-13 and the full tag
/// word in `x87.ftw`, kept exact on every register write so that FSTENV/FSAVE store it as is.
extension X86CPU {
    @inline(__always) var x87Top: Int { Int(x87.fsw >> 11) & 7 }

    @inline(__always) func setX87Top(_ t: Int) {
        x87.fsw = (x87.fsw & ~FSW.topMask) | (UInt16(t & 7) << 11)
    }

    @inline(__always) func stPhysical(_ i: Int) -> Int { (x87Top &+ i) & 7 }

    @inline(__always) func stIsEmpty(_ i: Int) -> Bool {
        (x87.ftw >> UInt16(stPhysical(i) &* 2)) & 3 == X87Tag.empty
    }

    @inline(__always) func st(_ i: Int) -> X87Register { x87Regs[stPhysical(i)] }

    /// Writes ST(i) and its tag.
    @inline(__always) func setST(_ i: Int, _ v: X87Register) {
        let p = stPhysical(i)
        x87Regs[p] = v
        let shift = UInt16(p &* 2)
        x87.ftw = (x87.ftw & ~(3 << shift)) | (v.tag << shift)
    }

    @inline(__always) func setPhysicalTag(_ p: Int, _ tag: UInt16) {
        let shift = UInt16(p &* 2)
        x87.ftw = (x87.ftw & ~(3 << shift)) | (tag << shift)
    }

    /// Decrements TOP and writes the new ST(0). The caller checked that ST(7) was empty.
    @inline(__always) func x87PushValue(_ v: X87Register) {
        setX87Top(x87Top &- 1)
        setST(0, v)
    }

    /// Marks ST(0) empty and increments TOP.
    @inline(__always) func x87Pop() {
        setPhysicalTag(stPhysical(0), X87Tag.empty)
        setX87Top(x87Top &+ 1)
    }

    /// Sets or clears the condition-code bits in `mask`.
    @inline(__always) func setConditionCodes(_ value: UInt16, mask: UInt16) {
        x87.fsw = (x87.fsw & ~mask) | (value & mask)
    }

    @inline(__always) func setC1(_ on: Bool) { setConditionCodes(on ? FSW.c1 : 0, mask: FSW.c1) }

    /// Records exception flags an instruction raised; an unmasked one sets ES and B so that the
    /// next waiting x87 instruction reports it (SDM Vol. 1 §8.6, §8.7).
    @inline(__always) func x87Raise(_ flags: UInt16) {
        guard flags != 0 else { return }
        x87.fsw |= flags & (FSW.exceptions | FSW.sf)
        if flags & ~x87.fcw & FCW.masks != 0 { x87.fsw |= FSW.es | FSW.busy }
    }

    /// Recomputes ES and B after FSW or FCW were loaded as a whole (FLDCW, FLDENV, FRSTOR,
    /// FXRSTOR, FNCLEX): ES is set exactly when an exception flag is set whose mask is clear.
    func x87UpdateSummary() {
        if x87.fsw & ~x87.fcw & FCW.masks != 0 {
            x87.fsw |= FSW.es | FSW.busy
        } else {
            x87.fsw &= ~(FSW.es | FSW.busy)
            if ferrAsserted {
                ferrAsserted = false
                platform.ferr?.set(false)
            }
        }
    }

    /// An unmasked invalid operation leaves the destination alone; a masked one lets the
    /// instruction deliver its default result.
    @inline(__always) var invalidMasked: Bool { x87.fcw & FSW.ie != 0 }

    /// Stack underflow: an operand register was empty. IE and SF, C1 = 0 (SDM Vol. 1 §8.5.1.1).
    /// Returns true when IE is masked and the caller should store the QNaN indefinite.
    @discardableResult
    func x87StackUnderflow() -> Bool {
        setC1(false)
        x87Raise(FSW.ie | FSW.sf)
        return invalidMasked
    }

    /// Stack overflow: a push found ST(7) in use. IE and SF, C1 = 1; the masked response pushes
    /// the QNaN indefinite.
    func x87StackOverflow() {
        setC1(true)
        x87Raise(FSW.ie | FSW.sf)
        if invalidMasked { x87PushValue(.indefinite) }
    }

    /// Pushes `v`, or takes the stack-overflow path.
    @inline(__always) func x87Push(_ v: X87Register) {
        if !stIsEmpty(7) { x87StackOverflow(); return }
        x87PushValue(v)
    }

    // MARK: state exchange with CPUState (the engines' common format)

    /// Loads the hot x87 state from `fpu` (called by setState). `fpu.st[i]` is ST(i), the
    /// order FXSAVE and KVM use; the tags of non-empty registers are recomputed.
    func loadX87State() {
        x87.p.pointee = X87Control(fcw: fpu.fcw, fsw: fpu.fsw, ftw: fpu.ftw, fop: fpu.fop & 0x7FF,
                                   fcs: fpu.fcs, fds: fpu.fds, fip: fpu.fip, fdp: fpu.fdp)
        let top = x87Top
        for i in 0..<8 {
            let v = i < fpu.st.count ? fpu.st[i] : X87Register()
            x87Regs[(top + i) & 7] = v
        }
        x87RecomputeTags()
        ferrAsserted = false
    }

    /// The x87 part of the architectural state for getState (registers in ST(i) order).
    func storeX87State(into f: inout FPUState) {
        let c = x87.p.pointee
        f.fcw = c.fcw; f.fsw = c.fsw; f.ftw = c.ftw; f.fop = c.fop
        f.fcs = c.fcs; f.fds = c.fds; f.fip = c.fip; f.fdp = c.fdp
        f.st = (0..<8).map { st($0) }
    }

    /// Keeps only empty/non-empty from the tag word and derives the rest from the register
    /// contents, as FLDENV and FRSTOR do (SDM Vol. 1 §8.1.7).
    func x87RecomputeTags() {
        var ftw: UInt16 = 0
        for p in 0..<8 {
            let shift = UInt16(p * 2)
            let t = (x87.ftw >> shift) & 3 == X87Tag.empty ? X87Tag.empty : x87Regs[p].tag
            ftw |= t << shift
        }
        x87.ftw = ftw
    }
}
