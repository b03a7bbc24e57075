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
    /// Read and write ends of a pipe that wakes the poll when the loop must stop.
    private let wakePipe: (read: Int32, write: Int32)
    private var thread: Thread?
    private let signalLock = Lock()
    private var caughtSignal: Int32?
    /// The termination signal that stopped the machine, if one did.
    var receivedSignal: Int32? { signalLock.withLock { caughtSignal } }
    /// Longest sleep when no timer is armed; bounds the latency of a missed wake-up.
    private static let idlePollNanoseconds: UInt64 = 50_000_000

    /// Termination signals are blocked in every thread and read from a signalfd here, so the
    /// machine always stops through its normal path (and the terminal is restored).
    static let terminationSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// On SIGTERM: asks the guest to shut down cleanly (a Xen guest through control/shutdown);
    /// true when it was asked. The machine is then stopped only if the guest has not stopped
    /// within `cleanShutdownSeconds`, or on a second SIGTERM. Nil, or false: stop at once.
    var onTerminationRequest: (() -> Bool)?
    /// How long a guest asked to shut down gets before swiftpc forces the stop.
    static let cleanShutdownSeconds = 10

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
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fds = [-1, -1] }
        wakePipe = (fds[0], fds[1])
    }

    deinit {
        close(wakePipe.read)
        close(wakePipe.write)
    }

    func start() {
        let t = Thread { [self] in self.loop() }
        t.name = "swiftpc-events"
        thread = t
        t.start()
        // Termination signals stay blocked everywhere and are taken here with sigwait, so a
        // signal stops the machine through its normal path (terminal restored, exit status
        // 128+N). The thread lives until the process exits.
        let signals = Thread { [self] in self.waitForSignals() }
        signals.name = "swiftpc-signals"
        signals.start()
    }

    private func waitForSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for s in HostEventLoop.terminationSignals { sigaddset(&set, s) }
        // When the guest was asked to shut down: the monotonic time by which it must have.
        var deadline: Double?
        while true {
            var signal: Int32 = 0
            if let due = deadline {
                let left = max(0, due - Self.monotonicSeconds())
                var wait = timespec(tv_sec: Int(left), tv_nsec: Int((left - left.rounded(.down)) * 1e9))
                let taken = sigtimedwait(&set, nil, &wait)
                if taken < 0 {
                    if errno == EINTR { continue }
                    // The guest did not stop in time: force it, as for the signal itself.
                    signal = SIGTERM
                } else {
                    signal = taken
                }
                deadline = nil
            } else {
                guard sigwait(&set, &signal) == 0 else { return }
                if signal == SIGTERM, !control.isStopRequested, let ask = onTerminationRequest, ask() {
                    deadline = Self.monotonicSeconds() + Double(Self.cleanShutdownSeconds)
                    continue
                }
            }
            signalLock.withLock { caughtSignal = signal }
            control.requestStop(.external)
        }
    }

    private static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Stops the thread and waits for it to finish.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        var one: UInt8 = 1
        _ = write(wakePipe.write, &one, 1)
        while !finished.load(ordering: .sequentiallyConsistent) { usleep(1000) }
    }

    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    private func loop() {
        defer { finished.store(true, ordering: .sequentiallyConsistent) }
        var inputOpen = inputFD != nil
        while !stopping.load(ordering: .sequentiallyConsistent) {
            var fds = [pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
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
                if fds.count > 1 {
                    let revents = fds[1].revents
                    if revents & Int16(POLLIN | POLLHUP | POLLERR | POLLNVAL) != 0 {
                        // false: end of input; the guest runs on without it.
                        inputOpen = lock.withLock { onInputReady() }
                    }
                }
            }
            lock.withLock { _ = timers.runExpired() }
        }
    }
}
