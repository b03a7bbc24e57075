import Foundation
import MachineCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The host side of a running machine, on its own thread: waits for console input, the next
/// device timer and termination signals, and hands each to the machine under its big lock.
/// The vCPU thread meanwhile runs guest code (KVM_RUN blocks it), so this thread is what
/// delivers timer interrupts and keystrokes while the guest runs.
final class HostEventLoop: @unchecked Sendable {
    private let lock: Lock
    private let timers: TimerQueue
    private let control: MachineControl
    private let inputFD: Int32?
    private let onInputReady: () -> Bool
    private let wakeFD: Int32
    private let signalFD: Int32
    private var thread: Thread?
    /// The termination signal that stopped the machine, if one did.
    private(set) var receivedSignal: Int32?
    /// Longest sleep when no timer is armed; bounds the latency of a missed wake-up.
    private static let idlePollNanoseconds: UInt64 = 50_000_000

    /// Termination signals are blocked in every thread and read from a signalfd here, so the
    /// machine always stops through its normal path (and the terminal is restored).
    static let terminationSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Call before any other thread exists so that every thread inherits the blocked mask.
    static func blockTerminationSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for s in terminationSignals { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    init(lock: Lock, timers: TimerQueue, control: MachineControl, inputFD: Int32?, onInputReady: @escaping () -> Bool) {
        self.lock = lock
        self.timers = timers
        self.control = control
        self.inputFD = inputFD
        self.onInputReady = onInputReady
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC))
        var set = sigset_t()
        sigemptyset(&set)
        for s in HostEventLoop.terminationSignals { sigaddset(&set, s) }
        signalFD = signalfd(-1, &set, Int32(SFD_CLOEXEC))
    }

    deinit {
        close(wakeFD)
        if signalFD >= 0 { close(signalFD) }
    }

    func start() {
        let t = Thread { [self] in self.loop() }
        t.name = "swiftpc-events"
        thread = t
        t.start()
    }

    /// Stops the thread and waits for it to finish.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        while !finished.load(ordering: .sequentiallyConsistent) { usleep(1000) }
    }

    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    private func loop() {
        defer { finished.store(true, ordering: .sequentiallyConsistent) }
        var inputOpen = inputFD != nil
        while !stopping.load(ordering: .sequentiallyConsistent) {
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
            if inputOpen, let fd = inputFD { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            var timeout = HostEventLoop.idlePollNanoseconds
            if let deadline = lock.withLock({ timers.nextDeadline }) {
                let now = timers.clock.now
                timeout = deadline > now ? min(deadline - now, timeout) : 0
            }
            // Round up so that a wake-up never comes before the deadline.
            let milliseconds = Int32((timeout + 999_999) / 1_000_000)
            let ready = poll(&fds, nfds_t(fds.count), milliseconds)
            if stopping.load(ordering: .sequentiallyConsistent) { break }
            if ready > 0 {
                if fds[1].revents & Int16(POLLIN) != 0 { readSignal() }
                if fds.count > 2 {
                    let revents = fds[2].revents
                    if revents & Int16(POLLIN | POLLHUP | POLLERR | POLLNVAL) != 0 {
                        // false: end of input; the guest runs on without it.
                        inputOpen = lock.withLock { onInputReady() }
                    }
                }
            }
            lock.withLock { _ = timers.runExpired() }
        }
    }

    private func readSignal() {
        var info = signalfd_siginfo()
        let n = read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size)
        guard n == MemoryLayout<signalfd_siginfo>.size else { return }
        receivedSignal = Int32(info.ssi_signo)
        control.requestStop(.external)
    }
}
