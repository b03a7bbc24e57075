import Devices
import MachineCore

/// Feeds what the host types into the UART no faster than its receiver drains. A real line
/// delivers one character per character time; the host hands over a whole pasted line at
/// once, which would overrun the 16-byte FIFO. The rest waits here and enters as the guest
/// reads (checked every `interval`). Used with the machine lock held.
final class SerialInputPacer {
    /// About one character time at 115200 baud.
    static let interval: UInt64 = 100_000
    /// Bounds what a runaway input source can queue.
    static let maximumPending = 1 << 20

    private let serial: Serial16550
    private let timers: TimerQueue
    private var timer: TimerQueue.Handle!
    private var pending: [UInt8] = []
    private var head = 0

    init(serial: Serial16550, timers: TimerQueue) {
        self.serial = serial
        self.timers = timers
        timer = timers.makeTimer { [unowned self] in self.feed() }
    }

    /// Host input: what fits now goes in, the rest follows as the FIFO empties.
    func enqueue(_ bytes: [UInt8]) {
        let room = SerialInputPacer.maximumPending - (pending.count - head)
        pending.append(contentsOf: bytes.prefix(max(room, 0)))
        feed()
    }

    private func feed() {
        let count = min(pending.count - head, serial.receiveCapacity)
        if count > 0 {
            serial.receive(Array(pending[head..<head + count]))
            head += count
        }
        if head == pending.count {
            pending.removeAll(keepingCapacity: true)
            head = 0
        } else if !timers.isArmed(timer) {
            timers.arm(timer, at: timers.clock.now &+ SerialInputPacer.interval)
        }
    }
}
