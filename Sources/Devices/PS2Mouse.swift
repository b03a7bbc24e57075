import MachineCore

/// A PS/2 mouse with three buttons and, once the guest knocks with the sample rates 200, 100,
/// 80, an IntelliMouse wheel, behind the 8042's auxiliary port.
///
/// Movement from the host accumulates in the mouse's counters. In stream mode with reporting
/// enabled, each host event becomes one packet as soon as the output queue has room (the host
/// event rate stands in for the sample rate); a count that does not fit the 9-bit packet field
/// is saturated and its overflow bit set, as the counters do between two samples. In remote
/// mode the counters wait for a Read Data command.
///
/// Not thread-safe: the host side (`move`, `reset`) must be called with the machine lock held,
/// like every device access.
public final class PS2Mouse {
    /// Bytes waiting for the controller, oldest first.
    private(set) var output: [UInt8] = []
    /// Told when bytes were queued, so the controller can pull them.
    var onOutput: (() -> Void)?

    public private(set) var reportingEnabled = false
    public private(set) var remoteMode = false
    public private(set) var wrapMode = false
    public private(set) var scaling21 = false
    public private(set) var sampleRate: UInt8 = PS2.mouseDefaultSampleRate
    /// Resolution code 0-3 (1, 2, 4, 8 counts per mm). Host deltas are reported as given.
    public private(set) var resolution: UInt8 = PS2.mouseDefaultResolution
    /// 0 (standard) or 3 (IntelliMouse: 4-byte packets with the wheel).
    public private(set) var deviceID: UInt8 = PS2.mouseIDStandard

    /// Movement not yet reported, in PS/2 orientation (y grows upwards).
    private var dx = 0, dy = 0, dz = 0
    /// Buttons held (bit 0 left, 1 right, 2 middle) and the state last reported.
    private var buttons: UInt8 = 0
    private var reportedButtons: UInt8 = 0
    /// The command whose parameter byte comes next (0xE8, 0xF3).
    private var parameterFor: UInt8?
    /// The last sample rates set, newest last, for the IntelliMouse knock.
    private var recentRates: [UInt8] = []
    /// The last reply or packet sent, for the resend command.
    private var lastSent: [UInt8] = []

    /// Most bytes queued for the controller (16 four-byte packets).
    static let outputLimit = 64

    public init() {}

    var hasOutput: Bool { !output.isEmpty }
    var packetSize: Int { deviceID == PS2.mouseIDIntelliMouse ? 4 : 3 }

    /// The next byte for the controller, if any. Motion held back while the queue was full
    /// goes out once it has drained.
    func takeByte() -> UInt8? {
        guard !output.isEmpty else { return nil }
        let byte = output.removeFirst()
        if output.isEmpty && streaming && hasPendingReport { output.append(contentsOf: makePacket(scaled: true)) }
        return byte
    }

    /// Power-on state (machine reset).
    public func reset() {
        output.removeAll()
        lastSent = []
        parameterFor = nil
        wrapMode = false
        deviceID = PS2.mouseIDStandard
        recentRates.removeAll()
        buttons = 0
        loadDefaults()
    }

    private func loadDefaults() {
        reportingEnabled = false
        remoteMode = false
        scaling21 = false
        sampleRate = PS2.mouseDefaultSampleRate
        resolution = PS2.mouseDefaultResolution
        clearCounters()
    }

    private func clearCounters() {
        dx = 0; dy = 0; dz = 0
        reportedButtons = buttons
    }

    // MARK: Host input

    /// The host moved the mouse by (`dx`, `dy`) counts, turned the wheel by `dz` detents, and
    /// now holds `buttons` (bit 0 left, bit 1 right, bit 2 middle). `dx` grows to the right and
    /// `dy` downwards, as screen coordinates do (the packet's Y axis points up); `dz` is
    /// positive towards the user (scrolling down), as the IntelliMouse reports it. The wheel
    /// is only reported once the guest has enabled it. Call with the machine lock held.
    public func move(dx: Int, dy: Int, dz: Int = 0, buttons: UInt8) {
        self.dx = Self.clampedAdd(self.dx, dx)
        self.dy = Self.clampedAdd(self.dy, -dy)
        self.dz = Self.clampedAdd(self.dz, dz)
        self.buttons = buttons & (PS2.packetLeft | PS2.packetRight | PS2.packetMiddle)
        guard !remoteMode, !wrapMode else { return }
        guard reportingEnabled else {
            // A stream-mode mouse with reporting off does not count.
            clearCounters()
            return
        }
        guard hasPendingReport, output.count + packetSize <= Self.outputLimit else { return }
        output.append(contentsOf: makePacket(scaled: true))
        onOutput?()
    }

    /// Accumulates without ever trapping on absurd host deltas.
    private static func clampedAdd(_ a: Int, _ b: Int) -> Int {
        let limit = 1 << 20
        return max(-limit, min(limit, a &+ max(-limit, min(limit, b))))
    }

    private var streaming: Bool { reportingEnabled && !remoteMode && !wrapMode }

    private var hasPendingReport: Bool {
        dx != 0 || dy != 0 || (deviceID == PS2.mouseIDIntelliMouse && dz != 0) || buttons != reportedButtons
    }

    // MARK: Packets

    /// 2:1 scaling of a stream-mode count (IBM pointing device reference, "Scaling").
    private static func scale21(_ n: Int) -> Int {
        let table = [0, 1, 1, 3, 6, 9]
        let magnitude = abs(n)
        let scaled = magnitude < table.count ? table[magnitude] : 2 * magnitude
        return n < 0 ? -scaled : scaled
    }

    /// Builds one movement packet from the counters and clears them.
    private func makePacket(scaled: Bool) -> [UInt8] {
        var x = dx, y = dy
        if scaled && scaling21 { x = Self.scale21(x); y = Self.scale21(y) }
        var head = PS2.packetAlwaysOne | buttons
        // The counters are 9-bit two's complement (-256...255); beyond that the count
        // saturates and the overflow bit tells the driver.
        if x > 255 { x = 255; head |= PS2.packetXOverflow }
        if x < -256 { x = -256; head |= PS2.packetXOverflow }
        if y > 255 { y = 255; head |= PS2.packetYOverflow }
        if y < -256 { y = -256; head |= PS2.packetYOverflow }
        if x < 0 { head |= PS2.packetXSign }
        if y < 0 { head |= PS2.packetYSign }
        var packet = [head, UInt8(truncatingIfNeeded: x), UInt8(truncatingIfNeeded: y)]
        if deviceID == PS2.mouseIDIntelliMouse {
            // The IntelliMouse wheel count is 4-bit two's complement (-8...7).
            packet.append(UInt8(truncatingIfNeeded: max(-8, min(7, dz))))
        }
        clearCounters()
        lastSent = packet
        return packet
    }

    // MARK: Commands from the host

    private func reply(_ bytes: [UInt8]) {
        lastSent = bytes
        for b in bytes where output.count < Self.outputLimit { output.append(b) }
        onOutput?()
    }

    private func ack() { reply([PS2.ack]) }

    /// A byte the host sent to the mouse (controller command 0xD4).
    func receive(_ byte: UInt8) {
        if wrapMode && byte != PS2.mouseResetWrapMode && byte != PS2.cmdReset {
            reply([byte])
            return
        }
        if let command = parameterFor {
            parameterFor = nil
            parameter(byte, for: command)
            return
        }
        // A command aborts whatever packets were still waiting to be sent.
        output.removeAll()
        switch byte {
        case PS2.mouseSetResolution, PS2.mouseSetSampleRate:
            parameterFor = byte
            ack()
        case PS2.mouseSetScaling11:
            scaling21 = false
            ack()
        case PS2.mouseSetScaling21:
            scaling21 = true
            ack()
        case PS2.mouseStatusRequest:
            var status = (remoteMode ? PS2.statusRemote : 0) | (reportingEnabled ? PS2.statusEnabled : 0)
                | (scaling21 ? PS2.statusScaling21 : 0)
            if buttons & PS2.packetLeft != 0 { status |= PS2.statusLeft }
            if buttons & PS2.packetMiddle != 0 { status |= PS2.statusMiddle }
            if buttons & PS2.packetRight != 0 { status |= PS2.statusRight }
            reply([PS2.ack, status, resolution, sampleRate])
        case PS2.mouseSetStreamMode:
            remoteMode = false
            clearCounters()
            ack()
        case PS2.mouseReadData:
            reply([PS2.ack] + makePacket(scaled: false))
        case PS2.mouseResetWrapMode:
            wrapMode = false
            clearCounters()
            ack()
        case PS2.mouseSetWrapMode:
            wrapMode = true
            clearCounters()
            ack()
        case PS2.mouseSetRemoteMode:
            remoteMode = true
            clearCounters()
            ack()
        case PS2.mouseGetID:
            reply([PS2.ack, deviceID])
        case PS2.mouseEnable:
            reportingEnabled = true
            clearCounters()
            ack()
        case PS2.mouseDisable:
            reportingEnabled = false
            ack()
        case PS2.mouseSetDefaults:
            loadDefaults()
            ack()
        case PS2.cmdResend:
            reply(lastSent)
        case PS2.cmdReset:
            reset()
            reply([PS2.ack, PS2.selfTestPassed, PS2.mouseIDStandard])
        default:
            reply([PS2.resend])
        }
    }

    private func parameter(_ value: UInt8, for command: UInt8) {
        switch command {
        case PS2.mouseSetResolution:
            guard value <= 3 else { reply([PS2.resend]); return }
            resolution = value
            ack()
        case PS2.mouseSetSampleRate:
            guard PS2.mouseSampleRates.contains(value) else { reply([PS2.resend]); return }
            sampleRate = value
            recentRates.append(value)
            if recentRates.count > PS2.intelliMouseKnock.count { recentRates.removeFirst() }
            if recentRates == PS2.intelliMouseKnock { deviceID = PS2.mouseIDIntelliMouse }
            ack()
        default:
            break
        }
    }
}

extension PS2Mouse {
    /// The mouse's settings, its output queue, the movement not yet reported and the
    /// command it waits on.
    public struct State: Equatable, Sendable {
        public var output: [UInt8] = []
        public var reportingEnabled = false
        public var remoteMode = false
        public var wrapMode = false
        public var scaling21 = false
        public var sampleRate: UInt8 = PS2.mouseDefaultSampleRate
        public var resolution: UInt8 = PS2.mouseDefaultResolution
        public var deviceID: UInt8 = PS2.mouseIDStandard
        /// Counts not yet reported (PS/2 orientation: y grows upwards), within ±2^20.
        public var dx: Int32 = 0
        public var dy: Int32 = 0
        public var dz: Int32 = 0
        public var buttons: UInt8 = 0
        public var reportedButtons: UInt8 = 0
        /// The command (0xE8, 0xF3) whose parameter byte comes next.
        public var parameterFor: UInt8?
        /// The last sample rates set (at most three), for the IntelliMouse knock.
        public var recentRates: [UInt8] = []
        /// The last reply or packet, for the resend command.
        public var lastSent: [UInt8] = []

        public init() {}
    }

    /// The counters' bound (`clampedAdd`).
    static let countLimit: Int32 = 1 << 20
    /// The longest reply: an acknowledge and a four-byte packet (Read Data).
    static let lastSentLimit = 5

    public var state: State {
        var s = State()
        s.output = output
        s.reportingEnabled = reportingEnabled
        s.remoteMode = remoteMode
        s.wrapMode = wrapMode
        s.scaling21 = scaling21
        s.sampleRate = sampleRate
        s.resolution = resolution
        s.deviceID = deviceID
        s.dx = Int32(dx)
        s.dy = Int32(dy)
        s.dz = Int32(dz)
        s.buttons = buttons
        s.reportedButtons = reportedButtons
        s.parameterFor = parameterFor
        s.recentRates = recentRates
        s.lastSent = lastSent
        return s
    }

    /// Why `state` is not one a mouse holds, or nil (IBM pointing device reference: the
    /// sample rates and resolutions it accepts, IDs 0 and 3, three buttons; the queue bound).
    static func invalidReason(_ state: State) -> String? {
        let buttonBits = PS2.packetLeft | PS2.packetRight | PS2.packetMiddle
        if state.output.count > outputLimit { return "\(state.output.count) queued bytes, more than \(outputLimit)" }
        if !PS2.mouseSampleRates.contains(state.sampleRate) { return "sample rate \(state.sampleRate)" }
        if state.resolution > 3 { return "resolution code \(state.resolution)" }
        if ![PS2.mouseIDStandard, PS2.mouseIDIntelliMouse].contains(state.deviceID) { return "device ID \(state.deviceID)" }
        if [state.dx, state.dy, state.dz].contains(where: { abs($0) > countLimit }) { return "movement count beyond ±\(countLimit)" }
        if (state.buttons | state.reportedButtons) & ~buttonBits != 0 { return "button bits beyond the three buttons" }
        if let command = state.parameterFor, ![PS2.mouseSetResolution, PS2.mouseSetSampleRate].contains(command) {
            return "parameter awaited for command 0x\(String(command, radix: 16))"
        }
        if state.recentRates.count > PS2.intelliMouseKnock.count { return "\(state.recentRates.count) remembered sample rates" }
        if state.lastSent.count > lastSentLimit { return "\(state.lastSent.count) bytes to resend" }
        return nil
    }

    /// Puts a checked state back. The controller pulls the queued bytes when it wants them.
    func apply(_ state: State) {
        output = state.output
        reportingEnabled = state.reportingEnabled
        remoteMode = state.remoteMode
        wrapMode = state.wrapMode
        scaling21 = state.scaling21
        sampleRate = state.sampleRate
        resolution = state.resolution
        deviceID = state.deviceID
        dx = Int(state.dx)
        dy = Int(state.dy)
        dz = Int(state.dz)
        buttons = state.buttons
        reportedButtons = state.reportedButtons
        parameterFor = state.parameterFor
        recentRates = state.recentRates
        lastSent = state.lastSent
    }
}
