/// A segment register with its hidden descriptor cache (SDM Vol. 3A §3.4.3).
public struct SegmentRegister: Equatable, Sendable {
    public var selector: UInt16 = 0
    public var base: UInt64 = 0
    /// Limit in bytes (already scaled by G), as the descriptor cache holds it.
    public var limit: UInt32 = 0xFFFF
    /// Descriptor type field (bits 8..11 of the descriptor's high dword).
    public var type: UInt8 = 0
    /// S: 1 for code/data, 0 for system segments.
    public var s: Bool = true
    public var dpl: UInt8 = 0
    public var present: Bool = true
    public var avl: Bool = false
    /// L: 64-bit code segment.
    public var l: Bool = false
    /// D/B: default operation size 32 (code) or big (stack).
    public var db: Bool = false
    /// G: limit granularity, kept for round trips (the limit is already scaled).
    public var g: Bool = false
    /// The register holds a null selector (or was never loaded) in protected mode.
    public var unusable: Bool = false

    public init(selector: UInt16 = 0, base: UInt64 = 0, limit: UInt32 = 0xFFFF, type: UInt8 = 0, s: Bool = true,
                dpl: UInt8 = 0, present: Bool = true, avl: Bool = false, l: Bool = false, db: Bool = false,
                g: Bool = false, unusable: Bool = false) {
        self.selector = selector; self.base = base; self.limit = limit; self.type = type; self.s = s
        self.dpl = dpl; self.present = present; self.avl = avl; self.l = l; self.db = db; self.g = g
        self.unusable = unusable
    }

    /// A real-mode segment: base = selector * 16, 64 KiB limit, read/write (accessed) data or
    /// execute/read code, as after a far jump in real mode.
    public static func realMode(_ selector: UInt16, code: Bool = false) -> SegmentRegister {
        SegmentRegister(selector: selector, base: UInt64(selector) << 4, limit: 0xFFFF, type: code ? 0xB : 0x3)
    }

    /// A flat 4 GiB segment for protected/long mode.
    public static func flat(selector: UInt16, code: Bool, longMode: Bool = false) -> SegmentRegister {
        SegmentRegister(selector: selector, base: 0, limit: 0xFFFF_FFFF, type: code ? 0xB : 0x3, s: true, dpl: 0,
                        present: true, l: code && longMode, db: !(code && longMode), g: true)
    }

    /// The access-rights word in the layout of VMX's segment AR fields (SDM Vol. 3C §24.4.1):
    /// type 0..3, S 4, DPL 5..6, P 7, AVL 12, L 13, D/B 14, G 15, unusable 16.
    public var accessRights: UInt32 {
        get {
            var ar = UInt32(type & 0xF)
            if s { ar |= 1 << 4 }
            ar |= UInt32(dpl & 3) << 5
            if present { ar |= 1 << 7 }
            if avl { ar |= 1 << 12 }
            if l { ar |= 1 << 13 }
            if db { ar |= 1 << 14 }
            if g { ar |= 1 << 15 }
            if unusable { ar |= 1 << 16 }
            return ar
        }
        set {
            type = UInt8(newValue & 0xF); s = newValue & (1 << 4) != 0; dpl = UInt8((newValue >> 5) & 3)
            present = newValue & (1 << 7) != 0; avl = newValue & (1 << 12) != 0; l = newValue & (1 << 13) != 0
            db = newValue & (1 << 14) != 0; g = newValue & (1 << 15) != 0; unusable = newValue & (1 << 16) != 0
        }
    }
}

/// GDTR / IDTR.
public struct DescriptorTableRegister: Equatable, Sendable {
    public var base: UInt64 = 0
    public var limit: UInt16 = 0xFFFF
    public init(base: UInt64 = 0, limit: UInt16 = 0xFFFF) { self.base = base; self.limit = limit }
}

/// One x87 data register in the 80-bit extended format (SDM Vol. 1 §4.2.2).
public struct X87Register: Equatable, Sendable {
    public var significand: UInt64 = 0
    /// Sign in bit 15, biased exponent in bits 0..14.
    public var signExponent: UInt16 = 0
    public init(significand: UInt64 = 0, signExponent: UInt16 = 0) {
        self.significand = significand; self.signExponent = signExponent
    }
}

/// x87, MMX, SSE and AVX state, in the terms of the FXSAVE/XSAVE layouts (SDM Vol. 1 §10.5, §13).
public struct FPUState: Equatable, Sendable {
    public var fcw: UInt16 = 0x037F
    public var fsw: UInt16 = 0
    /// Full tag word (two bits per register; 0xFFFF = all empty).
    public var ftw: UInt16 = 0xFFFF
    public var fop: UInt16 = 0
    public var fip: UInt64 = 0
    public var fcs: UInt16 = 0
    public var fdp: UInt64 = 0
    public var fds: UInt16 = 0
    /// ST0..ST7 in physical register order R0..R7 as FXSAVE stores them (relative to TOP).
    public var st: [X87Register] = Array(repeating: X87Register(), count: 8)
    public var mxcsr: UInt32 = 0x1F80
    /// XMM0..XMM15.
    public var xmm: [UInt128] = Array(repeating: 0, count: 16)
    /// Upper halves of YMM0..YMM15 (AVX state component 2).
    public var ymmHigh: [UInt128] = Array(repeating: 0, count: 16)
    /// XCR0 (which state components XSAVE manages).
    public var xcr0: UInt64 = 1

    public init() {}
}

/// Model-specific registers that the architecture state carries (SDM Vol. 4).
public struct ModelSpecificRegisters: Equatable, Sendable {
    public var efer: UInt64 = 0
    public var star: UInt64 = 0
    public var lstar: UInt64 = 0
    public var cstar: UInt64 = 0
    public var sfmask: UInt64 = 0
    public var kernelGSBase: UInt64 = 0
    public var sysenterCS: UInt64 = 0
    public var sysenterESP: UInt64 = 0
    public var sysenterEIP: UInt64 = 0
    /// Power-on value of IA32_PAT (SDM Vol. 3A §11.12.4).
    public var pat: UInt64 = 0x0007_0406_0007_0406
    public var tsc: UInt64 = 0
    /// IA32_APIC_BASE: base 0xFEE00000, enabled, BSP (SDM Vol. 3A §10.4.4).
    public var apicBase: UInt64 = 0xFEE0_0900
    public var miscEnable: UInt64 = 1
    public var tscAux: UInt64 = 0
    /// IA32_MTRR_DEF_TYPE: disabled at power-on (SDM Vol. 3A §12.11.2.1); firmware enables it.
    public var mtrrDefType: UInt64 = 0
    /// IA32_MTRR_PHYSBASE0/PHYSMASK0 ... 7, in MSR order (0x200-0x20F).
    public var mtrrVariable: [UInt64] = Array(repeating: 0, count: 2 * MTRR.variableCount)
    /// The eleven fixed-range MTRRs in `MTRR.fixedMSRs` order.
    public var mtrrFixed: [UInt64] = Array(repeating: 0, count: MTRR.fixedMSRs.count)
    public init() {}
}

/// Memory type range registers (SDM Vol. 3A §12.11).
public enum MTRR {
    /// IA32_MTRRCAP (read-only): eight variable ranges, fixed ranges and write-combining supported.
    public static let capabilityMSR: UInt32 = 0xFE
    public static let variableCount = 8
    public static let capability: UInt64 = UInt64(variableCount) | (1 << 8) | (1 << 10)
    public static let defTypeMSR: UInt32 = 0x2FF
    public static let variableFirstMSR: UInt32 = 0x200
    public static let fixedMSRs: [UInt32] = [0x250, 0x258, 0x259, 0x268, 0x269, 0x26A, 0x26B, 0x26C, 0x26D, 0x26E, 0x26F]
    /// IA32_MTRR_DEF_TYPE: MTRRs enabled (E), default type write-back, as firmware leaves them.
    public static let firmwareDefType: UInt64 = (1 << 11) | 6
}

/// Well-known MSR numbers (SDM Vol. 4, Table 2-2).
public enum MSR {
    public static let tsc: UInt32 = 0x10
    public static let apicBase: UInt32 = 0x1B
    public static let sysenterCS: UInt32 = 0x174
    public static let sysenterESP: UInt32 = 0x175
    public static let sysenterEIP: UInt32 = 0x176
    public static let miscEnable: UInt32 = 0x1A0
    /// IA32_BIOS_SIGN_ID: the microcode revision in bits 63:32 (no microcode here: 0).
    public static let biosSignID: UInt32 = 0x8B
    /// IA32_MCG_CAP and IA32_MCG_STATUS: machine check with no error-reporting banks.
    public static let mcgCap: UInt32 = 0x179
    public static let mcgStatus: UInt32 = 0x17A
    /// IA32_PLATFORM_ID (read-only): the platform in bits 52:50, which microcode loaders
    /// (Linux, Xen, Windows) read unguarded on every Intel family 6 part (SDM Vol. 4 Table 2-2).
    public static let platformID: UInt32 = 0x17
    /// MSR_PLATFORM_INFO (read-only, every Intel core since Nehalem, SDM Vol. 4 Table 2-12 on):
    /// the maximum non-turbo ratio in bits 15:8, the minimum in 47:40; bit 31 (CPUID faulting)
    /// and the others clear.
    public static let platformInfo: UInt32 = 0xCE
    /// IA32_DEBUGCTL (architectural since the P6 family): LBR, BTF and the rest, all off here.
    public static let debugCtl: UInt32 = 0x1D9
    public static let pat: UInt32 = 0x277
    public static let efer: UInt32 = 0xC000_0080
    public static let star: UInt32 = 0xC000_0081
    public static let lstar: UInt32 = 0xC000_0082
    public static let cstar: UInt32 = 0xC000_0083
    public static let sfmask: UInt32 = 0xC000_0084
    public static let fsBase: UInt32 = 0xC000_0100
    public static let gsBase: UInt32 = 0xC000_0101
    public static let kernelGSBase: UInt32 = 0xC000_0102
    public static let tscAux: UInt32 = 0xC000_0103
}

/// Architectural bits the loaders and engines name (SDM Vol. 3A §2.5, §2.2.1).
public enum CR0 {
    public static let pe: UInt64 = 1 << 0
    public static let mp: UInt64 = 1 << 1
    public static let em: UInt64 = 1 << 2
    public static let ts: UInt64 = 1 << 3
    public static let et: UInt64 = 1 << 4
    public static let ne: UInt64 = 1 << 5
    public static let wp: UInt64 = 1 << 16
    public static let am: UInt64 = 1 << 18
    public static let nw: UInt64 = 1 << 29
    public static let cd: UInt64 = 1 << 30
    public static let pg: UInt64 = 1 << 31
}

public enum CR4 {
    public static let vme: UInt64 = 1 << 0
    public static let pvi: UInt64 = 1 << 1
    public static let tsd: UInt64 = 1 << 2
    public static let de: UInt64 = 1 << 3
    public static let pse: UInt64 = 1 << 4
    public static let pae: UInt64 = 1 << 5
    public static let mce: UInt64 = 1 << 6
    public static let pge: UInt64 = 1 << 7
    public static let pce: UInt64 = 1 << 8
    public static let osfxsr: UInt64 = 1 << 9
    public static let osxmmexcpt: UInt64 = 1 << 10
    public static let fsgsbase: UInt64 = 1 << 16
    public static let osxsave: UInt64 = 1 << 18
    public static let smep: UInt64 = 1 << 20
    public static let smap: UInt64 = 1 << 21
}

public enum EFER {
    public static let sce: UInt64 = 1 << 0
    public static let lme: UInt64 = 1 << 8
    public static let lma: UInt64 = 1 << 10
    public static let nxe: UInt64 = 1 << 11
}

public enum RFLAGS {
    public static let cf: UInt64 = 1 << 0
    public static let reserved1: UInt64 = 1 << 1
    public static let pf: UInt64 = 1 << 2
    public static let af: UInt64 = 1 << 4
    public static let zf: UInt64 = 1 << 6
    public static let sf: UInt64 = 1 << 7
    public static let tf: UInt64 = 1 << 8
    public static let `if`: UInt64 = 1 << 9
    public static let df: UInt64 = 1 << 10
    public static let of: UInt64 = 1 << 11
    public static let iopl: UInt64 = 3 << 12
    public static let nt: UInt64 = 1 << 14
    public static let rf: UInt64 = 1 << 16
    public static let vm: UInt64 = 1 << 17
    public static let ac: UInt64 = 1 << 18
    public static let vif: UInt64 = 1 << 19
    public static let vip: UInt64 = 1 << 20
    public static let id: UInt64 = 1 << 21
}

/// The architectural state of one vCPU (docs/ARCHITECTURE.md, "CPUState"). Both engines load and store
/// it; snapshots and the conformance suite compare it.
public struct CPUState: Equatable, Sendable {
    /// Register numbers in encoding order.
    public enum GPR: Int, CaseIterable, Sendable {
        case rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15
    }

    /// RAX..R15 in encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15).
    public var gpr: [UInt64] = Array(repeating: 0, count: 16)
    public var rip: UInt64 = 0xFFF0
    public var rflags: UInt64 = 0x2

    public var es = SegmentRegister.realMode(0)
    public var cs = SegmentRegister(selector: 0xF000, base: 0xFFFF_0000, limit: 0xFFFF, type: 0xB)
    public var ss = SegmentRegister.realMode(0)
    public var ds = SegmentRegister.realMode(0)
    public var fs = SegmentRegister.realMode(0)
    public var gs = SegmentRegister.realMode(0)
    public var ldtr = SegmentRegister(type: 0x2, s: false)
    public var tr = SegmentRegister(type: 0xB, s: false)
    public var gdtr = DescriptorTableRegister()
    public var idtr = DescriptorTableRegister(base: 0, limit: 0x3FF)

    /// Power-on CR0: CD, NW and ET set (SDM Vol. 3A §9.1.1, Table 9-1).
    public var cr0: UInt64 = 0x6000_0010
    public var cr2: UInt64 = 0
    public var cr3: UInt64 = 0
    public var cr4: UInt64 = 0
    /// Task priority (CR8 = APIC TPR[7:4]).
    public var cr8: UInt64 = 0
    /// DR0..DR3 addresses, then DR6 and DR7.
    public var dr: [UInt64] = [0, 0, 0, 0]
    public var dr6: UInt64 = 0xFFFF_0FF0
    public var dr7: UInt64 = 0x400

    public var msr = ModelSpecificRegisters()
    public var fpu = FPUState()

    /// An external interrupt vector accepted by the CPU but not yet delivered.
    public var pendingInterrupt: UInt8?
    public var nmiPending = false
    /// Interrupts are blocked for one instruction after STI or MOV SS / POP SS.
    public var interruptShadow = false
    /// The vCPU is halted, waiting for an interrupt.
    public var halted = false

    /// The state of a CPU after RESET (SDM Vol. 3A §9.1.1, Table 9-1): real mode at F000:FFF0
    /// with CS.base = FFFF0000.
    public init() {}

    public subscript(_ r: GPR) -> UInt64 {
        get { gpr[r.rawValue] }
        set { gpr[r.rawValue] = newValue }
    }

    public var rax: UInt64 { get { gpr[0] } set { gpr[0] = newValue } }
    public var rcx: UInt64 { get { gpr[1] } set { gpr[1] = newValue } }
    public var rdx: UInt64 { get { gpr[2] } set { gpr[2] = newValue } }
    public var rbx: UInt64 { get { gpr[3] } set { gpr[3] = newValue } }
    public var rsp: UInt64 { get { gpr[4] } set { gpr[4] = newValue } }
    public var rbp: UInt64 { get { gpr[5] } set { gpr[5] = newValue } }
    public var rsi: UInt64 { get { gpr[6] } set { gpr[6] = newValue } }
    public var rdi: UInt64 { get { gpr[7] } set { gpr[7] = newValue } }

    /// The six data/code segment registers in encoding order (ES, CS, SS, DS, FS, GS).
    public var segments: [SegmentRegister] {
        get { [es, cs, ss, ds, fs, gs] }
        set { es = newValue[0]; cs = newValue[1]; ss = newValue[2]; ds = newValue[3]; fs = newValue[4]; gs = newValue[5] }
    }

    public var isProtectedMode: Bool { cr0 & CR0.pe != 0 }
    public var isLongModeActive: Bool { msr.efer & EFER.lma != 0 }

    /// Multi-line register dump for triple faults and engine failures (stderr).
    public var dump: String {
        func h(_ v: UInt64, _ w: Int = 16) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        let names = ["RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15"]
        var lines: [String] = []
        for row in 0..<4 {
            lines.append((0..<4).map { "\(names[row * 4 + $0])=\(h(gpr[row * 4 + $0]))" }.joined(separator: " "))
        }
        lines.append("RIP=\(h(rip)) RFL=\(h(rflags, 8)) CPL=\(ss.dpl)")
        for (n, s) in zip(["ES", "CS", "SS", "DS", "FS", "GS", "LDT", "TR"], [es, cs, ss, ds, fs, gs, ldtr, tr]) {
            lines.append("\(n + String(repeating: " ", count: 3 - n.count)) =\(h(UInt64(s.selector), 4)) \(h(s.base)) \(h(UInt64(s.limit), 8)) AR=\(h(UInt64(s.accessRights), 5))")
        }
        lines.append("GDT=     \(h(gdtr.base)) \(h(UInt64(gdtr.limit), 8))")
        lines.append("IDT=     \(h(idtr.base)) \(h(UInt64(idtr.limit), 8))")
        lines.append("CR0=\(h(cr0, 8)) CR2=\(h(cr2)) CR3=\(h(cr3)) CR4=\(h(cr4, 8))")
        lines.append("EFER=\(h(msr.efer)) DR6=\(h(dr6, 8)) DR7=\(h(dr7, 8))")
        return lines.joined(separator: "\n")
    }
}
