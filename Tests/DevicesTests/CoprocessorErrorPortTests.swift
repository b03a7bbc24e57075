import XCTest
import MachineCore
@testable import Devices

final class CoprocessorErrorPortTests: XCTestCase {
    func testFERRLatchesIRQ13UntilPortF0IsWritten() throws {
        let recorder = IRQRecorder()
        let port = CoprocessorErrorPort(irq: recorder.line(13))
        let bus = PortIOBus()
        try port.attach(to: bus)
        port.setFERR(true)
        XCTAssertTrue(recorder.level)
        bus.write(port: CoprocessorErrorPort.port, size: 1, value: 0)
        XCTAssertFalse(recorder.level, "a write to port F0h clears the latched error")
        port.setFERR(true)
        port.setFERR(false)
        XCTAssertFalse(recorder.level, "FNCLEX/FNINIT deassert FERR#")
    }
}
