import MachineCore

/// A grant a backend holds: the guest frame it may read (and write, when `writable`) until it
/// calls `GrantTable.release`.
public struct GrantAccess: Equatable, Sendable {
    public let ref: UInt32
    /// Guest-physical address of the granted frame (the entry's frame number × 4 KiB).
    public let frameAddress: UInt64
    public let writable: Bool
}

/// The backend side: resolving a grant reference with Xen's checks (common/grant_table.c
/// `_set_status_v1`, `acquire_grant_for_copy`, `release_grant_for_copy`).
extension GrantTable {
    /// A grant refused, with the status Xen gives the grantee.
    public struct Refusal: Error, Equatable {
        public let status: GrantStatus
        public init(_ status: GrantStatus) { self.status = status }
    }

    /// Bounded retries of the entry's compare-exchange when the guest keeps changing it: Xen
    /// gives up after the same number ("shared grant entry is unstable").
    static let maxRetries = 4

    /// Starts a use of grant `ref` by domain `grantee` (0: the VMM's backends), for writing when
    /// `write`. The entry must be `GTF_permit_access` for `grantee` (and not `GTF_readonly` for a
    /// write); GTF_reading — and GTF_writing for a write — is then set in the guest's entry until
    /// the matching `release`. The frame comes from the entry at the first concurrent use and
    /// stays until the last one ends.
    /// Refusals: a ref past the table is `badGrantRef`; an entry without permission, for another
    /// domain, read-only for a write, changing under us, or in a frame not placed is
    /// `generalError`; a granted frame that is not guest memory is `badPage`.
    public func acquire(ref: UInt32, write: Bool, grantee: UInt16 = EventChannelABI.domidVMM) throws(Refusal) -> GrantAccess {
        let outcome: Result<GrantAccess, Refusal> = lock.withLock {
            guard ref < entryCountLocked else { return .failure(Refusal(.badGrantRef)) }
            guard let address = entryAddressLocked(ref),
                  let entry = memory.pointer(address, length: Int(GrantTableABI.entrySize)) else {
                return .failure(Refusal(.generalError))
            }
            var grant = active[ref]
            if grant == nil || (write && grant!.writers == 0) {
                if let status = pinLocked(entry, entryAddress: address, write: write, grantee: grantee, alreadyActive: grant != nil) {
                    return .failure(Refusal(status))
                }
            }
            if grant == nil {
                let frame = UInt32(littleEndian: entry.loadUnaligned(fromByteOffset: Int(GrantTableABI.entryFrame), as: UInt32.self))
                guard memory.pointer(UInt64(frame) << 12, length: Int(GrantTableABI.frameSize)) != nil else {
                    clearFlagsLocked(entry, entryAddress: address, write ? GrantTableABI.flagReading | GrantTableABI.flagWriting : GrantTableABI.flagReading)
                    return .failure(Refusal(.badPage))
                }
                grant = ActiveGrant(frame: frame)
            }
            if write { grant!.writers += 1 } else { grant!.readers += 1 }
            active[ref] = grant
            return .success(GrantAccess(ref: ref, frameAddress: UInt64(grant!.frame) << 12, writable: write))
        }
        return try outcome.get()
    }

    /// Ends a use begun by `acquire`: GTF_writing clears when the last writer ends, GTF_reading
    /// when the last user does. A release that matches no use is ignored.
    public func release(_ access: GrantAccess) {
        lock.withLock {
            guard var grant = active[access.ref] else { return }
            var clear: UInt16 = 0
            if access.writable {
                guard grant.writers > 0 else { return }
                grant.writers -= 1
                if grant.writers == 0 { clear |= GrantTableABI.flagWriting }
            } else {
                guard grant.readers > 0 else { return }
                grant.readers -= 1
            }
            if grant.readers + grant.writers == 0 {
                clear |= GrantTableABI.flagReading
                active[access.ref] = nil
            } else {
                active[access.ref] = grant
            }
            if clear != 0, let address = entryAddressLocked(access.ref),
               let entry = memory.pointer(address, length: Int(GrantTableABI.entrySize)) {
                clearFlagsLocked(entry, entryAddress: address, clear)
            }
        }
    }

    /// Runs `body` with the granted frame's guest-physical address while the grant is held, and
    /// releases it afterwards whatever `body` does.
    public func withGrant<T>(ref: UInt32, write: Bool, grantee: UInt16 = EventChannelABI.domidVMM,
                             _ body: (GrantAccess) throws -> T) throws -> T {
        let access = try acquire(ref: ref, write: write, grantee: grantee)
        defer { release(access) }
        return try body(access)
    }

    /// Number of uses of grant `ref` in progress (tests, the monitor).
    public func activeUses(ref: UInt32) -> (readers: Int, writers: Int) {
        lock.withLock { active[ref].map { ($0.readers, $0.writers) } ?? (0, 0) }
    }

    /// Xen `_set_status_v1`: checks the entry and sets the in-use flags with one compare-exchange
    /// of its flags+domid word, retried while the guest changes it. Returns the refusal, or nil.
    private func pinLocked(_ entry: UnsafeMutableRawPointer, entryAddress: UInt64, write: Bool, grantee: UInt16,
                           alreadyActive: Bool) -> GrantStatus? {
        var mask = GrantTableABI.flagTypeMask
        if write { mask |= GrantTableABI.flagReadOnly }
        var seen = GuestAtomics.load32(entry)
        for _ in 0...Self.maxRetries {
            let flags = UInt16(truncatingIfNeeded: seen)
            let domid = UInt16(truncatingIfNeeded: seen >> 16)
            // An entry already in use passed these checks when its use began.
            if !alreadyActive && (flags & mask != GrantTableABI.flagPermitAccess || domid != grantee) { return .generalError }
            if write && flags & GrantTableABI.flagReadOnly != 0 { return .generalError }
            var newFlags = flags | GrantTableABI.flagReading
            if write { newFlags |= GrantTableABI.flagWriting }
            let desired = UInt32(newFlags) | UInt32(domid) << 16
            let found = GuestAtomics.compareExchange32(entry, expected: seen, desired: desired)
            if found == seen {
                memory.noteDeviceWrite(physical: entryAddress, length: 4)
                return nil
            }
            seen = found
        }
        return .generalError
    }

    /// Clears in-use flags in the entry (Xen `gnttab_clear_flags`: an atomic bit clear, which
    /// cannot lose the guest's concurrent changes to the other flags).
    private func clearFlagsLocked(_ entry: UnsafeMutableRawPointer, entryAddress: UInt64, _ flags: UInt16) {
        _ = GuestAtomics.fetchAndNot16(entry, flags)
        memory.noteDeviceWrite(physical: entryAddress, length: 2)
    }
}
