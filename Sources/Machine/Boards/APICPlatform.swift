import Devices
import MachineCore

/// The userspace interrupt controllers as the vCPU's platform (`VCPUPlatform`): external
/// interrupts come from the local APIC (which passes the 8259's through LINT0), and the
/// APIC's MSRs are the platform's. The IOAPIC's messages go to the local APIC, whose
/// level-triggered EOIs go back; the APIC's IPIs to itself reach the vCPU's pins.
final class APICPlatform: InterruptController, PlatformMSRs {
    let lapic: LocalAPIC
    let ioapic: IOAPIC
    let pic: DualPIC8259
    let lock: Lock

    init(lapic: LocalAPIC, ioapic: IOAPIC, pic: DualPIC8259, lock: Lock, tscKHz: UInt32, vcpu: VCPUPins) {
        self.lapic = lapic
        self.ioapic = ioapic
        self.pic = pic
        self.lock = lock
        lapic.extINTRequested = { [unowned pic] in pic.interruptOutput }
        lapic.extINTAcknowledge = { [unowned pic] in pic.acknowledge() }
        lapic.onLevelEOI = { [unowned ioapic] vector in ioapic.endOfInterrupt(vector: vector) }
        lapic.tscKHz = UInt64(tscKHz)
        lapic.currentTSC = { [unowned vcpu] in vcpu.readTimeStampCounter() }
        ioapic.deliver = { [unowned lapic] vector, level, destination, logical in
            guard lapic.matchesDestination(destination, logical: logical) else { return false }
            lapic.acceptInterrupt(vector: vector, levelTriggered: level)
            return true
        }
        // An IPI to itself reaches the vCPU at once: an NMI raises its NMI input, and either
        // kind ends its run slice after the instruction that wrote the ICR.
        lapic.onSelfIPI = { [unowned lapic, unowned vcpu] in
            if lapic.takeNMI() { vcpu.raiseNMI() }
            vcpu.interruptInputChanged()
        }
    }

    // MARK: InterruptController (called with the machine lock held)

    var interruptRequested: Bool { lapic.interruptRequested }
    func acknowledgeInterrupt() -> UInt8 { lapic.acknowledge() }

    // MARK: PlatformMSRs (called from the vCPU thread without the lock)

    func readMSR(_ index: UInt32) -> UInt64? {
        lock.withLock {
            switch index {
            case APICMSR.tscDeadline: return lapic.tscDeadline
            default: return lapic.readMSR(index)
            }
        }
    }

    func ownsMSR(_ index: UInt32) -> Bool {
        index == APICMSR.base || index == APICMSR.tscDeadline || (APICMSR.x2APICFirst...APICMSR.x2APICLast).contains(index)
    }

    func writeMSR(_ index: UInt32, _ value: UInt64) -> Bool {
        lock.withLock {
            switch index {
            case APICMSR.base: return lapic.writeBaseMSR(value)
            case APICMSR.tscDeadline:
                lapic.writeTSCDeadline(value)
                return true
            default: return lapic.writeMSR(index, value)
            }
        }
    }
}
