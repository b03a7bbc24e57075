// The system level of the KVM fd tree: the /dev/kvm file descriptor (api.rst §4, "system ioctls").
import CKVM
import MachineCore
#if canImport(Glibc)
import Glibc
#endif

/// An open /dev/kvm. One per process is enough; VMs are created from it.
public final class KVMSystem: @unchecked Sendable {
    /// The only stable API version there has ever been (api.rst, KVM_GET_API_VERSION).
    public static let requiredAPIVersion = 12
    /// Capabilities swiftpc cannot work without.
    public static let requiredCapabilities: [KVMCapability] = [.userMemory, .extendedCPUID, .immediateExit]

    public let path: String
    let fd: Int32
    /// KVM_GET_API_VERSION.
    public let apiVersion: Int
    /// Size of the shared kvm_run area to mmap from each vCPU fd (KVM_GET_VCPU_MMAP_SIZE).
    public let vcpuMmapSize: Int

    /// Opens `path` (normally /dev/kvm). Throws `.engineUnavailable` with one line that says
    /// why: the device is missing, not accessible, or speaks another API version.
    public init(path: String = "/dev/kvm") throws(MachineError) {
        self.path = path
        let fd = ckvm_open(path)
        guard fd >= 0 else {
            let code = -fd
            var message = "\(path): \(errnoText(code))"
            if code == EACCES || code == EPERM {
                message += " (read/write access is needed; usually membership in group kvm)"
            }
            throw .engineUnavailable(message)
        }
        self.fd = fd
        let version = ckvm_ioctl_int(fd, CKVM_GET_API_VERSION, 0)
        guard version == Int32(KVMSystem.requiredAPIVersion) else {
            close(fd)
            let got = version < 0 ? "KVM_GET_API_VERSION failed: \(errnoText(-version))" : "KVM API version \(version)"
            throw .engineUnavailable("\(path): \(got), swiftpc needs \(KVMSystem.requiredAPIVersion)")
        }
        apiVersion = Int(version)
        for capability in KVMSystem.requiredCapabilities where ckvm_ioctl_int(fd, CKVM_CHECK_EXTENSION, UInt(capability.rawValue)) <= 0 {
            close(fd)
            throw .engineUnavailable("\(path): the kernel lacks \(capability.name), which swiftpc needs")
        }
        let size = ckvm_ioctl_int(fd, CKVM_GET_VCPU_MMAP_SIZE, 0)
        guard size >= Int32(MemoryLayout<kvm_run>.size) else {
            close(fd)
            throw .engineUnavailable("\(path): KVM_GET_VCPU_MMAP_SIZE returned \(size)")
        }
        vcpuMmapSize = Int(size)
    }

    deinit { close(fd) }

    /// KVM_CHECK_EXTENSION on /dev/kvm: 0 when absent, otherwise 1 or a capability-specific value.
    public func checkExtension(_ capability: KVMCapability) -> Int {
        let r = ckvm_ioctl_int(fd, CKVM_CHECK_EXTENSION, UInt(capability.rawValue))
        return r < 0 ? 0 : Int(r)
    }

    public func has(_ capability: KVMCapability) -> Bool {
        !capabilitiesTreatedAsAbsent.contains(capability) && checkExtension(capability) > 0
    }

    /// Capabilities `has` denies, so that tests can take the paths of a kernel without them.
    var capabilitiesTreatedAsAbsent: Set<KVMCapability> = []

    /// KVM_GET_SUPPORTED_CPUID: every CPUID leaf KVM can present to a guest, with the bits
    /// that the host and KVM both support. The table's size is not known in advance, so the
    /// call is retried with a bigger buffer while the kernel answers E2BIG.
    public func supportedCPUID() throws(MachineError) -> [KVMCPUIDEntry] {
        var capacity: UInt32 = 128
        while capacity <= 4096 {
            guard let table = ckvm_cpuid2_alloc(capacity) else { throw .engineFailure("out of memory for the CPUID table") }
            defer { ckvm_free(table) }
            let r = ckvm_ioctl_ptr(fd, CKVM_GET_SUPPORTED_CPUID, table)
            if r == -E2BIG { capacity *= 2; continue }
            if r < 0 { throw .engineFailure("KVM_GET_SUPPORTED_CPUID failed: \(errnoText(-r))") }
            return (0..<table.pointee.nent).map { KVMCPUIDEntry(ckvm_cpuid2_entry(table, $0).pointee) }
        }
        throw .engineFailure("KVM_GET_SUPPORTED_CPUID: table larger than 4096 entries")
    }

    /// KVM_GET_MSR_INDEX_LIST: the MSRs that KVM_GET_MSRS / KVM_SET_MSRS accept.
    public func supportedMSRs() throws(MachineError) -> Set<UInt32> {
        // The first call with room for nothing answers E2BIG and stores the needed count.
        var probe = kvm_msr_list()
        let first = ckvm_ioctl_ptr(fd, CKVM_GET_MSR_INDEX_LIST, &probe)
        if first < 0 && first != -E2BIG { throw .engineFailure("KVM_GET_MSR_INDEX_LIST failed: \(errnoText(-first))") }
        let count = probe.nmsrs
        guard count > 0 else { return [] }
        guard let list = ckvm_msr_list_alloc(count) else { throw .engineFailure("out of memory for the MSR list") }
        defer { ckvm_free(list) }
        try KVMIoctl.call(fd, CKVM_GET_MSR_INDEX_LIST, raw: list, "KVM_GET_MSR_INDEX_LIST")
        return Set((0..<min(count, list.pointee.nmsrs)).map { ckvm_msr_list_index(list, $0) })
    }

    /// The TSC frequency KVM gives new vCPUs, in kHz, or nil when the kernel cannot say
    /// (no KVM_CAP_GET_TSC_KHZ). Asked of a scratch VM (KVM_GET_TSC_KHZ is a VM ioctl only
    /// with KVM_CAP_VM_TSC_CONTROL; otherwise of a scratch vCPU).
    public func tscKHz() throws(MachineError) -> UInt32? {
        guard has(.getTSCKHz) else { return nil }
        let vm = ckvm_ioctl_int(fd, CKVM_CREATE_VM, 0)
        guard vm >= 0 else { throw .engineFailure("KVM_CREATE_VM failed: \(errnoText(-vm))") }
        defer { close(vm) }
        if checkExtension(.vmTSCControl) > 0 {
            let khz = ckvm_ioctl_int(vm, CKVM_GET_TSC_KHZ, 0)
            if khz > 0 { return UInt32(khz) }
        }
        let vcpu = ckvm_ioctl_int(vm, CKVM_CREATE_VCPU, 0)
        guard vcpu >= 0 else { throw .engineFailure("KVM_CREATE_VCPU failed: \(errnoText(-vcpu))") }
        defer { close(vcpu) }
        let khz = ckvm_ioctl_int(vcpu, CKVM_GET_TSC_KHZ, 0)
        return khz > 0 ? UInt32(khz) : nil
    }
}
