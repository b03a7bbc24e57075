import MachineCore

/// Where due upcalls go (facts §2.4): the per-vCPU vector through the local APIC when the guest
/// set one, else the HVM callback vector; with neither (or a GSI callback, which swiftpc does
/// not raise) the guest polls.
extension XenHypervisor {
    func route(vcpu: UInt32) -> XenUpcallRoute? {
        guard Int(vcpu) < vcpuCount else { return nil }
        return lock.withLock {
            if let vector = upcallVectors[Int(vcpu)] { return .localAPIC(vector: vector) }
            let callback = params[Int(XenHVMABI.paramCallbackIRQ)]
            guard callback >> XenHVMABI.callbackTypeShift == XenHVMABI.callbackTypeVector else { return nil }
            return .callbackVector(UInt8(truncatingIfNeeded: callback))
        }
    }

    /// The event-channel table's report that `vcpu`'s evtchn_upcall_pending went 0→1.
    func upcallDue(vcpu: UInt32) {
        if let route = route(vcpu: vcpu) { onUpcall?(vcpu, route) }
    }

    /// The callback vector to inject into `vcpu` now, or nil: the callback is of vector type, no
    /// per-vCPU vector replaces it, and the vCPU's evtchn_upcall_pending is set. The callback is
    /// level-like: it is due for as long as the flag stays set.
    public func pendingCallbackVector(vcpu: UInt32) -> UInt8? {
        guard case let .callbackVector(vector)? = route(vcpu: vcpu), eventChannels.upcallPending(vcpu: vcpu) else { return nil }
        return vector
    }

    /// After a hypercall: the guest may have set the callback, or left its flag set (Linux
    /// forces a callback with a no-op hypercall); a due callback is reported again.
    func recheckCallback(vcpu: UInt32) {
        guard case .callbackVector? = route(vcpu: vcpu), eventChannels.upcallPending(vcpu: vcpu) else { return }
        onUpcall?(vcpu, route(vcpu: vcpu)!)
    }
}
