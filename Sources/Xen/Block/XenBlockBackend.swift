import MachineCore

/// The data path of one Xen virtual block device (xvdN), as domain 0's blkback serves it: the
/// frontend's one-page shared ring in a granted frame, an interdomain event channel, and
/// requests whose data pages arrive as grant references (public/io/blkif.h; facts §2.9).
/// The xenstore handshake that sets it up is XenBlockBackend+Xenbus.swift.
///
/// Requests are served when the frontend signals, on the vCPU's thread inside its
/// EVTCHNOP_send, under this backend's own lock and never the machine's: a request's disk I/O
/// is bounded (at most `BlkifABI.maxIndirectSegments` pages) and one pass takes at most
/// `requestsPerPass` requests, so that a frontend that keeps the ring full cannot hold the vCPU.
/// Everything in the ring is the frontend's to corrupt: a producer index more than a ring
/// ahead breaks the connection (as Xen's "Frontend provided bogus ring requests"); a bad
/// request is answered with an error and the ring goes on.
public final class XenBlockBackend: @unchecked Sendable {
    /// Requests served per signal before the rest wait for `onMoreWork`.
    public static let requestsPerPass = 4 * Int(BlkifABI.ringSlots)

    public let storage: XenBlockStorage
    /// The image's sectors of 512 bytes (the `sectors` node).
    public let sectors: UInt64
    public let readOnly: Bool
    let memory: GuestMemory
    let grants: GrantTable
    let events: EventChannelTable
    /// Work a signal left for later (vCPU thread, no lock held): the owner calls `service`
    /// again soon.
    public var onMoreWork: (@Sendable () -> Void)?

    struct Connection {
        var ringGrant: GrantAccess
        var backendPort: UInt32
        /// The backend's private indices: the next request to take and the next response slot.
        var requestConsumer: UInt32 = 0
        var responseProducer: UInt32 = 0
        var broken: String?
    }

    public struct Statistics: Equatable, Sendable {
        public var requests = 0, reads = 0, writes = 0, flushes = 0, errors = 0, unsupported = 0
        public var bytesRead: UInt64 = 0, bytesWritten: UInt64 = 0
    }

    let lock = Lock()
    // Guarded by `lock`.
    var connection: Connection?
    var stats = Statistics()
    /// Scratch for a copied request slot.
    private var slot = [UInt8](repeating: 0, count: BlkifABI.requestSize)

    public init(storage: XenBlockStorage, readOnly: Bool, memory: GuestMemory, grants: GrantTable, events: EventChannelTable) {
        self.storage = storage
        self.readOnly = readOnly || storage.readOnly
        self.sectors = storage.size / BlkifABI.sectorSize
        self.memory = memory
        self.grants = grants
        self.events = events
    }

    public var statistics: Statistics { lock.withLock { stats } }
    public var isConnected: Bool { lock.withLock { connection != nil } }
    /// Why the ring was given up, if it was.
    public var failure: String? { lock.withLock { connection?.broken } }

    public enum ConnectError: Error, Equatable {
        case ringNotGranted(GrantStatus)
        case badEventChannel
    }

    /// Maps the ring the frontend granted as `ringRef` (held writable until `disconnect`, so
    /// the guest sees GTF_reading|GTF_writing as on Xen) and binds its unbound port `guestPort`.
    public func connect(ringRef: UInt32, guestPort: UInt32) throws(ConnectError) {
        disconnect()
        let ring: GrantAccess
        do { ring = try grants.acquire(ref: ringRef, write: true) } catch { throw .ringNotGranted(error.status) }
        let port: UInt32
        do {
            port = try events.bindBackend(toGuestPort: guestPort) { [weak self] _ in
                guard let self, self.service() else { return }
                self.onMoreWork?()
            }
        } catch {
            grants.release(ring)
            throw .badEventChannel
        }
        lock.withLock { connection = Connection(ringGrant: ring, backendPort: port) }
        // Xen leaves the binder's port pending: look at the ring once (a ring just set up holds
        // less than a pass's budget).
        _ = service()
    }

    /// Gives the ring and the channel back (frontend closing, machine reset).
    public func disconnect() {
        guard let old = lock.withLock({ () -> Connection? in defer { connection = nil }; return connection }) else { return }
        events.closeBackendPort(old.backendPort)
        grants.release(old.ringGrant)
    }

    /// Takes the frontend's new requests and answers them (the channel's handler); true when
    /// requests are left for another pass.
    @discardableResult
    public func service() -> Bool {
        var notify: UInt32?
        var more = false
        lock.withLock {
            guard var c = connection, c.broken == nil,
                  let ring = memory.pointer(c.ringGrant.frameAddress, length: BlkifABI.pageSize) else { return }
            var budget = Self.requestsPerPass
            var answered = false
            while true {
                let producer = GuestAtomics.load32(ring + BlkifABI.ringRequestProducer)
                if producer &- c.requestConsumer > BlkifABI.ringSlots {
                    c.broken = "request producer \(producer) is more than a ring ahead of \(c.requestConsumer)"
                    break
                }
                while c.requestConsumer != producer && budget > 0 {
                    let entry = ring + BlkifABI.ringEntries + Int(c.requestConsumer % BlkifABI.ringSlots) * BlkifABI.requestSize
                    slot.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: entry, count: BlkifABI.requestSize)) }
                    c.requestConsumer &+= 1
                    budget -= 1
                    let (id, op, status) = perform()
                    let response = ring + BlkifABI.ringEntries + Int(c.responseProducer % BlkifABI.ringSlots) * BlkifABI.requestSize
                    response.storeBytes(of: id.littleEndian, toByteOffset: BlkifABI.responseID, as: UInt64.self)
                    response.storeBytes(of: op, toByteOffset: BlkifABI.responseOperation, as: UInt8.self)
                    response.storeBytes(of: status.littleEndian, toByteOffset: BlkifABI.responseStatus, as: Int16.self)
                    c.responseProducer &+= 1
                    answered = true
                }
                if budget == 0 { more = c.requestConsumer != GuestAtomics.load32(ring + BlkifABI.ringRequestProducer); break }
                // RING_FINAL_CHECK_FOR_REQUESTS: ask for a signal at the next request, then look
                // once more for one that raced with that.
                GuestAtomics.store32(ring + BlkifABI.ringRequestEvent, c.requestConsumer &+ 1)
                if GuestAtomics.load32(ring + BlkifABI.ringRequestProducer) == c.requestConsumer { break }
            }
            if answered {
                // RING_PUSH_RESPONSES_AND_CHECK_NOTIFY.
                let old = GuestAtomics.load32(ring + BlkifABI.ringResponseProducer)
                let new = c.responseProducer
                GuestAtomics.store32(ring + BlkifABI.ringResponseProducer, new)
                let event = GuestAtomics.load32(ring + BlkifABI.ringResponseEvent)
                if new &- event < new &- old { notify = c.backendPort }
                memory.noteDeviceWrite(physical: c.ringGrant.frameAddress, length: BlkifABI.pageSize)
            }
            connection = c
        }
        if let notify { events.notifyGuest(fromBackendPort: notify) }
        return more
    }

    /// Does the request in `slot`; returns the response's id, operation and status.
    private func perform() -> (UInt64, UInt8, Int16) {
        stats.requests += 1
        let parsed = slot.withUnsafeBytes { BlkifRequest.parse($0) }
        let op = slot[BlkifABI.requestOperation]
        let rawID = slot.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: BlkifABI.requestID, as: UInt64.self)) }
        switch parsed {
        case .failure(.unsupported):
            stats.unsupported += 1
            return (rawID, op, BlkifABI.statusNotSupported)
        case .failure(.invalid):
            stats.errors += 1
            return (rawID, op, BlkifABI.statusError)
        case .success(var request):
            let ok = execute(&request)
            if !ok { stats.errors += 1 }
            return (request.id, request.operation, ok ? BlkifABI.statusOK : BlkifABI.statusError)
        }
    }

    private func execute(_ request: inout BlkifRequest) -> Bool {
        switch request.kind {
        case .flush:
            stats.flushes += 1
            return readOnly || storage.flush()
        case .read:
            guard loadIndirect(&request), request.fits(diskSectors: sectors), transfer(request, toGuest: true) else { return false }
            stats.reads += 1
            return true
        case .write, .barrierWrite:
            guard !readOnly, loadIndirect(&request), request.fits(diskSectors: sectors) else { return false }
            if request.kind == .barrierWrite {
                stats.flushes += 1
                guard storage.flush() else { return false }
            }
            guard transfer(request, toGuest: false) else { return false }
            stats.writes += 1
            if request.kind == .barrierWrite { return storage.flush() }
            return true
        }
    }

    /// Reads an indirect request's segment list from its granted pages (read-only to us).
    private func loadIndirect(_ request: inout BlkifRequest) -> Bool {
        guard !request.indirectGrants.isEmpty else { return true }
        let grantList = request.indirectGrants
        var held: [GrantAccess] = []
        defer { for access in held { grants.release(access) } }
        let rejection = request.readIndirectSegments { k in
            guard let access = try? grants.acquire(ref: grantList[k], write: false),
                  let page = memory.pointer(access.frameAddress, length: BlkifABI.pageSize) else { return nil }
            held.append(access)
            return UnsafeRawBufferPointer(start: page, count: BlkifABI.pageSize)
        }
        return rejection == nil
    }

    /// Moves the request's sectors between the image and the granted pages, segment by segment;
    /// stops at the first refused grant or failed host I/O.
    private func transfer(_ request: BlkifRequest, toGuest: Bool) -> Bool {
        var offset = request.sector * BlkifABI.sectorSize
        for segment in request.segments {
            let length = Int(segment.sectorCount * BlkifABI.sectorSize)
            guard let access = try? grants.acquire(ref: segment.grant, write: toGuest) else { return false }
            defer { grants.release(access) }
            let address = access.frameAddress + UInt64(segment.firstSector) * BlkifABI.sectorSize
            guard let p = memory.pointer(address, length: length) else { return false }
            if toGuest {
                guard storage.read(into: UnsafeMutableRawBufferPointer(start: p, count: length), at: offset) else { return false }
                memory.noteDeviceWrite(physical: address, length: length)
                stats.bytesRead += UInt64(length)
            } else {
                guard storage.write(UnsafeRawBufferPointer(start: p, count: length), at: offset) else { return false }
                stats.bytesWritten += UInt64(length)
            }
            offset += UInt64(length)
        }
        return true
    }
}
