import Devices
import Interpreter

/// Connects the userspace PIC's INTR output and INTA cycle to the interpreter.
final class PICInterruptSource: InterruptSource {
    let pic: DualPIC8259
    init(pic: DualPIC8259) { self.pic = pic }
    var interruptRequested: Bool { pic.interruptOutput }
    func acknowledgeInterrupt() -> UInt8 { pic.acknowledge() }
}
