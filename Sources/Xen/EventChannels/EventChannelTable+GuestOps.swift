import MachineCore

/// What EVTCHNOP_status reports about one port (`struct evtchn_status` outputs).
public struct EventChannelStatus: Equatable, Sendable {
    /// One of `EventChannelABI.status*`.
    public var status: UInt32
    public var vcpu: UInt32
    /// `u.unbound.dom` or `u.interdomain.dom`.
    public var remoteDomain: UInt16 = 0
    /// `u.interdomain.port`.
    public var remotePort: UInt32 = 0
    /// `u.virq`.
    public var virq: UInt32 = 0
}

/// The guest's event-channel operations, with their arguments already decoded. Each checks the
/// guest's values the way Xen 4.17 common/event_channel.c does and answers nonsense with its
/// -errno; upcalls that become due go to `upcallHandler`.
extension EventChannelTable {
    /// An operation refused with Xen's error number.
    public struct Failure: Error, Equatable {
        public let errno: XenErrno
        public init(_ errno: XenErrno) { self.errno = errno }
    }

    /// True for the guest's own id in a domid argument.
    func isSelf(_ dom: UInt16) -> Bool { dom == EventChannelABI.domidSelf || dom == domainID }

    /// A domid naming a domain for an operation that only its owner may do: the guest itself;
    /// domain 0 exists but the guest lacks the privilege (Xen's XSM check: -EPERM); any other
    /// number names no domain (-ESRCH).
    func checkOwnDomain(_ dom: UInt16) throws(Failure) {
        if isSelf(dom) { return }
        throw Failure(dom == EventChannelABI.domidVMM ? .EPERM : .ESRCH)
    }

    func checkPort(_ port: UInt32) throws(Failure) {
        guard port < EventChannelABI.twoLevelPortCount else { throw Failure(.EINVAL) }
    }

    func checkVCPU(_ vcpu: UInt32) throws(Failure) {
        guard Int(vcpu) < vcpuCount else { throw Failure(.ENOENT) }
    }

    /// EVTCHNOP_alloc_unbound: a fresh port of the guest waiting for `remoteDom` to bind it
    /// (DOMID_SELF meaning the guest: a loopback). Xen lets any remote id be named.
    public func allocUnbound(dom: UInt16, remoteDom: UInt16) throws(Failure) -> UInt32 {
        try checkOwnDomain(dom)
        let remote = remoteDom == EventChannelABI.domidSelf ? domainID : remoteDom
        guard let port = lock.withLock({ allocatePortLocked(state: .unbound(remoteDomain: remote)) }) else { throw Failure(.ENOSPC) }
        return port
    }

    /// EVTCHNOP_bind_interdomain: a fresh port connected to `remotePort` of `remoteDom`, which
    /// must be unbound and waiting for the guest: a backend port of the VMM (domain 0) or one of
    /// the guest's own (loopback). Xen then marks the new port pending, because the other side
    /// may have signalled before the binding existed.
    public func bindInterdomain(remoteDom: UInt16, remotePort: UInt32) throws(Failure) -> UInt32 {
        let toVMM = remoteDom == EventChannelABI.domidVMM
        guard toVMM || isSelf(remoteDom) else { throw Failure(.ESRCH) }
        let outcome: Result<(UInt32, UInt32?), Failure> = lock.withLock {
            guard let local = allocatePortLocked(state: .free) else { return .failure(Failure(.ENOSPC)) }
            if toVMM {
                guard var backend = backendPorts[remotePort], backend.state == .unbound else {
                    ports[Int(local)] = EventChannelPort()
                    return .failure(Failure(.EINVAL))
                }
                backend.state = .connected(guestPort: local)
                backendPorts[remotePort] = backend
                ports[Int(local)].state = .interdomain(remoteDomain: EventChannelABI.domidVMM, remotePort: remotePort)
            } else {
                guard remotePort < EventChannelABI.twoLevelPortCount,
                      ports[Int(remotePort)].state == .unbound(remoteDomain: domainID) else {
                    ports[Int(local)] = EventChannelPort()
                    return .failure(Failure(.EINVAL))
                }
                ports[Int(remotePort)].state = .interdomain(remoteDomain: domainID, remotePort: local)
                ports[Int(local)].state = .interdomain(remoteDomain: domainID, remotePort: remotePort)
            }
            return .success((local, setPendingLocked(local)))
        }
        switch outcome {
        case .failure(let failure): throw failure
        case .success(let (port, upcall)):
            deliver(upcall)
            return port
        }
    }

    /// EVTCHNOP_bind_virq: a fresh port for VIRQ `virq` on `vcpu`. Global VIRQs bind on vCPU 0
    /// only (-EINVAL elsewhere); each VIRQ has at most one port per vCPU (-EEXIST).
    public func bindVIRQ(_ virq: UInt32, vcpu: UInt32) throws(Failure) -> UInt32 {
        guard virq < XenVIRQ.count else { throw Failure(.EINVAL) }
        guard XenVIRQ.isPerVCPU(virq) || vcpu == 0 else { throw Failure(.EINVAL) }
        try checkVCPU(vcpu)
        let outcome: Result<UInt32, Failure> = lock.withLock {
            guard virqPorts[Int(vcpu)][Int(virq)] == 0 else { return .failure(Failure(.EEXIST)) }
            guard let port = allocatePortLocked(state: .virq(virq), vcpu: vcpu) else { return .failure(Failure(.ENOSPC)) }
            virqPorts[Int(vcpu)][Int(virq)] = port
            return .success(port)
        }
        return try outcome.get()
    }

    /// EVTCHNOP_bind_ipi: a fresh port whose sends notify `vcpu`.
    public func bindIPI(vcpu: UInt32) throws(Failure) -> UInt32 {
        try checkVCPU(vcpu)
        guard let port = lock.withLock({ allocatePortLocked(state: .ipi, vcpu: vcpu) }) else { throw Failure(.ENOSPC) }
        return port
    }

    /// EVTCHNOP_close: frees `port`. The other end of an interdomain channel goes back to
    /// waiting (unbound) for the guest; a VIRQ binding is forgotten. Free and reserved ports
    /// cannot be closed (-EINVAL).
    public func close(port: UInt32) throws(Failure) {
        try checkPort(port)
        let ok: Bool = lock.withLock {
            switch ports[Int(port)].state {
            case .free, .reserved:
                return false
            case .unbound, .ipi:
                break
            case .virq(let virq):
                for v in virqPorts.indices where virqPorts[v][Int(virq)] == port { virqPorts[v][Int(virq)] = 0 }
            case .interdomain(let remoteDomain, let remotePort):
                if remoteDomain == EventChannelABI.domidVMM {
                    backendPorts[remotePort]?.state = .unbound
                } else if ports[Int(remotePort)].state == .interdomain(remoteDomain: domainID, remotePort: port) {
                    ports[Int(remotePort)].state = .unbound(remoteDomain: domainID)
                }
            }
            freePortLocked(port)
            return true
        }
        guard ok else { throw Failure(.EINVAL) }
    }

    /// EVTCHNOP_send: signals the other end of `port`. Sending to a backend runs its handler;
    /// a loopback or IPI port marks the receiving port pending; an unbound port drops the event
    /// silently (as Xen does); other states are -EINVAL.
    public func send(port: UInt32) throws(Failure) {
        try checkPort(port)
        enum Action { case none, upcall(UInt32?), backend(BackendPort, UInt32), refuse }
        let action: Action = lock.withLock {
            switch ports[Int(port)].state {
            case .interdomain(let remoteDomain, let remotePort):
                if remoteDomain == EventChannelABI.domidVMM {
                    guard let backend = backendPorts[remotePort] else { return .none }
                    return .backend(backend, remotePort)
                }
                return .upcall(setPendingLocked(remotePort))
            case .ipi:
                return .upcall(setPendingLocked(port))
            case .unbound:
                return .none
            case .free, .reserved, .virq:
                return .refuse
            }
        }
        switch action {
        case .none: break
        case .upcall(let vcpu): deliver(vcpu)
        case .backend(let backend, let backendPort): backend.handler(backendPort)
        case .refuse: throw Failure(.EINVAL)
        }
    }

    /// EVTCHNOP_status for `port` of domain `dom`.
    public func status(dom: UInt16, port: UInt32) throws(Failure) -> EventChannelStatus {
        try checkOwnDomain(dom)
        try checkPort(port)
        return lock.withLock {
            let entry = ports[Int(port)]
            var answer = EventChannelStatus(status: EventChannelABI.statusClosed, vcpu: entry.vcpu)
            switch entry.state {
            case .free, .reserved:
                break
            case .unbound(let remoteDomain):
                answer.status = EventChannelABI.statusUnbound
                answer.remoteDomain = remoteDomain
            case .interdomain(let remoteDomain, let remotePort):
                answer.status = EventChannelABI.statusInterdomain
                answer.remoteDomain = remoteDomain
                answer.remotePort = remotePort
            case .virq(let virq):
                answer.status = EventChannelABI.statusVIRQ
                answer.virq = virq
            case .ipi:
                answer.status = EventChannelABI.statusIPI
            }
            return answer
        }
    }

    /// EVTCHNOP_bind_vcpu: `port`'s events notify `vcpu` from now on. Only unbound, interdomain
    /// and global-VIRQ ports may move; IPI and per-vCPU VIRQ ports keep the vCPU they were bound
    /// on, and free ports have none (-EINVAL). A pending, unmasked event follows the port to its
    /// new vCPU.
    public func bindVCPU(port: UInt32, vcpu: UInt32) throws(Failure) {
        try checkVCPU(vcpu)
        try checkPort(port)
        let outcome: Result<UInt32?, Failure> = lock.withLock {
            switch ports[Int(port)].state {
            case .unbound, .interdomain:
                break
            case .virq(let virq) where !XenVIRQ.isPerVCPU(virq):
                break
            default:
                return .failure(Failure(.EINVAL))
            }
            guard ports[Int(port)].vcpu != vcpu else { return .success(nil) }
            ports[Int(port)].vcpu = vcpu
            guard let words = eventWords(port),
                  GuestAtomics.load(words.pending) & words.bit != 0,
                  GuestAtomics.load(words.mask) & words.bit == 0 else { return .success(nil) }
            return .success(raiseSelectorLocked(vcpu: vcpu, word: port / 64))
        }
        deliver(try outcome.get())
    }

    /// EVTCHNOP_unmask: clears `port`'s mask bit and delivers an event that arrived while it was
    /// masked. Xen accepts any port number inside the table, bound or not.
    public func unmask(port: UInt32) throws(Failure) {
        try checkPort(port)
        deliver(lock.withLock { unmaskLocked(port) })
    }

    /// EVTCHNOP_reset: closes every port of the guest (it may name only itself).
    public func reset(dom: UInt16) throws(Failure) {
        try checkOwnDomain(dom)
        for port in 1..<EventChannelABI.twoLevelPortCount where lock.withLock({ ports[Int(port)].state != .free }) {
            try? close(port: port)
        }
    }
}
