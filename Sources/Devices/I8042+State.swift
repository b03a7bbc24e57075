import MachineCore

extension I8042: StatefulDevice {
    /// A byte the controller itself produced, waiting for the output buffer.
    public struct ControllerByte: Equatable, Sendable {
        public var byte: UInt8
        /// Whether it appears to come from the auxiliary (mouse) port.
        public var aux: Bool
        public init(byte: UInt8, aux: Bool) {
            self.byte = byte
            self.aux = aux
        }
    }

    /// The controller's RAM, output port, output buffer and command latches, with the
    /// keyboard's and the mouse's state: one value for everything behind 0x60/0x64.
    public struct State: Equatable, Sendable {
        /// The 32 bytes of controller RAM (byte 0 is the command byte).
        public var ram: [UInt8]
        /// The output port without its OBF bits (those follow from the buffer).
        public var outputPort: UInt8
        public var lastWriteWasCommand: Bool
        public var pendingCommand: UInt8?
        public var controllerOutput: [ControllerByte]
        public var outputByte: UInt8
        public var outputFull: Bool
        public var outputAux: Bool
        public var translatedBreak: Bool
        public var keyboard: PS2Keyboard.State
        public var mouse: PS2Mouse.State
    }

    public var state: State {
        State(ram: ram, outputPort: outputPort, lastWriteWasCommand: lastWriteWasCommand, pendingCommand: pendingCommand,
              controllerOutput: controllerOutput.map { ControllerByte(byte: $0.byte, aux: $0.aux) },
              outputByte: outputByte, outputFull: outputFull, outputAux: outputAux, translatedBreak: translatedBreak,
              keyboard: keyboard.state, mouse: mouse.state)
    }

    /// The controller commands that wait for a data byte on port 0x60.
    private static func takesDataByte(_ command: UInt8) -> Bool {
        (KBC.cmdWriteCommandByte...KBC.cmdWriteRAMLast).contains(command)
            || [KBC.cmdWriteOutputPort, KBC.cmdWriteKeyboardBuffer, KBC.cmdWriteMouseBuffer, KBC.cmdWriteToMouse].contains(command)
    }

    /// Refuses a RAM that is not 32 bytes, more queued replies than the controller keeps, a
    /// pending command that takes no data byte, OBF bits in the stored output port, and any
    /// keyboard or mouse state they refuse; nothing changes unless all of it is valid. IRQ1
    /// and IRQ12 are then driven from the buffer and the command byte, and a change of the
    /// A20 output is reported as a guest write's would be. Nothing resets the machine.
    public func restore(_ state: State) throws(MachineError) {
        func refuse(_ reason: String) -> MachineError { .invalidDeviceState(device: "i8042", reason: reason) }
        guard state.ram.count == 32 else { throw refuse("\(state.ram.count) RAM bytes, not 32") }
        guard state.controllerOutput.count <= Self.controllerOutputLimit else {
            throw refuse("\(state.controllerOutput.count) queued replies, more than \(Self.controllerOutputLimit)")
        }
        if let command = state.pendingCommand, !Self.takesDataByte(command) {
            throw refuse("command 0x\(String(command, radix: 16)) takes no data byte")
        }
        guard state.outputPort & (KBC.outKeyboardOBF | KBC.outAuxOBF) == 0 else { throw refuse("OBF bits stored in the output port") }
        if let reason = PS2Keyboard.invalidReason(state.keyboard) { throw .invalidDeviceState(device: "PS/2 keyboard", reason: reason) }
        if let reason = PS2Mouse.invalidReason(state.mouse) { throw .invalidDeviceState(device: "PS/2 mouse", reason: reason) }
        keyboard.apply(state.keyboard)
        mouse.apply(state.mouse)
        ram = state.ram
        let wasA20 = a20Enabled
        outputPort = state.outputPort
        lastWriteWasCommand = state.lastWriteWasCommand
        pendingCommand = state.pendingCommand
        controllerOutput = state.controllerOutput.map { ($0.byte, $0.aux) }
        outputByte = state.outputByte
        outputFull = state.outputFull
        outputAux = state.outputAux
        translatedBreak = state.translatedBreak
        updateIRQ()
        if a20Enabled != wasA20 { onA20Change?(a20Enabled) }
    }
}
