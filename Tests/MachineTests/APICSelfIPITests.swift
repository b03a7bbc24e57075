import Devices
import Interpreter
import MachineCore
import XCTest
@testable import Machine

/// An IPI the local APIC sends itself reaches the interpreter's CPU at the next instruction
/// boundary (SDM Vol. 3A §11.6.1): an NMI through the xAPIC ICR page and through the x2APIC
/// ICR MSR is taken before the instruction after the write.
final class APICSelfIPITests: XCTestCase {
    func testSelfNMIIsTakenRightAfterTheICRWrite() throws {
        let memory = try GuestMemory(size: 4 << 20)
        let lock = Lock()
        let mmio = MMIOBus()
        let vcpu = VCPUPlatform()
        let engine = InterpreterEngine(memory: memory, portBus: PortIOBus(), mmioBus: mmio, lock: lock, control: MachineControl(),
                                       platform: vcpu)
        let lapic = LocalAPIC(timers: TimerQueue(clock: MachineClock(mode: .virtual)))
        try lapic.attach(to: mmio)
        let pins = EnginePins(engine)
        let platform = APICPlatform(lapic: lapic, ioapic: IOAPIC(), pic: DualPIC8259(), lock: lock, tscKHz: 1_000_000, vcpu: pins)
        vcpu.msrs = platform
        vcpu.interruptController = platform

        let code: [UInt8] = [
            0xC7, 0x05, 0x10, 0x03, 0xE0, 0xFE, 0, 0, 0, 0,             // mov dword [0xFEE00310], 0     ICR high
            0xC7, 0x05, 0x00, 0x03, 0xE0, 0xFE, 0x00, 0x04, 0x04, 0x00, // mov dword [0xFEE00300], 0x40400  self, NMI
            0xBB, 1, 0, 0, 0,                                         // mov ebx, 1
            0xB9, 0x1B, 0, 0, 0, 0x0F, 0x32,                          // mov ecx, 0x1B; rdmsr
            0x0D, 0x00, 0x0C, 0, 0, 0x0F, 0x30,                       // or eax, EN | EXTD; wrmsr      x2APIC mode
            0xB9, 0x30, 0x08, 0, 0, 0xB8, 0x00, 0x04, 0x04, 0x00,     // mov ecx, 0x830; mov eax, 0x40400
            0x31, 0xD2, 0x0F, 0x30,                                   // xor edx, edx; wrmsr           self, NMI
            0xBB, 2, 0, 0, 0,                                         // mov ebx, 2
            0xF4,                                                     // hlt
        ]
        // NMI handler: count in EDI, and note EBX (how far the code had got) at each NMI.
        let handler: [UInt8] = [0x47, 0x89, 0x1C, 0xBD, 0x00, 0x50, 0, 0, 0xCF]  // inc edi; mov [0x5000+edi*4], ebx; iretd
        try memory.write(code, at: 0x1000)
        try memory.write(handler, at: 0x3000)
        let gdt: [UInt64] = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF]
        for (i, d) in gdt.enumerated() { try memory.write64(0x500 + UInt64(i * 8), d) }
        try memory.write64(0x600 + 2 * 8, 0x3000 | (0x08 << 16) | (UInt64(0x8E) << 40))
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.et
        s.gdtr = DescriptorTableRegister(base: 0x500, limit: 23)
        s.idtr = DescriptorTableRegister(base: 0x600, limit: 3 * 8 - 1)
        s.cs = .flat(selector: 0x08, code: true)
        for keyPath in [\CPUState.ds, \CPUState.es, \CPUState.ss, \CPUState.fs, \CPUState.gs] {
            s[keyPath: keyPath] = .flat(selector: 0x10, code: false)
        }
        s.rip = 0x1000
        s.rsp = 0x8000
        try engine.setState(s)

        let exit = try engine.run()
        guard case .haltedForever = exit else { return XCTFail("ended with \(exit)") }
        let end = try engine.getState()
        XCTAssertEqual(end.rdi, 2, "both self-NMIs were delivered")
        XCTAssertEqual(try memory.read32(0x5004), 0, "the xAPIC one before the next instruction ran")
        XCTAssertEqual(try memory.read32(0x5008), 1, "the x2APIC one before the next instruction ran")
        XCTAssertEqual(end.rbx, 2)
    }
}

/// The vCPU pins of one engine, as the machine forwards them.
final class EnginePins: VCPUPins {
    let engine: VCPUEngine
    init(_ engine: VCPUEngine) { self.engine = engine }
    func raiseNMI() { engine.raiseNMI() }
    func interruptInputChanged() { engine.interruptInputChanged() }
    func readTimeStampCounter() -> UInt64 { 0 }
}
