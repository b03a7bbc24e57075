/// `--stats` lines for the Xen interface.
extension XenHypervisor {
    public var statisticsLines: [String] {
        lock.withLock {
            func list(_ counts: [XenHypercallKey: Int]) -> String {
                counts.keys.sorted().map { "\($0.description) \(counts[$0]!)" }.joined(separator: ", ")
            }
            let total = calls.values.reduce(0, +), missing = unimplemented.values.reduce(0, +)
            var lines = ["xen \(version): hypercalls \(total)" + (calls.isEmpty ? "" : " — " + list(calls))]
            lines.append("xen hypercalls answered -ENOSYS: \(missing)" + (unimplemented.isEmpty ? "" : " — " + list(unimplemented)))
            if refusedForPrivilege > 0 { lines.append("xen hypercalls refused from CPL > 0: \(refusedForPrivilege)") }
            return lines
        }
    }

    /// How many times (hypercall `number`, sub-operation `command`) was made, and how many
    /// of those answered -ENOSYS (tests, the monitor).
    public func callCount(_ number: UInt64, _ command: UInt64?) -> (calls: Int, unimplemented: Int) {
        let key = XenHypercallKey(number: number, command: command)
        return lock.withLock { (calls[key] ?? 0, unimplemented[key] ?? 0) }
    }
}
