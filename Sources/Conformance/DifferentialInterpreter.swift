import Interpreter
import MachineCore

/// Records the write of the end marker (`out 0xF4, al`).
final class DifferentialEndPort: PortIODevice {
    var hit = false
    var value: UInt32 = 0
    var onWrite: (() -> Void)?

    func portRead(offset: UInt16, size: Int) -> UInt32 { 0xFFFF_FFFF }

    func portWrite(offset: UInt16, size: Int, value: UInt32) {
        hit = true
        self.value = value
        onWrite?()
    }
}

/// The interpreter side of the differential test.
public final class DifferentialInterpreterEngine: DifferentialEngine {
    public let name: String
    /// Streams run as translated blocks (JIT/), translated on first sight, not one
    /// instruction at a time.
    let blockTranslation: Bool
    let memory: GuestMemory
    let cpu: X86CPU
    let endPort = DifferentialEndPort()
    /// Code bytes written by the previous case, to clear them (through the CPU, so the decoded
    /// code cache sees the change).
    var previousCodeLength = 0

    public init(defect: InjectedDefect = .none, blockTranslation: Bool = false) throws {
        self.blockTranslation = blockTranslation
        name = blockTranslation ? "translated" : "interpreter"
        memory = try GuestMemory(size: GuestMemory.minimumSize)
        try DifferentialGuest.writeTables(memory)
        let ports = PortIOBus()
        try ports.claim(base: UInt16(DifferentialGuest.endPort), count: 1, device: endPort, name: "differential-end")
        cpu = X86CPU(memory: memory, portBus: ports, mmioBus: MMIOBus(), lock: Lock())
        cpu.injectedDefect = defect
        if blockTranslation && !cpu.setBlockTranslation(enabled: true, threshold: 0) {
            throw MachineError.engineFailure("the host gives no executable memory for translated code")
        }
    }

    /// Instructions run as translated code so far (0 without block translation).
    public var translatedInstructions: UInt64 { cpu.translatedInstructions }

    public func run(_ c: DifferentialCase) throws -> DifferentialOutcome {
        let code = c.code
        for i in 0..<max(code.count, previousCodeLength) {
            cpu.pokePhysical(DifferentialGuest.codeAddress + UInt64(i), i < code.count ? code[i] : 0)
        }
        previousCodeLength = code.count
        try DifferentialMemory.load(memory, data: c.dataPage, stack: c.stackPage)
        cpu.setState(c.initialState)
        endPort.hit = false
        var steps = 0
        if blockTranslation {
            // The whole stream in one slice: it becomes one block (the end marker's OUT is not
            // translated), or several where a side exit hands an instruction to the interpreter.
            steps = cpu.runSlice(c.instructions.count)
        }
        // One instruction at a time: the stream has no branches, so count + 1 steps reach the
        // marker; a few more let a wrong length show as a fault rather than a stall.
        while !endPort.hit && cpu.shutdownReason == nil && steps < c.instructions.count + 4 {
            cpu.runSlice(1)
            steps += 1
        }
        let s = cpu.getState()
        let end: DifferentialOutcome.End
        if endPort.hit {
            end = .reachedEnd
        } else if let why = cpu.shutdownReason {
            end = .stopped("shutdown: \(why)")
        } else {
            end = .stopped("did not reach the end marker in \(steps) instructions")
        }
        let (data, stack) = try DifferentialMemory.save(memory)
        return DifferentialOutcome(end: end, gpr: s.gpr, rip: s.rip, rflags: s.rflags, dataPage: data, stackPage: stack,
                                   xmm: s.fpu.xmm, mxcsr: s.fpu.mxcsr, fpu: s.fpu)
    }
}

/// Loading and saving the data and stack pages.
public enum DifferentialMemory {
    public static func load(_ memory: GuestMemory, data: [UInt8], stack: [UInt8]) throws(MachineError) {
        let d = try memory.checkedPointer(DifferentialGuest.dataAddress, length: DifferentialGuest.pageSize)
        let s = try memory.checkedPointer(DifferentialGuest.stackAddress, length: DifferentialGuest.pageSize)
        data.withUnsafeBytes { d.copyMemory(from: $0.baseAddress!, byteCount: min($0.count, DifferentialGuest.pageSize)) }
        stack.withUnsafeBytes { s.copyMemory(from: $0.baseAddress!, byteCount: min($0.count, DifferentialGuest.pageSize)) }
    }

    public static func save(_ memory: GuestMemory) throws(MachineError) -> (data: [UInt8], stack: [UInt8]) {
        let d = try memory.checkedPointer(DifferentialGuest.dataAddress, length: DifferentialGuest.pageSize)
        let s = try memory.checkedPointer(DifferentialGuest.stackAddress, length: DifferentialGuest.pageSize)
        let data = [UInt8](UnsafeRawBufferPointer(start: d, count: DifferentialGuest.pageSize))
        let stack = [UInt8](UnsafeRawBufferPointer(start: s, count: DifferentialGuest.pageSize))
        return (data, stack)
    }

    /// Writes the code bytes (for an engine whose memory the CPU does not cache, i.e. KVM).
    public static func loadCode(_ memory: GuestMemory, _ code: [UInt8], clearing previous: Int) throws(MachineError) {
        let n = max(code.count, previous)
        let p = try memory.checkedPointer(DifferentialGuest.codeAddress, length: n)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: n)
        code.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
}
