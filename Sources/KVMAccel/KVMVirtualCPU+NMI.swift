// NMI injection from userspace (api.rst §4, KVM_NMI; capability KVM_CAP_USER_NMI).
//
// KVM_NMI queues an NMI on the vCPU as if its LINT1 pin (wired for NMI) had fired; KVM then
// delivers it at the next instruction boundary where NMIs are not blocked. vCPU ioctls wait
// for a running KVM_RUN (they take the vCPU mutex), so another thread only records the
// request and kicks the vCPU out of the guest; the run loop issues KVM_NMI on its own thread
// before it re-enters.
import CKVM
import MachineCore
import Synchronization

extension KVMVirtualCPU {
    /// Raises the vCPU's NMI input. Thread-safe; a vCPU halted in the guest wakes for it.
    public func injectNMI() {
        nmiRequest.store(true, ordering: .sequentiallyConsistent)
        kick()
    }

    /// Issues KVM_NMI for a request made with `injectNMI()` (on the vCPU thread).
    func issueRequestedNMI() throws(MachineError) {
        guard nmiRequest.exchange(false, ordering: .sequentiallyConsistent) else { return }
        try KVMIoctl.call(fd, CKVM_NMI, int: 0, "KVM_NMI")
        // Without an in-kernel irqchip a HLT exited to userspace: the NMI ends it.
        userspaceHalted = false
    }

    /// An NMI requested with `injectNMI()` that the run loop has not issued yet.
    var hasRequestedNMI: Bool { nmiRequest.load(ordering: .sequentiallyConsistent) }
}
