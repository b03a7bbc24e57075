/// One assembled group file of the conformance suite (Tests/conformance/<group>.asm): the
/// header, the test table and the report records, as Tests/conformance/include/report.inc
/// lays them out. Change both together.
public struct AssemblySuiteBinary: Sendable {
    public static let magic: UInt32 = 0x5443_5053         // 'SPCT'
    public static let version: UInt32 = 1
    /// Where the runner loads every binary (report.inc LOAD_ADDRESS).
    public static let loadAddress: UInt64 = 0x10_0000
    /// Bytes of a test-table entry and of a report record.
    static let entrySize = 32
    static let recordSize = 32

    /// Test flags (report.inc TF_*).
    public static let kernelFlag: UInt32 = 1 << 0
    public static let skipFlag: UInt32 = 1 << 1

    public struct Test: Sendable {
        public var name: String
        public var flags: UInt32
        /// Guest address of the entry's flags dword (the runner sets TF_SKIP there).
        var flagsAddress: UInt64
        public var requirements: AssemblySuiteRequirement { AssemblySuiteRequirement(rawValue: flags & ~0xFF) }
        public var runsAtCPL0: Bool { flags & AssemblySuiteBinary.kernelFlag != 0 }
    }

    public var group: String
    public var image: [UInt8]
    public var bitness: Int
    public var entry: UInt64
    public var gdtBase: UInt64
    public var gdtLimit: UInt16
    public var tssBase: UInt64
    public var reportBase: UInt64
    public var reportCapacity: Int
    /// Guest address of the guest's report write pointer.
    public var reportNextAddress: UInt64
    public var tests: [Test]

    public enum FormatError: Error, CustomStringConvertible {
        case bad(String, String)
        public var description: String {
            switch self { case .bad(let group, let why): return "\(group): not a conformance binary: \(why)" }
        }
    }

    public init(group: String, image: [UInt8]) throws(FormatError) {
        self.group = group
        self.image = image
        func u32(_ o: Int) throws(FormatError) -> UInt32 {
            guard o >= 0, o + 4 <= image.count else { throw .bad(group, "header or table past the end") }
            return (0..<4).reduce(0) { $0 | UInt32(image[o + $1]) << (8 * UInt32($1)) }
        }
        func u64(_ o: Int) throws(FormatError) -> UInt64 { UInt64(try u32(o)) | UInt64(try u32(o + 4)) << 32 }
        func offset(_ address: UInt64) throws(FormatError) -> Int {
            guard address >= Self.loadAddress, address < Self.loadAddress + UInt64(image.count) else {
                throw .bad(group, "address \(String(address, radix: 16)) outside the image")
            }
            return Int(address - Self.loadAddress)
        }
        guard try u32(0) == Self.magic else { throw .bad(group, "no SPCT magic") }
        guard try u32(4) == Self.version else { throw .bad(group, "version \(try u32(4)), expected \(Self.version)") }
        bitness = Int(try u32(8))
        guard bitness == 64 || bitness == 32 else { throw .bad(group, "entry bitness \(bitness)") }
        let count = Int(try u32(12))
        entry = try u64(16)
        let table = try u64(24)
        gdtBase = try u64(32)
        gdtLimit = UInt16(truncatingIfNeeded: try u64(40))
        tssBase = try u64(48)
        reportBase = try u64(56)
        reportCapacity = Int(try u64(64))
        reportNextAddress = try u64(72)
        var tests: [Test] = []
        for i in 0..<count {
            let e = try offset(table) + i * Self.entrySize
            var n = try offset(try u64(e))
            var name: [UInt8] = []
            while n < image.count, image[n] != 0 { name.append(image[n]); n += 1 }
            tests.append(Test(name: String(decoding: name, as: UTF8.self), flags: try u32(e + 16),
                              flagsAddress: table + UInt64(i * Self.entrySize + 16)))
        }
        self.tests = tests
    }

    /// One record of the report area (report.inc REC_*).
    public struct Record: Sendable {
        public enum Kind: UInt32, Sendable { case start = 1, check = 2, exception = 3, end = 4, skip = 5 }
        public var kind: Kind
        public var test: Int
        /// The check index, or the vector of an exception.
        public var index: UInt32
        /// Expected value, or an exception's error code.
        public var expected: UInt64
        /// Actual value, or an exception's RIP.
        public var actual: UInt64
    }

    /// Parses `count` records from the raw bytes of the report area; unknown kinds end it.
    public static func records(_ bytes: [UInt8]) -> [Record] {
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[o + $1]) << (8 * UInt32($1)) } }
        func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
        var out: [Record] = []
        var o = 0
        while o + recordSize <= bytes.count {
            guard let kind = Record.Kind(rawValue: u32(o)) else { break }
            out.append(Record(kind: kind, test: Int(u32(o + 4)), index: u32(o + 8), expected: u64(o + 16), actual: u64(o + 24)))
            o += recordSize
        }
        return out
    }
}
