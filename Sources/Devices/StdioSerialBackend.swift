#if canImport(Glibc)
import Glibc
#endif

/// The serial console on the program's stdin/stdout.
///
/// While the guest runs, a terminal on stdin is put in raw mode, so every key (Ctrl-C included)
/// reaches the guest; Ctrl-A x asks to quit (reported through `onQuitRequest`) and Ctrl-A
/// Ctrl-A sends one Ctrl-A, as QEMU's `-nographic` console does. The terminal settings are
/// restored by `restore()`, at exit (atexit), and on every catchable signal whose default action
/// ends the process, before that action is carried out, so a killed run never leaves the shell
/// in raw mode (SIGKILL cannot be caught).
/// Output is written to stdout unbuffered.
public final class StdioSerialBackend: SerialBackend {
    /// The escape character: Ctrl-A.
    public static let escapeByte: UInt8 = 0x01
    /// Ctrl-A followed by this quits.
    public static let quitByte: UInt8 = UInt8(ascii: "x")

    /// Called when the user types Ctrl-A x.
    public var onQuitRequest: (() -> Void)?

    private let interceptEscape: Bool
    private var sawEscape = false
    private var inputAtEOF = false

    /// The descriptors used: stdin and stdout unless a test passes a pseudo-terminal.
    public let inputDescriptor: Int32
    public let outputDescriptor: Int32

    /// Whether the input is a terminal.
    public let stdinIsTerminal: Bool

    /// `interceptEscape` defaults to on when the input is a terminal.
    public init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO, interceptEscape: Bool? = nil) {
        inputDescriptor = input
        outputDescriptor = output
        stdinIsTerminal = isatty(input) == 1
        self.interceptEscape = interceptEscape ?? stdinIsTerminal
    }

    /// Puts the terminal in raw mode (no echo, no line editing, no signal keys), remembering
    /// the old settings. Does nothing when stdin is not a terminal or raw mode is already on.
    public func enterRawMode() {
        guard stdinIsTerminal else { return }
        TerminalState.enterRawMode(fd: inputDescriptor)
    }

    /// Restores the terminal settings saved by `enterRawMode()`. Safe to call repeatedly.
    public func restore() {
        TerminalState.restore()
    }

    /// Whether raw mode is currently on.
    public var isRaw: Bool { TerminalState.active != 0 }

    public func write(_ byte: UInt8) { writeAll(fd: outputDescriptor, [byte]) }

    public var inputFD: Int32? { inputAtEOF ? nil : inputDescriptor }

    public func readAvailableInput() -> [UInt8] {
        guard !inputAtEOF else { return [] }
        guard let bytes = readReady(fd: inputDescriptor) else {
            inputAtEOF = true
            return []
        }
        return interceptEscape ? filterEscapes(bytes) : bytes
    }

    /// Removes Ctrl-A sequences from `bytes`, acting on them.
    func filterEscapes(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            if sawEscape {
                sawEscape = false
                switch byte {
                case Self.quitByte, UInt8(ascii: "X"):
                    onQuitRequest?()
                case Self.escapeByte:
                    out.append(Self.escapeByte)
                default:
                    // Not a command: pass both bytes through.
                    out.append(Self.escapeByte)
                    out.append(byte)
                }
            } else if byte == Self.escapeByte {
                sawEscape = true
            } else {
                out.append(byte)
            }
        }
        return out
    }
}

/// Process-wide terminal state. Signal handlers and atexit need C function pointers, which
/// cannot capture context, so the saved settings live in global storage.
enum TerminalState {
    /// Saved termios; allocated once and never freed so a signal handler can always read it.
    nonisolated(unsafe) static let saved = UnsafeMutablePointer<termios>.allocate(capacity: 1)
    /// 1 while raw mode is on (read by the signal handler; a plain word is enough there).
    nonisolated(unsafe) static var active: sig_atomic_t = 0
    nonisolated(unsafe) static var handlersInstalled = false
    /// The terminal whose settings are saved.
    nonisolated(unsafe) static var fd: Int32 = STDIN_FILENO

    static func enterRawMode(fd terminal: Int32) {
        guard active == 0 else { return }
        guard tcgetattr(terminal, saved) == 0 else { return }
        fd = terminal
        var raw = saved.pointee
        // Like cfmakeraw, but output post-processing stays on so the host's own messages
        // ("\n") still start at column 0.
        raw.c_iflag &= ~tcflag_t(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON)
        raw.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | ISIG | IEXTEN)
        raw.c_cflag &= ~tcflag_t(CSIZE | PARENB)
        raw.c_cflag |= tcflag_t(CS8)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        installHandlers()
        guard tcsetattr(terminal, TCSANOW, &raw) == 0 else { return }
        active = 1
    }

    /// Async-signal-safe: tcsetattr is on the POSIX list.
    static func restore() {
        guard active != 0 else { return }
        active = 0
        tcsetattr(fd, TCSANOW, saved)
    }

    /// The dispositions our handlers replaced, indexed by signal number.
    nonisolated(unsafe) static let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)

    /// Signals whose default action ends the process (signal(7), "Standard signals"): any of
    /// them must put the terminal back first. SIGKILL (and SIGSTOP) cannot be caught, so a
    /// run killed with SIGKILL still leaves the terminal raw (`stty sane` repairs it).
    /// SIGINT, SIGTERM and SIGHUP are normally blocked and taken by the machine's signal
    /// thread (HostEventLoop); these handlers cover the time before and after it runs.
    static let fatalSignals: [Int32] = [
        SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, SIGVTALRM, SIGPROF,
        SIGXCPU, SIGXFSZ, SIGIO, SIGPWR, SIGSTKFLT,
    ] + faultSignals

    /// Crashes (a Swift runtime trap is SIGILL or SIGTRAP). A handler installed before ours
    /// (the Swift runtime's crash report) still runs, after the terminal is restored; without
    /// one, the handler returns, the instruction faults again and the default action follows.
    /// For the other signals the default action is taken even over an earlier handler: the
    /// Swift runtime also catches SIGQUIT, to print a backtrace and then wait for a key on
    /// the terminal, which would keep a SIGQUIT from ending the run.
    static let faultSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGSYS]

    /// Installs the atexit hook and the handlers for every signal that would end the process
    /// (once per process). A signal the program ignored stays ignored. Real-time
    /// signals (default: terminate) are covered only while nobody else handles them: the KVM
    /// engine kicks vCPUs with one, and a kick must not restore the terminal.
    private static func installHandlers() {
        guard !handlersInstalled else { return }
        handlersInstalled = true
        atexit { TerminalState.restore() }
        var signals = fatalSignals
        for sig in __libc_current_sigrtmin()...__libc_current_sigrtmax() {
            var current = sigaction()
            guard sigaction(sig, nil, &current) == 0 else { continue }
            if current.__sigaction_handler.sa_handler == nil { signals.append(sig) }    // SIG_DFL
        }
        for sig in signals {
            var current = sigaction()
            guard sigaction(sig, nil, &current) == 0 else { continue }
            if isIgnore(current) { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { signo, info, context in
                TerminalState.handleSignal(signo, info, context)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_SIGINFO
            sigaction(sig, &action, previous + Int(sig))
        }
    }

    private static func isIgnore(_ action: sigaction) -> Bool {
        let handler = action.__sigaction_handler.sa_handler
        return (handler.map { unsafeBitCast($0, to: Int.self) } ?? 0) == 1    // SIG_IGN
    }

    private static func handleSignal(_ signo: Int32, _ info: UnsafeMutablePointer<siginfo_t>?,
                                     _ context: UnsafeMutableRawPointer?) {
        let old = previous[Int(signo)]
        if isIgnore(old) { return }
        restore()
        if faultSignals.contains(signo) {
            if old.sa_flags & SA_SIGINFO != 0, let chained = old.__sigaction_handler.sa_sigaction {
                chained(signo, info, context)
                return
            }
            if let chained = old.__sigaction_handler.sa_handler {
                chained(signo)
                return
            }
        }
        // Default action: re-raise so that the process ends as the signal says (the exit
        // status shows it). The signal is blocked until this handler returns.
        signal(signo, SIG_DFL)
        raise(signo)
    }
}
