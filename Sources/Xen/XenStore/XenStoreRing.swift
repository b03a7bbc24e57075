import MachineCore
import Synchronization

/// The guest's end of the store: the shared page `struct xenstore_domain_interface`
/// (io/xs_wire.h; misc/xenstore-ring.txt). The guest produces requests into `req` and
/// consumes replies and watch events from `rsp`; the store does the opposite. Both rings are
/// 1024-byte byte streams indexed by free-running u32 counters, masked with 1024.
///
/// Everything in the page is the guest's to scribble on: the indices are checked on every
/// pass (more than 1024 bytes outstanding means the connection is broken, as xenstored's
/// check_indexes), requests are copied out before they are parsed, and a header announcing
/// more than XENSTORE_PAYLOAD_MAX breaks the connection (the stream cannot be resynchronized).
/// A broken connection does nothing further until the guest asks for a reconnection.
public final class XenStoreRing {
    // Offsets in the page (xenstore-ring.txt, "The xenstore ring datastructure").
    public static let requestOffset = 0
    public static let responseOffset = 1024
    public static let ringSize = 1024          // XENSTORE_RING_SIZE
    public static let requestConsumerOffset = 2048
    public static let requestProducerOffset = 2052
    public static let responseConsumerOffset = 2056
    public static let responseProducerOffset = 2060
    public static let serverFeaturesOffset = 2064
    public static let connectionOffset = 2068
    public static let errorOffset = 2072
    /// sizeof(struct xenstore_domain_interface).
    public static let interfaceSize = 2076

    // server_features bits.
    public static let featureReconnection: UInt32 = 1 << 0  // XENSTORE_SERVER_FEATURE_RECONNECTION
    public static let featureError: UInt32 = 1 << 1         // XENSTORE_SERVER_FEATURE_ERROR
    public static let featureWatchDepth: UInt32 = 1 << 2    // WATCH takes a <depth>
    public static let features = featureReconnection | featureError | featureWatchDepth

    // connection values.
    public static let connected: UInt32 = 0                 // XENSTORE_CONNECTED
    public static let reconnecting: UInt32 = 1              // XENSTORE_RECONNECT

    /// The error field's values (XENSTORE_ERROR_*).
    public enum Failure: UInt32, Sendable {
        case communication = 1
        case ringIndex = 2
        case protocolViolation = 3
    }

    /// Most whole requests one `service` call answers, so a guest that keeps its ring full
    /// (on another vCPU thread) cannot hold the caller forever; `service` then reports that
    /// work is left.
    public static let requestsPerService = 32

    public let store: XenStore
    public let connection: XenStoreConnection
    let memory: GuestMemory
    public let address: UInt64

    /// The request being assembled: its header, then its payload (at most 16 + 4096 bytes).
    var partial: [UInt8] = []
    /// Why the connection stopped, until the guest reconnects.
    public private(set) var failure: Failure?

    /// Serves `connection` (a domain introduced to `store`) through the page at guest-physical
    /// `address`. Writes server_features now: the guest may read them before its first request.
    public init(store: XenStore, connection: XenStoreConnection, memory: GuestMemory, address: UInt64) {
        self.store = store; self.connection = connection; self.memory = memory; self.address = address
        if let page = page() {
            store32(page, Self.serverFeaturesOffset, Self.features)
            noteWritten()
        } else {
            failure = .communication
        }
    }

    /// What one `service` call did.
    public struct Activity: Equatable, Sendable {
        /// An index moved (requests consumed or replies produced) or the connection state
        /// changed: the guest must be sent an event on the store's port.
        public var notify = false
        /// Requests are still waiting (the per-call bound was reached); call again.
        public var moreWork = false
    }

    /// Moves what can move: queued replies and events into `rsp`, then complete requests out
    /// of `req` into the store, whose replies are copied back as room allows. Call it when the
    /// guest signals the store's event channel and when `connection.onOutput` fires.
    @discardableResult
    public func service() -> Activity {
        var activity = Activity()
        guard let page = page() else { failure = .communication; return activity }
        // A reconnection request (xenstore-ring.txt, "The ring reconnection feature") is the
        // way out of a failure too.
        if load32(page, Self.connectionOffset) == Self.reconnecting {
            reconnect(page)
            noteWritten()
            activity.notify = true
            return activity
        }
        guard failure == nil else { return activity }
        defer { if activity.notify || failure != nil { noteWritten() } }
        var handled = 0
        while true {
            if flushOutput(page) { activity.notify = true }
            if failure != nil { break }
            // Backpressure: replies are never dropped, so stop taking requests while the guest
            // leaves too many unread.
            if connection.outputBytes > store.quota.pendingOutputBytes { break }
            guard handled < Self.requestsPerService else { activity.moreWork = true; break }
            let (consumed, message) = readRequest(page)
            if consumed { activity.notify = true }
            guard let message else { break }
            store.handle(message, from: connection)
            handled += 1
        }
        return activity
    }

    // MARK: the request ring

    /// Copies bytes of the current request out of `req` (no more than it still needs) and
    /// returns it once whole. `consumed` is true when req_cons moved.
    func readRequest(_ page: UnsafeMutableRawPointer) -> (consumed: Bool, message: XenStoreMessage?) {
        var consumed = false
        // At most two passes: the header, then the payload it announces.
        for _ in 0..<2 {
            let cons = load32(page, Self.requestConsumerOffset)
            let prod = load32(page, Self.requestProducerOffset)
            // The guest wrote the bytes before it moved req_prod (its wmb): read the index
            // before the bytes it covers.
            atomicMemoryFence(ordering: .acquiring)
            let available = prod &- cons
            guard available <= UInt32(Self.ringSize) else { fail(page, .ringIndex); return (consumed, nil) }
            let wanted: Int
            if partial.count < XenStoreMessage.headerSize {
                wanted = XenStoreMessage.headerSize - partial.count
            } else {
                wanted = XenStoreMessage.headerSize + Int(XenStoreMessage.announcedLength(partial.prefix(XenStoreMessage.headerSize))) - partial.count
            }
            let n = min(Int(available), wanted)
            if n > 0 {
                for i in 0..<n {
                    let offset = Int((cons &+ UInt32(i)) & UInt32(Self.ringSize - 1))
                    partial.append(page.load(fromByteOffset: Self.requestOffset + offset, as: UInt8.self))
                }
                // The copies must be done before req_cons tells the guest it may overwrite them.
                atomicMemoryFence(ordering: .acquiringAndReleasing)
                store32(page, Self.requestConsumerOffset, cons &+ UInt32(n))
                consumed = true
            }
            if partial.count == XenStoreMessage.headerSize {
                let length = XenStoreMessage.announcedLength(partial)
                // xenstore.txt: a payload over XENSTORE_PAYLOAD_MAX gets the connection killed.
                guard length <= UInt32(XenStoreMessage.payloadMax) else { fail(page, .protocolViolation); return (consumed, nil) }
            }
            if partial.count >= XenStoreMessage.headerSize,
               partial.count == XenStoreMessage.headerSize + Int(XenStoreMessage.announcedLength(partial.prefix(XenStoreMessage.headerSize))) {
                let message = XenStoreMessage.decode(partial)
                partial.removeAll(keepingCapacity: true)
                return (consumed, message)
            }
            if n == 0 || n < wanted { break }
        }
        return (consumed, nil)
    }

    // MARK: the response ring

    /// Copies queued output into `rsp` while it has room; true when rsp_prod moved.
    func flushOutput(_ page: UnsafeMutableRawPointer) -> Bool {
        guard connection.hasOutput else { return false }
        let cons = load32(page, Self.responseConsumerOffset)
        let prod = load32(page, Self.responseProducerOffset)
        let used = prod &- cons
        guard used <= UInt32(Self.ringSize) else { fail(page, .ringIndex); return false }
        // The guest's reads of the bytes before rsp_cons must be over before we overwrite them.
        atomicMemoryFence(ordering: .acquiringAndReleasing)
        let bytes = connection.takeOutput(max: Self.ringSize - Int(used))
        guard !bytes.isEmpty else { return false }
        for (i, b) in bytes.enumerated() {
            let offset = Int((prod &+ UInt32(i)) & UInt32(Self.ringSize - 1))
            page.storeBytes(of: b, toByteOffset: Self.responseOffset + offset, as: UInt8.self)
        }
        // The bytes must be visible before rsp_prod says they are there.
        atomicMemoryFence(ordering: .releasing)
        store32(page, Self.responseProducerOffset, prod &+ UInt32(bytes.count))
        return true
    }

    // MARK: connection state

    /// Stops serving after a guest error, and says why in the error field.
    func fail(_ page: UnsafeMutableRawPointer, _ why: Failure) {
        failure = why
        store32(page, Self.errorOffset, why.rawValue)
    }

    /// The reconnection: drop the partial request, queued output, watches and transactions,
    /// empty both rings, clear the error, then say connected.
    func reconnect(_ page: UnsafeMutableRawPointer) {
        partial.removeAll()
        connection.reset(output: true)
        failure = nil
        store32(page, Self.requestConsumerOffset, load32(page, Self.requestProducerOffset))
        store32(page, Self.responseProducerOffset, load32(page, Self.responseConsumerOffset))
        store32(page, Self.errorOffset, 0)
        // The emptied rings must be seen before the state says connected.
        atomicMemoryFence(ordering: .releasing)
        store32(page, Self.connectionOffset, Self.connected)
    }

    /// The page changed behind the CPUs (rsp bytes, indices, state): engines that cached
    /// anything from it must forget it, as after any device write (GuestMemoryObserver).
    func noteWritten() {
        memory.noteDeviceWrite(physical: address, length: Self.interfaceSize)
    }

    func page() -> UnsafeMutableRawPointer? {
        memory.backendPagePointer(address)
    }

    // Index fields are aligned u32s the guest may change at any time: each is read once per
    // use into a local, and never trusted past the checks above.
    func load32(_ page: UnsafeMutableRawPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: page.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func store32(_ page: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt32) {
        page.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }
}
