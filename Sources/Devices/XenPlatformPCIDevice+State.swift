import MachineCore

extension XenPlatformPCIDevice: StatefulDevice {
    /// The configuration space and the unplug protocol's registers. What the unplug requests
    /// did to other devices is their state (the IDE controller's drives).
    public struct State: Equatable, Sendable {
        public var configuration: [UInt8]
        public var platformFlags: UInt8
        public var driverProduct: UInt16
        public var driverVersion: UInt32
        public var unplugRequests: UInt16
        public var logLine: [UInt8]

        public init(configuration: [UInt8], platformFlags: UInt8 = 0, driverProduct: UInt16 = 0, driverVersion: UInt32 = 0,
                    unplugRequests: UInt16 = 0, logLine: [UInt8] = []) {
            self.configuration = configuration
            self.platformFlags = platformFlags
            self.driverProduct = driverProduct
            self.driverVersion = driverVersion
            self.unplugRequests = unplugRequests
            self.logLine = logLine
        }
    }

    public var state: State {
        State(configuration: config.bytes, platformFlags: platformFlags, driverProduct: driverProduct,
              driverVersion: driverVersion, unplugRequests: unplugRequests, logLine: logLine)
    }

    /// Refuses flags or unplug bits the device does not have, a log line longer than its
    /// buffer, and configuration bytes that change read-only fields (identity, BAR sizes).
    public func restore(_ state: State) throws(MachineError) {
        let device = "Xen platform PCI device"
        guard state.platformFlags & ~Self.platformFlagROMLock == 0 else {
            throw .invalidDeviceState(device: device, reason: "platform flags 0x\(String(state.platformFlags, radix: 16)) set undefined bits")
        }
        guard state.unplugRequests & ~XenUnplugRequest.defined.rawValue == 0 else {
            throw .invalidDeviceState(device: device, reason: "unplug mask 0x\(String(state.unplugRequests, radix: 16)) sets undefined bits")
        }
        guard state.logLine.count <= Self.logLineLimit, !state.logLine.contains(UInt8(ascii: "\n")) else {
            throw .invalidDeviceState(device: device, reason: "a log line of \(state.logLine.count) bytes or with a newline")
        }
        var restored = config
        try restored.restore(state.configuration, device: device)
        config = restored
        platformFlags = state.platformFlags
        driverProduct = state.driverProduct
        driverVersion = state.driverVersion
        unplugRequests = state.unplugRequests
        logLine = state.logLine
        updateDecoding()
    }

    /// PCI RST# (PCI 3.0 §6.2.2, §6.2.5: command register 0, BARs unassigned) and the fixed
    /// ports back to power-on: flags clear (QEMU `platform_fixed_ioport_reset`), nothing
    /// unplugged, no driver reported, the log empty.
    public func reset() {
        config = powerOnConfigSpace
        platformFlags = 0
        driverProduct = 0
        driverVersion = 0
        unplugRequests = 0
        logLine = []
        logLinesCompleted = 0
        updateDecoding()
    }
}
