import MachineCore

/// A hypercall's number and arguments as the guest passed them (xen-doc guest-guide
/// x86/hypercall-abi): in 64-bit mode the number in RAX and arguments in RDI, RSI, RDX, R10,
/// R8; in 32-bit mode EAX and EBX, ECX, EDX, ESI, EDI, each only 32 bits wide.
struct XenHypercallArguments: Equatable {
    let number: UInt64
    let a1: UInt64, a2: UInt64, a3: UInt64, a4: UInt64, a5: UInt64
    let longMode: Bool

    init(_ r: HypercallRegisters) {
        longMode = r.longMode
        if r.longMode {
            number = r.rax
            a1 = r.rdi; a2 = r.rsi; a3 = r.rdx; a4 = r.r10; a5 = r.r8
        } else {
            func low(_ v: UInt64) -> UInt64 { v & 0xFFFF_FFFF }
            number = low(r.rax)
            a1 = low(r.rbx); a2 = low(r.rcx); a3 = low(r.rdx); a4 = low(r.rsi); a5 = low(r.rdi)
        }
    }

    /// The sub-operation in the first argument of a multiplexed call: Xen's handlers take it as
    /// `unsigned int cmd`.
    var command: UInt64 { a1 & 0xFFFF_FFFF }
}
