/// Local APIC register offsets in the xAPIC MMIO page (SDM Vol. 3A §11.4.1, Table 11-1).
/// In x2APIC mode the same register is MSR 0x800 + offset / 16 (§11.12.1.2, Table 11-6).
public enum LAPICReg {
    public static let id: UInt64 = 0x020
    public static let version: UInt64 = 0x030
    /// Task priority.
    public static let tpr: UInt64 = 0x080
    /// Arbitration priority (read-only; reads as the processor priority here).
    public static let apr: UInt64 = 0x090
    /// Processor priority (read-only).
    public static let ppr: UInt64 = 0x0A0
    public static let eoi: UInt64 = 0x0B0
    /// Remote read (read-only, reads 0).
    public static let rrd: UInt64 = 0x0C0
    /// Logical destination.
    public static let ldr: UInt64 = 0x0D0
    /// Destination format (xAPIC only).
    public static let dfr: UInt64 = 0x0E0
    /// Spurious-interrupt vector: vector in 7:0, software enable in bit 8.
    public static let svr: UInt64 = 0x0F0
    /// In-service, trigger-mode and request registers: eight 32-bit words each, 16 bytes apart.
    public static let isrBase: UInt64 = 0x100
    public static let tmrBase: UInt64 = 0x180
    public static let irrBase: UInt64 = 0x200
    /// Error status.
    public static let esr: UInt64 = 0x280
    public static let lvtCMCI: UInt64 = 0x2F0
    /// Interrupt command, low and high halves (one 64-bit MSR in x2APIC mode).
    public static let icrLow: UInt64 = 0x300
    public static let icrHigh: UInt64 = 0x310
    public static let lvtTimer: UInt64 = 0x320
    public static let lvtThermal: UInt64 = 0x330
    public static let lvtPerformance: UInt64 = 0x340
    public static let lvtLINT0: UInt64 = 0x350
    public static let lvtLINT1: UInt64 = 0x360
    public static let lvtError: UInt64 = 0x370
    public static let timerInitialCount: UInt64 = 0x380
    public static let timerCurrentCount: UInt64 = 0x390
    public static let timerDivide: UInt64 = 0x3E0
    /// Self IPI (x2APIC only, MSR 0x83F).
    public static let selfIPI: UInt64 = 0x3F0
}

/// Bits of the local vector table entries (SDM Vol. 3A §11.5.1, Figure 11-8).
public enum LVT {
    public static let vectorMask: UInt32 = 0xFF
    /// Delivery mode, bits 10:8 (LINT0/LINT1 and the others that have it).
    public static let deliveryModeShift: UInt32 = 8
    public static let deliveryModeMask: UInt32 = 0x700
    /// Delivery status (read-only): a message is pending.
    public static let deliveryStatus: UInt32 = 1 << 12
    /// LINT0/LINT1: input polarity, remote IRR, trigger mode (1 = level).
    public static let polarity: UInt32 = 1 << 13
    public static let remoteIRR: UInt32 = 1 << 14
    public static let levelTriggered: UInt32 = 1 << 15
    public static let masked: UInt32 = 1 << 16
    /// Timer mode, bits 18:17: one-shot, periodic, TSC-deadline.
    public static let timerModeShift: UInt32 = 17
    public static let timerModeMask: UInt32 = 3 << 17
    public static let timerOneShot: UInt32 = 0
    public static let timerPeriodic: UInt32 = 1
    public static let timerTSCDeadline: UInt32 = 2
}

/// Delivery modes (LVT bits 10:8, ICR and IOAPIC redirection entries bits 10:8).
public enum APICDeliveryMode {
    public static let fixed: UInt32 = 0
    public static let lowestPriority: UInt32 = 1
    public static let smi: UInt32 = 2
    public static let nmi: UInt32 = 4
    public static let initialize: UInt32 = 5
    public static let startup: UInt32 = 6
    public static let extINT: UInt32 = 7
}

/// IA32_APIC_BASE (MSR 0x1B) bits (SDM Vol. 3A §11.4.4, Figure 11-5).
public enum APICBase {
    /// This processor is the bootstrap processor.
    public static let bsp: UInt64 = 1 << 8
    /// x2APIC mode (EXTD).
    public static let x2APICEnable: UInt64 = 1 << 10
    /// APIC global enable.
    public static let globalEnable: UInt64 = 1 << 11
    /// The APIC page's physical base, bits 35:12.
    public static let baseMask: UInt64 = 0xF_FFFF_F000
    /// Base address bits up to MAXPHYADDR (the rest of bits 63:12 are reserved).
    public static let addressMask: UInt64 = ((1 << LocalAPIC.physicalAddressBits) - 1) & ~0xFFF
}

/// MSR numbers the local APIC owns.
public enum APICMSR {
    public static let base: UInt32 = 0x1B
    /// IA32_TSC_DEADLINE.
    public static let tscDeadline: UInt32 = 0x6E0
    /// The x2APIC register range, 0x800 + xAPIC offset / 16.
    public static let x2APICFirst: UInt32 = 0x800
    public static let x2APICLast: UInt32 = 0x8FF
}
