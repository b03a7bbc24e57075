/// The outcome of one test of the assembly suite on one engine.
public struct AssemblySuiteResult: Sendable {
    public enum Status: String, Sendable { case passed, failed, skipped }
    public var engine: String
    public var group: String
    public var test: String
    public var status: Status
    /// Checks the test reported.
    public var checks: Int
    /// One line per failed check or other failure: "check N: expected X, got Y".
    public var failures: [String]
    public var skipReason: String?

    public init(engine: String, group: String, test: String, status: Status, checks: Int, failures: [String],
                skipReason: String? = nil) {
        self.engine = engine; self.group = group; self.test = test; self.status = status; self.checks = checks
        self.failures = failures; self.skipReason = skipReason
    }

    public var qualifiedName: String { "\(group)/\(test)" }

    /// The results of one run of a binary, from its report records. A test passes when it
    /// started, made at least one check, every check matched, no unexpected exception was
    /// reported, and it returned to the dispatcher.
    static func evaluate(_ binary: AssemblySuiteBinary, records: [AssemblySuiteBinary.Record], engine: String,
                         selected: [Int: String?], runProblem: String?) -> [AssemblySuiteResult] {
        var byTest: [Int: [AssemblySuiteBinary.Record]] = [:]
        for r in records { byTest[r.test, default: []].append(r) }
        var out: [AssemblySuiteResult] = []
        for (i, test) in binary.tests.enumerated() {
            guard let skip = selected[i] else { continue }
            var result = AssemblySuiteResult(engine: engine, group: binary.group, test: test.name, status: .passed,
                                             checks: 0, failures: [], skipReason: nil)
            if let reason = skip {
                result.status = .skipped
                result.skipReason = reason
                out.append(result)
                continue
            }
            let rs = byTest[i] ?? []
            var started = false, ended = false
            for r in rs {
                switch r.kind {
                case .start: started = true
                case .end: ended = true
                case .skip: break
                case .check:
                    result.checks += 1
                    if r.expected != r.actual {
                        result.failures.append("check \(r.index): expected \(hex(r.expected)), got \(hex(r.actual))")
                    }
                case .exception:
                    result.failures.append("unexpected exception \(vectorName(r.index)) (error code \(hex(r.expected))) at RIP \(hex(r.actual))")
                }
            }
            if !started {
                result.failures.append("did not run" + (runProblem.map { " (\($0))" } ?? ""))
            } else if !ended {
                result.failures.append("did not complete" + (runProblem.map { " (\($0))" } ?? ""))
            } else if result.checks == 0 && result.failures.isEmpty {
                result.failures.append("made no checks")
            }
            result.status = result.failures.isEmpty ? .passed : .failed
            out.append(result)
        }
        return out
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// "#GP(13)"-style names (SDM Vol. 3A §6.3.1, Table 6-1).
    static func vectorName(_ v: UInt32) -> String {
        let names = ["DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP", "PF", "15",
                     "MF", "AC", "MC", "XM", "VE", "CP"]
        return v < names.count ? "#\(names[Int(v)]) (vector \(v))" : "vector \(v)"
    }
}
