/// One client of the store: a domain talking through its ring, with its watches, open
/// transactions and the replies and watch events waiting for room in its ring.
public final class XenStoreConnection {
    public let caller: XenStoreCaller
    public internal(set) var watches: [XenStoreWatch] = []
    var transactions: [UInt32: XenStoreTransaction] = [:]
    var nextTransactionID: UInt32 = 1

    /// Encoded messages not yet copied into the ring, oldest first, and where the first one
    /// has been copied up to.
    var output: [[UInt8]] = []
    var outputHead = 0
    var firstMessageOffset = 0
    public private(set) var outputBytes = 0
    /// Watch events dropped because the domain let its queue grow past the quota.
    public private(set) var droppedEvents = 0

    /// Told when something was queued for this connection outside its own requests (a watch
    /// event caused by another domain or by the VMM): the ring's owner should service the ring
    /// and notify the guest. It runs inside the store's operation: schedule the servicing
    /// (as a device schedules work) rather than calling into the store from here.
    public var onOutput: (() -> Void)?

    init(caller: XenStoreCaller) { self.caller = caller }

    public var openTransactions: Int { transactions.count }
    public var hasOutput: Bool { outputHead < output.count }

    /// Queues a reply; replies are never dropped (the ring stops taking requests instead).
    func queue(reply: XenStoreMessage) { append(reply.encoded) }

    /// Queues a watch event unless the queue is over `limit` bytes; false when dropped. An
    /// event too long for the protocol (a long path under a watch with a long token) is
    /// dropped too: the guest's reader would refuse it and lose its place in the stream.
    @discardableResult
    func queue(event: XenStoreMessage, limit: Int) -> Bool {
        guard outputBytes < limit, event.payload.count <= XenStoreMessage.payloadMax else { droppedEvents += 1; return false }
        append(event.encoded)
        return true
    }

    private func append(_ bytes: [UInt8]) {
        output.append(bytes)
        outputBytes += bytes.count
    }

    /// Hands out up to `max` queued bytes, in order, and forgets them.
    func takeOutput(max: Int) -> [UInt8] {
        var out: [UInt8] = []
        while out.count < max, outputHead < output.count {
            let message = output[outputHead]
            let n = min(max - out.count, message.count - firstMessageOffset)
            out.append(contentsOf: message[firstMessageOffset..<(firstMessageOffset + n)])
            firstMessageOffset += n
            outputBytes -= n
            if firstMessageOffset == message.count {
                outputHead += 1
                firstMessageOffset = 0
            }
        }
        if outputHead == output.count { output.removeAll(keepingCapacity: true); outputHead = 0 }
        return out
    }

    /// Forgets watches, transactions and queued output (RESET_WATCHES drops the first two;
    /// a ring reconnection drops all three).
    func reset(output dropOutput: Bool) {
        watches.removeAll()
        transactions.removeAll()
        if dropOutput {
            output.removeAll(); outputHead = 0; firstMessageOffset = 0; outputBytes = 0
        }
    }
}
