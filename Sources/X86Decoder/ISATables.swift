/// The decoder's tables, unpacked once from the generated hex literals in
/// Generated/PackedISA.swift (a string literal compiles fast; a big array literal does not).
public final class ISATables: @unchecked Sendable {
    /// spaceCount * 256 root refs.
    let roots: UnsafeMutablePointer<UInt32>
    /// Decision-tree children refs.
    let nodes: UnsafeMutablePointer<UInt32>
    /// FormInfo for ids 0...formCount (0 is the invalid form).
    public let forms: UnsafeMutablePointer<FormInfo>
    /// The decoder's 16-byte digest of each form (same ids as `forms`).
    let hot: UnsafeMutablePointer<FormHot>
    /// `PrefixClass` entry of each byte, 256 for 16/32-bit code then 256 for 64-bit code.
    let prefixClasses: UnsafeMutablePointer<UInt16>
    public let formCount: Int
    public let mnemonicNames: [String]
    public let formNames: [String]
    let cpuidSetNames: [String]

    public static let shared = ISATables()

    private init() {
        let rootBytes = ISATables.unhex(PackedISA.roots)
        let nodeBytes = ISATables.unhex(PackedISA.nodes)
        let formBytes = ISATables.unhex(PackedISA.forms)
        roots = ISATables.words(rootBytes)
        nodes = ISATables.words(nodeBytes)
        formCount = PackedISA.formCount
        forms = .allocate(capacity: formCount + 1)
        forms[0] = FormInfo(mnemonic: 0, attributes: 0, immediate1: 0, immediate2: 0, operandSize: 0, addressSize: 0,
                            operands: (0, 0, 0, 0, 0), tupleType: 0, memorySize: 0, broadcastSize: 0, cpuidSet: 0,
                            flagsRead: 0, flagsWritten: 0, flagsUndefined: 0, flagsCleared: 0, flagsSet: 0,
                            encoding: 0, map: 0, opcode: 0, modes: 0, mandatoryPrefix: 0)
        let sizes: [UInt8] = [0, 16, 32, 64]
        for i in 0..<formCount {
            let r = Array(formBytes[(i * 32)..<(i * 32 + 32)])
            func u16(_ o: Int) -> UInt16 { UInt16(r[o]) | UInt16(r[o + 1]) << 8 }
            forms[i + 1] = FormInfo(
                mnemonic: u16(0),
                attributes: UInt32(u16(2)) | UInt32(u16(4)) << 16,
                immediate1: r[6] & 0xF, immediate2: r[6] >> 4,
                operandSize: sizes[Int(r[7] & 3)], addressSize: sizes[Int((r[7] >> 4) & 3)],
                operands: (r[8], r[9], r[10], r[11], r[12]),
                tupleType: r[13], memorySize: u16(14), broadcastSize: r[16], cpuidSet: r[17],
                flagsRead: u16(18), flagsWritten: u16(20), flagsUndefined: u16(22), flagsCleared: u16(24),
                flagsSet: u16(26), encoding: r[28] & 0xF, map: r[28] >> 4, opcode: r[29], modes: r[30], mandatoryPrefix: r[31])
        }
        hot = .allocate(capacity: formCount + 1)
        for i in 0...formCount { hot[i] = FormHot(forms[i]) }
        prefixClasses = .allocate(capacity: 512)
        for m in 0..<2 {
            for b in 0..<256 { prefixClasses[m * 256 + b] = PrefixClass.of(UInt8(b), is64: m == 1) }
        }
        mnemonicNames = [""] + ISATables.lines(PackedISA.mnemonicNames)
        formNames = ["INVALID"] + ISATables.lines(PackedISA.formNames)
        cpuidSetNames = ISATables.lines(PackedISA.cpuidSets)
    }

    /// The CPUID feature names (as in the data file) that gate a form.
    public func cpuidFeatures(ofForm id: UInt16) -> [String] {
        guard id != 0, Int(id) <= formCount else { return [] }
        let s = cpuidSetNames[Int(forms[Int(id)].cpuidSet)]
        return s == "-" ? [] : s.split(separator: ",").map(String.init)
    }

    private static func lines(_ s: StaticString) -> [String] {
        s.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }.split(separator: "\n").map(String.init)
    }

    private static func unhex(_ s: StaticString) -> [UInt8] {
        var out: [UInt8] = []
        s.withUTF8Buffer { buf in
            out.reserveCapacity(buf.count / 2)
            var hi: UInt8 = 0, half = false
            for c in buf {
                let v: UInt8
                switch c {
                case 0x30...0x39: v = c - 0x30
                case 0x61...0x66: v = c - 0x61 + 10
                default: continue
                }
                if half { out.append(hi << 4 | v) } else { hi = v }
                half.toggle()
            }
        }
        return out
    }

    private static func words(_ b: [UInt8]) -> UnsafeMutablePointer<UInt32> {
        let n = b.count / 4
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: max(n, 1))
        for i in 0..<n {
            p[i] = UInt32(b[4 * i]) | UInt32(b[4 * i + 1]) << 8 | UInt32(b[4 * i + 2]) << 16 | UInt32(b[4 * i + 3]) << 24
        }
        return p
    }
}
