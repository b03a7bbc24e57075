// Shared pieces of the KVM tests: opening /dev/kvm (or skipping with the reason), a small
// machine (memory, buses, lock, control, VM, one vCPU), recording devices, and the CPU
// states of the three guest entry modes.
import Foundation
import XCTest
@testable import KVMAccel
import MachineCore

/// Opens /dev/kvm or skips the calling test with a visible reason.
func openKVMOrSkip() throws -> KVMSystem {
    do {
        return try KVMSystem()
    } catch {
        throw XCTSkip("KVM test skipped: /dev/kvm not available: \(error)")
    }
}

/// Known differences of software-assisted KVM hosts from KVM on VT-x/AMD-V.
enum HostQuirks {
    /// kvm_pvm (KVM on a host without hardware virtualization, guest CPL 3 runs natively):
    /// the guest sees the host's leaf 1 feature bits whatever KVM_SET_CPUID2 said, because
    /// the instructions run natively; and the guest TSC is the host's (writes are ignored).
    static let isPVM = FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm")
}

/// A port device that records every write and answers reads from a queue.
final class RecordingPort: PortIODevice {
    var written: [UInt8] = []
    var writes: [(offset: UInt16, size: Int, value: UInt32)] = []
    var byteReads: [UInt8] = []
    var wideReadValue: UInt32 = 0
    var onWrite: ((UInt32) -> Void)?

    func portRead(offset: UInt16, size: Int) -> UInt32 {
        if size == 1 { return byteReads.isEmpty ? 0xFF : UInt32(byteReads.removeFirst()) }
        return wideReadValue
    }

    func portWrite(offset: UInt16, size: Int, value: UInt32) {
        writes.append((offset, size, value))
        if size == 1 { written.append(UInt8(truncatingIfNeeded: value)) }
        onWrite?(value)
    }

    var text: String { String(decoding: written, as: UTF8.self) }
}

/// QEMU's isa-debug-exit convention: a write asks the machine to stop with that value.
final class DebugExitPort: PortIODevice {
    let control: MachineControl
    init(control: MachineControl) { self.control = control }
    func portRead(offset: UInt16, size: Int) -> UInt32 { UInt32(truncatingIfNeeded: allOnes(size: size)) }
    func portWrite(offset: UInt16, size: Int, value: UInt32) { control.requestStop(.debugExit(value)) }
}

/// An MMIO device that records accesses and answers reads from a table by offset.
final class RecordingMMIO: MMIODevice {
    struct Access: Equatable { let write: Bool; let offset: UInt64; let size: Int; let value: UInt64 }
    var accesses: [Access] = []
    var readValues: [UInt64: UInt64] = [:]

    func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        let v = readValues[offset] ?? allOnes(size: size)
        accesses.append(Access(write: false, offset: offset, size: size, value: v))
        return v
    }

    func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        accesses.append(Access(write: true, offset: offset, size: size, value: value))
    }
}

/// One VM with one vCPU, the serial-like port at 0x3F8 and the debug-exit port at 0xF4.
final class KVMRig {
    static let serialPort: UInt16 = 0x3F8
    static let debugExitPort: UInt16 = 0xF4

    let system: KVMSystem
    let memory: GuestMemory
    let vm: KVMVirtualMachine
    let control = MachineControl()
    let ports = PortIOBus()
    let mmio = MMIOBus()
    let lock = Lock()
    let serial = RecordingPort()
    let cpu: KVMVirtualCPU

    init(irqchip: Bool = false, model: CPUModel = .swiftpc, vcpuID: Int = 0, memorySize: UInt64 = GuestMemory.minimumSize) throws {
        system = try openKVMOrSkip()
        memory = try GuestMemory(size: memorySize)
        vm = try KVMVirtualMachine(system: system, memory: memory)
        if irqchip {
            guard try vm.createInKernelIRQChip() else { throw XCTSkip("KVM test skipped: no KVM_CAP_IRQCHIP on this host") }
        }
        try ports.claim(base: KVMRig.serialPort, count: 1, device: serial, name: "serial")
        try ports.claim(base: KVMRig.debugExitPort, count: 1, device: DebugExitPort(control: control), name: "debug-exit")
        cpu = try KVMVirtualCPU(vm: vm, id: vcpuID, model: model, portIO: ports, mmio: mmio, lock: lock, control: control)
        let cpu = self.cpu
        control.onStopRequested = { cpu.requestStop() }
    }

    /// Runs on another thread with a deadline, so a guest that never stops fails the test
    /// instead of hanging it.
    func run(timeout: TimeInterval = 20) throws -> VCPUExit {
        final class Box: @unchecked Sendable { var result: Result<VCPUExit, MachineError> = .failure(.engineFailure("not run")) }
        let done = DispatchSemaphore(value: 0)
        let box = Box()
        let cpu = self.cpu
        let thread = Thread {
            do throws(MachineError) { box.result = .success(try cpu.run()) } catch { box.result = .failure(error) }
            done.signal()
        }
        thread.start()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            cpu.requestStop()
            done.wait()
            XCTFail("guest did not stop within \(timeout) s")
        }
        return try box.result.get()
    }
}

// MARK: CPU states of the guest entry modes

enum GuestState {
    static let codeAddress: UInt64 = 0x1000
    static let gdtAddress: UInt64 = 0x500
    static let pml4Address: UInt64 = 0x2000

    /// Real mode with CS=DS=ES=SS=0, IP at the code, SP at 0x8000.
    static func realMode() -> CPUState {
        var s = CPUState()
        s.cs = .realMode(0, code: true)
        s.rip = codeAddress
        s.rsp = 0x8000
        return s
    }

    /// Descriptors: null, 64-bit code (0x08), flat data (0x10), flat 32-bit code (0x18).
    static let gdt: [UInt64] = [0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, 0x00CF_9A00_0000_FFFF]

    static func writeGDT(_ memory: GuestMemory) throws {
        for (i, d) in gdt.enumerated() { try memory.write64(gdtAddress + UInt64(i * 8), d) }
    }

    static func systemSegments(_ s: inout CPUState) {
        s.gdtr = DescriptorTableRegister(base: gdtAddress, limit: UInt16(gdt.count * 8 - 1))
        s.idtr = DescriptorTableRegister(base: 0, limit: 0)
        s.tr = SegmentRegister(selector: 0, base: 0, limit: 0x67, type: 0xB, s: false, present: true)
        s.ldtr = SegmentRegister(selector: 0, base: 0, limit: 0, type: 0x2, s: false, present: false, unusable: true)
    }

    /// 32-bit flat protected mode, paging off (what a multiboot loader hands over).
    static func protectedMode(_ memory: GuestMemory) throws -> CPUState {
        try writeGDT(memory)
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.et
        s.cs = .flat(selector: 0x18, code: true)
        let data = SegmentRegister.flat(selector: 0x10, code: false)
        s.ds = data; s.es = data; s.ss = data; s.fs = data; s.gs = data
        systemSegments(&s)
        s.rip = codeAddress
        s.rsp = 0x8000
        return s
    }

    /// 64-bit mode with identity-mapped 2 MiB pages for the first 2 MiB and for
    /// 0xD0000000 (the MMIO window the tests use).
    static func longMode(_ memory: GuestMemory) throws -> CPUState {
        try writeGDT(memory)
        let pdpt: UInt64 = 0x3000, pdLow: UInt64 = 0x4000, pdHigh: UInt64 = 0x5000
        let present: UInt64 = 1, writable: UInt64 = 2, large: UInt64 = 0x80
        try memory.write64(pml4Address, pdpt | present | writable)
        try memory.write64(pdpt + 0 * 8, pdLow | present | writable)
        try memory.write64(pdpt + 3 * 8, pdHigh | present | writable)
        try memory.write64(pdLow, 0 | present | writable | large)
        let mmioPage: UInt64 = 0xD000_0000
        try memory.write64(pdHigh + ((mmioPage >> 21) & 511) * 8, mmioPage | present | writable | large)
        var s = CPUState()
        s.cr0 = CR0.pe | CR0.mp | CR0.et | CR0.ne | CR0.wp | CR0.pg
        s.cr3 = pml4Address
        s.cr4 = CR4.pae | CR4.osfxsr | CR4.osxmmexcpt
        s.msr.efer = EFER.lme | EFER.lma
        s.cs = .flat(selector: 0x08, code: true, longMode: true)
        let data = SegmentRegister.flat(selector: 0x10, code: false)
        s.ds = data; s.es = data; s.ss = data; s.fs = data; s.gs = data
        systemSegments(&s)
        s.rip = codeAddress
        s.rsp = 0x8000
        return s
    }
}
