/// The printed and JSON forms of an assembly-suite run: a table per group and engine, one
/// `FAIL` line per failed check, the skip reasons, and the `N passed, N failed, N skipped`
/// summary (docs/ARCHITECTURE.md, "Command line").
public struct AssemblySuiteReport {
    public var results: [AssemblySuiteResult]
    /// Seconds each engine took.
    public var seconds: [String: Double] = [:]

    public init(results: [AssemblySuiteResult], seconds: [String: Double] = [:]) {
        self.results = results
        self.seconds = seconds
    }

    public var passed: Int { results.filter { $0.status == .passed }.count }
    public var failed: Int { results.filter { $0.status == .failed }.count }
    public var skipped: Int { results.filter { $0.status == .skipped }.count }

    public var summaryLine: String { "\(passed) passed, \(failed) failed, \(skipped) skipped" }

    struct Row { var engine: String; var group: String; var passed = 0; var failed = 0; var skipped = 0 }

    var rows: [Row] {
        var order: [String] = []
        var rows: [String: Row] = [:]
        for r in results {
            let key = r.engine + "\u{0}" + r.group
            if rows[key] == nil { order.append(key); rows[key] = Row(engine: r.engine, group: r.group) }
            switch r.status {
            case .passed: rows[key]!.passed += 1
            case .failed: rows[key]!.failed += 1
            case .skipped: rows[key]!.skipped += 1
            }
        }
        return order.map { rows[$0]! }
    }

    /// The per-group table.
    public var table: String {
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        func lpad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        var lines = [pad("engine", 16) + pad("group", 14) + lpad("passed", 8) + lpad("failed", 8) + lpad("skipped", 9)]
        for r in rows {
            lines.append(pad(r.engine, 16) + pad(r.group, 14) + lpad("\(r.passed)", 8) + lpad("\(r.failed)", 8) + lpad("\(r.skipped)", 9))
        }
        return lines.joined(separator: "\n")
    }

    /// `FAIL engine group/test check N: expected X, got Y`, one line per failure.
    public var failureLines: [String] {
        results.filter { $0.status == .failed }.flatMap { r in r.failures.map { "FAIL \(r.engine) \(r.qualifiedName) \($0)" } }
    }

    /// Skip reasons with their counts, per engine.
    public var skipLines: [String] {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for r in results where r.status == .skipped {
            let key = "\(r.engine): \(r.skipReason ?? "skipped")"
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += 1
        }
        return order.map { "skipped \(counts[$0]!) on \($0)" }
    }

    /// The report as a JSON-serializable object: totals, groups and every test.
    public var jsonObject: [String: Any] {
        let tests: [[String: Any]] = results.map { r in
            var o: [String: Any] = ["engine": r.engine, "group": r.group, "test": r.test, "status": r.status.rawValue,
                                    "checks": r.checks]
            if !r.failures.isEmpty { o["failures"] = r.failures }
            if let why = r.skipReason { o["skipReason"] = why }
            return o
        }
        let groups: [[String: Any]] = rows.map {
            ["engine": $0.engine, "group": $0.group, "passed": $0.passed, "failed": $0.failed, "skipped": $0.skipped]
        }
        return ["passed": passed, "failed": failed, "skipped": skipped, "seconds": seconds, "groups": groups, "tests": tests]
    }
}
