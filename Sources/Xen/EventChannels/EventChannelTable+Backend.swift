/// The VMM's side of interdomain channels: the ports of domain 0 that its backends (console,
/// xenstore, block) own, and the VIRQs the VMM raises. The two ways a channel forms, as on Xen:
/// the guest allocates an unbound port for domain 0 and publishes it in xenstore, and the
/// backend binds to it (`bindBackend`); or the VMM allocates the unbound backend port and the
/// guest binds to it with EVTCHNOP_bind_interdomain (`allocateBackendPort`).
extension EventChannelTable {
    /// A new backend port waiting for the guest to bind it; `handler` runs (outside the table's
    /// lock, on the guest's vCPU thread) with the backend port each time the guest sends on the
    /// channel. Nil when domain 0's 4095 ports are all taken.
    public func allocateBackendPort(handler: @escaping @Sendable (UInt32) -> Void) -> UInt32? {
        lock.withLock { addBackendPortLocked(BackendPort(state: .unbound, handler: handler)) }
    }

    /// Binds a new backend port to guest port `guestPort`, which the guest allocated unbound for
    /// domain 0 (EVTCHNOP_alloc_unbound with remote_dom 0): the backend's bind_interdomain.
    /// -EINVAL when that port is not such a port. Xen marks the binder's port pending at this
    /// point; a backend sees that as "check the ring once after binding".
    public func bindBackend(toGuestPort guestPort: UInt32, handler: @escaping @Sendable (UInt32) -> Void) throws(Failure) -> UInt32 {
        try checkPort(guestPort)
        let outcome: Result<UInt32, Failure> = lock.withLock {
            guard ports[Int(guestPort)].state == .unbound(remoteDomain: EventChannelABI.domidVMM) else { return .failure(Failure(.EINVAL)) }
            guard let port = addBackendPortLocked(BackendPort(state: .connected(guestPort: guestPort), handler: handler)) else {
                return .failure(Failure(.ENOSPC))
            }
            ports[Int(guestPort)].state = .interdomain(remoteDomain: EventChannelABI.domidVMM, remotePort: port)
            return .success(port)
        }
        return try outcome.get()
    }

    /// The guest port connected to backend port `port`, or nil while it is unbound or unknown.
    public func guestPort(connectedTo port: UInt32) -> UInt32? {
        lock.withLock {
            guard case .connected(let guestPort)? = backendPorts[port]?.state else { return nil }
            return guestPort
        }
    }

    /// The backend signals the guest on its port `port` (Xen `notify_via_xen_event_channel`):
    /// the connected guest port becomes pending. Returns the vCPU whose upcall became due (also
    /// given to `upcallHandler`); nil when nothing is due or the port is not connected.
    @discardableResult
    public func notifyGuest(fromBackendPort port: UInt32) -> UInt32? {
        let upcall: UInt32? = lock.withLock {
            guard case .connected(let guestPort)? = backendPorts[port]?.state else { return nil }
            return setPendingLocked(guestPort)
        }
        deliver(upcall)
        return upcall
    }

    /// The backend closes its port. A connected guest port goes back to waiting for domain 0, as
    /// the remote end of a closed Xen channel does.
    public func closeBackendPort(_ port: UInt32) {
        lock.withLock {
            guard let backend = backendPorts.removeValue(forKey: port) else { return }
            if case .connected(let guestPort) = backend.state,
               ports[Int(guestPort)].state == .interdomain(remoteDomain: EventChannelABI.domidVMM, remotePort: port) {
                ports[Int(guestPort)].state = .unbound(remoteDomain: EventChannelABI.domidVMM)
            }
        }
    }

    /// The VMM raises VIRQ `virq` for `vcpu` (global VIRQs always go through vCPU 0's binding,
    /// Xen `send_guest_global_virq`). Returns the vCPU whose upcall became due; nil when the
    /// guest has not bound that VIRQ or nothing is due.
    @discardableResult
    public func raiseVIRQ(_ virq: UInt32, vcpu: UInt32 = 0) -> UInt32? {
        guard virq < XenVIRQ.count else { return nil }
        let owner = XenVIRQ.isPerVCPU(virq) ? vcpu : 0
        guard Int(owner) < vcpuCount else { return nil }
        let upcall: UInt32? = lock.withLock {
            let port = virqPorts[Int(owner)][Int(virq)]
            return port == 0 ? nil : setPendingLocked(port)
        }
        deliver(upcall)
        return upcall
    }

    /// Numbers backend ports from 1 like Xen's `get_free_port`, within domain 0's 2-level space.
    func addBackendPortLocked(_ backend: BackendPort) -> UInt32? {
        guard backendPorts.count < Int(EventChannelABI.twoLevelPortCount) - 1 else { return nil }
        var port: UInt32 = 1
        while backendPorts[port] != nil { port += 1 }
        backendPorts[port] = backend
        return port
    }
}
