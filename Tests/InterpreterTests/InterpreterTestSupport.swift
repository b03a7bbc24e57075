import MachineCore
import XCTest
@testable import Interpreter

/// A bare CPU on 4 MiB of RAM for instruction-level tests.
final class TestMachine {
    let memory: GuestMemory
    let cpu: X86CPU
    let ports = PortIOBus()

    init() throws {
        memory = try GuestMemory(size: 4 << 20)
        cpu = X86CPU(memory: memory, portBus: ports, mmioBus: MMIOBus(), lock: Lock())
    }

    /// Real mode at 0000:1000 with a stack at 0000:8000 and `code` loaded at 0x1000.
    func realMode(_ code: [UInt8]) throws {
        try memory.write(code, at: 0x1000)
        var s = CPUState()
        s.cs = .realMode(0, code: true)
        s.rip = 0x1000
        s.ss = .realMode(0)
        s.rsp = 0x8000
        cpu.setState(s)
    }

    /// 32-bit flat protected mode (paging off) at 0x1000, with a GDT at 0x500 and an IDT at 0x600.
    func protectedMode(_ code: [UInt8], idtEntries: Int = 0) throws {
        try memory.write(code, at: 0x1000)
        // Null, code (0x08), data (0x10).
        let gdt: [UInt64] = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF]
        for (i, d) in gdt.enumerated() { try memory.write64(0x500 + UInt64(i * 8), d) }
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.et
        s.gdtr = DescriptorTableRegister(base: 0x500, limit: 23)
        s.idtr = DescriptorTableRegister(base: 0x600, limit: UInt16(max(idtEntries * 8, 1) - 1))
        s.cs = .flat(selector: 0x08, code: true)
        for keyPath in [\CPUState.ds, \CPUState.es, \CPUState.ss, \CPUState.fs, \CPUState.gs] {
            s[keyPath: keyPath] = .flat(selector: 0x10, code: false)
        }
        s.rip = 0x1000
        s.rsp = 0x8000
        cpu.setState(s)
    }

    /// Writes a 32-bit interrupt gate for `vector` to the IDT at 0x600.
    func interruptGate(_ vector: Int, handler: UInt32) throws {
        let low = UInt64(handler & 0xFFFF) | (0x08 << 16) | (UInt64(0x8E) << 40) | (UInt64(handler >> 16) << 48)
        try memory.write64(0x600 + UInt64(vector * 8), low)
    }

    /// Executes exactly `count` instructions (fewer if the CPU halts).
    func steps(_ count: Int) {
        for _ in 0..<count { cpu.runSlice(1) }
    }

    /// Runs until HLT (or `limit` instructions).
    @discardableResult
    func run(limit: Int = 10_000) -> CPUState {
        var n = 0
        while !cpu.isHalted && n < limit && cpu.shutdownReason == nil { n += cpu.runSlice(1) }
        return cpu.getState()
    }
}

extension TestMachine {
    /// A 64-bit interrupt gate (code selector 0x08) for `vector` in an IDT at 0x600, with
    /// IDTR covering vectors 0-15.
    func longModeInterruptGate(_ vector: Int, handler: UInt64) throws {
        let entry = 0x600 + UInt64(vector * 16)
        try memory.write64(entry, (handler & 0xFFFF) | (0x08 << 16) | (UInt64(0x8E) << 40) | (((handler >> 16) & 0xFFFF) << 48))
        try memory.write64(entry + 8, handler >> 32)
        var s = cpu.getState()
        s.idtr = DescriptorTableRegister(base: 0x600, limit: 16 * 16 - 1)
        cpu.setState(s)
    }
}
