import MachineCore

/// The hypercall page (CPUID base+2; facts §2.2): a guest writes a page's guest-physical address
/// to MSR 0x40000000 and the hypervisor fills it with 128 stubs of 32 bytes, stub n being
/// `mov eax, n; vmcall; ret` (Xen arch/x86/hvm/vmx/vmx.c and svm.c `*_init_hypercall_page`).
extension XenHypervisor {
    static let hypercallStubSize = 32
    static let hypercallStubCount = 128
    /// HYPERVISOR_iret is a PV guest's: its stub is UD2 on HVM.
    static let iretHypercall = 23

    /// The page's bytes for `instruction`.
    public static func hypercallPage(instruction: HypercallRegisters.Instruction) -> [UInt8] {
        var page = [UInt8](repeating: 0xCC, count: 4096)  // INT3 between stubs
        let call: [UInt8] = instruction == .vmcall ? [0x0F, 0x01, 0xC1] : [0x0F, 0x01, 0xD9]
        for n in 0..<hypercallStubCount {
            let stub: [UInt8]
            if n == iretHypercall {
                stub = [0x0F, 0x0B]
            } else {
                stub = [0xB8] + UInt32(n).guestBytes + call + [0xC3]
            }
            page.replaceSubrange(n * hypercallStubSize..<n * hypercallStubSize + stub.count, with: stub)
        }
        return page
    }

    /// A write to the hypercall MSR: bits 63:12 the page's address, bits 11:0 which page
    /// (only page 0 exists). False (the CPU raises #GP) for another page index or a page that is
    /// not RAM.
    public func writeHypercallPageMSR(_ value: UInt64) -> Bool {
        guard value & 0xFFF < UInt64(XenCPUID.hypercallPageCount) else { return false }
        let address = value & ~0xFFF
        guard let page = memory.ramPointer(address, length: 4096) else { return false }
        Self.hypercallPage(instruction: hypercallInstruction).withUnsafeBytes { page.copyMemory(from: $0.baseAddress!, byteCount: 4096) }
        // The stubs are code: decoded or translated copies of the old bytes are stale.
        memory.noteDeviceWrite(physical: address, length: 4096)
        return true
    }
}
