// Stopping a vCPU from another thread (api.rst, KVM_RUN and kvm_run.immediate_exit).
//
// requestStop() sets kvm_run.immediate_exit and then, if a thread is inside run(), sends it
// the kick signal. Whichever comes first wins and nothing is lost:
// - the vCPU thread is in the guest: the signal forces an exit and KVM_RUN returns EINTR;
// - it is in userspace (dispatching an exit) or about to enter: KVM_RUN sees immediate_exit,
//   finishes the pending I/O and returns EINTR without running guest code;
// - run() is not running at all: the request stays set and the next run() returns at once.
// The signal handler does nothing and is installed without SA_RESTART so that KVM_RUN is not
// restarted behind our back.
import CKVM
import MachineCore
import Synchronization

enum KVMKick {
    /// Installs the handler for the kick signal once per process and unblocks the signal in
    /// the calling thread.
    static func prepare() throws(MachineError) {
        let r = ckvm_install_kick_handler()
        if r < 0 { throw .engineFailure("cannot install the vCPU kick signal handler: \(errnoText(-r))") }
    }
}

extension KVMVirtualCPU {
    /// Asks `run()` to return `.stopRequested` soon. Thread-safe; also fine from the vCPU
    /// thread itself (a device handler) and before `run()` is entered.
    public func requestStop() {
        // The flag first: whoever sees immediate_exit set then sees the flag too.
        stopRequestFlag.store(true, ordering: .sequentiallyConsistent)
        ckvm_run_set_immediate_exit(kvmRun, 1)
        kickLock.withLock {
            if let thread = runningThread { _ = ckvm_kick_thread(thread) }
        }
    }

    /// Records the calling thread as the one to kick; the kick signal is unblocked in it.
    func beginRun() throws(MachineError) {
        let r = ckvm_unblock_kick_signal()
        if r < 0 { throw .engineFailure("cannot unblock the vCPU kick signal: \(errnoText(-r))") }
        kickLock.withLock { runningThread = ckvm_thread_self() }
    }

    func endRun() {
        kickLock.withLock { runningThread = nil }
    }

    /// Consumes a pending stop request made through `requestStop()`. immediate_exit is
    /// cleared whoever set it (a stop request or `injectNMI()`).
    func takeStopRequest() -> Bool {
        ckvm_run_set_immediate_exit(kvmRun, 0)
        return stopRequestFlag.exchange(false, ordering: .sequentiallyConsistent)
    }

    /// Forces a running KVM_RUN out (or the next one to return at once) without asking for
    /// a stop: the run loop then looks at its requests and re-enters.
    func kick() {
        ckvm_run_set_immediate_exit(kvmRun, 1)
        kickLock.withLock {
            if let thread = runningThread { _ = ckvm_kick_thread(thread) }
        }
    }
}
