import MachineCore

/// The backend of the guest's first PV console (hvc0): the `struct xencons_interface` page
/// (public/io/console.h; facts §2.11) and its event channel, which the VMM provides as Xen's
/// toolstack does (HVM_PARAM_CONSOLE_PFN / CONSOLE_EVTCHN). The guest writes `out` and sends on
/// the channel; the backend passes the bytes to `output` and frees the space. Host input goes
/// into `in`, and the guest is signalled.
///
/// The page is the guest's to scribble on: indices are free-running u32s read once per pass,
/// and a producer more than a ring's size ahead of its consumer is nonsense that the backend
/// answers by discarding what the indices claim (output) or by writing nothing (input), never
/// by reading or writing outside the rings.
public final class XenConsoleBackend: @unchecked Sendable {
    // Offsets and sizes in the page.
    public static let inOffset = 0, inSize = 1024
    public static let outOffset = 1024, outSize = 2048
    public static let inConsumerOffset = 3072, inProducerOffset = 3076
    public static let outConsumerOffset = 3080, outProducerOffset = 3084
    /// sizeof(struct xencons_interface).
    public static let interfaceSize = 3088
    /// Host input held while the guest's `in` ring is full; more is dropped, as a UART drops
    /// what overruns its FIFO.
    public static let inputBacklogLimit = 4096

    public let pageAddress: UInt64
    let memory: GuestMemory
    let events: EventChannelTable
    let output: @Sendable ([UInt8]) -> Void
    let page: UnsafeMutableRawPointer
    let lock = Lock()
    // Guarded by `lock`.
    var backlog: [UInt8] = []
    var backendPortNumber: UInt32?
    var guestPortNumber: UInt32?
    /// Output passes that found nonsense indices (tests, `--stats`).
    public private(set) var badIndexPasses = 0

    /// Nil when `pageAddress` is not a page-aligned page of RAM or a machine-backed page.
    public init?(memory: GuestMemory, pageAddress: UInt64, events: EventChannelTable, output: @escaping @Sendable ([UInt8]) -> Void) {
        guard let page = memory.backendPagePointer(pageAddress) else { return nil }
        self.memory = memory
        self.pageAddress = pageAddress
        self.events = events
        self.output = output
        self.page = page
    }

    /// Builds the channel as the toolstack does before the guest starts (and again after a
    /// reset): a zeroed page, a guest port bound to a new backend port. Returns the guest's port
    /// number for HVM_PARAM_CONSOLE_EVTCHN, nil when no port is free.
    public func connect() -> UInt32? {
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        memory.noteDeviceWrite(physical: pageAddress, length: 4096)
        if let old = lock.withLock({ backendPortNumber }) { events.closeBackendPort(old) }
        guard let guestPort = try? events.allocUnbound(dom: EventChannelABI.domidSelf, remoteDom: EventChannelABI.domidVMM),
              let backendPort = try? events.bindBackend(toGuestPort: guestPort, handler: { [weak self] _ in self?.service() })
        else { return nil }
        lock.withLock { backendPortNumber = backendPort; guestPortNumber = guestPort; backlog = [] }
        return guestPort
    }

    /// The guest's port of the channel (HVM_PARAM_CONSOLE_EVTCHN).
    public var guestPort: UInt32? { lock.withLock { guestPortNumber } }

    func word(_ offset: Int) -> UInt32 { GuestAtomics.load32(page + offset) }
    func setWord(_ offset: Int, _ value: UInt32) {
        GuestAtomics.store32(page + offset, value)
        memory.noteDeviceWrite(physical: pageAddress + UInt64(offset), length: 4)
    }

    /// The guest signalled: drain `out`, and move held input into `in` (it may have consumed).
    public func service() {
        let bytes: [UInt8] = lock.withLock {
            let consumer = word(Self.outConsumerOffset), producer = word(Self.outProducerOffset)
            let count = producer &- consumer
            guard count > 0 else { return [] }
            guard count <= UInt32(Self.outSize) else {
                // More outstanding than the ring holds: the indices are nonsense. Skip to the
                // producer so the guest's next write starts clean.
                badIndexPasses += 1
                setWord(Self.outConsumerOffset, producer)
                return []
            }
            var out = [UInt8](repeating: 0, count: Int(count))
            for i in 0..<Int(count) {
                out[i] = page.load(fromByteOffset: Self.outOffset + Int((consumer &+ UInt32(i)) % UInt32(Self.outSize)), as: UInt8.self)
            }
            setWord(Self.outConsumerOffset, producer)
            return out
        }
        if !bytes.isEmpty { output(bytes) }
        let signal = pushInput() || !bytes.isEmpty
        if signal, let port = lock.withLock({ backendPortNumber }) { events.notifyGuest(fromBackendPort: port) }
    }

    /// Host input for the guest's console (any thread, any lock held except the table's).
    public func input(_ bytes: [UInt8]) {
        lock.withLock { backlog += bytes.prefix(max(0, Self.inputBacklogLimit - backlog.count)) }
        if pushInput(), let port = lock.withLock({ backendPortNumber }) { events.notifyGuest(fromBackendPort: port) }
    }

    /// Copies held input into `in` as far as it has room; true when something was written.
    func pushInput() -> Bool {
        lock.withLock {
            guard !backlog.isEmpty else { return false }
            let consumer = word(Self.inConsumerOffset), producer = word(Self.inProducerOffset)
            let used = producer &- consumer
            guard used <= UInt32(Self.inSize) else { return false }  // nonsense: write nothing
            let count = min(backlog.count, Self.inSize - Int(used))
            guard count > 0 else { return false }
            for i in 0..<count {
                page.storeBytes(of: backlog[i], toByteOffset: Self.inOffset + Int((producer &+ UInt32(i)) % UInt32(Self.inSize)), as: UInt8.self)
            }
            memory.noteDeviceWrite(physical: pageAddress + UInt64(Self.inOffset), length: Self.inSize)
            // The bytes are in place before the producer index says so (console.h).
            setWord(Self.inProducerOffset, producer &+ UInt32(count))
            backlog.removeFirst(count)
            return true
        }
    }
}
