import X86Decoder

/// A decoded instruction as handlers see it: a reference into the decoded-code cache.
/// Each field read is one load from the cache entry; the record is never copied on
/// the hot path (copying it cost more than executing most instructions).
struct InstructionRef {
    let entry: UnsafeMutablePointer<DecodedCodeCache.Entry>

    @inline(__always) var form: UInt16 { entry.pointee.form }
    @inline(__always) var mnemonic: UInt16 { entry.pointee.mnemonic }
    @inline(__always) var length: UInt8 { entry.pointee.length }
    @inline(__always) var operandSize: UInt8 { entry.pointee.operandSize }
    @inline(__always) var addressSize: UInt8 { entry.pointee.addressSize }
    @inline(__always) var prefixes: UInt16 { entry.pointee.prefixes }
    @inline(__always) var rex: UInt8 { entry.pointee.rex }
    @inline(__always) var segment: UInt8 { entry.pointee.segment }
    @inline(__always) var opcode: UInt8 { entry.pointee.opcode }
    @inline(__always) var modrm: UInt8 { entry.pointee.modrm }
    @inline(__always) var reg: UInt8 { entry.pointee.reg }
    @inline(__always) var rm: UInt8 { entry.pointee.rm }
    @inline(__always) var memoryBase: UInt8 { entry.pointee.memoryBase }
    @inline(__always) var memoryIndex: UInt8 { entry.pointee.memoryIndex }
    @inline(__always) var memoryScale: UInt8 { entry.pointee.memoryScale }
    @inline(__always) var hasMemory: Bool { entry.pointee.hasMemory }
    @inline(__always) var displacement: Int64 { entry.pointee.displacement }
    @inline(__always) var immediate: UInt64 { entry.pointee.immediate }
    @inline(__always) var immediate2: UInt64 { entry.pointee.immediate2 }
    /// Opcode map from the form's table entry (0 one-byte, 1 0F, ...), kept at decode time.
    @inline(__always) var map: UInt8 { entry.pointee.map }
    /// Encoding (0 legacy, 1 VEX, 2 EVEX, 3 3DNow!), kept at decode time.
    @inline(__always) var encoding: UInt8 { entry.pointee.encoding }
    @inline(__always) var handler: UInt8 { entry.pointee.handler }
    /// Operand size in bytes for fast-path handlers.
    @inline(__always) var size: Int { Int(entry.pointee.size) }
    @inline(__always) var aux: UInt8 { entry.pointee.aux }
}
