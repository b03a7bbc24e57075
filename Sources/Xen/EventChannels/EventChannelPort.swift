/// What one event-channel port of the guest is bound to (Xen's `ECS_*` states; PIRQ binding is
/// not offered: swiftpc advertises no XENFEAT_hvm_pirqs).
public enum EventChannelPortState: Equatable, Sendable {
    /// Not allocated; EVTCHNOP_status reports it closed.
    case free
    /// Port 0: never allocated (Xen reserves it at domain creation), reported closed.
    case reserved
    /// Allocated, waiting for `remoteDomain` to bind to it.
    case unbound(remoteDomain: UInt16)
    /// Connected to `remotePort` of `remoteDomain`: the guest itself (loopback) or the VMM's
    /// backend port (domain 0).
    case interdomain(remoteDomain: UInt16, remotePort: UInt32)
    /// Bound to a virtual interrupt the VMM raises.
    case virq(UInt32)
    /// An inter-processor event: a send sets the port's own pending bit.
    case ipi
}

/// A guest port's binding and the vCPU its events notify.
struct EventChannelPort {
    var state: EventChannelPortState = .free
    /// `notify_vcpu_id`: 0 unless bound otherwise; reset to 0 when the port is freed.
    var vcpu: UInt32 = 0
}

/// A port of the VMM (domain 0) that a backend owns: the VMM end of an interdomain channel.
struct BackendPort {
    enum State: Equatable {
        /// Waiting for the guest to bind to it with EVTCHNOP_bind_interdomain.
        case unbound
        /// Connected to this guest port.
        case connected(guestPort: UInt32)
    }
    var state: State
    /// Runs (outside the table's lock) each time the guest sends on the connected guest port.
    let handler: @Sendable (UInt32) -> Void
}
