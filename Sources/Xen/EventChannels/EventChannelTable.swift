import MachineCore

/// The guest domain's 2-level event channels (Xen common/event_channel.c and event_2l.c
/// semantics), with the VMM as domain 0 on the other end of every interdomain channel.
///
/// The table keeps the bindings; the event state the guest sees (pending and mask bitmaps,
/// per-vCPU selector and upcall flag) lives in guest memory, in the shared_info page and each
/// vCPU's vcpu_info, and is updated there with atomic operations (GuestAtomics).
///
/// Every operation takes the table's own lock for its bookkeeping and never calls out while
/// holding it: backend handlers and the upcall handler run after it is released, so they may
/// call back into the table. Guest hypercalls (the vCPU thread) and backends (any thread) may
/// use one table at the same time.
public final class EventChannelTable: @unchecked Sendable {
    /// The guest domain's id (swiftpc runs one domU).
    public let domainID: UInt16
    /// vCPUs of the guest: ids 0..<vcpuCount exist; at most XEN_LEGACY_MAX_VCPUS.
    public let vcpuCount: Int
    let memory: GuestMemory
    let lock = Lock()

    /// Told of each vCPU that needs an upcall (a 0→1 change of its evtchn_upcall_pending), after
    /// the table's lock is released: the caller injects the callback vector. Set it once, before
    /// the guest runs.
    public var upcallHandler: (@Sendable (UInt32) -> Void)?

    // Guarded by `lock`.
    var ports: [EventChannelPort]
    /// `virq_to_evtchn`, per vCPU: the port bound to each VIRQ, 0 for none.
    var virqPorts: [[UInt32]]
    /// No port below this one is free: allocation scans from here (port 0 is never free).
    var lowestMaybeFree = 1
    var backendPorts: [UInt32: BackendPort] = [:]
    /// Guest-physical address of the shared_info page, once the guest placed it.
    var sharedInfoAddress: UInt64?
    /// Guest-physical address of each vCPU's registered vcpu_info (nil: its shared_info slot).
    var registeredVCPUInfo: [UInt64?]

    public init(memory: GuestMemory, domainID: UInt16 = 1, vcpuCount: Int = 1) {
        precondition(vcpuCount >= 1 && vcpuCount <= SharedInfoLayout.legacyVCPUCount, "vCPU count out of range")
        precondition(domainID != EventChannelABI.domidVMM && domainID < EventChannelABI.domidSelf, "bad guest domain id")
        self.memory = memory
        self.domainID = domainID
        self.vcpuCount = vcpuCount
        ports = Array(repeating: EventChannelPort(), count: Int(EventChannelABI.twoLevelPortCount))
        ports[0].state = .reserved
        virqPorts = Array(repeating: Array(repeating: 0, count: Int(XenVIRQ.count)), count: vcpuCount)
        registeredVCPUInfo = Array(repeating: nil, count: vcpuCount)
    }

    // MARK: where the shared state lives

    /// The guest-physical address of the shared_info page, or nil before the guest placed it.
    public var sharedInfo: UInt64? { lock.withLock { sharedInfoAddress } }

    /// Where vCPU `vcpu`'s live vcpu_info is: the registered copy, else its slot in shared_info;
    /// nil when neither exists yet or the vCPU does not.
    public func vcpuInfoAddress(vcpu: UInt32) -> UInt64? { lock.withLock { vcpuInfoLocked(vcpu) } }

    func vcpuInfoLocked(_ vcpu: UInt32) -> UInt64? {
        guard Int(vcpu) < vcpuCount else { return nil }
        if let registered = registeredVCPUInfo[Int(vcpu)] { return registered }
        guard let base = sharedInfoAddress, let slot = SharedInfoLayout.legacyVCPUInfoOffset(vcpu: Int(vcpu)) else { return nil }
        return base + slot
    }

    /// True when the vCPU's evtchn_upcall_pending is set: for a level-style callback (the HVM
    /// callback vector is re-injected while the flag stays set, KVM api.rst UPCALL_VECTOR).
    public func upcallPending(vcpu: UInt32) -> Bool {
        guard let address = vcpuInfoAddress(vcpu: vcpu),
              let p = memory.ramPointer(address + VCPUInfoLayout.upcallPendingOffset, length: 1) else { return false }
        return GuestAtomics.fetchOr8(p, 0) != 0
    }

    // MARK: the 2-level pending rule

    /// Host pointers to the pending and mask words holding `port`, or nil without shared_info.
    func eventWords(_ port: UInt32) -> (pending: UnsafeMutableRawPointer, mask: UnsafeMutableRawPointer, pendingAddress: UInt64, bit: UInt64)? {
        guard let base = sharedInfoAddress else { return nil }
        let word = UInt64(port / 64)
        let pendingAddress = base + SharedInfoLayout.eventPendingOffset + word * 8
        guard let pending = memory.ramPointer(pendingAddress, length: 8),
              let mask = memory.ramPointer(base + SharedInfoLayout.eventMaskOffset + word * 8, length: 8) else { return nil }
        return (pending, mask, pendingAddress, UInt64(1) << UInt64(port % 64))
    }

    /// Marks `port` pending (event_2l.c `evtchn_2l_set_pending`): set its pending bit; if that
    /// was clear and the port is unmasked, set the word's bit in the notified vCPU's selector and,
    /// when that was clear too, the vCPU's evtchn_upcall_pending. Returns the vCPU whose upcall
    /// flag went 0→1 (it needs the callback), or nil. Before the guest placed shared_info there is
    /// nowhere to record the event and it is dropped (a guest places it before binding ports).
    func setPendingLocked(_ port: UInt32) -> UInt32? {
        guard let words = eventWords(port) else { return nil }
        let before = GuestAtomics.fetchOr(words.pending, words.bit)
        guard before & words.bit == 0 else { return nil }
        memory.noteDeviceWrite(physical: words.pendingAddress, length: 8)
        guard GuestAtomics.load(words.mask) & words.bit == 0 else { return nil }
        return raiseSelectorLocked(vcpu: ports[Int(port)].vcpu, word: port / 64)
    }

    /// Sets selector bit `word` for `vcpu` and, if it was clear, the upcall flag
    /// (Xen `vcpu_mark_events_pending`). Returns `vcpu` when the upcall flag went 0→1.
    func raiseSelectorLocked(vcpu: UInt32, word: UInt32) -> UInt32? {
        guard let info = vcpuInfoLocked(vcpu),
              let selector = memory.ramPointer(info + VCPUInfoLayout.pendingSelectorOffset, length: 8),
              let flag = memory.ramPointer(info + VCPUInfoLayout.upcallPendingOffset, length: 1) else { return nil }
        let bit = UInt64(1) << UInt64(word)
        guard GuestAtomics.fetchOr(selector, bit) & bit == 0 else { return nil }
        memory.noteDeviceWrite(physical: info + VCPUInfoLayout.pendingSelectorOffset, length: 8)
        guard GuestAtomics.fetchOr8(flag, 1) == 0 else { return nil }
        memory.noteDeviceWrite(physical: info + VCPUInfoLayout.upcallPendingOffset, length: 1)
        return vcpu
    }

    /// Clears `port`'s pending bit (Xen clears it when a port is freed, so that a later binding
    /// of the same number does not inherit a stale event).
    func clearPendingLocked(_ port: UInt32) {
        guard let words = eventWords(port) else { return }
        if GuestAtomics.fetchAndNot(words.pending, words.bit) & words.bit != 0 {
            memory.noteDeviceWrite(physical: words.pendingAddress, length: 8)
        }
    }

    /// Clears the mask bit of `port` and, if it was set while the port is pending, re-raises the
    /// selector and upcall flag (event_2l.c `evtchn_2l_unmask`): unmasking delivers what arrived
    /// while masked.
    func unmaskLocked(_ port: UInt32) -> UInt32? {
        guard let base = sharedInfoAddress, let words = eventWords(port) else { return nil }
        let before = GuestAtomics.fetchAndNot(words.mask, words.bit)
        guard before & words.bit != 0 else { return nil }
        memory.noteDeviceWrite(physical: base + SharedInfoLayout.eventMaskOffset + UInt64(port / 64) * 8, length: 8)
        guard GuestAtomics.load(words.pending) & words.bit != 0 else { return nil }
        return raiseSelectorLocked(vcpu: ports[Int(port)].vcpu, word: port / 64)
    }

    /// Reports a due upcall to the handler; called after the lock is released.
    func deliver(_ vcpu: UInt32?) {
        if let vcpu { upcallHandler?(vcpu) }
    }

    /// The lowest free port (Xen `get_free_port` scans upward from 1), or nil when all 4095 are
    /// taken.
    func allocatePortLocked(state: EventChannelPortState, vcpu: UInt32 = 0) -> UInt32? {
        var index = lowestMaybeFree
        while index < ports.count, ports[index].state != .free { index += 1 }
        lowestMaybeFree = index
        guard index < ports.count else { return nil }
        ports[index] = EventChannelPort(state: state, vcpu: vcpu)
        return UInt32(index)
    }

    /// Returns `port` to the free state (Xen `free_evtchn`): its pending bit is cleared and its
    /// vCPU binding reset to 0. The mask bit is the guest's and stays as it is.
    func freePortLocked(_ port: UInt32) {
        ports[Int(port)] = EventChannelPort()
        lowestMaybeFree = min(lowestMaybeFree, Int(port))
        clearPendingLocked(port)
    }

    /// The state of guest port `port` (tests, the monitor); nil for a number outside 0..<4096.
    public func portState(_ port: UInt32) -> EventChannelPortState? {
        guard port < EventChannelABI.twoLevelPortCount else { return nil }
        return lock.withLock { ports[Int(port)].state }
    }

    /// The vCPU port `port` notifies; nil for a number outside 0..<4096.
    public func portVCPU(_ port: UInt32) -> UInt32? {
        guard port < EventChannelABI.twoLevelPortCount else { return nil }
        return lock.withLock { ports[Int(port)].vcpu }
    }
}
