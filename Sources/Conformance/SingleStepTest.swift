import Foundation

/// One SingleStepTests record (format: ../shared/conformance-data/singlestep-80286/README.md).
public struct SingleStepTest {
    public struct State {
        public var regs: [String: UInt16]
        public var ram: [(UInt32, UInt8)]
    }
    public var name: String
    public var bytes: [UInt8]
    public var initial: State
    public var final: State
    public var exceptionVector: Int?
    public var flagAddress: UInt32?
    public var hash: String

    /// The 14 registers of a test, in the data's order.
    public static let registerNames = ["ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags"]

    init?(json: Any) {
        guard let o = json as? [String: Any],
              let name = o["name"] as? String,
              let bytes = o["bytes"] as? [Int],
              let initial = SingleStepTest.state(o["initial"]),
              let final = SingleStepTest.state(o["final"]),
              let hash = o["hash"] as? String else { return nil }
        self.name = name
        self.bytes = bytes.map { UInt8(truncatingIfNeeded: $0) }
        self.initial = initial
        self.final = final
        self.hash = hash
        if let e = o["exception"] as? [String: Any] {
            exceptionVector = e["number"] as? Int
            flagAddress = (e["flag_address"] as? Int).map { UInt32($0) }
        }
    }

    static func state(_ any: Any?) -> State? {
        guard let o = any as? [String: Any], let regs = o["regs"] as? [String: Int], let ram = o["ram"] as? [[Int]] else {
            return nil
        }
        return State(regs: regs.mapValues { UInt16(truncatingIfNeeded: $0) },
                     ram: ram.compactMap { $0.count == 2 ? (UInt32($0[0]), UInt8(truncatingIfNeeded: $0[1])) : nil })
    }

    /// Expected final value of a register (the data lists changed registers only).
    public func expected(_ r: String) -> UInt16 { final.regs[r] ?? initial.regs[r] ?? 0 }
}

/// Reads a `.jsonl.gz` file (through `gzip -dc`: Foundation on Linux has no inflate).
enum SingleStepFile {
    static func load(_ path: String) throws -> [SingleStepTest] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec gzip -dc \"$0\"", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ConformanceError("cannot decompress \(path)")
        }
        var tests: [SingleStepTest] = []
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let json = try? JSONSerialization.jsonObject(with: Data(line)),
                  let test = SingleStepTest(json: json) else {
                throw ConformanceError("\(path): malformed test record")
            }
            tests.append(test)
        }
        return tests
    }
}

public struct ConformanceError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
