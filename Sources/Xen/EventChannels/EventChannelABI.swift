/// Numbers and argument layouts of HYPERVISOR_event_channel_op (public/event_channel.h, domain
/// ids from public/xen.h; sizes and offsets checked with gcc against libxen-dev 4.17, x86-64).
public enum EventChannelABI {
    // MARK: operations (`enum event_channel_op`)
    public static let opBindInterdomain: UInt64 = 0
    public static let opBindVIRQ: UInt64 = 1
    public static let opBindPIRQ: UInt64 = 2
    public static let opClose: UInt64 = 3
    public static let opSend: UInt64 = 4
    public static let opStatus: UInt64 = 5
    public static let opAllocUnbound: UInt64 = 6
    public static let opBindIPI: UInt64 = 7
    public static let opBindVCPU: UInt64 = 8
    public static let opUnmask: UInt64 = 9
    public static let opReset: UInt64 = 10
    public static let opInitControl: UInt64 = 11
    public static let opExpandArray: UInt64 = 12
    public static let opSetPriority: UInt64 = 13

    /// `EVTCHN_2L_NR_CHANNELS` for a 64-bit guest: 64 words of 64 bits.
    public static let twoLevelPortCount: UInt32 = 4096

    // MARK: domain ids (public/xen.h)
    /// `DOMID_SELF`: "the calling domain" in any domid field.
    public static let domidSelf: UInt16 = 0x7FF0
    /// Domain 0: in swiftpc the VMM itself, owner of every backend.
    public static let domidVMM: UInt16 = 0

    // MARK: EVTCHNOP_status answers (`EVTCHNSTAT_*`)
    public static let statusClosed: UInt32 = 0
    public static let statusUnbound: UInt32 = 1
    public static let statusInterdomain: UInt32 = 2
    public static let statusPIRQ: UInt32 = 3
    public static let statusVIRQ: UInt32 = 4
    public static let statusIPI: UInt32 = 5

    // MARK: argument structures: size, then each field's offset
    /// `struct evtchn_alloc_unbound { domid_t dom, remote_dom; evtchn_port_t port; }`
    public static let allocUnboundSize = 8
    static let allocUnboundDom: UInt64 = 0, allocUnboundRemoteDom: UInt64 = 2, allocUnboundPort: UInt64 = 4
    /// `struct evtchn_bind_interdomain { domid_t remote_dom; port remote_port; port local_port; }`
    public static let bindInterdomainSize = 12
    static let bindInterdomainRemoteDom: UInt64 = 0, bindInterdomainRemotePort: UInt64 = 4, bindInterdomainLocalPort: UInt64 = 8
    /// `struct evtchn_bind_virq { u32 virq; u32 vcpu; port port; }`
    public static let bindVIRQSize = 12
    static let bindVIRQVirq: UInt64 = 0, bindVIRQVCPU: UInt64 = 4, bindVIRQPort: UInt64 = 8
    /// `struct evtchn_bind_ipi { u32 vcpu; port port; }`
    public static let bindIPISize = 8
    static let bindIPIVCPU: UInt64 = 0, bindIPIPort: UInt64 = 4
    /// `struct evtchn_close`, `evtchn_send`, `evtchn_unmask`: `{ port port; }`
    public static let portOnlySize = 4
    /// `struct evtchn_status { domid_t dom; port port; u32 status; u32 vcpu; union u; }`: the
    /// union holds `unbound.dom` (u16 at 16), `interdomain.dom`/`.port` (16, 20) or `virq` (16).
    public static let statusSize = 24
    static let statusDom: UInt64 = 0, statusPort: UInt64 = 4, statusStatus: UInt64 = 8, statusVCPU: UInt64 = 12
    static let statusUnionDom: UInt64 = 16, statusUnionPort: UInt64 = 20, statusUnionVIRQ: UInt64 = 16
    /// `struct evtchn_bind_vcpu { port port; u32 vcpu; }`
    public static let bindVCPUSize = 8
    static let bindVCPUPort: UInt64 = 0, bindVCPUVCPU: UInt64 = 4
    /// `struct evtchn_reset { domid_t dom; }`
    public static let resetSize = 2
    /// `struct evtchn_init_control` (24 bytes) and `struct evtchn_expand_array` (8): FIFO ABI.
    public static let initControlSize = 24
    public static let expandArraySize = 8
}

/// Virtual interrupt numbers (public/xen.h `VIRQ_*`) and which of them are per-vCPU.
public enum XenVIRQ {
    public static let timer: UInt32 = 0
    public static let debug: UInt32 = 1
    public static let console: UInt32 = 2
    public static let domainException: UInt32 = 3
    public static let xenoprof: UInt32 = 7
    public static let xenPMU: UInt32 = 13
    /// `NR_VIRQS`: VIRQ_ARCH_0..7 end at 23.
    public static let count: UInt32 = 24

    /// Per-vCPU VIRQs (marked "V." in xen.h) bind on the vCPU that asks and keep that vCPU;
    /// global ones bind on vCPU 0 and may move with EVTCHNOP_bind_vcpu (event_channel.h notes on
    /// bind_virq). The VIRQ_ARCH_* numbers are global on x86.
    public static func isPerVCPU(_ virq: UInt32) -> Bool {
        virq == timer || virq == debug || virq == xenoprof || virq == xenPMU
    }
}
