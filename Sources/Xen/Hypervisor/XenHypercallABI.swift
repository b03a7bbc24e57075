/// Hypercall and sub-operation numbers, and the layouts of the argument structures the
/// hypervisor core reads (public/xen.h, version.h, features.h, memory.h, hvm/hvm_op.h,
/// hvm/params.h, vcpu.h, sched.h of Xen 4.17; offsets as gcc lays them out for x86_64, and
/// for x86_32 where they differ).
public enum XenHypercall {
    public static let memoryOp: UInt64 = 12
    public static let xenVersion: UInt64 = 17
    public static let consoleIO: UInt64 = 18
    public static let grantTableOp: UInt64 = 20
    public static let vcpuOp: UInt64 = 24
    public static let schedOp: UInt64 = 29
    public static let eventChannelOp: UInt64 = 32
    public static let hvmOp: UInt64 = 34

    /// Names for `--stats` (xen.h `__HYPERVISOR_*`), including calls answered -ENOSYS.
    public static func name(_ number: UInt64) -> String {
        switch number {
        case 0: return "set_trap_table"
        case 1: return "mmu_update"
        case 2: return "set_gdt"
        case 3: return "stack_switch"
        case 4: return "set_callbacks"
        case 5: return "fpu_taskswitch"
        case 7: return "platform_op"
        case 8: return "set_debugreg"
        case 9: return "get_debugreg"
        case 10: return "update_descriptor"
        case memoryOp: return "memory_op"
        case 13: return "multicall"
        case 14: return "update_va_mapping"
        case 15: return "set_timer_op"
        case xenVersion: return "xen_version"
        case consoleIO: return "console_io"
        case grantTableOp: return "grant_table_op"
        case 21: return "vm_assist"
        case 23: return "iret"
        case vcpuOp: return "vcpu_op"
        case 25: return "set_segment_base"
        case 26: return "mmuext_op"
        case 27: return "xsm_op"
        case 28: return "nmi_op"
        case schedOp: return "sched_op"
        case 30: return "callback_op"
        case 31: return "xenoprof_op"
        case eventChannelOp: return "event_channel_op"
        case 33: return "physdev_op"
        case hvmOp: return "hvm_op"
        case 35: return "sysctl"
        case 36: return "domctl"
        case 37: return "kexec_op"
        case 38: return "tmem_op"
        case 39: return "argo_op"
        case 40: return "xenpmu_op"
        case 41: return "dm_op"
        case 42: return "hypfs_op"
        default: return "hypercall_\(number)"
        }
    }
}

/// xen_version (version.h).
public enum XenVersionABI {
    public static let version: UInt64 = 0
    public static let extraVersion: UInt64 = 1
    public static let compileInfo: UInt64 = 2
    public static let capabilities: UInt64 = 3
    public static let changeset: UInt64 = 4
    public static let platformParameters: UInt64 = 5
    public static let getFeatures: UInt64 = 6
    public static let pageSize: UInt64 = 7
    /// char[16], char[1024], char[64].
    public static let extraVersionSize = 16, capabilitiesSize = 1024, changesetSize = 64
    /// `struct xen_feature_info { unsigned int submap_idx; uint32_t submap; }`.
    public static let featureInfoSize = 8, featureInfoSubmap: UInt64 = 4
    /// XENFEAT_NR_SUBMAPS.
    public static let featureSubmapCount: UInt32 = 1
}

/// XENFEAT_* bits of submap 0 (features.h).
public enum XenFeature {
    public static let writablePageTables: UInt32 = 1 << 0
    public static let writableDescriptorTables: UInt32 = 1 << 1
    public static let autoTranslatedPhysmap: UInt32 = 1 << 2
    public static let supervisorModeKernel: UInt32 = 1 << 3
    public static let hvmCallbackVector: UInt32 = 1 << 8
    public static let hvmSafePVClock: UInt32 = 1 << 9
    public static let hvmPIRQs: UInt32 = 1 << 10
}

/// memory_op (memory.h).
public enum XenMemoryABI {
    /// The command is the low bits of the first argument; the rest carry a continuation.
    public static let commandMask: UInt64 = (1 << 6) - 1
    public static let addToPhysmap: UInt64 = 7
    public static let spaceSharedInfo: UInt32 = 0
    public static let spaceGrantTable: UInt32 = 1
    /// `struct xen_add_to_physmap`: domid u16 @0, size u16 @2, space u32 @4, then idx and gpfn
    /// as unsigned longs (8 bytes each on x86_64, 4 on x86_32).
    public static let addToPhysmapSize64 = 24, addToPhysmapSize32 = 16
    public static let addToPhysmapDomid: UInt64 = 0, addToPhysmapSpace: UInt64 = 4
}

/// hvm_op (hvm/hvm_op.h, hvm/params.h).
public enum XenHVMABI {
    public static let setParam: UInt64 = 0
    public static let getParam: UInt64 = 1
    public static let setEvtchnUpcallVector: UInt64 = 23
    /// `struct xen_hvm_param`: domid u16 @0, index u32 @4, value u64 @8 (the same on x86_32).
    public static let paramSize = 16, paramDomid: UInt64 = 0, paramIndex: UInt64 = 4, paramValue: UInt64 = 8
    /// `struct xen_hvm_evtchn_upcall_vector`: vcpu u32 @0, vector u8 @4.
    public static let upcallVectorSize = 8, upcallVectorVCPU: UInt64 = 0, upcallVectorVector: UInt64 = 4

    public static let paramCallbackIRQ: UInt32 = 0
    public static let paramStorePFN: UInt32 = 1
    public static let paramStoreEvtchn: UInt32 = 2
    public static let paramConsolePFN: UInt32 = 17
    public static let paramConsoleEvtchn: UInt32 = 18
    /// HVM_NR_PARAMS.
    public static let paramCount: UInt32 = 39
    /// HVM_PARAM_CALLBACK_IRQ's type in bits 63:56; type 2 delivers vector bits 7:0.
    public static let callbackTypeShift: UInt64 = 56
    public static let callbackTypeVector: UInt64 = 2
    /// Vectors 0-15 are exceptions' and cannot carry an upcall (Xen rejects them).
    public static let lowestUpcallVector: UInt8 = 0x10
}

/// vcpu_op (vcpu.h).
public enum XenVCPUABI {
    public static let registerVCPUInfo: UInt64 = 10
    /// `struct vcpu_register_vcpu_info`: mfn u64 @0, offset u32 @8, rsvd u32 @12.
    public static let registerVCPUInfoSize = 16, registerMFN: UInt64 = 0, registerOffset: UInt64 = 8
}

/// sched_op (sched.h).
public enum XenSchedABI {
    public static let yield: UInt64 = 0
    public static let block: UInt64 = 1
    public static let shutdown: UInt64 = 2
    /// `struct sched_shutdown { unsigned int reason; }`.
    public static let shutdownSize = 4
    public static let reasonPoweroff: UInt32 = 0
    public static let reasonReboot: UInt32 = 1
    public static let reasonSuspend: UInt32 = 2
    public static let reasonCrash: UInt32 = 3
    public static let reasonWatchdog: UInt32 = 4
    public static let reasonSoftReset: UInt32 = 5
}

/// console_io (xen.h).
public enum XenConsoleIOABI {
    public static let write: UInt64 = 0
    public static let read: UInt64 = 1
    /// Most bytes one CONSOLEIO_write takes: Xen takes any int count in preemptible chunks;
    /// a bounded answer keeps one guest call from holding the vCPU without end.
    public static let maxWrite: UInt64 = 1 << 20
}
