/// The requests a domain sends through its ring (xenstore.txt, "protocol details"), with the
/// unprivileged domain's limits: it may not introduce or release domains, set targets or send
/// control commands (EACCES), and its paths, watches and transactions count against its quota.
extension XenStore {
    /// Answers one request: its reply (or XS_ERROR) is queued on `connection`. As in C
    /// xenstored, the watch events a change causes are queued before its acknowledgement,
    /// and a new watch's first event after it.
    public func handle(_ request: XenStoreMessage, from connection: XenStoreConnection) {
        var firstFire: [XenStoreMessage] = []
        var reply: XenStoreMessage
        do {
            let payload = try perform(request, connection, firstFire: &firstFire)
            // A reply that cannot fit the protocol's limit is refused, as xenstored's send_reply.
            reply = payload.count <= XenStoreMessage.payloadMax ? request.reply(payload) : request.errorReply(.E2BIG)
        } catch {
            reply = request.errorReply(error)
        }
        connection.queue(reply: reply)
        // A new watch fires once straight away, after its acknowledgement (xenstore.txt, WATCH).
        for e in firstFire { connection.queue(event: e, limit: quota.pendingOutputBytes) }
    }

    func perform(_ request: XenStoreMessage, _ c: XenStoreConnection,
                 firstFire: inout [XenStoreMessage]) throws(XenStoreError) -> [UInt8] {
        guard let type = request.knownType else { throw .ENOSYS }
        let tx = request.transactionID
        let caller = c.caller
        let payload = request.payload[...]

        // A transaction id must name an open transaction of this connection; watches ignore it.
        if tx != 0 && type != .watch && type != .unwatch && c.transactions[tx] == nil { throw .ENOENT }

        switch type {
        case .read:
            let path = try resolve(try onlyArgument(payload), caller)
            return try inspect(c, transaction: tx, path) { t throws(XenStoreError) in try t.read(path, as: caller) }

        case .directory:
            let path = try resolve(try onlyArgument(payload), caller)
            let names = try inspect(c, transaction: tx, path) { t throws(XenStoreError) in try t.directory(path, as: caller) }
            return XenStoreMessage.strings(names)

        case .getPermissions:
            let path = try resolve(try onlyArgument(payload), caller)
            let perms = try inspect(c, transaction: tx, path) { t throws(XenStoreError) in try t.permissions(path, as: caller) }
            return XenStoreMessage.strings(perms.entries.map(\.text))

        case .write:
            guard let (text, value) = XenStoreMessage.splitFirst(request.payload) else { throw .EINVAL }
            let path = try resolve(text, caller)
            try mutate(c, transaction: tx) { t throws(XenStoreError) in try t.write(path, value: Array(value), as: caller) }
            return XenStoreMessage.ok

        case .mkdir:
            let path = try resolve(try onlyArgument(payload), caller)
            try mutate(c, transaction: tx) { t throws(XenStoreError) in try t.mkdir(path, as: caller) }
            return XenStoreMessage.ok

        case .remove:
            let path = try resolve(try onlyArgument(payload), caller)
            try mutate(c, transaction: tx) { t throws(XenStoreError) in try t.remove(path, as: caller) }
            return XenStoreMessage.ok

        case .setPermissions:
            guard let args = XenStoreMessage.splitStrings(payload), args.count >= 2 else { throw .EINVAL }
            let path = try resolve(args[0], caller)
            var entries: [XenStorePermissions.Entry] = []
            for text in args.dropFirst() {
                guard let e = XenStorePermissions.Entry(text: Array(text.utf8)) else { throw .EINVAL }
                entries.append(e)
            }
            let perms = XenStorePermissions(entries: entries)!
            try mutate(c, transaction: tx) { t throws(XenStoreError) in try t.setPermissions(path, perms, as: caller) }
            return XenStoreMessage.ok

        case .watch:
            let watch = try parseWatch(payload, caller)
            guard !c.watches.contains(where: { $0.target == watch.target && $0.token == watch.token }) else { throw .EEXIST }
            if !caller.privileged && c.watches.count >= quota.watchesPerDomain { throw .E2BIG }
            c.watches.append(watch)
            firstFire.append(.watchEvent(path: watch.spelledPath, token: watch.token))
            return XenStoreMessage.ok

        case .unwatch:
            let watch = try parseWatch(payload, caller)
            guard let i = c.watches.firstIndex(where: { $0.target == watch.target && $0.token == watch.token }) else { throw .ENOENT }
            c.watches.remove(at: i)
            return XenStoreMessage.ok

        case .transactionStart:
            guard tx == 0 else { throw .EBUSY }
            if !caller.privileged && c.transactions.count >= quota.transactionsPerDomain { throw .ENOSPC }
            // Ids are opaque nonzero u32s; skip those still open (there are at most a few).
            var id = c.nextTransactionID
            while id == 0 || c.transactions[id] != nil { id &+= 1 }
            c.nextTransactionID = id &+ 1
            c.transactions[id] = XenStoreTransaction(id: id, tree: tree)
            return XenStoreMessage.strings([String(id)])

        case .transactionEnd:
            let verdict = try onlyArgument(payload)
            guard verdict == "T" || verdict == "F" else { throw .EINVAL }
            guard tx != 0, let t = c.transactions.removeValue(forKey: tx) else { throw .ENOENT }
            if verdict == "T" {
                try t.commit(into: &tree, as: caller)
                fire(t.events, from: c)
            }
            return XenStoreMessage.ok

        case .getDomainPath:
            let domid = try parseDomid(try onlyArgument(payload))
            return XenStoreMessage.strings([XenStorePath.home(of: domid).string])

        case .isDomainIntroduced:
            let domid = try parseDomid(try onlyArgument(payload))
            return XenStoreMessage.strings([isIntroduced(domid: domid) ? "T" : "F"])

        case .resetWatches:
            c.reset(output: false)
            return XenStoreMessage.ok

        case .introduce, .release, .resume, .setTarget, .control:
            // xenstored allows these to the control domain only.
            guard caller.privileged else { throw .EACCES }
            guard type == .introduce || type == .release, let args = XenStoreMessage.splitStrings(payload), !args.isEmpty else { throw .ENOSYS }
            let domid = try parseDomid(args[0])
            guard domid != 0 else { throw .EINVAL }
            if type == .introduce { introduce(domid: domid) } else { release(domid: domid) }
            return XenStoreMessage.ok

        case .directoryPart:
            guard let args = XenStoreMessage.splitStrings(payload), args.count == 2,
                  args[1].utf8.count <= 10, let offset = Int(args[1]) else { throw .EINVAL }
            let path = try resolve(args[0], caller)
            let node = try inspect(c, transaction: tx, path) { t throws(XenStoreError) in try t.readable(path, as: caller) }
            return try directoryPart(node, from: offset)

        case .watchEvent, .error:
            // Replies, not requests.
            throw .ENOSYS
        }
    }

    /// DIRECTORY_PART's reply (xenstore.txt): the node's generation, then the children's
    /// names from byte `offset` of the full list, as many whole names as fit the payload,
    /// and one more NUL when the list ends here. The offset must fall on a name's start.
    func directoryPart(_ node: XenStoreNode, from offset: Int) throws(XenStoreError) -> [UInt8] {
        var out = XenStoreMessage.strings([String(node.generation)])
        var position = 0, index = 0
        while position < offset, index < node.children.count {
            position += node.children[index].utf8.count + 1
            index += 1
        }
        guard position == offset else { throw .EINVAL }
        let room = XenStoreMessage.payloadMax - 1
        while index < node.children.count, out.count + node.children[index].utf8.count + 1 <= room {
            out += XenStoreMessage.strings([node.children[index]])
            index += 1
        }
        if index == node.children.count { out.append(0) }
        return out
    }

    /// The single NUL-terminated string a payload must be (xenstored's onearg): EINVAL for
    /// a missing NUL, extra strings or invalid text.
    func onlyArgument(_ payload: ArraySlice<UInt8>) throws(XenStoreError) -> String {
        guard let args = XenStoreMessage.splitStrings(payload), args.count == 1 else { throw .EINVAL }
        return args[0]
    }

    func resolve(_ text: String, _ caller: XenStoreCaller) throws(XenStoreError) -> XenStorePath {
        guard let p = XenStorePath.resolve(text, for: caller.domid) else { throw .EINVAL }
        return p
    }

    /// A decimal domid 0...65535 (xenstore.txt, "<domid>").
    func parseDomid(_ text: String) throws(XenStoreError) -> UInt16 {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let v = UInt16(text) else { throw .EINVAL }
        return v
    }

    /// "<wpath>\0<token>\0[<depth>\0]": a path (absolute, relative or "@special") and a token.
    func parseWatch(_ payload: ArraySlice<UInt8>, _ caller: XenStoreCaller) throws(XenStoreError) -> XenStoreWatch {
        guard let args = XenStoreMessage.splitStrings(payload), args.count == 2 || args.count == 3 else { throw .EINVAL }
        let spelled = args[0]
        var depth: Int?
        if args.count == 3 {
            guard let d = Int(args[2]), d >= 0, args[2].utf8.count <= 4 else { throw .EINVAL }
            depth = d
        }
        if spelled.utf8.first == UInt8(ascii: "@") {
            guard XenStorePath.isWellFormed(spelled.utf8, maxLength: XenStorePath.relativeMax) else { throw .EINVAL }
            return XenStoreWatch(target: .special(spelled), spelledPath: spelled, token: args[1], relative: false, depth: depth)
        }
        let path = try resolve(spelled, caller)
        return XenStoreWatch(target: .path(path), spelledPath: spelled, token: args[1],
                             relative: spelled.utf8.first != UInt8(ascii: "/"), depth: depth)
    }
}
